# %% [markdown]
# # 07 · Ablations: what each genetic ingredient adds
#
# The paper reports ablations we cannot read. We remove one ingredient of GTL at a time (**our choice** of
# ablations) and test each run's learngene the same way (5-way 5-shot, test classes, same episodes):
#
# * **no mutation**: learngene channels never change after generation 0;
# * **no tournament**: every member reproduces (tournament size 1), so parents are not selected;
# * **host fitness**: a learngene is scored by its host's accuracy on its own task, not by critics on
#   validation classes;
# * **generation 0 only**: no inheritance at all (the best learngene of the first generation);
# * **Random-mask / Scratch (no evolution)**: a learngene-shaped piece of a pre-trained network, and nothing.
#
# To fit the quick profile's time budget every GTL variant here runs a smaller population for fewer
# generations (`gtl.experiments.ABLATION_BUDGET`) than notebook 01. `best_from_generation` says where each
# run's best learngene came from: variants whose best is a generation-0 learngene end up identical.

# %% tags=["parameters"]
from gtl.profiles import default_profile
profile = default_profile()  # "quick" (a CPU, minutes), "paper" (a GPU, hours); the tests set $GTL_PROFILE=smoke
data_root = None        # None: $GTL_DATA, then the project's data/ folder
device = None           # None: "cuda" when available, else "cpu"
seed = 0
dataset = "miniimagenet"
arch = "vgg11"

# %%
import pandas as pd
import matplotlib.pyplot as plt
from gtl.experiments import ABLATIONS, ABLATION_BUDGET, ablation_table, verdict
from gtl.fewshot import EvalConfig
from gtl.plots import plot_results, save_figure, save_table

tag = f"{profile}_{dataset}"
print("budget:", ABLATION_BUDGET[profile] or "the profile's own")
for name, overrides in ABLATIONS.items():
    print(f"{name:18} {overrides}")

# %%
results = ablation_table(profile, dataset, arch, seed, EvalConfig.from_profile(profile, dataset), 5, data_root,
                         device, progress=(profile == "paper"))
table = results.assign(**{"accuracy (%)": (100 * results["mean"]).round(2),
                          "95% CI (±)": (100 * results.ci95).round(2)}).drop(columns=["mean", "ci95"])
save_table(table, f"table_ablations_{tag}")
table

# %%
assert len(results) == len(ABLATIONS) + 2 and results["mean"].between(0, 1).all()

# %%
fig = plot_results(results.rename(columns={"variant": "method"}).assign(setting="5-way 5-shot"),
                   title=f"ablations on {dataset} ({profile} profile)")
save_figure(fig, f"table_ablations_{tag}")
plt.show()
rows = {r.variant: {"method": r.variant, "mean": r.mean, "ci95": r.ci95} for r in results.itertuples()}
for name in list(rows)[1:]:
    print(verdict(rows["GTL"], rows[name]))
