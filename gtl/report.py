"""Numbers into words: every sentence, points conversion and table-for-people of the project.

Kept apart from the code that computes results so that rewording a verdict re-runs nothing:
:mod:`gtl.cache` keys every cached result by the code that computes it, and this module
computes no result (it is in none of those digests). Notebooks, the README generator and
the command line all word their numbers here, the same way: accuracies as ``mean ± 95% CI``
in %, paired differences in points, bold (``**...**``) when clear
(:func:`gtl.stats.clear_difference`).
"""
from __future__ import annotations

import math

import pandas as pd

from .budget import gap_change
from .questions import PAPER_SIZE
from .stats import PAIRED, by_episode, clear_difference, mean_ci95, paired_difference


def points(mean: float, half_width: float) -> str:
    """``+1.2 ± 2.0``: a difference and its interval's half-width, both already in points. Signed, so that a
    gap reads as one, and never ``-0.0`` (a mean that rounds to zero is no loss)."""
    return f"{mean:+z.1f} ± {half_width:.1f}"


def paired_text(diff: float, ci: float, clear: bool) -> str:
    """``+1.2 ± 2.0`` (points) for a paired difference in [0, 1] units; bold when clear; blank for NaN."""
    if pd.isna(diff):
        return ""
    text = points(100 * diff, 100 * ci)
    return f"**{text}**" if clear else text


def verdict(a: list[float], b: list[float], name_a: str = "Learngene", name_b: str = "Scratch") -> str:
    """One honest sentence comparing two methods scored on the same episodes (accuracies in
    [0, 1], in episode order): both means with their 95% CIs, then the paired difference and
    whether it is clear (:func:`gtl.stats.clear_difference`).

    Example:
        >>> verdict([.6, .8, .4], [.5, .7, .3])  # doctest: +ELLIPSIS
        'Learngene 60.0 ± 22.6% vs Scratch 50.0 ± 22.6%: paired difference +10.0 ± 0.0 points ... excludes 0).'
    """
    (ma, ca), (mb, cb), (d, cd) = mean_ci95(a), mean_ci95(b), paired_difference(a, b)
    tail = ("a clear difference (its 95% CI excludes 0)." if clear_difference(a, b)
            else "not a clear difference (its 95% CI includes 0).")
    return (f"{name_a} {100 * ma:.1f} ± {100 * ca:.1f}% vs {name_b} {100 * mb:.1f} ± {100 * cb:.1f}%: "
            f"paired difference {points(100 * d, 100 * cd)} points over {len(a)} episodes, {tail}")


def verdicts(episodes: pd.DataFrame, by: str | list[str], others: tuple[str, ...] = ("Scratch",),
             method: str = "Learngene") -> list[str]:
    """One :func:`verdict` line per group of ``by`` in a long table and per method in ``others``
    present there, ``method`` against it on the group's episodes."""
    lines = []
    for group, rows in episodes.groupby(by, sort=False):
        acc = by_episode(rows)  # refuses a group that is more than one cell: add the column that tells them apart
        label = ", ".join(map(str, group)) if isinstance(group, tuple) else str(group)
        lines += [f"{label}: {verdict(acc[method], acc[o], method, o)}" for o in others if o in acc and method in acc]
    return lines


# ------------------------------------------------------------ paper claims and tables

# The only numbers of the paper we know (its abstract): the learngene's share of the
# parameters and its improvement over training from scratch.
PAPER_CLAIMS = {
    "learngene_fraction": 0.20,
    "improvement_over_scratch": {"cifar-fs": 12.0, "miniimagenet": 16.0},
    "source": "arXiv 2401.08139, abstract",
}


def format_table(results: pd.DataFrame, profile: str, claim: bool = True) -> pd.DataFrame:
    """A :func:`compare_methods` table for people: accuracy and CI in %, the paired difference
    with Scratch on the same episodes (points ± 95% CI, bold when clear), parameters, the
    episodes and seed behind each number, and (``claim``) the paper's improvement beside the
    learngene where the abstract gives one."""
    rows = []
    for r in results.itertuples():
        paper = PAPER_CLAIMS["improvement_over_scratch"].get(r.dataset) if claim else None
        rows.append({"dataset": r.dataset, "image size": int(r.image_size), "method": r.method,
                     "setting": r.setting, "accuracy (%)": round(100 * r.mean, 2),
                     "95% CI (±)": round(100 * r.ci95, 2),
                     PAIRED: paired_text(r.diff, r.diff_ci95, r.clear),
                     "params transferred": int(r.params_transferred),
                     "share of params (%)": round(100 * r.params_fraction, 1),
                     "episodes": int(r.episodes), "seed": int(r.seed), "profile": profile,
                     "paper (abstract)": f"+{paper:.0f} vs Scratch" if paper and r.method == "Learngene" else ""})
    return pd.DataFrame(rows)


def _pct(acc: list[float]) -> str:
    mean, ci = mean_ci95(acc)
    return f"{100 * mean:.1f} ± {100 * ci:.1f}%"


def size_summary(episodes: pd.DataFrame) -> list[str]:
    """Plain sentences on a :func:`size_sweep` long table: which sizes beat Scratch (paired
    95% CI above 0, :func:`gtl.stats.clear_difference`), the best size, the paper's size against it."""
    lines = []
    for score, rows in episodes.groupby("score", sort=False):
        acc = by_episode(rows, ["method", "target_fraction"])
        sc = next(a for (m, _), a in acc.items() if m == "Scratch")
        lg = {f: a for (m, f), a in acc.items() if m == "Learngene"}
        steps = int(rows.finetune_steps.iloc[0])
        label = "no learning (instincts)" if score == "instinct" else f"after {steps} steps"
        above = [f"{100 * f:g}%" for f, a in lg.items() if paired_difference(a, sc)[0] > 0 and clear_difference(a, sc)]
        best = max(lg, key=lambda f: mean_ci95(lg[f])[0])
        line = (f"{label}: Scratch {_pct(sc)}; learngenes clearly above it (paired): {', '.join(above) or 'none'}; "
                f"best size {100 * best:g}% ({_pct(lg[best])})")
        if PAPER_SIZE in lg and best != PAPER_SIZE:
            d, ci = paired_difference(lg[PAPER_SIZE], lg[best])
            line += (f"; the paper's 20%: {_pct(lg[PAPER_SIZE])}, {points(100 * d, 100 * ci)} points from the best"
                     + (" (clear)" if clear_difference(lg[PAPER_SIZE], lg[best]) else " (not clear)"))
        lines.append(line + ".")
    return lines


def sensitivity_summary(episodes: pd.DataFrame) -> list[str]:
    """Per hyper-parameter: which values differ clearly from the base run, paired on the same episodes."""
    lines = []
    for factor, rows in episodes[episodes.factor != "Scratch"].groupby("factor", sort=False):
        values = by_episode(rows, "value")
        base_value = rows[rows.is_base].value.iloc[0]
        base = values[base_value]
        means = [mean_ci95(a)[0] for a in values.values()]
        apart = [f"{v:g}" if isinstance(v, float) else str(v) for v, a in values.items()
                 if v != base_value and clear_difference(a, base)]
        lines.append(f"{factor}: accuracies span {100 * (max(means) - min(means)):.1f} points over {len(values)} "
                     f"values; " + (f"clearly different from the base ({base_value}), paired: {', '.join(apart)}."
                                    if apart else f"no value clearly different from the base ({base_value}), "
                                                  f"paired on the same episodes: no measurable effect at this budget."))
    return lines


NEGATIVE_CONTROL = "negative control: no extra training along this axis; one run cannot call its change clear"


def change_text(episodes: pd.DataFrame, column: str, method: str, label: str, control: bool = False,
                **where) -> str:
    """One line of :func:`gtl.budget.gap_change` for people: 'label: +1.0 → +2.0 points; change +1.0 ± 1.5
    (not clear)'.

    ``control``: ``method`` got no extra training along ``column`` (Pre-Cut along the lineage budget: its
    network is the same at every budget, only the learngene's channel counts it is cut to change), so a
    change is what a run moves, not an effect. An interval over one run's episodes does not include that
    (the unit of a claim is the run), so such a change is never called clear; the seeds decide it.
    """
    small, large, change, ci, clear = gap_change(episodes, column, method, **where)
    status = NEGATIVE_CONTROL if control else "clear" if clear else "not clear"
    return (f"{label}: {100 * small:+z.1f} → {100 * large:+z.1f} points; change {points(100 * change, 100 * ci)} "
            f"({status})")


def in_points(gap_table: pd.DataFrame) -> pd.DataFrame:
    """A :func:`gtl.budget.gaps` table for people: the gap and its CI in points, one decimal."""
    return gap_table.assign(gap=(100 * gap_table.gap).round(1), gap_ci95=(100 * gap_table.gap_ci95).round(1)).rename(
        columns={"gap": "gap (points)", "gap_ci95": "95% CI (±)"})


def answer(lineage: pd.DataFrame, pretraining: pd.DataFrame | None = None) -> list[str]:
    """The budget curve's answer, a line each: per isolation, Learngene's and Pre-Cut's gap at the
    smallest and the largest lineage budget and its paired change (Pre-Cut's is a negative control);
    then, given ``pretraining``, Pre-Cut's and Pre-Fin's against the pre-training steps (:func:`change_text`)."""
    lo, hi = lineage.lineage_steps.min(), lineage.lineage_steps.max()
    lines = [change_text(lineage, "lineage_steps", method, f"{method}, {name}, lineage budget {lo}→{hi} steps",
                         control=method == "Pre-Cut", isolation=name)
             for name in dict.fromkeys(lineage.isolation) for method in ("Learngene", "Pre-Cut")]
    if pretraining is None:
        return lines
    lo, hi = pretraining.pretrain_steps.min(), pretraining.pretrain_steps.max()
    return lines + [change_text(pretraining, "pretrain_steps", method, f"{method}, pre-training {lo}→{hi} steps")
                    for method in ("Pre-Cut", "Pre-Fin")]


def construction_verdicts(lineage: pd.DataFrame, chosen: str, default: str) -> list[str]:
    """Per lineage budget: the ``chosen`` isolation's learngene against ``default``'s, paired on the episodes."""
    lines = []
    for steps, part in lineage[lineage.method == "Learngene"].groupby("lineage_steps"):
        acc = by_episode(part, "isolation")
        lines.append(f"{steps} lineage steps: {verdict(acc[chosen], acc[default], chosen, default)}")
    return lines


def rule_verdict_text(result: dict, difference: str, rule: str | None = None) -> str:
    """A verdict of decision #20's rule (:func:`gtl.why.rule_verdict`) in one sentence: ``difference`` names what
    was measured per seed ("the cut's gain at width 1 minus at 0.25"), then its interval and the ``rule`` in words
    (default: the usual one, :func:`gtl.why.above_zero`)."""
    if result["verdict"] == "pending":
        return f"pending: {verdict_cells(result)[0]}; {', '.join(map(str, result['missing']))} to come"
    from .why import RULE_FLOOR
    rule = rule or (f"confirmed when the interval lies above 0, ruled out when its upper end is below "
                    f"+{RULE_FLOOR:g} points, open otherwise")
    d = result["delta"]
    return (f"{result['verdict']}: {difference} = {points(d.mean, d.half_width)} points (mean ± 95% t interval "
            f"over {d.seeds} seeds, between-run SD {d.sd:.1f}); the rule (docs/decisions.md #20): {rule}")


def verdict_cells(result: dict | None) -> tuple[str, str]:
    """A rule's verdict (:func:`gtl.why.rule_verdict`) as two short table cells: the result with its interval over
    seeds, and the verdict ("not run yet" and "pending" say how far it is)."""
    if result is None:
        return "not run yet", "rule written"
    if result["verdict"] == "pending":
        seeds = result["seeds"]
        done = f"seed{'s' * (len(seeds) > 1)} {', '.join(map(str, seeds))} done" if seeds else "no seed done yet"
        if "first" in result:
            f = result["first"]
            done = f"open over {f.seeds} seeds ({points(f.mean, f.half_width)}), so seeds are added"
        return done, f"pending ({', '.join(map(str, result['missing']))} to come)"
    d = result["delta"]
    return f"{points(d.mean, d.half_width)} ({d.seeds} seeds, SD {d.sd:.1f})", f"**{result['verdict']}**"


def protocol_verdict_text(result: dict) -> str:
    """Explanation 2's verdict (:func:`gtl.why.protocol_verdict`), with the protocol each seed chose."""
    chosen = "; ".join(f"seed {s}: {p}" for s, p in sorted(result.get("chosen", {}).items()))
    return rule_verdict_text(result, "the learngene's gap under the protocol chosen on validation minus under the "
                                     "current one") + (f" (chosen on validation: {chosen})" if chosen else "")


def closed_verdict_text(result: dict) -> str:
    """Explanation 3's verdict (:func:`gtl.why.closed_verdict`): a cap, so its own rule."""
    from .why import RULE_FLOOR
    return rule_verdict_text(result, "Pre-Closed's gain over Scratch",
                             f"confirmed (the construction caps) when the interval's upper end is below "
                             f"+{RULE_FLOOR:g} points, ruled out when its lower end is above +{RULE_FLOOR:g}, "
                             f"open otherwise")


def selection_verdict_text(result: dict) -> str:
    """Explanation 5's verdict (:func:`gtl.why.selection_verdict`)."""
    return rule_verdict_text(result, "careful selection's learngene gap minus GTL's")


def bn_verdict_text(result: dict, step: int) -> str:
    """The BatchNorm reading's verdict (:func:`gtl.why.bn_verdict`)."""
    return rule_verdict_text(result, f"cut at birth's lead over open after {step} steps with running BatchNorm "
                                     f"statistics minus with statistics measured on the support set")


def isolation_verdict_text(result: dict, step: int) -> str:
    """The isolation rule's verdict (:func:`gtl.why.isolation_verdict`): how often each isolation won."""
    wins = ", ".join(f"{name} {n}" for name, n in result["wins"].items())
    if result["verdict"] == "pending":
        return f"pending: {verdict_cells(result)[0]} ({wins or 'no wins yet'}); " \
               f"{', '.join(map(str, result['missing']))} to come"
    needed, seeds = result["needed"], len(result["seeds"])
    rule = f"the rule: one isolation adopted only if it wins at least {needed} of {seeds}"
    if "decided_early" in result:
        done, missing = result["decided_early"], result["missing"]
        return (f"no isolation is better: the default returns to open (wins after {step} fine-tuning steps on fresh "
                f"validation episodes, seed{'s' * (len(done) > 1)} {', '.join(map(str, done))}: {wins}; {rule}, "
                f"and with seed{'s' * (len(missing) > 1)} {', '.join(map(str, missing))} still to come no other "
                f"isolation can reach {needed} wins)")
    adopted = (f"adopted: {result['verdict']}" if result["verdict"] != "open" or result["wins"].iloc[0] >= needed
               else "no isolation is better: the default returns to open")
    return f"{adopted} (wins after {step} fine-tuning steps on fresh validation episodes over {seeds} seeds: " \
           f"{wins}; {rule})"


def width_verdict_text(result: dict, widths: tuple[float, ...]) -> str:
    """Explanation 4's verdict (:func:`gtl.why.width_verdict`) in one sentence, with the rule it applied."""
    return rule_verdict_text(result, f"the 20% cut's gain (born cut) at width {max(widths):g} minus at "
                                     f"{min(widths):g}")


def width_gtl_verdict_text(result: dict, width: float) -> str:
    """Explanation 4's 'then' (:func:`gtl.why.width_gtl_verdict`) in one sentence, with the rule it applied."""
    return rule_verdict_text(result, f"GTL's learngene gap over Scratch at width {width:g}")


def width_gtl_beside_text(beside: dict, width: float) -> list[str]:
    """:func:`gtl.why.width_gtl_beside` in words: lines that decide nothing (decision #20)."""
    lines = []
    if beside["share"] is not None:
        share, low, high, seeds = beside["share"]
        lines.append(f"the learngene's share of Pre-Fin's gain at width {width:g}: "
                     + (f"{share:.0%} (Fieller 95%: {low:.0%} to {high:.0%}; {seeds} seeds)" if math.isfinite(share)
                        else f"no interval yet ({seeds} seed{'s' * (seeds > 1)}; one, or Pre-Fin's own gain not "
                             f"clear of 0)"))
    for key, other in (("against_uniform", "the uniform 20% cut of Pre-Fin's network (born cut)"),
                       ("against_pre_cut", "Pre-Cut")):
        if beside[key] is not None:
            lines.append(f"the learngene is {placed(beside[key])} {other}: its gap minus the other's "
                         f"{seed_interval_text(beside[key])}")
    return lines


def seed_interval_text(d) -> str:
    """A :class:`gtl.stats.SeedInterval` in words: mean ± half-width over the seeds, with the between-run SD."""
    return (f"{points(d.mean, d.half_width)} points over {d.seeds} seeds (between-run SD {d.sd:.1f})"
            if d.seeds > 1 else f"{d.mean:+z.1f} points from one seed (no interval yet)")


def placed(d) -> str:
    """Where one method stands against another by the interval of their difference over seeds: *behind*,
    *ahead of* or *level with* (decision #20's words), or not yet placed with one seed."""
    if d.seeds < 2:
        return "not yet placed against"
    return "behind" if d.high < 0 else "ahead of" if d.low > 0 else "level with"


def lineage_verdict_text(result: dict, chains: tuple[tuple[int, int], ...]) -> str:
    """Explanation 1's verdict (:func:`gtl.why.lineage_verdict`) in one sentence, with the rule it applied."""
    from .why import chain_ends
    steps, fewest, most, _ = chain_ends(chains)
    return rule_verdict_text(result, f"the learngene's gap after a chain of {most} generations minus "
                                     f"after {fewest} (× {steps} lifetime steps)")


def lineage_beside_text(beside: dict, chains: tuple[tuple[int, int], ...]) -> list[str]:
    """:func:`gtl.why.lineage_beside` in words: two lines that decide nothing (decision #20)."""
    from .why import chain_ends
    steps, _, most, few = chain_ends(chains)
    lines = []
    if beside["narrow"] is not None:
        lines.append(f"narrow data: the learngene's gap after {most} × {steps} "
                     f"minus after {few[0]} × {few[1]} (as many image-steps, fewer tasks): "
                     f"{seed_interval_text(beside['narrow'])}")
    d = beside["against_pre_cut"]
    if d is not None:
        lines.append(f"at pre-training's image-steps, GTL's learngene is {placed(d)} Pre-Cut: its gap minus "
                     f"Pre-Cut's on the same episodes {seed_interval_text(d)}")
    return lines
