"""gtl.budget: gaps over Scratch per budget, and their paired change, on made-up long tables."""
from __future__ import annotations

import pandas as pd
import pytest

from gtl.budget import BUDGETS, PRETRAIN_STEPS, gap_change, gaps
from gtl.profiles import PROFILES
from gtl.stats import long_rows

SCRATCH = [0.30, 0.45, 0.38, 0.52, 0.41, 0.35]


def _lineage() -> pd.DataFrame:
    """The learngene's gap grows 1 → 5 points with the budget; Pre-Cut stays 2 points above Scratch."""
    rows = []
    for steps, lg in ((150, 0.01), (600, 0.05)):
        rows += long_rows(SCRATCH, method="Scratch", lineage_steps=steps, isolation="open")
        rows += long_rows([a + lg for a in SCRATCH], method="Learngene", lineage_steps=steps, isolation="open")
        rows += long_rows([a + 0.02 for a in SCRATCH], method="Pre-Cut", lineage_steps=steps, isolation="open")
    return pd.DataFrame(rows)


def test_gaps_per_budget_and_method():
    g = gaps(_lineage(), ["isolation", "lineage_steps"])
    assert list(zip(g.lineage_steps, g.method)) == [(150, "Learngene"), (150, "Pre-Cut"), (600, "Learngene"),
                                                    (600, "Pre-Cut")]
    assert g.gap.tolist() == pytest.approx([0.01, 0.02, 0.05, 0.02]) and g.clear.all()


def test_gap_change_is_paired_between_the_smallest_and_largest_budget():
    small, large, change, ci, clear = gap_change(_lineage(), "lineage_steps", "Learngene", isolation="open")
    assert (small, large, change) == pytest.approx((0.01, 0.05, 0.04)) and ci == pytest.approx(0, abs=1e-12)
    assert clear and not gap_change(_lineage(), "lineage_steps", "Pre-Cut")[4]
    assert gap_change(_lineage(), "lineage_steps", "Pre-Cut")[2] == pytest.approx(0.0)


def test_every_profile_has_budgets_smallest_first():
    for profile in PROFILES:
        lineage = [g * s for g, s in BUDGETS[profile]]
        assert lineage == sorted(lineage) and list(PRETRAIN_STEPS[profile]) == sorted(PRETRAIN_STEPS[profile])
    assert (6, 100) in BUDGETS["quick"]  # the quick profile's own lineage is one of its points
