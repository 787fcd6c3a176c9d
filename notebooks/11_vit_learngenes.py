# %% [markdown]
# # 11 · Open question: learngenes beyond CNNs
#
# The paper's learngenes are channels within conv kernels. Does the idea carry to a **Vision Transformer**? Our
# small ViT (`gtl.models.ViT`: 8×8 patches, pre-norm blocks, mean-pooled tokens) has three kinds of units, each
# kept or left whole, like channels (**our choice**):
#
# * **token channels**: one group shared by every residual add (a ResNet stage's output plays that role in CNNs);
# * each block's **attention heads**: a head's q, k, v rows and its columns of the output projection;
# * each block's **MLP channels**: a hidden unit's row of `fc1` and column of `fc2`.
#
# A weight is in the learngene when all the units it connects are, so the kept units form circuits from the
# patches to the last block, exactly as kept channels do in a CNN. 45% of each group's units gives about 20% of
# the parameters. The ViT is evolved by the **same GTL loop**, with the budget of the ablations (notebook 07),
# and its learngene's descendants are compared with Scratch on the same novel-class episodes, beside VGG11 under
# the same budget.

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
from gtl.report import verdicts
from gtl.explorer import plot_masks
from gtl.paths import figures_dir
from gtl.plots import percent_table, plot_results, save_figure, save_table, study_episodes
from gtl.questions import VIT_PAIR_ON, question_protocol, vit_comparison, vit_settings
from gtl.stats import PAIRED, summarize

study = Study(profile, dataset, arch, seed, data_root, device, progress=(profile == "paper"))
tag = f"{profile}_{dataset}"
eval_cfg = question_protocol(study)
print("ViT settings:", vit_settings(study))

# %%
runs = {}  # the ViT's run, when this notebook computes it


def compute():
    episodes, runs["vit"] = vit_comparison(study, eval_cfg=eval_cfg, shots=(5,))
    print(runs["vit"].best.describe())
    return episodes


episodes = study_episodes(f"table_vit_learngenes_{tag}", profile, compute)
results = summarize(episodes, VIT_PAIR_ON)
table = percent_table(results, ["network", "method", "score", "setting", "accuracy (%)", "95% CI (±)", PAIRED,
                               "params_transferred", "learngene_fraction", "episodes", "seed"])
save_table(table, f"table_vit_learngenes_{tag}")
table

# %%
fig = plot_results(results.assign(setting=results.network + ", " + results.score.map(
    {"finetune": f"{eval_cfg.finetune.steps} steps", "instinct": "no learning"})),
    title=f"learngenes in a ViT and in VGG11, {dataset} ({profile} profile)")
save_figure(fig, f"table_vit_learngenes_{tag}")
plt.show()
print("\n".join(verdicts(episodes, ["network", "score"])))

# %%
if "vit" in runs:
    fig = plot_masks(runs["vit"].best)
    save_figure(fig, f"fig_vit_learngene_{tag}")
    plt.show()
else:  # the tables were read, not computed: the masks as `make studies` drew them
    from IPython.display import Image, display
    display(Image(filename=str(figures_dir() / f"fig_vit_learngene_{tag}.png")))

# %%
vit_rows = episodes[episodes.network.str.startswith("vit")]
assert len(vit_rows) and vit_rows.learngene_fraction.between(0.05, 0.5).all()
assert set(results.network.str.split().str[0]) == {"vit", arch} and results["mean"].between(0, 1).all()
