"""Numbers into words (gtl.report): sentences, points and tables for people."""
from __future__ import annotations

import pandas as pd
import pytest

from gtl import report
from gtl.stats import PAIRED, long_rows


def test_format_table_puts_the_paper_beside_the_learngene():
    df = pd.DataFrame([dict(method=m, mean=v, ci95=0.02, episodes=60, ways=5, shots=5, seed=0,
                            params_transferred=p, setting="5-way 5-shot", dataset="miniimagenet", image_size=32,
                            params_fraction=f, diff=d, diff_ci95=0.01, clear=c)
                       for m, v, p, f, d, c in [("Learngene", 0.5, 10, 0.2, 0.1, True),
                                                ("Scratch", 0.4, 0, 0.0, float("nan"), False)]])
    t = report.format_table(df, "quick")
    lg, sc = t.iloc[0], t.iloc[1]
    assert lg[PAIRED] == "**+10.0 ± 1.0**" and sc[PAIRED] == ""
    assert lg["paper (abstract)"] == "+16 vs Scratch" and sc["paper (abstract)"] == ""
    assert lg["accuracy (%)"] == 50.0 and lg["share of params (%)"] == 20.0
    assert (report.format_table(df, "quick", claim=False)["paper (abstract)"] == "").all()


def test_verdicts_one_line_per_group_and_baseline_paired():
    rows = []
    for s in ("1-shot", "5-shot"):
        for m, shift in (("Learngene", 0.1), ("Scratch", 0.0), ("Pre-Fin", 0.2)):
            rows += long_rows([0.3 + shift, 0.5 + shift, 0.4 + shift], method=m, setting=s)
    lines = report.verdicts(pd.DataFrame(rows), "setting", ("Scratch", "Pre-Fin", "MAML"))
    assert len(lines) == 4 and lines[0].startswith("1-shot: Learngene 50.0")
    assert "paired difference +10.0 ± 0.0 points over 3 episodes, a clear difference" in lines[0]
    assert "-10.0 ± 0.0 points" in lines[1]
    with pytest.raises(ValueError, match="several rows for one episode"):
        report.verdicts(pd.DataFrame(rows).assign(run="one"), "run", ("Scratch",))  # two settings in one group


def test_verdict_is_not_clear_when_the_paired_ci_straddles_zero():
    line = report.verdict([0.6, 0.3, 0.5], [0.5, 0.4, 0.45], "A", "B")
    assert "not a clear difference (its 95% CI includes 0)" in line


def test_verdict_cells_say_how_far_a_rule_is_in_two_short_cells():
    from gtl.stats import seed_interval
    assert report.verdict_cells(None) == ("not run yet", "rule written")
    assert report.verdict_cells({"verdict": "pending", "seeds": [0, 1], "missing": [2]}) == (
        "seeds 0, 1 done", "pending (2 to come)")
    done = {"verdict": "open", "seeds": [0, 1, 2], "missing": [], "delta": seed_interval([1.0, 2.0, 3.0])}
    assert report.verdict_cells(done) == ("+2.0 ± 2.5 (3 seeds, SD 1.0)", "**open**")


def test_the_cap_of_explanation_3_has_its_own_rule_in_words():
    from gtl.stats import seed_interval
    text = report.closed_verdict_text({"verdict": "confirmed", "seeds": [0, 1, 2], "missing": [],
                                       "delta": seed_interval([0.1, 0.2, 0.3])})
    assert text.startswith("confirmed: Pre-Closed's gain over Scratch = +0.2") and "upper end is below +2" in text


def test_the_isolation_verdict_counts_the_wins_and_says_when_none_is_better():
    wins = pd.Series({"cut at birth": 3, "open": 2})
    text = report.isolation_verdict_text({"verdict": "open", "seeds": [0, 1, 2, 3, 4], "missing": [], "wins": wins,
                                          "needed": 4}, 50)
    assert text.startswith("no isolation is better") and "cut at birth 3, open 2" in text
    adopted = report.isolation_verdict_text({"verdict": "open", "seeds": [0, 1, 2, 3, 4], "missing": [],
                                             "wins": pd.Series({"open": 4, "cut at birth": 1}), "needed": 4}, 50)
    assert adopted.startswith("adopted: open")
