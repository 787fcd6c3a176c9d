# %% [markdown]
# # 04 · Instincts: what an untrained descendant already knows (paper Fig. 5 and the instincts table)
#
# Paper (abstract): the learngenes bring descendants **instincts**; Fig. 5 caption: *visualisation of the core
# knowledge in the learngenes; none of the networks shown has undergone any learning or fine-tuning; a ResNet50
# pre-trained on ImageNet is shown for comparison.*
#
# We measure instincts with **no learning at all** (docs/decisions.md #11, **our choice**): on the same 5-way test
# episodes as notebook 02, an untrained network's features classify the queries by the nearest class mean of
# the support features (cosine). Its BatchNorm statistics are measured on the support images (no gradient, no
# label). For the picture, the activation strength of an untrained network's deepest wide conv layer; our own
# pre-trained network stands in for the ImageNet ResNet50, whose weights cannot be downloaded offline.

# %% tags=["parameters"]
from gtl.profiles import default_profile
profile = default_profile()  # "quick" (a CPU, minutes), "paper" (a GPU, hours); the tests set $GTL_PROFILE=smoke
data_root = None        # None: $GTL_DATA, then the project's data/ folder
device = None           # None: "cuda" when available, else "cpu"
seed = 0
datasets = ["miniimagenet", "cifar-fs"]   # the paper's two benchmarks
arch = "vgg11"

# %%
import pandas as pd
import matplotlib.pyplot as plt
from gtl.data import load_dataset, class_examples
from gtl.experiments import PAIR_ON, Study, run_evolution, method_episodes
from gtl.methods import METHODS
from gtl.report import format_table, verdicts
from gtl.baselines import from_learngene, pretrained_network, scratch
from gtl.evaluation import activation_maps
from gtl.plots import plot_activation_maps, plot_results, save_episodes, save_figure, save_table
from gtl.stats import summarize

studies = {ds: Study(profile, ds, arch, seed, data_root, device, progress=(profile == "paper")) for ds in datasets}

# %%
frames = []
for ds in datasets:
    result = run_evolution(studies[ds])
    frames.append(method_episodes(studies[ds], result, studies[ds].eval_config(), shots=(1, 5), methods=METHODS,
                                  score="instinct"))
episodes = pd.concat(frames, ignore_index=True)
results = summarize(episodes, PAIR_ON)
table = format_table(results, profile, claim=False)  # the paper's +12/+16 are after fine-tuning
for ds in datasets:
    save_table(table[table.dataset == ds], f"table_instincts_{profile}_{ds}")
    save_episodes(episodes[episodes.dataset == ds], f"table_instincts_{profile}_{ds}")
table

# %%
assert (results.score == "instinct").all() and results["mean"].between(0, 1).all()

# %%
print("\n".join(verdicts(episodes, ["dataset", "setting"], ("Scratch", "Pre-Cut", "Random-mask", "Pre-Fin"))))
for ds in datasets:
    fig = plot_results(results[results.dataset == ds], title=f"instincts (no learning), {ds}, {profile} profile")
    save_figure(fig, f"table_instincts_{profile}_{ds}")
    plt.show()

# %% [markdown]
# ## Figure 5: where untrained networks look
#
# One test image per class; brighter = stronger response of the network's deepest conv layer that is still
# at least 8 pixels wide. Rows: a random network, an untrained learngene descendant, and our pre-trained
# network (it *has* learned: the reference).

# %%
ds = datasets[0]
result = run_evolution(studies[ds])
cfg, eval_cfg = result.config, studies[ds].eval_config()
test_set = load_dataset(ds, "test", data_root, cfg.image_size)
images, names = class_examples(test_set, 6, seed)
nets = {"Scratch (random)": scratch(cfg.arch, cfg.width)(seed),
        "Learngene (untrained)": from_learngene(result.best, cfg.cross_scale)(seed),
        "Pre-trained (ours)": pretrained_network(cfg, eval_cfg, data_root, studies[ds].device)}
maps = {label: activation_maps(net.cpu(), images) for label, net in nets.items()}
fig = plot_activation_maps(images, maps, names)
save_figure(fig, f"fig5_instincts_{profile}_{ds}")
plt.show()
