"""gtl.why: the explanations' studies, their rules and the pieces they are computed in."""
from __future__ import annotations

import pandas as pd
import pytest

from gtl import why
from gtl.experiments import Study
from gtl.report import width_verdict_text

WIDTHS = (0.25, 0.5, 1.0)


def _episodes(gains: dict[tuple[int, float], float], prefin: float = 0.10, episodes: int = 4) -> pd.DataFrame:
    """A long table where, at (seed, width), the born-cut cut is ``gains[...]`` above Scratch in every
    episode, the open cut half that, and Pre-Fin ``prefin``; Scratch at 0.4 with some spread."""
    rows = []
    for (seed, width), gain in gains.items():
        for e in range(episodes):
            base = 0.4 + 0.01 * e
            for method, isolation, acc in (("Scratch", "", base), ("Pre-Fin", "", base + prefin),
                                           (why.UNIFORM, "born cut", base + gain),
                                           (why.UNIFORM, "open", base + gain / 2)):
                rows.append({"method": method, "isolation": isolation, "seed": seed, "width": width,
                             "episode": e, "accuracy": acc})
    return pd.DataFrame(rows)


def test_gains_are_per_seed_and_width_in_points_for_each_cut_and_pre_fin():
    gains = why.width_gains(_episodes({(0, 0.25): 0.02, (0, 1.0): 0.08}))
    row = gains[(gains.seed == 0) & (gains.width == 1.0)].iloc[0]
    assert row["Uniform-cut, born cut"] == pytest.approx(8.0) and row["Uniform-cut, open"] == pytest.approx(4.0)
    assert row["Pre-Fin"] == pytest.approx(10.0) and len(gains) == 2


@pytest.mark.parametrize("wide, verdict", [((0.08, 0.09, 0.085), "confirmed"),     # +6..+7 points, tight
                                           ((0.02, 0.025, 0.03), "ruled out"),    # +0..+1: upper end below +2
                                           ((0.01, 0.09, 0.03), "open")])         # too spread to say
def test_the_rule_of_decision_20_on_three_seeds(wide, verdict):
    gains = {(s, 0.25): 0.02 for s in range(3)} | {(s, 1.0): g for s, g in enumerate(wide)}
    result = why.width_verdict(_episodes(gains), WIDTHS, (0, 1, 2))
    assert result["verdict"] == verdict and result["delta"].seeds == 3
    assert width_verdict_text(result, WIDTHS).startswith(f"{verdict}: the 20% cut (born cut) gains")


def test_the_rule_waits_for_every_seed_to_have_both_ends():
    gains = {(0, 0.25): 0.02, (0, 1.0): 0.08, (1, 0.25): 0.02, (1, 0.5): 0.05, (2, 1.0): 0.07}
    result = why.width_verdict(_episodes(gains), WIDTHS, (0, 1, 2))
    assert result == {"verdict": "pending", "seeds": [0], "missing": [1, 2]}
    assert "missing: 1, 2" in width_verdict_text(result, WIDTHS)


def test_shares_are_over_seeds_with_the_between_run_sd():
    gains = {(s, w): 0.05 + 0.01 * s for s in range(3) for w in (0.25, 1.0)}
    shares = why.width_shares(_episodes(gains))
    born = shares[(shares.width == 1.0) & (shares.method == "Uniform-cut, born cut")].iloc[0]
    assert born.seeds == 3 and born.gain == pytest.approx(6.0) and born.between_run_sd == pytest.approx(1.0)
    assert born.share == pytest.approx(0.6) and born.share_low < 0.6 < born.share_high


def test_a_piece_replaces_its_own_rows_and_keeps_the_others(tmp_path, monkeypatch):
    monkeypatch.setenv("GTL_FIGURES", str(tmp_path))
    first = _episodes({(0, 0.25): 0.02, (1, 0.25): 0.03})
    why.merge_piece(first, "t.csv", on=("seed", "width"), made_at="abc1234")
    again = _episodes({(0, 0.25): 0.05})
    why.merge_piece(again, "t.csv", on=("seed", "width"), made_at="def5678")
    table = pd.read_csv(tmp_path / "t.csv")
    assert len(table) == len(first) and not list(tmp_path.glob("*.tmp"))
    assert set(table[table.seed == 0].commit) == {"def5678"} and set(table[table.seed == 1].commit) == {"abc1234"}
    assert why.width_gains(table).set_index("seed").loc[0, "Uniform-cut, born cut"] == pytest.approx(5.0)


def test_the_uniform_cut_holds_the_papers_share_of_the_parameters_at_every_width():
    from gtl.learngene import seeded_model
    for width in (0.125, 0.25):
        cut = why.uniform_cut(seeded_model("vgg11", 64, width, 0))
        assert cut.fraction == pytest.approx(0.20, abs=0.02) and cut.meta["method"] == why.UNIFORM


def test_a_piece_at_a_width_the_profile_does_not_study_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        why.main(["width", "--seed", "0", "--width", "0.3", "--profile", "smoke"])
    assert "the smoke profile's widths are (0.125, 0.25)" in capsys.readouterr().err


@pytest.mark.slow
def test_a_width_point_pairs_every_method_on_the_same_episodes(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("GTL_RUNS", str(tmp_path))
    study = Study(profile="smoke", data_root=str(data_root), device="cpu")
    rows = why.width_point(study, width=0.125, eval_cfg=study.eval_config())
    cells = rows.groupby(["method", "isolation"]).episode.apply(tuple)
    assert len(cells) == 4 and cells.nunique() == 1  # Scratch, Pre-Fin, two cuts; the same episodes
    assert (rows.width == 0.125).all() and set(rows.seed) == {0}
