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
"""
from __future__ import annotations

import math
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


def paired_text(diff: float, ci: float, clear: bool) -> str:
    """``+1.2 ± 2.0`` (points) for a paired difference in [0, 1] units; bold when clear; blank for NaN."""
    if pd.isna(diff):
        return ""
    text = f"{100 * diff:+.1f} ± {100 * ci:.1f}"
    return f"**{text}**" if clear else text


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
