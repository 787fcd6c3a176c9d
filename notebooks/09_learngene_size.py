# %% [markdown]
# # 09 · Open question: how small can a learngene be?
#
# The paper's learngenes hold about 20% of the parameters; it does not say how accuracy depends on that size. We
# cut learngenes of **2% to 60%** of the parameters out of the best evolved network of notebook 01 (the same run,
# cached), with the rule GTL itself uses to start a learngene: in every layer the channels with the largest
# BatchNorm scale, one channel share for all layers, chosen by bisection to hit each size (**our choice**). Their
# descendants (the rest random) meet the same novel-class episodes as Scratch (size 0).
#
# Two scores, both over the same episodes, mean ± 95% CI: **no learning** (instincts: nearest class mean of the
# untrained descendant's features) and **after a short fine-tuning**. In the quick profile the fine-tuning is 10
# steps, where notebook 02's learning curves show the learngene's head start (**our choice**: at 50 steps the
# quick profile's gap washes out); the paper profile uses its full protocol.

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
from gtl.experiments import Study, run_evolution
from gtl.plots import percent_table, plot_size_sweep, save_figure, save_table, study_episodes
from gtl.questions import PAPER_SIZE, SIZE_FRACTIONS, SIZE_PAIR_ON, question_protocol, size_sweep
from gtl.report import size_summary
from gtl.stats import PAIRED, summarize

study = Study(profile, dataset, arch, seed, data_root, device, progress=(profile == "paper"))
tag = f"{profile}_{dataset}"
eval_cfg = question_protocol(study)
print(f"sizes: {[f'{100 * f:g}%' for f in SIZE_FRACTIONS]}; the paper: ~{100 * PAPER_SIZE:.0f}%")
print(f"{eval_cfg.episodes} episodes, 5-way 5-shot, fine-tuning {eval_cfg.finetune.steps} steps, seed {seed}")

# %%
def compute():
    return size_sweep(study, run_evolution(study), eval_cfg, fractions=SIZE_FRACTIONS, shots=5)


episodes = study_episodes(f"table_learngene_size_{tag}", profile, compute)
sweep = summarize(episodes, SIZE_PAIR_ON)
table = percent_table(sweep.assign(**{"size (%)": (100 * sweep.fraction).round(1)}),
                      ["method", "size (%)", "score", "finetune_steps", "accuracy (%)", "95% CI (±)", PAIRED,
                       "params_transferred", "episodes", "seed", "paper_size"])
save_table(table, f"table_learngene_size_{tag}")
table

# %%
fig = plot_size_sweep(sweep, PAPER_SIZE, title=f"learngene size on {dataset} ({profile} profile, seed {seed})")
save_figure(fig, f"fig_learngene_size_{tag}")
plt.show()
print("\n".join(size_summary(episodes)))

# %%
assert len(sweep) == 2 * (len(SIZE_FRACTIONS) + 1) and sweep["mean"].between(0, 1).all()
learngenes = sweep[sweep.method == "Learngene"]
assert (abs(learngenes.fraction - learngenes.target_fraction) < 0.02).all()
