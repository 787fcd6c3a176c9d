# %% [markdown]
# # 13 · The gap's budget curve: is it the construction or the budget that hides the effect?
#
# The paper reports +16 points over Scratch on miniImageNet; our quick profile's lineage is tiny (12 members,
# 6 generations of 100 SGD steps on 5-way tasks). Two explanations of a small gap can be told apart here:
#
# * **the budget**: if the learngene's advantage needs a long evolution, the paired Learngene − Scratch gap should
#   grow with the *lineage budget* (generations × lifetime steps, the training one line of ancestors receives);
# * **the construction**: if descendants drown their learngene in random cross-weights (docs/decisions.md #16),
#   a better isolation should raise the gap at every budget.
#
# **Pre-Cut**, the network pre-trained on all 64 training classes cut to the learngene's size by GTL's own
# saliency rule, is the control: its gap says what a learngene-sized piece of a well-trained network carries, and
# its curve against the pre-training steps shows how that grows with *its* budget. (Along the lineage budget
# Pre-Cut does not train more: only its size follows each lineage's learngene, so its line there is a reference.)
#
# Every point is the paired difference with Scratch on the same 5-way 5-shot **test** episodes (mean ± 95% CI),
# with the protocol of notebook 02. The budgets are `gtl.profiles.Profile.lineage_budgets` (**our choice**); the
# isolations are the construction used before decision #16 (*open*, the presets' again since decision #20's rule
# over seeds) and the one notebook 12 chose on validation classes on one seed (*cut at birth*, the presets' when
# these curves were made; Pre-Cut takes the size of its learngene).
# The test classes are used here to *describe* both isolations, not to choose between them (notebook 12 chose on
# validation classes). In the quick profile the budgets go *up to* the quick lineage (6 × 100 steps): the curve
# can say whether the gap grows over that range, not what a ten times longer evolution gives; notebook 14 adds
# that (6 × 1000 steps, computed once by `make budget-long`).

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
from gtl.budget import gaps, lineage_curve, pretraining_curve
from gtl.experiments import Study
from gtl.report import answer, construction_verdicts
from gtl.plots import plot_budget_curve, save_figure, save_table, study_episodes
from gtl.protocol import DEFAULT_ISOLATION, ISOLATIONS, NOTEBOOK_12_ISOLATION

study = Study(profile, dataset, arch, seed, data_root, device, progress=(profile == "paper"))
tag = f"{profile}_{dataset}"
eval_cfg, numbers = study.eval_config(), study.numbers
chosen = NOTEBOOK_12_ISOLATION  # notebook 12's choice, the presets' when these curves were made
isolations = {name: ISOLATIONS[name] for name in (DEFAULT_ISOLATION, chosen)}
print("budgets (generations, lifetime steps):", numbers.lineage_budgets, "| isolations:", list(isolations))
print("Pre-Fin pre-training steps:", numbers.pretrain_steps)

# %% [markdown]
# ## The gap against the lineage budget

# %%
lineage = study_episodes(f"budget_lineage_{tag}", profile, lambda: lineage_curve(
    study, eval_cfg=eval_cfg, isolations=isolations, budgets=numbers.lineage_budgets, shots=5), own_isolation=True)
lineage_gaps = gaps(lineage, ["isolation", "lineage_steps"])
save_table(lineage_gaps.round(4), f"budget_lineage_{tag}")
lineage_gaps

# %% [markdown]
# ## Pre-Cut against Pre-Fin's pre-training

# %%
pretraining = study_episodes(f"budget_pretraining_{tag}", profile, lambda: pretraining_curve(
    study, eval_cfg=eval_cfg, pretrain_steps=numbers.pretrain_steps, shots=5, **isolations[chosen]),
    own_isolation=True)
pretraining_gaps = gaps(pretraining, ["pretrain_steps"], ("Pre-Cut", "Pre-Fin"))
save_table(pretraining_gaps.round(4), f"budget_pretraining_{tag}")
pretraining_gaps

# %%
fig = plot_budget_curve(lineage_gaps, pretraining_gaps,
                        f"paired gap over Scratch, {dataset} 5-way 5-shot ({profile} profile, seed {seed})")
save_figure(fig, f"budget_curve_{tag}")
plt.show()

# %% [markdown]
# ## The answer, in numbers
#
# Each line: the gap at the smallest and the largest budget, and its change between them, paired on the same
# episodes (a clear change has a 95% CI that excludes 0).

# %%
print("\n".join(answer(lineage, pretraining)))

# %% [markdown]
# And the construction at each budget: notebook 12's *cut at birth* learngene against *open*'s, paired on the
# episodes.

# %%
print("\n".join(construction_verdicts(lineage, chosen, DEFAULT_ISOLATION)))

# %%
assert set(lineage_gaps.isolation) == set(isolations) and lineage_gaps.gap.between(-1, 1).all()
assert len(lineage_gaps) == 2 * len(isolations) * len(numbers.lineage_budgets)
