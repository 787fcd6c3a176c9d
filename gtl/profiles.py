"""The three sizes every experiment comes in.

* ``smoke``: seconds on a CPU. The tests run every notebook top to bottom in it:
  the same data, code paths and figures as ``quick``, with a handful of members,
  steps and episodes. Its numbers mean nothing.
* ``quick``: minutes on a CPU, on whatever real images are on disk. The stored
  notebooks and the README's numbers come from it.
* ``paper``: hours on a GPU, the full datasets at the paper's scale.

Each experiment config (:class:`gtl.evolution.GTLConfig`,
:class:`gtl.evaluation.EvalConfig`) has one preset per profile.
"""
from __future__ import annotations

import os

PROFILES = ("smoke", "quick", "paper")

# Values chosen on validation classes by notebooks/12_protocol_choice.ipynb (gtl.protocol, by rules written
# before the run; docs/decisions.md #17), in its run of commit CHOSEN_AT. Every preset uses them;
# tests/test_protocol.py checks them against the table that run stored (figures/protocol_choice_quick_miniimagenet.csv,
# its provenance in figures/provenance.csv), never against a fresh rerun: on another CPU type the same rule picked
# another isolation, so a rerun is another draw, for people to weigh. They reach every cache key through the
# configs they set, so this module is in none of gtl.cache's code digests.
CHOSEN_AT = "50a3b92"
CHOSEN_ISOLATION = {"cross_scale": 0.0, "closed_circuit": False}  # "cut at birth" (decision #16)
CHOSEN_QUESTION_STEPS = 10  # fine-tuning steps of the open-question notebooks in the quick profile


def check_profile(profile: str) -> str:
    """``profile`` if it is one of :data:`PROFILES`, else a ValueError naming the choices."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {profile!r}")
    return profile


def default_profile() -> str:
    """The notebooks' profile: ``$GTL_PROFILE`` (the tests set ``smoke``), else ``quick``."""
    return check_profile(os.environ.get("GTL_PROFILE") or "quick")
