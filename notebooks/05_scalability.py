# %% [markdown]
# # 05 · Scalability: learngenes in deeper, wider and other networks
#
# Paper (abstract): *the learngenes have the scalability ... on the downstream structure of networks*;
# deeper descendants use **partial identity mapping (PIM)** layers. How is not stated; `gtl.inherit` is our
# reconstruction (**our choice**, docs/decisions.md #9): the learngene goes stage by stage (one stage per
# resolution) into the first channels of each descendant layer; extra layers of a stage are PIM layers
# (identity on the learngene channels, random elsewhere); a wider layer has more random channels; VGG → ResNet
# maps each VGG stage into a residual block whose shortcut starts silent on the learngene channels.
#
# Each descendant is compared with **Scratch of the same descendant** on the same test episodes (5-way
# 5-shot). The quick profile starts from the VGG11 learngene only; the ResNet12 → VGG direction is
# implemented and tested in `tests/test_inherit.py`, and run by the paper profile with `arch="resnet12"`.

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
from gtl.experiments import Study, run_evolution, scalability_targets, transfer_table
from gtl.report import verdicts
from gtl.inherit import mapping_table
from gtl.plots import plot_results, save_episodes, save_figure, save_table
from gtl.stats import PAIRED, summarize
from gtl.report import paired_text

tag = f"{profile}_{dataset}"
study = Study(profile, dataset, arch, seed, data_root, device, progress=(profile == "paper"))

# %%
result = run_evolution(study)
targets = scalability_targets(study, arch=result.config.arch, width=result.config.width)
for a, w in targets:
    plan = pd.DataFrame(mapping_table(result.best, a, w))
    print(f"{result.config.arch} x{result.config.width:g} -> {a} x{w:g}: "
          + ", ".join(f"{n} {k}" for k, n in plan["gets"].value_counts().items())
          + f"; {plan['params'].sum():,} learned parameters inherited")

# %% [markdown]
# The full mapping into the deepest descendant, layer by layer:

# %%
deepest = max(targets, key=lambda t: len(mapping_table(result.best, *t)))
pd.DataFrame(mapping_table(result.best, *deepest))

# %%
episodes = transfer_table(study, result, study.eval_config(), targets=targets, shots=(5,))
results = summarize(episodes, ["descendant", "setting"])
table = pd.DataFrame({"descendant": results.descendant, "method": results.method,
                      "accuracy (%)": (100 * results["mean"]).round(2), "95% CI (±)": (100 * results.ci95).round(2),
                      PAIRED: [paired_text(*r) for r in zip(results["diff"], results.diff_ci95,
                                                                                   results.clear)],
                      "params transferred": results.params_transferred,
                      "share of params (%)": (100 * results.params_fraction).round(1),
                      "episodes": results.episodes, "seed": results.seed, "profile": profile})
save_table(table, f"table_scalability_{tag}")
save_episodes(episodes, f"table_scalability_{tag}")
table

# %%
assert set(results.method) == {"Learngene", "Scratch"} and results["mean"].between(0, 1).all()

# %%
fig = plot_results(results.assign(setting=results.descendant), title=f"descendants of a {arch} learngene, 5-way 5-shot")
save_figure(fig, f"table_scalability_{tag}")
plt.show()
print("\n".join(verdicts(episodes, "descendant")))
