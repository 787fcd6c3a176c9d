"""gtl.budget: gaps over Scratch per budget, and their paired change, on made-up long tables."""
from __future__ import annotations

import pandas as pd
import pytest

from gtl.budget import gap_change, gaps
from gtl.profiles import numbers
from gtl.report import answer, change_text, construction_verdicts, in_points
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
        lineage = [g * s for g, s in numbers(profile).lineage_budgets]
        steps = numbers(profile).pretrain_steps
        assert lineage == sorted(lineage) and list(steps) == sorted(steps)
    assert (6, 100) in numbers("quick").lineage_budgets  # the quick profile's own lineage is one of its points


def test_the_long_budgets_go_beyond_each_profiles_own():
    for profile in PROFILES:
        own = max(g * s for g, s in numbers(profile).lineage_budgets)
        assert min(g * s for g, s in numbers(profile).long_budgets) > own
    assert max(g * s for g, s in numbers("quick").long_budgets) == 10 * 6 * 100  # ten times the quick lineage


def test_change_text_and_points_for_people():
    line = change_text(_lineage(), "lineage_steps", "Learngene", "LG", isolation="open")
    assert line == "LG: +1.0 → +5.0 points; change +4.0 ± 0.0 (clear)"
    table = in_points(gaps(_lineage(), ["isolation", "lineage_steps"]))
    assert {"gap (points)", "95% CI (±)"} <= set(table.columns) and table["gap (points)"].abs().max() <= 5.0


def test_the_answer_and_the_construction_at_each_budget():
    lineage = _lineage()
    pretraining = lineage.rename(columns={"lineage_steps": "pretrain_steps"}).replace({"Learngene": "Pre-Fin"})
    lines = answer(lineage, pretraining)
    assert lines[0] == ("Learngene, open, lineage budget 150→600 steps: +1.0 → +5.0 points; change +4.0 ± 0.0 "
                        "(clear)")
    assert len(lines) == 4 and lines[-1].startswith("Pre-Fin, pre-training 150→600 steps: +1.0 → +5.0")
    assert answer(lineage) == lines[:2]
    cut = lineage.assign(isolation="cut", accuracy=lineage.accuracy + 0.01)
    verdicts = construction_verdicts(pd.concat([lineage, cut]), "cut", "open")
    assert [v.split(":")[0] for v in verdicts] == ["150 lineage steps", "600 lineage steps"]
    assert "paired difference +1.0 ± 0.0 points over 6 episodes, a clear difference" in verdicts[0]
