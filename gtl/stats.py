"""Statistics over episodes, paired where the design is paired.

Every method meets the *same* episodes and fine-tuning seeds
(:func:`gtl.evaluation.episode_accuracies`), so "is A better than B?" is a
question about the per-episode differences ``a_i - b_i``: their mean ± 95% CI
(:func:`paired_difference`). Much of the episode-to-episode spread (an easy or a
hard task) is common to both methods and cancels in the difference, so this
interval is usually far narrower than the two per-method intervals added.
:func:`clear_difference` is the project's one rule for "a clear difference".

Tables keep their per-episode accuracies in a *long* form (one row per
episode: ``method``, ``episode``, ``accuracy`` and whatever else names the
cell); :func:`summarize` turns it into the usual table with the paired
difference against a baseline beside each row.

**The run is the unit** when a study has several seeds (each its own evolution,
pre-training and episode draw). An episode interval is conditional on one run:
it says nothing of what another seed (or float rounding on another CPU type)
would move. So each seed gives one number, its paired gap (the mean over its
episodes of ``method - base``, :func:`seed_gaps`), and the claim is the mean
± t_{S-1} · sd / sqrt(S) over the S seeds (:func:`seed_interval`, Student t,
not 1.96, for few seeds), with the between-run sd reported beside it. One seed
gives no interval, hence no claim.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

Z95 = 1.96  # the normal 95% quantile: the field's convention for few-shot CIs
EPISODE_COLUMNS = ("episode", "accuracy")  # what varies within one cell of a long table
PAIRED = "vs Scratch, paired (points)"  # the column of a paired difference with Scratch in every table


def mean_ci95(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of the normal 95% confidence interval, 1.96 · sd / sqrt(n).

    Example:
        >>> [round(v, 3) for v in mean_ci95([0.5, 0.7])]
        [0.6, 0.196]
    """
    values = [float(v) for v in values]
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mean = sum(values) / n
    if n == 1:
        return mean, float("nan")
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, Z95 * sd / math.sqrt(n)


def paired_difference(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Mean ± 95% CI half-width of ``a[i] - b[i]``: ``a`` and ``b`` scored on the same episodes.

    Example:
        >>> [round(v, 3) for v in paired_difference([0.6, 0.8, 0.4], [0.5, 0.7, 0.3])]
        [0.1, 0.0]
    """
    if len(a) != len(b):
        raise ValueError(f"a paired difference needs the same episodes on both sides, got {len(a)} and {len(b)}")
    return mean_ci95([x - y for x, y in zip(a, b)])


def clear_difference(a: Sequence[float], b: Sequence[float]) -> bool:
    """The project's one rule for "a clear difference": the paired 95% CI of ``a - b``
    excludes 0 (one episode gives no interval, hence no claim).

    Example:
        >>> clear_difference([0.6, 0.8, 0.4], [0.5, 0.7, 0.3]), clear_difference([0.6, 0.3], [0.5, 0.4])
        (True, False)
    """
    mean, ci = paired_difference(a, b)
    return not math.isnan(ci) and abs(mean) > ci


def share_of_gain(method: Sequence[float], base: Sequence[float], reference: Sequence[float],
                  seed: int = 0, draws: int = 2000) -> tuple[float, float, float]:
    """``mean(method - base) / mean(reference - base)`` with a 95% paired-bootstrap interval.

    E.g. the learngene's gain over Scratch as a share of Pre-Fin's gain: 1 means it
    transfers all that pre-training does, 0 nothing. Episodes are resampled jointly
    (the three methods met the same ones). Returns ``(share, low, high)``, all NaN
    when the reference's own gain is not clear (:func:`clear_difference`): a ratio
    over a gain that may be 0 means nothing.
    """
    m, b, r = (np.asarray(x, dtype=float) for x in (method, base, reference))
    if not len(m) == len(b) == len(r) or len(m) == 0:
        raise ValueError(f"need the same (non-empty) episodes for all three, got {len(m)}, {len(b)}, {len(r)}")
    if not clear_difference(r, b):
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(m), size=(draws, len(m)))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = float((m - b).mean() / (r - b).mean())
        boot = (m - b)[idx].mean(1) / (r - b)[idx].mean(1)
    low, high = np.nanpercentile(boot, [2.5, 97.5]) if np.isfinite(boot).any() else (np.nan, np.nan)
    return share, float(low), float(high)


def rank_correlation(x: Sequence[float], y: Sequence[float]) -> tuple[float, float, float]:
    """Spearman's rank correlation with a 95% CI (Fisher z, se sqrt(1.06 / (n - 3))).

    For "does selection select?": members' fitness against their descendants'
    accuracy on test classes. Ties get their average rank. Returns
    ``(rho, low, high)``; the interval is NaN below 5 pairs.
    """
    if len(x) != len(y) or len(x) < 3:
        raise ValueError(f"need at least 3 pairs of equal length, got {len(x)} and {len(y)}")
    rx, ry = pd.Series(x).rank().to_numpy(), pd.Series(y).rank().to_numpy()
    if rx.std() == 0 or ry.std() == 0:
        return float("nan"), float("nan"), float("nan")
    rho = float(np.corrcoef(rx, ry)[0, 1])
    if len(x) < 5:
        return rho, float("nan"), float("nan")
    z, se = math.atanh(min(max(rho, -0.999999), 0.999999)), math.sqrt(1.06 / (len(x) - 3))
    return rho, math.tanh(z - Z95 * se), math.tanh(z + Z95 * se)


# ------------------------------------------------------------- long tables


def by_episode(rows: pd.DataFrame, column: str | Sequence[str] = "method") -> dict:
    """The accuracies of a long table per value of ``column``, aligned on ``episode``:
    ``{value: [accuracy of episode e, in episode order]}``, ready for :func:`paired_difference`.

    Pairs by the episode number, not by position, and refuses what cannot be paired: a value
    with an episode twice (the rows are more than one cell: group by the column that tells them
    apart first), or values that met different episodes.

    Example:
        >>> rows = pd.DataFrame({"method": ["A", "B", "A", "B"], "episode": [1, 0, 0, 1], "accuracy": [.6, .5, .4, .7]})
        >>> by_episode(rows)
        {'A': [0.4, 0.6], 'B': [0.5, 0.7]}
    """
    series = {}
    for value, part in rows.groupby(column, sort=False):
        value = value[0] if isinstance(value, tuple) and len(value) == 1 else value
        if part.episode.duplicated().any():
            raise ValueError(f"{column}={value!r} has several rows for one episode: these rows are more than one "
                             f"cell; select or group by the column that tells them apart first")
        series[value] = part.set_index("episode").accuracy.sort_index()
    episodes = {tuple(s.index) for s in series.values()}
    if len(episodes) > 1:
        every = set().union(*(set(s.index) for s in series.values()))
        missing = {v: sorted(every - set(s.index))[:5] for v, s in series.items() if len(s) < len(every)}
        raise ValueError(f"the values of {column!r} met different episodes (missing, first five: {missing}): a "
                         f"paired difference needs the same episodes on both sides")
    return {v: s.tolist() for v, s in series.items()}


def cells(episodes: pd.DataFrame) -> list[tuple[dict, pd.DataFrame]]:
    """The cells of a long table, in order of appearance: (what names the cell, its episodes
    sorted by episode). A cell is a set of rows equal in every column but episode and accuracy."""
    keys = [c for c in episodes.columns if c not in EPISODE_COLUMNS]
    out = []
    for values, rows in episodes.groupby(keys, sort=False, dropna=False):
        values = values if isinstance(values, tuple) else (values,)
        out.append((dict(zip(keys, values)), rows.sort_values("episode")))
    return out


def summarize(episodes: pd.DataFrame, pair_on: Sequence[str] = (), baseline: str | None = "Scratch",
              method: str = "method") -> pd.DataFrame:
    """A long table -> one row per cell: ``mean``, ``ci95``, ``episodes`` and, against the
    ``baseline`` row that shares the cell's ``pair_on`` values, the paired difference
    ``diff`` ± ``diff_ci95`` (in [0, 1] units) and ``clear`` (:func:`clear_difference`).
    The baseline's own row and rows without a baseline get NaN / False there.
    """
    found = cells(episodes)
    by_pair = {(tuple(str(c[k]) for k in pair_on), c[method]): rows for c, rows in found}
    out = []
    for cell, rows in found:
        mean, ci = mean_ci95(rows.accuracy)
        row = {**cell, "mean": mean, "ci95": ci, "episodes": len(rows), "diff": float("nan"),
               "diff_ci95": float("nan"), "clear": False}
        base = by_pair.get((tuple(str(cell[k]) for k in pair_on), baseline))
        if base is not None and cell[method] != baseline:
            acc = by_episode(pd.concat([rows, base]), method)
            row["diff"], row["diff_ci95"] = paired_difference(acc[cell[method]], acc[baseline])
            row["clear"] = clear_difference(acc[cell[method]], acc[baseline])
        out.append(row)
    return pd.DataFrame(out)


def long_rows(accuracies: Sequence[float], **columns) -> list[dict]:
    """One long-table row per episode: ``columns`` (what names the cell) + episode + accuracy."""
    return [{**columns, "episode": e, "accuracy": float(a)} for e, a in enumerate(accuracies)]


def gain_shares(episodes: pd.DataFrame, pair_on: Sequence[str], base: str = "Scratch",
                reference: str = "Pre-Fin", seed: int = 0) -> pd.DataFrame:
    """Every other method's gain over ``base`` as a share of ``reference``'s gain, per group of
    ``pair_on`` in a long table (:func:`share_of_gain`, paired bootstrap): columns ``method``,
    the ``pair_on`` values, ``share``, ``share_low``, ``share_high``."""
    rows = []
    for group, part in episodes.groupby(list(pair_on), sort=False):
        group = group if isinstance(group, tuple) else (group,)
        acc = by_episode(part)
        if base not in acc or reference not in acc:
            continue
        for m, a in acc.items():
            if m not in (base, reference):
                share, low, high = share_of_gain(a, acc[base], acc[reference], seed)
                rows.append({"method": m, **dict(zip(pair_on, group)), "share": share, "share_low": low,
                             "share_high": high})
    return pd.DataFrame(rows)


# ------------------------------------------------------- seeds as the unit


def t95(df: int) -> float:
    """The two-sided 95% Student t quantile with ``df`` degrees of freedom (``t.ppf(0.975, df)``).

    Over a handful of seeds 1.96 is far too narrow: with 3 seeds the quantile is 4.30.

    Example:
        >>> round(t95(2), 4), round(t95(10 ** 6), 2)
        (4.3027, 1.96)
    """
    if isinstance(df, bool) or not isinstance(df, (int, np.integer)) or df < 1:
        raise ValueError(f"degrees of freedom must be an integer >= 1, got {df!r}")
    from scipy.stats import t  # here, not at the top: importing scipy.stats takes a noticeable while

    return float(t.ppf(0.975, int(df)))


@dataclass(frozen=True)
class SeedInterval:
    """Mean ± 95% t interval over seeds, with the between-run sd beside it (in [0, 1] units)."""

    mean: float
    half_width: float  # t_{S-1} · sd / sqrt(S); NaN for one seed
    sd: float          # the between-run sd (ddof=1); NaN for one seed
    seeds: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    @property
    def clear(self) -> bool:
        """The interval excludes 0 (no interval, as from one seed, is no claim)."""
        return not math.isnan(self.half_width) and abs(self.mean) > self.half_width


def seed_interval(gaps: Sequence[float]) -> SeedInterval:
    """Mean ± t_{S-1} · sd / sqrt(S) of per-seed paired ``gaps`` (one number per seed, :func:`seed_gaps`).

    The seed, not the episode, is the unit: a run's episodes share its evolution and
    pre-training, so only the spread between runs says what another run would give.

    Example (three seeds, all above 0, and yet no clear gain: t_2 = 4.30):
        >>> iv = seed_interval([0.01, 0.03, 0.02])
        >>> round(iv.mean, 3), round(iv.sd, 3), round(iv.half_width, 4), iv.seeds, iv.clear
        (0.02, 0.01, 0.0248, 3, False)
    """
    values = np.asarray([float(g) for g in gaps], dtype=float)
    if len(values) == 0:
        raise ValueError("no seeds: a seed interval needs at least one per-seed gap")
    if not np.isfinite(values).all():
        raise ValueError(f"per-seed gaps must be finite, got {values[~np.isfinite(values)].tolist()}")
    s = len(values)
    if s == 1:
        return SeedInterval(float(values[0]), float("nan"), float("nan"), 1)
    sd = float(values.std(ddof=1))
    return SeedInterval(float(values.mean()), t95(s - 1) * sd / math.sqrt(s), sd, s)


def _per_seed(episodes: pd.DataFrame, method: str, base: str, seed_column: str) -> dict:
    """``{seed: (accuracies of method, of base)}`` paired by episode within each seed, seeds sorted."""
    if seed_column not in episodes.columns:
        raise ValueError(f"no column {seed_column!r} in the table (columns: {list(episodes.columns)})")
    out = {}
    for seed, part in episodes.groupby(seed_column, sort=True):
        try:
            acc = by_episode(part[part.method.isin([method, base])])
        except ValueError as error:
            raise ValueError(f"{seed_column}={seed!r}: {error}") from error
        missing = [m for m in (method, base) if m not in acc]
        if missing:
            raise ValueError(f"{seed_column}={seed!r} has no rows of {missing}: every seed needs both methods")
        out[seed] = (acc[method], acc[base])
    return out


def seed_gaps(episodes: pd.DataFrame, method: str, base: str = "Scratch", seed_column: str = "seed") -> list[float]:
    """Each seed's paired gap, the mean over its episodes of ``method - base``, in sorted seed order.

    Pairs within a seed by episode number (:func:`by_episode`: a seed where the two
    methods met different episodes is an error). Two calls on the same table give lists
    over the same seeds in the same order, as :func:`share_over_seeds` needs.

    Example:
        >>> rows = pd.DataFrame(long_rows([.5, .7], method="A", seed=1) + long_rows([.4, .6], method="Scratch", seed=1)
        ...                     + long_rows([.6, .6], method="A", seed=0)
        ...                     + long_rows([.5, .6], method="Scratch", seed=0))
        >>> [round(g, 3) for g in seed_gaps(rows, "A")]
        [0.05, 0.1]
    """
    return [float(np.mean(np.subtract(m, b))) for m, b in _per_seed(episodes, method, base, seed_column).values()]


def seed_episode_bootstrap(episodes: pd.DataFrame, method: str, base: str = "Scratch", draws: int = 2000,
                           seed: int = 0, seed_column: str = "seed") -> tuple[float, float, float]:
    """Mean gap ``method - base`` with a two-level bootstrap 95% interval: seeds, then episodes.

    For designs where every seed meets the *same* episodes: each draw resamples the seeds
    with replacement, then the episodes with replacement, the same episode indices for
    every seed (the episodes are shared, so their difficulty is common to all seeds).
    Returns ``(mean, low, high)``, the 2.5 and 97.5 percentiles of the draws.
    """
    pairs = _per_seed(episodes, method, base, seed_column)
    if len({len(m) for m, _ in pairs.values()}) > 1:
        raise ValueError(f"the seeds met different numbers of episodes "
                         f"({ {s: len(m) for s, (m, _) in pairs.items()} }): this bootstrap needs shared episodes")
    gap = np.array([np.subtract(m, b) for m, b in pairs.values()])  # seeds × episodes
    s, e = gap.shape
    rng = np.random.default_rng(seed)
    # how often each seed / episode is drawn in a resample with replacement: the mean of
    # gap[seeds drawn][:, episodes drawn] is then seed_counts · gap · episode_counts / (s · e)
    seed_counts = rng.multinomial(s, np.full(s, 1 / s), size=draws)
    episode_counts = rng.multinomial(e, np.full(e, 1 / e), size=draws)
    boot = np.einsum("ds,se,de->d", seed_counts, gap, episode_counts) / (s * e)
    low, high = np.percentile(boot, [2.5, 97.5])
    return float(gap.mean()), float(low), float(high)


def share_over_seeds(method_gaps: Sequence[float], reference_gaps: Sequence[float]) -> tuple[float, float, float]:
    """``mean(method_gaps) / mean(reference_gaps)`` with Fieller's 95% interval, over the same seeds.

    E.g. the learngene's gain over Scratch as a share of Pre-Fin's, from per-seed gaps
    (:func:`seed_gaps`) of the same seeds in the same order. A ratio of two correlated means
    a, b (their variances v_aa, v_bb and covariance v_ab are those of the per-seed gaps over S)
    has the Fieller interval of the theta with (a - theta b)^2 <= t^2 (v_aa - 2 theta v_ab +
    theta^2 v_bb), t = t_{S-1}: the roots of

        (b^2 - t^2 v_bb) theta^2 - 2 (a b - t^2 v_ab) theta + (a^2 - t^2 v_aa) = 0.

    That is a bounded interval only when b^2 > t^2 v_bb, i.e. when the reference's own
    t interval excludes 0; otherwise (unbounded, or two rays) this returns NaN for all
    three, as it does for one seed: a share of a gain that may be 0 means nothing.
    Returns ``(share, low, high)``.

    Example:
        >>> [round(v, 3) for v in share_over_seeds([0.04, 0.07, 0.04], [0.10, 0.12, 0.11])]
        [0.455, 0.079, 0.718]
    """
    a_s, b_s = (np.asarray([float(v) for v in x], dtype=float) for x in (method_gaps, reference_gaps))
    if len(a_s) != len(b_s):
        raise ValueError(f"need the gaps of the same seeds on both sides, got {len(a_s)} and {len(b_s)}")
    seed_interval(a_s)  # refuses no seeds and non-finite gaps
    if not seed_interval(b_s).clear:
        return float("nan"), float("nan"), float("nan")
    n = len(a_s)
    a, b = a_s.mean(), b_s.mean()
    cov = np.cov(a_s, b_s, ddof=1) / n  # of the two means
    t2 = t95(n - 1) ** 2
    lead, half_slope, const = b * b - t2 * cov[1, 1], a * b - t2 * cov[0, 1], a * a - t2 * cov[0, 0]
    root = math.sqrt(max(half_slope ** 2 - lead * const, 0.0))  # >= 0 when lead > 0, up to rounding
    return float(a / b), float((half_slope - root) / lead), float((half_slope + root) / lead)


def seed_table(episodes: pd.DataFrame, methods: Sequence[str], base: str = "Scratch", by: Sequence[str] = (),
               seed_column: str = "seed") -> pd.DataFrame:
    """Per group of ``by`` columns, one row per method: its gap over ``base`` across seeds
    (:func:`seed_gaps`, :func:`seed_interval`), columns ``by``, ``method``, ``mean``,
    ``half_width``, ``sd``, ``seeds``, ``clear`` (in [0, 1] units)."""
    rows = []
    groups = episodes.groupby(list(by), sort=False) if by else [((), episodes)]
    for group, part in groups:
        group = group if isinstance(group, tuple) else (group,)
        for m in methods:
            iv = seed_interval(seed_gaps(part, m, base, seed_column))
            rows.append({**dict(zip(by, group)), "method": m, "mean": iv.mean, "half_width": iv.half_width,
                         "sd": iv.sd, "seeds": iv.seeds, "clear": iv.clear})
    return pd.DataFrame(rows)
