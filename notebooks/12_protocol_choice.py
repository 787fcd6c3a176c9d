# %% [markdown]
# # 12 · Choosing the protocol on validation classes
#
# Two values the paper does not give move our results more than any other, so they are **chosen here, on the
# 16 validation classes, by rules written down before the run** (`gtl.protocol`, docs/decisions.md #17), and the
# test classes are then evaluated once, by the other notebooks, with what was chosen:
#
# 1. **How a learngene is isolated from the random weights around it** (docs/decisions.md #16). A descendant
#    inherits the learngene's kernel slices (and BN statistics) into a freshly initialised network; with the
#    construction used before decision #16 (*open*) every learngene channel after the first conv also reads all the
#    other channels through random cross-weights, which can drown what it learned. *Cut at birth* sets those
#    cross-weights to 0 at every birth; *closed circuit* also holds them at 0 during each member's lifetime, so what is handed on is a sub-network
#    that computed on its own in the ancestor.
# 2. **How long descendants are fine-tuned** in the open-question notebooks (09–11), which compare many variants
#    and need a short protocol.
#
# **The rules** (fixed before the run):
# * *Isolation*: each candidate evolves its own lineage (same profile, data, seed); its best learngene's
#   descendants and Scratch meet the same **fresh** validation episodes (not the critics' episodes), fine-tuned
#   and read after 5, 10, 25 and 50 steps. Per episode the Learngene − Scratch gap is averaged over those steps.
#   Among the candidates whose averaged gap is clearly above *open*'s (paired: Scratch is the same for all), the
#   largest wins; if none is, *open* stays.
# * *Fine-tuning steps*: for the chosen isolation, the step count whose paired gap has the largest lower 95%
#   bound, if above 0; otherwise the main protocol's own steps. Ties go to fewer steps.
#
# **How firm these rules were.** The isolation rule was first written as "the largest mean gap, if its own CI
# excludes 0"; a review before this notebook's final run pointed out that it never compared a candidate with
# *open*, so it was tightened to the rule above. Both pick the same candidate here (the table shows both
# columns). The step rule returns the 10 steps that earlier versions had read off *test*-class curves; it was
# written after that value was known, which makes it weaker evidence than a rule fixed before any look.
#
# **Where the choice applies.** It was made in the quick profile, on miniImageNet, with VGG11, on one seed; the
# question notebooks' steps apply to the quick profile only.
#
# **The isolation chosen here is no longer the presets'.** This choice rests on one run, and on the first
# fine-tuning steps, where *cut at birth* led by most. Decision #20 chose again, over seeds and after the
# headline's fine-tuning steps, by a rule written before its runs (an isolation is adopted only if it wins 4
# seeds of 5, else *open*): *cut at birth* could no longer reach that, so the presets are back to *open*
# (notebook 15 says on which seeds, `gtl.why.isolation_verdict`). The studies computed under this notebook's
# choice keep it (`gtl.protocol.NOTEBOOK_12_ISOLATION`: explanation 1's lineages, notebooks 13 and 14).
#
# The values in the code (`GTLConfig`'s `cross_scale` and `closed_circuit`, `gtl.profiles.CHOSEN_QUESTION_STEPS`)
# come from these rules, and a test checks them against the committed tables: the question steps against the
# table this notebook writes, applied to the presets' isolation (the last line below applies it), the isolation
# against notebook 15's.

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
import pandas as pd
from gtl.experiments import Study
from gtl.plots import plot_learning_curves, save_figure, save_table, study_episodes
from gtl.protocol import (ISOLATIONS, check_gap_pairing, choose_isolation, choose_steps, isolation_of, isolation_table,
                          steps_table, validation_curves)
from gtl.stats import summarize

study = Study(profile, dataset, arch, seed, data_root, device, progress=(profile == "paper"))
tag = f"{profile}_{dataset}"
eval_cfg = study.eval_config()
print("candidates:", ISOLATIONS)
print(f"{eval_cfg.episodes} fresh validation episodes, 5-way 5-shot, seed {seed}")

# %% [markdown]
# ## Learning curves on fresh validation episodes, one lineage per candidate

# %%
curves = study_episodes(f"protocol_choice_curves_{tag}", profile,
                        lambda: validation_curves(study, eval_cfg=eval_cfg, shots=5), own_isolation=True)
check_gap_pairing(curves)  # every candidate met the same episodes
summary = summarize(curves, ["isolation", "step"])
fig, axes = plt.subplots(1, len(ISOLATIONS), figsize=(5 * len(ISOLATIONS), 3.8), sharey=True)
for ax, name in zip(axes, ISOLATIONS):
    plot_learning_curves(summary[summary.isolation == name], title=name, ax=ax)
fig.suptitle(f"validation classes, fresh episodes ({profile} profile, seed {seed})", fontsize=10)
fig.tight_layout()
save_figure(fig, f"protocol_choice_{tag}")
plt.show()

# %% [markdown]
# ## The rules, applied

# %%
isolation = choose_isolation(curves)
steps = choose_steps(curves, isolation, eval_cfg.finetune.steps)
by_isolation = isolation_table(curves)
by_steps = steps_table(curves, isolation)
choice = pd.DataFrame([{"value": "isolation", "chosen": isolation, **ISOLATIONS[isolation]},
                       {"value": "question finetune steps", "chosen": str(steps)}]).assign(
    profile=profile, dataset=dataset, seed=seed, episodes=eval_cfg.episodes, split="val (fresh episodes)")
points = {"mean_gap": "gap (points)", "gap_ci95": "95% CI (±)", "lower_bound": "lower bound (points)",
          "vs_open": "vs open, paired (points)", "vs_open_ci95": "vs open 95% CI (±)"}
save_table(by_isolation.assign(**{c: (100 * by_isolation[c]).round(2)
                                  for c in ("mean_gap", "gap_ci95", "vs_open", "vs_open_ci95")})
           .rename(columns=points), f"protocol_isolation_{tag}")
save_table(by_steps.assign(**{c: (100 * by_steps[c]).round(2) for c in ("mean_gap", "gap_ci95", "lower_bound")})
           .rename(columns=points), f"protocol_steps_{tag}")
save_table(choice, f"protocol_choice_{tag}")
print(f"chosen isolation: {isolation} {ISOLATIONS[isolation]}; question notebooks fine-tune {steps} steps")
presets = isolation_of(study.gtl_config())
print(f"the presets' isolation now (decision #20): {presets}; the step rule for it: "
      f"{choose_steps(curves, presets, eval_cfg.finetune.steps)} steps")
by_isolation

# %%
by_steps

# %%
assert set(by_isolation.isolation) == set(ISOLATIONS) and isolation in ISOLATIONS
assert steps in (eval_cfg.finetune.steps, *by_steps.step)
