# %% [markdown]
# # 08 · Explorer: a GTL run, generation by generation
#
# Move the **generation** slider: the bars are that generation's members, their fitness (critic accuracy on
# validation-class episodes, minus the size penalty) and the tournament winners in green; beside them, the
# channels of the generation's winning learngene, one row per layer. **Train a descendant** takes that learngene,
# builds a fresh network around it, and trains it next to a network from scratch on a new 5-way task of *test*
# classes (change the task seed for another task): the two learning curves appear live.
#
# The run is the one of the walkthrough and of notebook 07 (six members, three generations; cached in `runs/`).
# Widgets need a live kernel (JupyterLab or Jupyter Notebook); below the widget the same pieces are drawn once,
# statically, for the HTML book and for readers without a kernel.

# %% tags=["parameters"]
from gtl.profiles import default_profile
profile = default_profile()  # "quick" (a CPU, minutes), "paper" (a GPU, hours); the tests set $GTL_PROFILE=smoke
data_root = None        # None: $GTL_DATA, then the project's data/ folder
device = None           # None: "cuda" when available, else "cpu"
seed = 0
dataset = "miniimagenet"
arch = "vgg11"

# %%
from gtl.data import load_dataset
from gtl.experiments import Study, run_evolution
from gtl.explorer import champion, explorer, generation_table, plot_generation, plot_masks, plot_race, race
from gtl.plots import save_figure
import matplotlib.pyplot as plt

study = Study(profile, dataset, arch, seed, data_root, device)
device, tag = study.device, f"{profile}_{dataset}"
result = run_evolution(study, **study.numbers.ablation)
test_set = load_dataset(dataset, "test", data_root, result.config.image_size).to(device)
generations = sorted(result.history.generation.unique())
print(f"{result.config.population} members x {len(generations)} generations of {arch}; run: {result.run_dir.name}")

# %%
explorer(result, test_set, shots=5, steps=30);

# %% [markdown]
# ## The same, without widgets: the last generation

# %%
last = int(generations[-1])
generation_table(result.history, last)

# %%
fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3), gridspec_kw={"width_ratios": [1, 1.4]})
plot_generation(result.history, last, a)
plot_masks(champion(result, last), b)
fig.tight_layout()
save_figure(fig, f"explorer_generation_{tag}")
plt.show()

# %%
curves = race(champion(result, last), test_set, shots=5, steps=30, seed=seed, cross_scale=result.config.cross_scale)
fig = plot_race(curves)
save_figure(fig, f"explorer_race_{tag}")
plt.show()
print(curves.pivot(index="step", columns="method", values="accuracy").round(3).T.to_string())
print("one task, one seed: a picture of learning, not a measurement (notebook 02 has the CIs)")

# %%
assert champion(result, last).meta["generation"] == last
assert set(curves.method) == {"Learngene", "Scratch"} and curves.accuracy.between(0, 1).all()
