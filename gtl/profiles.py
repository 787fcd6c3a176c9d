"""The three sizes every experiment comes in.

* ``smoke``: seconds on a CPU. The tests run every notebook top to bottom in it:
  the same data, code paths and figures as ``quick``, with a handful of members,
  steps and episodes. Its numbers mean nothing.
* ``quick``: minutes on a CPU, on whatever real images are on disk. The stored
  notebooks and the README's numbers come from it.
* ``paper``: hours on a GPU, the full datasets at the paper's scale.

Each experiment config (:class:`gtl.evolution.GTLConfig`,
:class:`gtl.evaluation.EvalConfig`) has one preset per profile; every other number
of a profile (the budgets of the ablations and studies, their grids, the
descendants to try) is in its :class:`Profile` here, and nowhere else.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

PROFILES = ("smoke", "quick", "paper")

# Values chosen on validation classes by rules written before their runs (docs/decisions.md #17 and #20). Every
# preset uses them. The question notebooks' fine-tuning steps come from notebooks/12_protocol_choice.ipynb's run of
# commit CHOSEN_AT (gtl.protocol's step rule, applied to the presets' isolation). The isolation comes from decision
# #20's rule, applied over seeds at the headline's endpoint (gtl.why.isolation_verdict on notebook 15's committed
# table, figures/why_isolation_quick_miniimagenet_episodes.csv): notebook 12's one-seed choice, "cut at birth", can
# no longer win the 4 seeds of 5 the rule asks there, so the rule returned the presets to "open".
# tests/test_protocol.py checks both against those committed tables (notebook 12's only as run at CHOSEN_AT: on
# another CPU type the same rule picked another isolation, so a rerun is another draw, for people to weigh). They
# reach every cache key through the configs they set, so this module is in none of gtl.cache's code digests.
CHOSEN_AT = "50a3b92"
CHOSEN_ISOLATION = {"cross_scale": 1.0, "closed_circuit": False}  # "open" (decision #20's isolation rule)
CHOSEN_QUESTION_STEPS = 10  # fine-tuning steps of the open-question notebooks in the quick profile


@dataclass(frozen=True)
class Profile:
    """The numbers of one size beyond its GTL and evaluation presets (our choices, docs/decisions.md).

    Args:
        name: ``smoke``, ``quick`` or ``paper``.
        ablation_budget: members and generations of the ablations', the sensitivity grid's and the ViT's
            runs (empty: the profile's own GTL budget).
        sensitivity: per genetic hyper-parameter, the values the sensitivity grid tries around that base.
        vit_width: the ViT's width in notebook 11.
        deeper: the deeper descendants a learngene initialises (notebook 05).
        wider: the ancestor's width times these (notebook 05).
        question_steps: fine-tuning steps of the open-question notebooks (09-11); None: the profile's own.
        lineage_budgets: (generations, lifetime steps) of notebook 13's lineages, smallest first.
        pretrain_steps: Pre-Fin's pre-training steps that Pre-Cut is cut from (notebook 13), the profile's own last.
        long_budgets: (generations, lifetime steps) beyond the profile's own (notebook 14, decision #18).
        why_widths: the widths of explanation 4 (scale, decision #20), narrowest first; the rule compares the ends.
        why_seeds: the seeds (runs) each why-study is decided over.
        headline_seeds: the seeds (runs) of the headline over seeds and of the isolation rule (decision #20).
        why_extra_seeds: added once to ``why_seeds`` when a rule says open (decision #20: seeds 3 and 4).
        heur_lg_steps: the Heur-LG protocol's fine-tuning steps in explanation 2; None: its own 313.
        why_large: (width, image size) points of explanation 4 beyond the profile's image size, reported beside
            its rule (decision #20: width 0.25 at 84 px, as long on a CPU as width 1 at 32 px).
        why_chains: (generations, lifetime steps) of explanation 1's selection-free chains (decision #20): the
            rule compares the fewest and the most generations at the first chain's lifetime; the chain with the
            longest lifetime has as many image-steps as the most generations, on few tasks.
    """
    name: str
    ablation_budget: tuple[tuple[str, int], ...]
    sensitivity: tuple[tuple[str, tuple], ...]
    vit_width: float
    deeper: tuple[str, ...]
    wider: tuple[float, ...]
    question_steps: int | None
    lineage_budgets: tuple[tuple[int, int], ...]
    pretrain_steps: tuple[int, ...]
    long_budgets: tuple[tuple[int, int], ...]
    why_widths: tuple[float, ...]
    why_seeds: tuple[int, ...]
    headline_seeds: tuple[int, ...]
    why_extra_seeds: tuple[int, ...]
    heur_lg_steps: int | None
    why_large: tuple[tuple[float, int], ...]
    why_chains: tuple[tuple[int, int], ...]

    @property
    def ablation(self) -> dict:
        """:attr:`ablation_budget` as GTLConfig overrides."""
        return dict(self.ablation_budget)

    @property
    def grid(self) -> dict:
        """:attr:`sensitivity` as ``{factor: values}``."""
        return dict(self.sensitivity)


NUMBERS = {
    "smoke": Profile("smoke", ablation_budget=(("population", 3), ("generations", 2)),
                     sensitivity=(("population", (2, 3)), ("tournament_size", (1, 2)), ("mutation_rate", (0.0, 0.3)),
                                  ("generations", (1, 2))),
                     vit_width=0.25, deeper=("vgg16",), wider=(1.5,), question_steps=None,
                     lineage_budgets=((1, 2), (2, 4)), pretrain_steps=(5, 10), long_budgets=((2, 8),),
                     why_widths=(0.125, 0.25), why_seeds=(0, 1), headline_seeds=(0, 1),
                     why_extra_seeds=(), heur_lg_steps=5, why_large=((0.125, 40),),  # seconds, for the tests
                     why_chains=((1, 2), (2, 2), (4, 2), (1, 8))),
    # at most the base's members and generations in the grid: the CPU budget
    "quick": Profile("quick", ablation_budget=(("population", 6), ("generations", 3)),
                     sensitivity=(("population", (3, 6)), ("tournament_size", (1, 2, 3)),
                                  ("mutation_rate", (0.0, 0.3, 0.6)), ("generations", (1, 2, 3))),
                     vit_width=0.5, deeper=("vgg16",), wider=(1.5,), question_steps=CHOSEN_QUESTION_STEPS,
                     lineage_budgets=((3, 50), (3, 100), (6, 100)), pretrain_steps=(375, 750, 1500),
                     long_budgets=((6, 1000),), why_widths=(0.25, 0.5, 1.0), why_seeds=(0, 1, 2),
                     headline_seeds=(0, 1, 2, 3, 4), why_extra_seeds=(3, 4), heur_lg_steps=None,
                     why_large=((0.25, 84),), why_chains=((6, 100), (36, 100), (96, 100), (6, 1600))),
    "paper": Profile("paper", ablation_budget=(),
                     sensitivity=(("population", (25, 50, 100)), ("tournament_size", (1, 2, 3, 5)),
                                  ("mutation_rate", (0.0, 0.3, 0.6)), ("generations", (10, 30, 50))),
                     vit_width=1.0, deeper=("vgg13", "vgg16", "vgg19"), wider=(1.5, 2.0), question_steps=None,
                     lineage_budgets=((10, 500), (30, 500), (60, 500)), pretrain_steps=(7500, 15000, 30000),
                     long_budgets=((60, 5000),), why_widths=(0.25, 0.5, 1.0), why_seeds=(0, 1, 2),
                     headline_seeds=(0, 1, 2, 3, 4), why_extra_seeds=(3, 4), heur_lg_steps=None,
                     why_large=(), why_chains=((60, 500), (360, 500), (960, 500), (60, 8000))),
}


def numbers(profile: str) -> Profile:
    """The :class:`Profile` of ``profile`` (a ValueError naming the choices for another name)."""
    return NUMBERS[check_profile(profile)]


def check_profile(profile: str) -> str:
    """``profile`` if it is one of :data:`PROFILES`, else a ValueError naming the choices."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {profile!r}")
    return profile


def default_profile() -> str:
    """The notebooks' profile: ``$GTL_PROFILE`` (the tests set ``smoke``), else ``quick``."""
    return check_profile(os.environ.get("GTL_PROFILE") or "quick")
