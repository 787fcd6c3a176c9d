# %% [markdown]
# # 03 · Paper Figures 1–3: the idea, the learngene, the framework
#
# The paper's first three figures are drawings. Their captions:
#
# * **Fig. 1**: *(a) transferring the entire knowledge may be redundant or negative; (b) learngenes transfer the
#   core knowledge to descendant networks, inspired by genes in nature.*
# * **Fig. 2**: *structure of the learngenes: several complete neural circuits in the unit of channels within
#   kernels.*
# * **Fig. 3**: *the GTL framework that condenses core knowledge and extracts learngenes.*
#
# Figures 1 and 3 are redrawn from code; Figure 2 is drawn from a **real evolved learngene** (the cached run of
# notebook 01): every dot a channel, green dots the learngene's, lines the kernel slices it keeps.

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
from gtl.experiments import Study, run_evolution
from gtl.plots import plot_framework, plot_circuit, save_figure, save_table

tag = f"{profile}_{dataset}"

# %%
fig = plot_framework()
save_figure(fig, f"fig1_3_framework_{tag}")
plt.show()

# %%
result = run_evolution(Study(profile, dataset, arch, seed, data_root, device, progress=(profile == "paper")))
lg = result.best
print(lg.describe())
fig = plot_circuit(lg)
save_figure(fig, f"fig2_learngene_circuit_{tag}")
plt.show()

# %% [markdown]
# The same learngene as numbers: channels kept in every channel group.

# %%
channels = pd.DataFrame([{"channel group": g, "kept": int(m.sum()), "of": m.numel(),
                          "share (%)": round(100 * float(m.float().mean()), 1)} for g, m in lg.masks.items()])
save_table(channels, f"fig2_learngene_channels_{tag}")
channels

# %%
assert lg.num_params < lg.meta["total_params"]
assert 0.02 < lg.fraction < 0.6
