"""gtl.stats: confidence intervals, the paired rule, long tables, shares and rank correlation."""
from __future__ import annotations

import doctest
import math

import pandas as pd
import pytest

import gtl.stats

from gtl.stats import (by_episode, clear_difference, gain_shares, long_rows, mean_ci95, paired_difference, paired_text,
                       rank_correlation, share_of_gain, summarize)


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


def test_the_examples_in_the_docstrings_are_true():
    assert doctest.testmod(gtl.stats).failed == 0
