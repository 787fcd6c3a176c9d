# %% [markdown]
# # 10 · Open question: how sensitive is GTL to its genetic hyper-parameters?
#
# The paper gives no population size, tournament size, mutation rate or number of generations (ours are in
# `GTLConfig`, **our choice**). Here each one moves away from a base run while the others stay put, and each run's
# best learngene is tested on the same novel-class episodes (5-way 5-shot, descendants fine-tuned briefly as in
# notebook 09), beside Scratch. The base is the ablations' budget (notebook 07: six members, three generations),
# so the runs the two notebooks share are trained once; tournament size 1 and mutation rate 0 are notebook 07's
# "no tournament" and "no mutation".

# %% tags=["parameters"]
from gtl.profiles import default_profile
profile = default_profile()  # "quick" (a CPU, minutes), "paper" (a GPU, hours); the tests set $GTL_PROFILE=smoke
data_root = None        # None: $GTL_DATA, then the project's data/ folder
device = None           # None: "cuda" when available, else "cpu"
seed = 0
dataset = "miniimagenet"
arch = "vgg11"

# %%
import matplotlib.pyplot as plt
from gtl.experiments import Study
from gtl.plots import percent_table, plot_sensitivity, save_figure, save_table, study_episodes
from gtl.stats import summarize
from gtl.questions import question_protocol, sensitivity_table
from gtl.report import sensitivity_summary

study = Study(profile, dataset, arch, seed, data_root, device, progress=(profile == "paper"))
tag = f"{profile}_{dataset}"
eval_cfg = question_protocol(study)
print("base:", study.numbers.ablation or "the profile's own", "| values:", study.numbers.grid)

# %%
episodes = study_episodes(f"table_ga_sensitivity_{tag}", profile,
                          lambda: sensitivity_table(study, eval_cfg=eval_cfg, shots=5))
results = summarize(episodes, ["setting"])
table = percent_table(results)
save_table(table, f"table_ga_sensitivity_{tag}")
table

# %%
fig = plot_sensitivity(results, title=f"GTL's genetic hyper-parameters on {dataset} ({profile} profile, seed {seed})")
save_figure(fig, f"fig_ga_sensitivity_{tag}")
plt.show()
print("\n".join(sensitivity_summary(episodes)))

# %%
assert set(results.factor) == set(study.numbers.grid) | {"Scratch"}
assert results["mean"].between(0, 1).all() and results.groupby("factor").is_base.sum().drop("Scratch").eq(1).all()
