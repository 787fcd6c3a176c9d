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
# Differences are paired over the same episodes: the table gives each variant's difference with Scratch, and the
# verdicts below GTL's difference with each variant (mean ± 95% CI, clear when it excludes 0).
#
# To fit the quick profile's time budget every GTL variant here runs a smaller population for fewer
# generations (`gtl.profiles.Profile.ablation_budget`) than notebook 01. `best_from_generation` says where each
# run's best learngene came from: variants whose best is a generation-0 learngene end up identical. So, most
# likely, do GTL and *no tournament* in the quick run (same accuracies, best from generation 1 with the same
# fitness): generation 0's best member heads the parents with or without tournaments, its first child is
# mutated with the same seed in both runs, and at this small budget that child is the best of either run.
# Removing tournaments changed the other members, not the winner.

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
from gtl.experiments import ABLATIONS, Study, ablation_table
from gtl.report import verdicts
from gtl.stats import PAIRED, summarize
from gtl.plots import percent_table, plot_results, save_episodes, save_figure, save_table

tag = f"{profile}_{dataset}"
study = Study(profile, dataset, arch, seed, data_root, device, progress=(profile == "paper"))
print("budget:", study.numbers.ablation or "the profile's own")
for name, overrides in ABLATIONS.items():
    print(f"{name:18} {overrides}")

# %%
episodes = ablation_table(study, eval_cfg=study.eval_config(), shots=5)
results = summarize(episodes, ["setting"], baseline="Scratch (no evolution)")
table = percent_table(results.rename(columns={"method": "variant"}),
                      ["variant", "accuracy (%)", "95% CI (±)", PAIRED, "params_transferred", "setting", "episodes",
                       "seed", "generations", "population", "best_from_generation", "best_fitness"])
save_table(table, f"table_ablations_{tag}")
save_episodes(episodes, f"table_ablations_{tag}")
table

# %%
assert len(results) == len(ABLATIONS) + 2 and results["mean"].between(0, 1).all()

# %%
fig = plot_results(results, title=f"ablations on {dataset} ({profile} profile)")
save_figure(fig, f"table_ablations_{tag}")
plt.show()
print("\n".join(verdicts(episodes, "setting", tuple(results.method[1:]), method="GTL")))

# %% [markdown]
# ## Does selection select?
#
# The ablations ask whether removing an ingredient changes the *result*; this asks whether the tournaments'
# scores mean anything. Every member of the main run's (notebook 01) first and last generation passes its
# learngene to descendants that meet 20 **test**-class episodes (the other notebooks' protocol otherwise). If
# fitness, measured by critics on a few validation episodes, ranks learngenes by what they give on new classes,
# fitness and test accuracy rise together: Spearman's rank correlation, with its 95% CI over members, says how
# much. A correlation near 0 means the tournaments pick by noise, and the best of many noisy scores (the elite)
# is chosen by luck as much as by merit (a winner's curse). This check goes beyond the paper's table, so
# `make figures` reads its committed table and `make studies` computes it.

# %%
from gtl.experiments import run_evolution, selection_validity
from gtl.plots import plot_selection
from gtl.stats import rank_correlation
from gtl.plots import study_episodes


def members_of_first_and_last_generation():
    main_run = run_evolution(study)
    return pd.concat([selection_validity(study, main_run, study.eval_config(), generation=g, episodes=20)
                      for g in (0, main_run.config.generations - 1)], ignore_index=True)


selection = study_episodes(f"table_selection_{tag}", profile, members_of_first_and_last_generation)
members = summarize(selection, ["generation"], baseline=None)
correlations = pd.DataFrame([dict(zip(("generation", "members", "rho", "rho_low", "rho_high"),
                                      (g, len(rows), *rank_correlation(rows.fitness.tolist(), rows["mean"].tolist()))))
                             for g, rows in members.groupby("generation")])
save_table(correlations.round(3), f"table_selection_{tag}")
fig = plot_selection(members, f"fitness vs descendants' test accuracy, {dataset} ({profile} profile, seed {seed})")
save_figure(fig, f"fig_selection_{tag}")
plt.show()
correlations
