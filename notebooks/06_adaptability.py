# %% [markdown]
# # 06 · Adaptability: a learngene on another, fine-grained dataset
#
# Paper (abstract): *the learngenes have the ... adaptability on the downstream ... datasets*. Which datasets
# is not known (docs/decisions.md). Here the learngene evolved on miniImageNet initialises descendants fine-tuned
# on 5-way episodes of **CUB-200-2011** birds (the test classes of the standard split present in the offline
# subset), beside Scratch, Pre-Fin (pre-trained on miniImageNet's training classes) and Pre-Cut (that network cut by
# GTL's saliency rule to the learngene's size); differences with Scratch are paired over the same episodes. The
# paper profile adds
# CIFAR-FS as a second target.

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
from gtl.experiments import PAIR_ON, Study, run_evolution, method_episodes
from gtl.report import format_table, verdicts
from gtl.evaluation import EvalConfig
from gtl.plots import plot_results, save_episodes, save_figure, save_table
from gtl.stats import summarize

targets = ["cub"] if profile != "paper" else ["cub", "cifar-fs"]
study = Study(profile, dataset, arch, seed, data_root, device, progress=(profile == "paper"))

# %%
result = run_evolution(study)
frames = [method_episodes(study, result, EvalConfig.from_profile(profile, t), shots=(1, 5),
                          methods=("Learngene", "Scratch", "Pre-Fin", "Pre-Cut"), dataset=t)
          for t in targets]
episodes = pd.concat(frames, ignore_index=True)
results = summarize(episodes, PAIR_ON)
table = format_table(results, profile).assign(**{"learngene from": dataset})
for t in targets:
    save_table(table[table.dataset == t], f"table_adaptability_{profile}_{dataset}_to_{t}")
    save_episodes(episodes[episodes.dataset == t], f"table_adaptability_{profile}_{dataset}_to_{t}")
table

# %%
assert set(results.dataset) == set(targets) and results["mean"].between(0, 1).all()

# %%
for t in targets:
    sub = results[results.dataset == t]
    fig = plot_results(sub, title=f"{dataset} learngene on {t} ({profile} profile)")
    save_figure(fig, f"table_adaptability_{profile}_{dataset}_to_{t}")
    plt.show()
print("\n".join(verdicts(episodes, ["dataset", "setting"], ("Scratch", "Pre-Cut", "Pre-Fin"))))
