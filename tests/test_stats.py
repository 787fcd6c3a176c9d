"""gtl.stats: confidence intervals, the paired rule, long tables, shares and rank correlation."""
from __future__ import annotations

import doctest
import math

import pandas as pd
import pytest

import gtl.stats

import dataclasses

import numpy as np

from gtl.stats import (by_episode, clear_difference, gain_shares, long_rows, mean_ci95, paired_difference,
                       rank_correlation, seed_episode_bootstrap, seed_gaps, seed_interval, seed_table, share_of_gain,
                       share_over_seeds, summarize, t95)
from gtl.report import paired_text, points


def test_mean_ci95_by_hand():
    mean, ci = mean_ci95([0.5, 0.7])
    sd = math.sqrt(((0.5 - 0.6) ** 2 + (0.7 - 0.6) ** 2) / 1)  # sample sd, n - 1 = 1
    assert mean == pytest.approx(0.6)
    assert ci == pytest.approx(1.96 * sd / math.sqrt(2))
    assert ci == pytest.approx(1.96 * 0.141421356 / math.sqrt(2))


def test_mean_ci95_of_constant_values_is_zero_width():
    assert mean_ci95([0.25] * 5) == (0.25, 0.0)


def test_mean_ci95_of_one_value_has_no_interval():
    mean, ci = mean_ci95([0.8])
    assert mean == 0.8 and math.isnan(ci)


def test_mean_ci95_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        mean_ci95([])


def test_paired_difference_is_the_ci_of_per_episode_differences():
    a, b = [0.6, 0.8, 0.4, 0.7], [0.5, 0.6, 0.35, 0.7]
    assert paired_difference(a, b) == pytest.approx(mean_ci95([0.1, 0.2, 0.05, 0.0]))
    with pytest.raises(ValueError, match="same episodes"):
        paired_difference([0.5, 0.6], [0.5])


def test_pairing_finds_a_difference_that_the_two_separate_cis_hide():
    # hard and easy episodes: each method's CI is wide, but B is always 2 points below A
    a = [0.2, 0.9, 0.4, 0.8, 0.3, 0.7, 0.5, 0.6]
    b = [x - 0.02 for x in a]
    (ma, ca), (mb, cb) = mean_ci95(a), mean_ci95(b)
    assert abs(ma - mb) < ca + cb          # an unpaired look: the intervals overlap
    assert clear_difference(a, b)          # paired: a clear difference
    assert not clear_difference(a, a)      # no difference at all
    assert not clear_difference([0.6, 0.3], [0.5, 0.4])  # +0.1 and -0.1: the CI straddles 0
    assert not clear_difference([0.6], [0.5])            # one episode: no interval, no claim


def test_share_of_gain_is_the_ratio_of_mean_gains_with_an_interval_around_it():
    base = [0.3, 0.4, 0.5, 0.35, 0.45, 0.4]
    ref = [x + 0.2 for x in base]
    half = [x + 0.1 + 0.01 * (i % 2) for i, x in enumerate(base)]
    share, low, high = share_of_gain(half, base, ref, seed=0)
    assert share == pytest.approx(0.105 / 0.2)
    assert low <= share <= high and high - low < 0.2
    assert share_of_gain(half, base, ref, seed=0) == (share, low, high)  # seeded: reproducible
    with pytest.raises(ValueError):
        share_of_gain([0.1], [0.1, 0.2], [0.3, 0.4])
    noisy_ref = [x + (0.1 if i % 2 else -0.1) for i, x in enumerate(base)]  # a reference gain that is not clear
    assert all(math.isnan(v) for v in share_of_gain(half, base, noisy_ref))


def test_by_episode_pairs_on_the_episode_number_and_refuses_what_cannot_be_paired():
    rows = pd.DataFrame({"method": ["A", "B", "A", "B"], "episode": [1, 0, 0, 1], "accuracy": [.6, .5, .4, .7]})
    assert by_episode(rows) == {"A": [0.4, 0.6], "B": [0.5, 0.7]}  # episode order, not row order
    with pytest.raises(ValueError, match="different episodes"):
        by_episode(rows.iloc[:3])
    with pytest.raises(ValueError, match="more than one cell"):
        by_episode(pd.concat([rows, rows]))
    shuffled = pd.DataFrame(long_rows([0.3, 0.5, 0.4], method="Scratch") + long_rows([0.4, 0.6, 0.5], method="LG"))
    assert summarize(shuffled.sample(frac=1, random_state=0), [], method="method").set_index("method").loc[
        "LG", "diff_ci95"] == pytest.approx(0.0)  # rows in any order: still paired episode by episode


def test_rank_correlation_of_monotone_and_reversed_orders():
    x = [1, 2, 3, 4, 5, 6, 7, 8]
    rho, low, high = rank_correlation(x, [v ** 2 for v in x])  # monotone, not linear
    assert rho == pytest.approx(1.0) and low > 0.5
    rho, low, high = rank_correlation(x, [-v for v in x])
    assert rho == pytest.approx(-1.0) and high < -0.5
    rho, low, high = rank_correlation([1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5])
    assert 0 < rho < 1 and low < rho < high
    assert math.isnan(rank_correlation([1, 2, 3, 4], [1, 1, 1, 1])[0])  # constant: undefined


def _long() -> pd.DataFrame:
    rows = []
    for setting, shift in (("1-shot", 0.05), ("5-shot", 0.0)):
        rows += long_rows([0.3, 0.5, 0.4, 0.6], method="Scratch", setting=setting)
        rows += long_rows([x + shift for x in (0.3, 0.5, 0.4, 0.6)], method="Learngene", setting=setting)
    return pd.DataFrame(rows)


def test_summarize_gives_each_cell_its_ci_and_paired_difference_with_the_baseline():
    df = summarize(_long(), ["setting"])
    assert list(df.method) == ["Scratch", "Learngene", "Scratch", "Learngene"]  # order of appearance
    lg1 = df[(df.method == "Learngene") & (df.setting == "1-shot")].iloc[0]
    assert lg1["mean"] == pytest.approx(0.5) and lg1.episodes == 4
    assert (lg1["diff"], lg1.diff_ci95) == pytest.approx((0.05, 0.0)) and lg1.clear
    lg5 = df[(df.method == "Learngene") & (df.setting == "5-shot")].iloc[0]
    assert lg5["diff"] == pytest.approx(0.0) and not lg5.clear
    assert df[df.method == "Scratch"]["diff"].isna().all() and not df[df.method == "Scratch"].clear.any()


def test_summarize_pairs_only_within_pair_on_groups():
    df = summarize(_long(), [])  # no pairing key: both settings' Scratch cells compete; the last one wins
    assert df[df.method == "Learngene"]["diff"].notna().all()
    no_base = summarize(_long(), ["setting"], baseline="Pre-Fin")
    assert no_base["diff"].isna().all()


def test_gain_shares_per_group():
    rows = []
    for method, shift in (("Scratch", 0.0), ("Pre-Fin", 0.2), ("Learngene", 0.1)):
        rows += long_rows([0.3 + 0.01 * i + shift for i in range(5)], method=method, setting="5-shot")
    shares = gain_shares(pd.DataFrame(rows), ["setting"])
    assert list(shares.method) == ["Learngene"] and shares.share.iloc[0] == pytest.approx(0.5)


def test_paired_text():
    assert paired_text(0.012, 0.02, False) == "+1.2 ± 2.0"
    assert paired_text(-0.05, 0.02, True) == "**-5.0 ± 2.0**"
    assert paired_text(float("nan"), float("nan"), False) == ""
    assert paired_text(-0.0004, 0.02, False) == "+0.0 ± 2.0"  # rounds to zero: no "-0.0"
    assert points(-3.26, 1.04) == "-3.3 ± 1.0"  # already in points


# ------------------------------------------------------- seeds as the unit

T_2 = 4.302652729749464  # scipy.stats.t.ppf(0.975, 2), written out


def test_t95_is_the_student_t_quantile_not_z():
    assert round(t95(2), 4) == 4.3027 and t95(2) == pytest.approx(T_2, rel=1e-12)
    assert round(t95(1), 4) == 12.7062 and round(t95(9), 4) == 2.2622
    assert t95(10 ** 6) == pytest.approx(1.96, abs=1e-3)  # t tends to z
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="degrees of freedom"):
            t95(bad)


def test_seed_interval_by_hand():
    iv = seed_interval([0.01, 0.03, 0.02])
    assert (iv.mean, iv.sd, iv.seeds) == pytest.approx((0.02, 0.01, 3))  # sd: sqrt((1e-4 + 1e-4 + 0) / 2)
    assert iv.half_width == pytest.approx(T_2 * 0.01 / math.sqrt(3))  # 0.0248 > 0.02: not clear over 3 seeds
    assert not iv.clear
    clear = seed_interval([0.05, 0.07, 0.06])  # the same spread further from 0
    assert clear.half_width == pytest.approx(iv.half_width) and clear.clear
    assert not seed_interval([0.0] * 4).clear  # zero width and zero mean: 0 is not excluded ...
    assert seed_interval([0.02] * 4).clear      # ... a constant non-zero gap is
    with pytest.raises(dataclasses.FrozenInstanceError):
        iv.mean = 1.0


def test_seed_interval_of_one_seed_makes_no_claim_and_refuses_no_seeds_or_non_finite_gaps():
    one = seed_interval([0.05])
    assert one.mean == 0.05 and one.seeds == 1
    assert math.isnan(one.half_width) and math.isnan(one.sd) and not one.clear
    with pytest.raises(ValueError, match="no seeds"):
        seed_interval([])
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="finite"):
            seed_interval([0.01, bad])


def _seeded(gaps_by_seed: dict, episodes: int = 3, **columns) -> list[dict]:
    """Long rows over seeds: Scratch's accuracies vary by episode and seed; LG = Scratch + that seed's gap
    plus an episode pattern that averages to 0 (so a seed's gap is exactly the one given)."""
    rows = []
    for s, gap in gaps_by_seed.items():
        scratch = [0.3 + 0.1 * e + 0.01 * s for e in range(episodes)]
        pattern = [0.01 * (e - (episodes - 1) / 2) for e in range(episodes)]
        rows += long_rows(scratch, method="Scratch", seed=s, **columns)
        rows += long_rows([x + gap + p for x, p in zip(scratch, pattern)], method="LG", seed=s, **columns)
    return rows


def test_seed_gaps_are_per_seed_paired_means_in_seed_order_whatever_the_row_order():
    table = pd.DataFrame(_seeded({2: 0.03, 0: 0.01, 1: -0.02}) + long_rows([0.9] * 3, method="Other", seed=0))
    shuffled = table.sample(frac=1, random_state=1)
    assert seed_gaps(shuffled, "LG") == pytest.approx([0.01, -0.02, 0.03])  # seeds 0, 1, 2
    assert seed_gaps(shuffled, "LG", base="LG") == pytest.approx([0, 0, 0])
    assert seed_gaps(shuffled.rename(columns={"seed": "run"}), "LG", seed_column="run") == pytest.approx(
        [0.01, -0.02, 0.03])
    with pytest.raises(ValueError, match="no column 'seed'"):
        seed_gaps(shuffled.drop(columns="seed"), "LG")


def test_seed_gaps_refuse_what_cannot_be_paired_within_a_seed():
    table = pd.DataFrame(_seeded({0: 0.01, 1: 0.02}))
    moved = table.copy()
    moved.loc[(moved.seed == 1) & (moved.method == "LG") & (moved.episode == 2), "episode"] = 7
    with pytest.raises(ValueError, match="seed=1: .*different episodes"):
        seed_gaps(moved, "LG")
    with pytest.raises(ValueError, match=r"seed=1 has no rows of \['LG'\]"):
        seed_gaps(table[(table.seed == 0) | (table.method == "Scratch")], "LG")
    two_cells = pd.DataFrame(_seeded({0: 0.01}, setting="1-shot") + _seeded({0: 0.02}, setting="5-shot"))
    with pytest.raises(ValueError, match="more than one cell"):
        seed_gaps(two_cells, "LG")


def test_seed_episode_bootstrap_is_reproducible_and_contains_the_mean():
    table = pd.DataFrame(_seeded({0: 0.01, 1: 0.04, 2: 0.02, 3: 0.03}, episodes=5))
    mean, low, high = seed_episode_bootstrap(table, "LG", seed=0)
    assert mean == pytest.approx(0.025) and low < mean < high
    assert seed_episode_bootstrap(table, "LG", seed=0) == (mean, low, high)
    assert seed_episode_bootstrap(table, "LG", seed=1) != (mean, low, high)
    constant = []
    for s in range(3):
        constant += long_rows([0.3, 0.5, 0.4], method="Scratch", seed=s) + long_rows([0.32, 0.52, 0.42], method="LG",
                                                                                     seed=s)
    assert seed_episode_bootstrap(pd.DataFrame(constant), "LG") == pytest.approx((0.02,) * 3)  # nothing varies
    short = table[~((table.seed == 3) & (table.episode == 4))]
    with pytest.raises(ValueError, match="different numbers of episodes"):
        seed_episode_bootstrap(short, "LG")


def test_seed_episode_bootstrap_resamples_seeds_and_shares_the_episode_draw():
    # two seeds, each with a constant gap (0 or 0.1): a draw picks both seeds alike a quarter of the time
    # each, so the 2.5 and 97.5 percentiles are exactly 0 and 0.1
    rows = []
    for s, gap in ((0, 0.0), (1, 0.1)):
        rows += long_rows([0.5] * 4, method="Scratch", seed=s) + long_rows([0.5 + gap] * 4, method="LG", seed=s)
    assert seed_episode_bootstrap(pd.DataFrame(rows), "LG") == pytest.approx((0.05, 0.0, 0.1))
    # ten identical seeds over two shared episodes (gaps 0 and 0.1): one episode draw for all seeds is
    # all-episode-0 a quarter of the time (mean 0); a draw per seed would almost never be
    rows = []
    for s in range(10):
        rows += long_rows([0.5, 0.5], method="Scratch", seed=s) + long_rows([0.5, 0.6], method="LG", seed=s)
    assert seed_episode_bootstrap(pd.DataFrame(rows), "LG") == pytest.approx((0.05, 0.0, 0.1))


def test_share_over_seeds_is_fiellers_interval_by_hand():
    a, b = [0.04, 0.07, 0.04], [0.10, 0.12, 0.11]
    # means 0.05 and 0.11; sample variances 0.0003 and 0.0001, covariance 0.00015; of the means: / 3
    v_aa, v_bb, v_ab, t2 = 0.0003 / 3, 0.0001 / 3, 0.00015 / 3, T_2 ** 2
    lead, half_slope, const = 0.11 ** 2 - t2 * v_bb, 0.05 * 0.11 - t2 * v_ab, 0.05 ** 2 - t2 * v_aa
    root = math.sqrt(half_slope ** 2 - lead * const)
    share, low, high = share_over_seeds(a, b)
    assert share == pytest.approx(0.05 / 0.11)
    assert (low, high) == pytest.approx(((half_slope - root) / lead, (half_slope + root) / lead))
    assert low < share < high
    for theta in (low, high):  # the ends are where (a - theta b)^2 = t^2 var(a - theta b)
        assert (0.05 - theta * 0.11) ** 2 == pytest.approx(t2 * (v_aa - 2 * theta * v_ab + theta ** 2 * v_bb))


def test_share_over_seeds_is_close_to_the_delta_method_when_the_denominator_is_large():
    a = np.array([0.080, 0.085, 0.075, 0.090, 0.070, 0.082, 0.078, 0.088, 0.072, 0.080])
    b = np.array([0.150, 0.160, 0.145, 0.158, 0.140, 0.152, 0.149, 0.156, 0.144, 0.146])  # 0.15 ± 0.005
    share, low, high = share_over_seeds(a, b)
    assert share == pytest.approx(0.08 / 0.15) and low < share < high
    cov = np.cov(a, b) / 10
    delta = t95(9) * math.sqrt(cov[0, 0] - 2 * share * cov[0, 1] + share ** 2 * cov[1, 1]) / 0.15
    assert (low, high) == pytest.approx((share - delta, share + delta), abs=0.05 * delta)
    assert (high - share) != pytest.approx(share - low, rel=1e-3)  # Fieller's interval is not symmetric


def test_share_over_seeds_is_undefined_when_the_reference_gain_may_be_zero():
    assert all(math.isnan(v) for v in share_over_seeds([0.01, 0.02, 0.03], [0.01, -0.01, 0.02]))
    assert all(math.isnan(v) for v in share_over_seeds([0.01], [0.10]))  # one seed: no interval, no share
    with pytest.raises(ValueError, match="same seeds"):
        share_over_seeds([0.01, 0.02], [0.1])
    with pytest.raises(ValueError, match="no seeds"):
        share_over_seeds([], [])
    with pytest.raises(ValueError, match="finite"):
        share_over_seeds([0.01, float("nan")], [0.1, 0.1])


def test_seed_table_gives_one_row_per_group_and_method():
    table = pd.DataFrame(_seeded({0: 0.01, 1: 0.03, 2: 0.02}, setting="1-shot")
                         + _seeded({0: 0.05, 1: 0.07, 2: 0.06}, setting="5-shot"))
    df = seed_table(table.sample(frac=1, random_state=2), ["LG"], by=["setting"]).set_index("setting")
    assert list(df.columns) == ["method", "mean", "half_width", "sd", "seeds", "clear"]
    assert sorted(df.index) == ["1-shot", "5-shot"]
    assert tuple(df.loc["1-shot", ["mean", "sd", "seeds"]]) == pytest.approx((0.02, 0.01, 3))
    assert df.loc["1-shot", "half_width"] == pytest.approx(T_2 * 0.01 / math.sqrt(3))
    assert not df.loc["1-shot", "clear"] and df.loc["5-shot", "clear"]
    assert df.loc["5-shot", "mean"] == pytest.approx(0.06)
    whole = seed_table(table[table.setting == "5-shot"], ["LG", "Scratch"])
    assert list(whole.method) == ["LG", "Scratch"] and whole["mean"].tolist() == pytest.approx([0.06, 0.0])
    assert seed_table(table, ["Scratch"], base="LG", by=["setting"])["mean"].tolist() == pytest.approx([-0.02, -0.06])


def test_the_examples_in_the_docstrings_are_true():
    assert doctest.testmod(gtl.stats).failed == 0
