"""The gap's budget curve: does the learngene's advantage grow with the lineage's training?

The quick profile's lineage is tiny (6 generations of 100 SGD steps). If the paper's
effect needs a long evolution, the Learngene − Scratch gap should grow with the
*lineage budget*, generations × lifetime steps (the training one line of ancestors
receives); if it is hidden by the construction of descendants, a better isolation
(docs/decisions.md #16) should move it at every budget. Pre-Cut, the pre-trained
network cut by the same rule, is the control: its gap against the pre-training
steps says what a learngene-sized piece of a network trained on *all* training
classes at once carries.

Every point is a paired difference on the same test episodes (all budgets meet
the same ones), so two budgets' gaps can be compared paired too. Nothing here is
cached itself: it composes the cached runs and tables of :mod:`gtl.experiments`.
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from .experiments import Study, method_episodes, run_evolution
from .evaluation import EvalConfig
from .stats import by_episode, clear_difference, mean_ci95, paired_difference

def lineage_curve(study: Study, *, eval_cfg: EvalConfig, isolations: dict[str, dict],
                  budgets: tuple[tuple[int, int], ...], shots: int = 5) -> pd.DataFrame:
    """Learngene, Pre-Cut and Scratch on the same test episodes, for every isolation (GTLConfig
    overrides) and lineage budget ``(generations, lifetime steps)`` (the profile's own:
    :attr:`gtl.profiles.Profile.lineage_budgets`): a long table with columns ``isolation``,
    ``generations``, ``lifetime_steps`` and ``lineage_steps``."""
    frames = []
    base = study.gtl_config()
    for name, settings in isolations.items():
        for generations, steps in budgets:
            result = run_evolution(study, **settings, generations=generations,
                                   lifetime=replace(base.lifetime, steps=steps))
            df = method_episodes(study, result, eval_cfg, shots=(shots,), methods=("Learngene", "Scratch", "Pre-Cut"))
            frames.append(df.assign(isolation=name, generations=generations, lifetime_steps=steps,
                                    lineage_steps=generations * steps))
    return pd.concat(frames, ignore_index=True)


def pretraining_curve(study: Study, *, eval_cfg: EvalConfig, pretrain_steps: tuple[int, ...],
                      shots: int = 5, **overrides) -> pd.DataFrame:
    """Pre-Fin and Pre-Cut (cut to the size of the profile's own learngene, from its GTL run with GTLConfig
    ``overrides``) against Scratch, for Pre-Fin networks pre-trained for each of ``pretrain_steps``: a long table
    with ``pretrain_steps``."""
    result = run_evolution(study, **overrides)
    frames = []
    for steps in pretrain_steps:
        protocol = replace(eval_cfg, pretrain=replace(eval_cfg.pretrain, steps=steps))
        df = method_episodes(study, result, protocol, shots=(shots,), methods=("Scratch", "Pre-Fin", "Pre-Cut"))
        frames.append(df.assign(pretrain_steps=steps))
    return pd.concat(frames, ignore_index=True)


def gaps(episodes: pd.DataFrame, by: list[str], methods: tuple[str, ...] = ("Learngene", "Pre-Cut")) -> pd.DataFrame:
    """Per group of ``by`` and method: the paired gap over Scratch (mean, 95% CI, clear)."""
    rows = []
    for group, part in episodes.groupby(by, sort=False):
        group = group if isinstance(group, tuple) else (group,)
        acc = by_episode(part)
        for m in methods:
            if m in acc:
                d, ci = paired_difference(acc[m], acc["Scratch"])
                rows.append({**dict(zip(by, group)), "method": m, "gap": d, "gap_ci95": ci,
                             "clear": clear_difference(acc[m], acc["Scratch"]), "episodes": len(acc[m])})
    return pd.DataFrame(rows)


def gap_change(episodes: pd.DataFrame, column: str, method: str,
               **where) -> tuple[float, float, float, float, bool]:
    """How ``method``'s gap over Scratch changes from the smallest to the largest value of ``column``,
    paired on the episodes: ``(gap at the smallest, gap at the largest, change, its 95% CI, clear)``."""
    for k, v in where.items():
        episodes = episodes[episodes[k] == v]
    lo, hi = episodes[column].min(), episodes[column].max()

    def gap(value) -> list[float]:
        part = episodes[episodes[column] == value]
        acc = by_episode(part)
        return [a - b for a, b in zip(acc[method], acc["Scratch"])]
    small, large = gap(lo), gap(hi)
    change, ci = paired_difference(large, small)
    return mean_ci95(small)[0], mean_ci95(large)[0], change, ci, clear_difference(large, small)


