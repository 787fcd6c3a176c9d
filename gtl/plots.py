"""Figures and tables, written as PNG + SVG and CSV + Markdown into ``figures/``."""
from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch
import torch.nn.functional as F
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .learngene import kernel_masks
from .models import build_model
from .paths import figures_dir
from .provenance import describe, made_under_other_presets, note_read, note_written
from .stats import PAIRED
from .report import paired_text

PALETTE = {"Learngene": "#1b7837", "Scratch": "#878787", "Pre-Fin": "#2166ac", "Pre-Cut": "#5e3c99",
           "Layer-LG": "#92c5de",
           "Random-mask": "#d6604d", "population": "#1b7837", "winner": "#e08214", "learngene size": "#c2a5cf"}


def save_figure(fig: plt.Figure, name: str) -> list[Path]:
    """Write ``figures/<name>.png`` and ``.svg``; return the paths."""
    paths = [figures_dir() / f"{name}.{ext}" for ext in ("png", "svg")]
    with plt.rc_context({"svg.hashsalt": "gtl"}):  # fixed element ids: a re-run leaves git clean
        for p in paths:
            fig.savefig(p, dpi=150, bbox_inches="tight", metadata={"Date": None} if p.suffix == ".svg" else None)
    return paths


def to_markdown(df: pd.DataFrame, floatfmt: str = "{:.2f}") -> str:
    """A GitHub Markdown table (no extra dependency)."""
    cells = [[floatfmt.format(v) if isinstance(v, float) else str(v) for v in row]
             for row in df.itertuples(index=False)]
    header = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    return "\n".join([header, sep] + ["| " + " | ".join(r) + " |" for r in cells]) + "\n"


def save_table(df: pd.DataFrame, name: str) -> list[Path]:
    """Write ``figures/<name>.csv`` and ``.md``; return the paths."""
    csv, md = figures_dir() / f"{name}.csv", figures_dir() / f"{name}.md"
    df.to_csv(csv, index=False)
    md.write_text(to_markdown(df))
    note_written(csv)
    return [csv, md]


def save_episodes(episodes: pd.DataFrame, name: str) -> Path:
    """Write a long table (one row per episode, :mod:`gtl.stats`) as ``figures/<name>_episodes.csv``,
    next to the table ``<name>`` it summarises: every paired difference can be recomputed from it."""
    path = figures_dir() / f"{name}_episodes.csv"
    episodes.to_csv(path, index=False)
    note_written(path)
    return path


STUDIES_ENV = "GTL_STUDIES"  # `make studies` sets it to "compute"


def computes_studies(profile: str) -> bool:
    """Whether a study beyond the paper computes its tables in this process: notebooks 09-15, and the
    checks that notebooks 01 and 07 add to the paper's figures (Figure 4 on fresh episodes; does
    selection select?).

    The paper's own figures and tables (notebooks 00-08) always compute: `make figures` recomputes
    them. The studies take longer than all of those together on a CPU, so in the quick profile they
    compute only under `make studies` (``$GTL_STUDIES=compute``) and `make figures` reads what that
    committed. The smoke profile (the tests) and the paper profile always compute.
    """
    return profile != "quick" or os.environ.get(STUDIES_ENV) == "compute"


def study_episodes(name: str, profile: str, compute, optional: bool = False,
                   own_isolation: bool = False) -> pd.DataFrame | None:
    """A study's long table ``figures/<name>_episodes.csv``: ``compute()``d and saved when this process
    computes studies (:func:`computes_studies`), else read as committed, saying where it came from, and saying
    when it was made under another isolation than the presets' now (unless the study sets its own:
    ``own_isolation``).

    Either way the table returned is the one read back from the file, so that what a notebook derives
    from it (tables, figures) is the same whether it computed or read it. An ``optional`` study not
    committed yet (one still running, a piece at a time) is None, and says so.
    """
    path = figures_dir() / f"{name}_episodes.csv"
    if computes_studies(profile):
        save_episodes(compute(), name)
        return pd.read_csv(path)
    if not path.exists() and optional:
        print(f"not computed yet: {path.name} (`make studies` computes it, or python -m gtl.why a piece at a time)")
        return None
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: `make studies` computes it (hours on a CPU), or set "
                                f"${STUDIES_ENV}=compute to compute it in this notebook")
    print("read, not computed (`make studies` computes it):", describe(path.name))
    stale = "" if own_isolation else made_under_other_presets(path.name)
    if stale:
        print("note:", stale)
    note_read(path)
    return pd.read_csv(path)


def percent_table(results: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """A :func:`gtl.stats.summarize` table for people: ``mean``/``ci95`` in [0, 1] -> "accuracy (%)"
    and "95% CI (±)" rounded to 2 decimals, and the paired difference with Scratch as text
    (:func:`gtl.report.paired_text`); ``columns`` picks and orders the columns (default: all)."""
    out = results.assign(**{"accuracy (%)": (100 * results["mean"]).round(2),
                            "95% CI (±)": (100 * results["ci95"]).round(2)}).drop(columns=["mean", "ci95"])
    if "diff" in out:
        out[PAIRED] = [paired_text(*r) for r in zip(out["diff"], out.diff_ci95, out.clear)]
        out = out.drop(columns=["diff", "diff_ci95", "clear"])
    return out[columns] if columns else out


def _count(n: float) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k" if n >= 1e3 else f"{n:.0f}"


def plot_evolution(history: pd.DataFrame, references: list[dict] | None = None, title: str = "",
                   fresh: pd.DataFrame | None = None) -> plt.Figure:
    """Paper Figure 4: learngene size (bars) and population accuracy (curve, min-max band).

    Args:
        history: one row per member and generation (``generations.csv`` of a run),
            with ``critic_accuracy`` (accuracy on validation classes: what selection fitted)
            and ``learngene_params``.
        references: horizontal lines, each ``{"label", "accuracy", "ci95", "params"}``
            (Scratch, Pre-Fin, ...), measured with the same critic protocol.
        fresh: a summary of :func:`gtl.experiments.fresh_validation` (``method``,
            ``generation``, ``mean``, ``ci95``): each generation's winner on episodes
            selection never saw (error bars), and Scratch on them (dotted).
    """
    sns.set_theme(style="whitegrid", context="notebook")
    per_gen = history.groupby("generation").agg(
        mean=("critic_accuracy", "mean"), low=("critic_accuracy", "min"), high=("critic_accuracy", "max"),
        params=("learngene_params", "mean"))
    fig, ax_size = plt.subplots(figsize=(7.5, 4.2))
    ax_size.bar(per_gen.index, per_gen["params"] / 1e3, color=PALETTE["learngene size"], alpha=0.45,
                width=0.6, label="learngene size (mean, k params)")
    ax_size.set_ylim(0, 2.5 * per_gen["params"].max() / 1e3)  # bars in the lower part, curves above
    ax_size.set_ylabel("learngene parameters (thousands)")
    ax_size.set_xlabel("generation")
    ax_size.grid(False)
    ax = ax_size.twinx()
    ax.plot(per_gen.index, 100 * per_gen["mean"], "-o", color=PALETTE["population"], lw=2,
            label="population accuracy (mean; the critics' episodes, fitted)")
    ax.fill_between(per_gen.index, 100 * per_gen["low"], 100 * per_gen["high"], color=PALETTE["population"],
                    alpha=0.15, label="population min–max")
    if fresh is not None:
        winners, sc = fresh[fresh.method == "winner"], fresh[fresh.method == "Scratch"]
        ax.errorbar(winners.generation, 100 * winners["mean"], yerr=100 * winners.ci95, fmt="-s", ms=4, capsize=3,
                    color=PALETTE["winner"], label="generation's winner, fresh episodes (± 95% CI)")
        for r in sc.itertuples():
            ax.axhline(100 * r.mean, ls=":", color=PALETTE["Scratch"], lw=1.5, label="Scratch, fresh episodes")
    for ref in references or []:
        color = PALETTE.get(ref["label"], "black")
        ax.axhline(100 * ref["accuracy"], ls="--", color=color, lw=1.5,
                   label=f"{ref['label']} ({_count(ref['params'])} params transferred)")
        if ref.get("ci95"):
            ax.axhspan(100 * (ref["accuracy"] - ref["ci95"]), 100 * (ref["accuracy"] + ref["ci95"]),
                       color=color, alpha=0.08)
    ax.set_ylabel("accuracy on validation classes (%)")
    ax.yaxis.set_label_position("left")
    ax.yaxis.tick_left()
    ax_size.yaxis.set_label_position("right")
    ax_size.yaxis.tick_right()
    ax.set_xticks(list(per_gen.index))
    handles = sum((a.get_legend_handles_labels()[0] for a in (ax, ax_size)), [])
    labels = sum((a.get_legend_handles_labels()[1] for a in (ax, ax_size)), [])
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8, frameon=False)
    ax.set_title(title or "Evolution of the learngene (paper Fig. 4)")
    fig.tight_layout()
    return fig


def plot_results(results: pd.DataFrame, title: str = "") -> plt.Figure:
    """Bar chart of mean accuracy ± 95% CI per method and setting (a results table as a picture)."""
    sns.set_theme(style="whitegrid", context="notebook")
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    settings = list(dict.fromkeys(results["setting"]))
    methods = list(dict.fromkeys(results["method"]))
    width = 0.8 / len(methods)
    for j, method in enumerate(methods):
        sub = results[results["method"] == method].set_index("setting").reindex(settings)
        xs = [i + (j - (len(methods) - 1) / 2) * width for i in range(len(settings))]
        ax.bar(xs, 100 * sub["mean"], width, yerr=100 * sub["ci95"], capsize=3,
               color=PALETTE.get(method, None), label=method)
    ax.set_xticks(range(len(settings)), settings)
    ax.set_ylabel("accuracy on novel classes (%)")
    ax.legend(frameon=False, fontsize=9)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_learning_curves(curves: pd.DataFrame, title: str = "", ax: plt.Axes | None = None) -> plt.Figure:
    """Accuracy (± 95% CI band) against fine-tuning steps, one line per method (a summary of
    :func:`gtl.experiments.learning_curves`); into ``ax`` when given (one panel of a grid)."""
    sns.set_theme(style="whitegrid", context="notebook")
    fig, ax = plt.subplots(figsize=(6.5, 4)) if ax is None else (ax.figure, ax)
    for method, rows in curves.groupby("method", sort=False):
        color = PALETTE.get(method)
        ax.plot(rows["step"], 100 * rows["mean"], "-o", color=color, label=method, lw=2, ms=4)
        ax.fill_between(rows["step"], 100 * (rows["mean"] - rows["ci95"]), 100 * (rows["mean"] + rows["ci95"]),
                        color=color, alpha=0.15)
    ax.set_xlabel("fine-tuning steps on the support set")
    ax.set_ylabel("accuracy on novel classes (%)")
    ax.legend(frameon=False, fontsize=9)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_selection(members: pd.DataFrame, title: str = "") -> plt.Figure:
    """Does selection select? One panel per generation: each member's fitness (what the
    tournaments saw) against its descendants' mean accuracy on test classes (± 95% CI), with
    Spearman's rho in the title. ``members``: a summary of :func:`gtl.experiments.selection_validity`."""
    from .stats import rank_correlation
    sns.set_theme(style="whitegrid", context="notebook")
    gens = list(dict.fromkeys(members.generation))
    fig, axes = plt.subplots(1, len(gens), figsize=(4.6 * len(gens), 3.8), sharey=True, squeeze=False)
    for ax, g in zip(axes[0], gens):
        rows = members[members.generation == g]
        ax.errorbar(rows.fitness, 100 * rows["mean"], yerr=100 * rows.ci95, fmt="o", capsize=3,
                    color=PALETTE["Learngene"])
        rho, low, high = rank_correlation(rows.fitness.tolist(), rows["mean"].tolist())
        ax.set_title(f"generation {g}: rho {rho:+.2f} [{low:+.2f}, {high:+.2f}]", fontsize=10)
        ax.set_xlabel("fitness (critics, validation classes)")
    axes[0][0].set_ylabel("descendants' accuracy, test classes (%)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_budget_curve(lineage: pd.DataFrame, pretraining: pd.DataFrame, title: str = "") -> plt.Figure:
    """The gap's budget curve (:mod:`gtl.budget`): left, the paired gap over Scratch (± 95% CI) of
    Learngene and Pre-Cut against the lineage budget, one line per isolation; right, Pre-Cut's and
    Pre-Fin's gap against Pre-Fin's pre-training steps. Both from :func:`gtl.budget.gaps`."""
    sns.set_theme(style="whitegrid", context="notebook")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    styles = ["-o", "--s", ":^"]
    for (name, rows), style in zip(lineage.groupby("isolation", sort=False), styles):
        for method, r in rows.groupby("method", sort=False):
            left.errorbar(r.lineage_steps, 100 * r.gap, yerr=100 * r.gap_ci95, fmt=style, capsize=3, ms=4,
                          color=PALETTE[method], label=f"{method}, {name}")
    for method, r in pretraining.groupby("method", sort=False):
        right.errorbar(r.pretrain_steps, 100 * r.gap, yerr=100 * r.gap_ci95, fmt="-o", capsize=3, ms=4,
                       color=PALETTE[method], label=method)
    for ax, label, steps in ((left, "lineage budget: generations × lifetime steps", lineage.lineage_steps),
                             (right, "Pre-Fin's pre-training steps", pretraining.pretrain_steps)):
        ax.axhline(0, color=PALETTE["Scratch"], lw=1.2)
        ax.set_xscale("log")
        ax.set_xticks(sorted(set(steps)), [str(s) for s in sorted(set(steps))])  # the budgets measured, no more
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.set_xlabel(label)
        ax.legend(frameon=False, fontsize=8)
    left.set_ylabel("gap over Scratch, paired (points)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_width_shares(shares: pd.DataFrame, title: str = "") -> plt.Figure:
    """Explanation 4 (:func:`gtl.why.width_shares`): left, each method's gain over Scratch against the
    network's width (mean ± 95% t interval over seeds); right, the cuts' shares of Pre-Fin's gain (Fieller
    interval over seeds; none where Pre-Fin's own gain is not clear of 0)."""
    sns.set_theme(style="whitegrid", context="notebook")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    styles = {"Pre-Fin": ("-o", PALETTE["Pre-Fin"]), "Uniform-cut, born cut": ("-s", PALETTE["Pre-Cut"]),
              "Uniform-cut, open": (":^", PALETTE["Pre-Cut"])}
    for method, r in shares.groupby("method", sort=False):
        fmt, color = styles.get(method, ("-o", None))
        left.errorbar(r.width, r.gain, yerr=[r.gain - r.gain_low, r.gain_high - r.gain], fmt=fmt, capsize=3, ms=4,
                      color=color, label=method)
        if method != "Pre-Fin":
            right.errorbar(r.width, 100 * r.share, yerr=[100 * (r.share - r.share_low), 100 * (r.share_high - r.share)],
                           fmt=fmt, capsize=3, ms=4, color=color, label=method)
    left.axhline(0, color=PALETTE["Scratch"], lw=1.2)
    left.set_ylabel("gain over Scratch, paired (points)")
    right.set_ylabel("share of Pre-Fin's gain (%)")
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(set(shares.width)), [f"{w:g}" for w in sorted(set(shares.width))])
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.set_xlabel("width (channels × this)")
        ax.legend(frameon=False, fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_seed_gaps(per_seed: pd.DataFrame, summary: pd.DataFrame, claims: dict[str, float] | None = None,
                   title: str = "") -> plt.Figure:
    """The headline over seeds (:func:`gtl.why.headline_summary`): one panel per dataset and setting; per method,
    each seed's gap over Scratch (a dot: one run) and their mean ± 95% t interval over seeds; ``claims`` (by
    dataset) draws the paper's Learngene − Scratch as a dashed line. Seeing the runs spread is the point: an
    interval over episodes of one run hides it."""
    sns.set_theme(style="whitegrid", context="notebook")
    panels = list(summary.groupby(["dataset", "setting"], sort=False))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.8), sharey=True, squeeze=False)
    for ax, ((dataset, setting), s) in zip(axes[0], panels):
        runs = per_seed[(per_seed.dataset == dataset) & (per_seed.setting == setting)]
        for x, r in enumerate(s.itertuples()):
            color = PALETTE.get(r.method)
            ax.scatter([x + 0.18] * len(runs), runs[r.method], s=14, color=color, alpha=0.6)
            ax.errorbar([x - 0.1], [r.gap], yerr=[[r.gap - r.gap_low], [r.gap_high - r.gap]], fmt="o", capsize=4,
                        color=color)
        ax.axhline(0, color=PALETTE["Scratch"], lw=1.2)
        if claims and dataset in claims:
            ax.axhline(claims[dataset], color=PALETTE.get("Learngene"), ls="--", lw=1,
                       label="the paper's Learngene gain")
            ax.legend(frameon=False, fontsize=8, loc="upper left")
        ax.set_xticks(range(len(s)), list(s.method), rotation=20)
        ax.set_title(f"{dataset}, {setting}", fontsize=9)
    axes[0][0].set_ylabel("gap over Scratch, paired (points)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_lineage_gaps(summary: pd.DataFrame, title: str = "") -> plt.Figure:
    """Explanation 1 (:func:`gtl.why.lineage_summary`): the gap over Scratch (mean ± 95% t interval over seeds)
    against the image-steps a network trained on: the learngene after selection-free chains (fewer or more
    generations, each on new tasks; an open marker for the chain of long lifetimes on few tasks) and after GTL,
    and Pre-Cut and Pre-Fin against Pre-Fin's pre-training, on one axis."""
    sns.set_theme(style="whitegrid", context="notebook")
    fig, ax = plt.subplots(figsize=(7.5, 4.2))

    def draw(rows: pd.DataFrame, fmt: str, color: str, label: str, **style) -> None:
        if rows.empty:  # a piece not computed yet: no legend entry for it
            return
        ax.errorbar(rows.image_steps, rows.gap, yerr=[rows.gap - rows.gap_low, rows.gap_high - rows.gap], fmt=fmt,
                    capsize=3, color=color, label=label, **{"ms": 6, **style})
    learngene = summary[summary.method == "Learngene"]
    chains = learngene[learngene.kind == "chain"]
    base = chains.lifetime_steps.min()
    draw(chains[chains.lifetime_steps == base], "-o", PALETTE["Learngene"], f"Learngene, chains × {base:g} steps")
    draw(chains[chains.lifetime_steps != base], "o", PALETTE["Learngene"], "Learngene, a chain of long lifetimes",
         mfc="white")
    gtl = learngene[learngene.kind == "GTL"]
    fewer = f" ({gtl.seeds.max()} of {summary.seeds.max()} seeds so far)" if len(gtl) and \
        gtl.seeds.max() < summary.seeds.max() else ""  # a wider interval than the others' for now: say why
    draw(gtl, "*", PALETTE["winner"], f"Learngene, GTL{fewer}", ms=12)
    pre = summary[summary.kind == "pre-training"]
    for method in ("Pre-Cut", "Pre-Fin"):
        draw(pre[pre.method == method], "--s", PALETTE[method], f"{method}, against pre-training")
    ax.axhline(0, color=PALETTE["Scratch"], lw=1.2)
    ax.set_xscale("log")
    ax.set_xlabel("image-steps trained on (generations × steps × batch, or pre-training steps × batch)")
    ax.set_ylabel("gap over Scratch, paired (points)")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _scratch_band(ax, mean: float, ci: float) -> None:
    ax.axhspan(100 * (mean - ci), 100 * (mean + ci), color=PALETTE["Scratch"], alpha=0.2, lw=0)
    ax.axhline(100 * mean, color=PALETTE["Scratch"], lw=1.2, label="Scratch (± 95% CI)")


def plot_size_sweep(df: pd.DataFrame, paper_size: float = 0.20, title: str = "") -> plt.Figure:
    """Accuracy of descendants (± 95% CI) against the learngene's share of the parameters,
    one panel per score, Scratch as a band, the paper's size marked."""
    sns.set_theme(style="whitegrid", context="notebook")
    scores = list(dict.fromkeys(df.score))
    fig, axes = plt.subplots(1, len(scores), figsize=(5.2 * len(scores), 3.8), squeeze=False)
    for ax, score in zip(axes[0], scores):
        rows = df[df.score == score]
        lg, sc = rows[rows.method == "Learngene"], rows[rows.method == "Scratch"].iloc[0]
        _scratch_band(ax, sc["mean"], sc.ci95)
        ax.errorbar(100 * lg.fraction, 100 * lg["mean"], yerr=100 * lg.ci95, fmt="-o", capsize=3, ms=4,
                    color=PALETTE["Learngene"], label="Learngene")
        ax.axvline(100 * paper_size, color="#762a83", ls="--", lw=1, label=f"paper: ~{100 * paper_size:.0f}%")
        ax.set_xscale("log")
        ax.minorticks_off()  # only the sizes tested are labelled
        ticks = [100 * f for f in lg.target_fraction]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.set_xlabel("learngene size (% of the parameters)")
        steps = int(rows.finetune_steps.iloc[0])
        ax.set_title("no learning (instincts)" if score == "instinct" else f"after {steps} fine-tuning steps",
                     fontsize=10)
        ax.legend(frameon=False, fontsize=8)
    axes[0][0].set_ylabel("accuracy on novel classes (%)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_sensitivity(df: pd.DataFrame, title: str = "") -> plt.Figure:
    """One panel per genetic hyper-parameter: descendants' accuracy (± 95% CI) for each value,
    the base run's value filled, Scratch as a band."""
    sns.set_theme(style="whitegrid", context="notebook")
    factors = [f for f in dict.fromkeys(df.factor) if f != "Scratch"]
    sc = df[df.factor == "Scratch"].iloc[0]
    fig, axes = plt.subplots(1, len(factors), figsize=(3.4 * len(factors), 3.6), sharey=True, squeeze=False)
    for ax, factor in zip(axes[0], factors):
        rows = df[df.factor == factor]
        xs = range(len(rows))
        _scratch_band(ax, sc["mean"], sc.ci95)
        ax.errorbar(xs, 100 * rows["mean"], yerr=100 * rows.ci95, fmt="-", capsize=3, color=PALETTE["Learngene"])
        for x, r in zip(xs, rows.itertuples()):
            ax.plot(x, 100 * r.mean, "o", ms=7, color=PALETTE["Learngene"],
                    markerfacecolor=PALETTE["Learngene"] if r.is_base else "white")
        ax.set_xticks(list(xs), [f"{v:g}" if isinstance(v, float) else str(v) for v in rows.value])
        ax.set_xlabel(factor.replace("_", " "))
    axes[0][0].set_ylabel("accuracy on novel classes (%)")
    axes[0][0].legend(frameon=False, fontsize=8, loc="lower left")
    fig.suptitle(title + " (filled: the base run)", fontsize=10)
    fig.tight_layout()
    return fig


# ------------------------------------------------------- paper Figures 1, 2, 3 and 5

_OTHER = "#d9d9d9"  # channels outside the learngene


def _box(ax, xy, text, color, w=0.26, h=0.13, fontsize=8):
    """A rounded box centred on ``xy`` (axes fractions): one step or one network of a diagram."""
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.01,rounding_size=0.02",
                                fc=color, ec="#333333", lw=0.8, alpha=0.9))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, a, b, text="", color="#333333", rad=0.0, fontsize=7.5):
    """An arrow ``a -> b``; its label sits on a white patch so the line never runs through it."""
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12, color=color, lw=1.2,
                                 connectionstyle=f"arc3,rad={rad}", zorder=1))
    if text:
        ax.text((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, text, ha="center", va="center", fontsize=fontsize,
                color=color, bbox={"fc": "white", "ec": "none", "alpha": 0.95}, zorder=2)


def _channel_strip(ax, xy, kept, n=10, color=PALETTE["Learngene"]):
    """A row of ``n`` squares, the first ``kept`` coloured: what share of channels is transferred."""
    x0, y = xy[0] - n * 0.0125, xy[1]
    for k in range(n):
        ax.add_patch(plt.Rectangle((x0 + k * 0.025, y), 0.02, 0.035, fc=color if k < kept else _OTHER,
                                   ec="white", lw=0.5))


def _panel_transfer(ax) -> None:
    """Paper Fig. 1: fine-tuning hands down every weight, GTL only the learngene."""
    blue, green = "#c6dbef", "#a6dba0"
    ax.set_title("(a) Transferring knowledge (paper Fig. 1)", fontsize=11)
    ax.axvline(0.5, 0.05, 0.95, color="#bbbbbb", ls=":", lw=1)
    ax.text(0.25, 0.98, "pre-training + fine-tuning", ha="center", fontsize=9, weight="bold")
    _box(ax, (0.25, 0.82), "ancestor network\n(pre-trained on many classes)", blue, w=0.4)
    _arrow(ax, (0.25, 0.745), (0.25, 0.395), "all weights\n(100% of parameters)")
    _channel_strip(ax, (0.25, 0.66), kept=10, color=PALETTE["Pre-Fin"])
    _box(ax, (0.25, 0.32), "descendant network\n(fine-tuned on the new task)", blue, w=0.4)
    ax.text(0.25, 0.13, "ALL knowledge:\nmay be redundant or negative", ha="center", fontsize=8.5,
            color="#b2182b")
    ax.text(0.75, 0.98, "Genetic Transfer Learning", ha="center", fontsize=9, weight="bold")
    _box(ax, (0.75, 0.82), "ancestors: an evolving\npopulation of networks", green, w=0.4)
    _arrow(ax, (0.75, 0.745), (0.75, 0.555), color=PALETTE["Learngene"])
    _channel_strip(ax, (0.75, 0.66), kept=2)
    _box(ax, (0.75, 0.5), "learngene: a few whole channels\nwithin kernels (~20% of parameters)",
         "#d9f0d3", w=0.44, h=0.1)
    for x in (0.585, 0.75, 0.915):
        _arrow(ax, (0.75 + (x - 0.75) * 0.3, 0.445), (x, 0.365), color=PALETTE["Learngene"])
        _box(ax, (x, 0.32), "descendant\n+ random rest", green, w=0.15, h=0.09, fontsize=7)
    ax.text(0.75, 0.13, "CORE knowledge,\nlike genes in nature", ha="center", fontsize=8.5,
            color=PALETTE["Learngene"])


def _panel_gtl(ax) -> None:
    """Paper Fig. 3: one turn of the loop is one generation; the best learngene leaves it."""
    grey, green, orange = "#e0e0e0", "#a6dba0", "#fddbc7"
    ax.set_title("(b) Genetic Transfer Learning (paper Fig. 3)", fontsize=11)
    cx, cy, rx, ry = 0.41, 0.5, 0.28, 0.38  # the cycle, clockwise from the top
    steps = [(90, "population: networks\ninherit learngenes\n(rest random)", green),
             (20, ("survival environments:\neach member trains on its\nown 5-way task from the\n"
                   "training classes (lifetime)"), grey),
             (-20, "extract learngene\n(Lamarckian: the trained\nweights are inherited)", grey),
             (-90, "critic fitness: a fresh\nnetwork inherits it, trains\nbriefly on validation-\nclass tasks",
              grey),
             (200, "tournament:\ngroups of 3,\nthe best wins", orange),
             (160, "mutation:\nadd / drop a few\nchannels", orange)]
    xys = [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a))) for a, _, _ in steps]
    for xy, (_, text, color) in zip(xys, steps):
        _box(ax, xy, text, color, w=0.25, h=0.17, fontsize=7.5)
    for a, b in zip(xys, xys[1:] + xys[:1]):
        _arrow(ax, (a[0] + (b[0] - a[0]) * 0.36, a[1] + (b[1] - a[1]) * 0.36),
               (a[0] + (b[0] - a[0]) * 0.64, a[1] + (b[1] - a[1]) * 0.64), rad=-0.2)
    ax.text(cx, cy, "↻\none turn =\none generation", ha="center", va="center", fontsize=9, style="italic",
            color="#555555")
    out = (0.9, xys[3][1])
    _box(ax, out, "descendants\non novel classes", "#d9f0d3", w=0.18, h=0.11)
    _arrow(ax, (xys[3][0] + 0.13, out[1]), (out[0] - 0.095, out[1]), "best\nlearngene", color=PALETTE["Learngene"])


def plot_framework() -> plt.Figure:
    """Paper Figs. 1 and 3 redrawn from code (no data): (a) what is transferred, (b) the GTL loop.

    Drawn rather than pasted so the figure says what *this* code does (5-way tasks, groups of 3, ...).
    """
    sns.set_theme(style="white", context="notebook")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14.5, 5.8), gridspec_kw={"width_ratios": [1, 1.1]})
    for ax in (ax1, ax2):
        ax.set_xlim(0, 1), ax.set_ylim(0, 1), ax.axis("off")
    _panel_transfer(ax1)
    _panel_gtl(ax2)
    fig.tight_layout()
    return fig


def _main_path(lg) -> list[tuple[int, torch.Tensor]]:
    """(stage, learngene channel mask) of the RGB input (stage -1) and of every conv on the main
    path, in order. Shortcuts are left out: they only join groups the main path already shows."""
    net = build_model(lg.arch, 5, lg.width)  # only its layout is read, never its weights
    layers = [(-1, torch.ones(3, dtype=torch.bool))]
    for s, stage in enumerate(net.stages()):
        layers += [(s, lg.masks[spec.out_group].cpu().bool()) for spec in stage.main]
    return layers


def _subsample(mask: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of ``k`` channels, evenly spaced *within* the learngene and within the rest, in the
    proportion of the whole layer: plain even spacing could miss a contiguous learngene entirely."""
    n = len(mask)
    if n <= k:
        return torch.arange(n)
    inside, outside = mask.nonzero()[:, 0], (~mask).nonzero()[:, 0]
    k_in = round(k * len(inside) / n)
    k_in = min(max(k_in, int(len(inside) > 0)), k - int(len(outside) > 0))  # neither kind vanishes

    def spread(idx, m):
        return idx[torch.linspace(0, len(idx) - 1, m).round().long()] if m else idx[:0]
    return torch.cat([spread(inside, k_in), spread(outside, k - k_in)]).sort().values


def plot_kernel_masks(net, masks, layers: list[str] | None = None, learngene_first: bool = False,
                      title: str = "", columns: int = 4) -> plt.Figure:
    """A learngene as kernel slices: one panel per conv layer (output channel × input channel), green where
    the slice W[out, in] belongs to the learngene, i.e. where a learngene row crosses a learngene column.

    ``layers`` (default: every conv) picks the panels; ``learngene_first`` sorts each panel's channels so
    that the learngene's come first (a block), else they stay where the network has them (scattered).
    """
    kmasks = kernel_masks(net, masks)
    specs = {s.conv: s for s in net.conv_specs()}
    layers = layers or list(kmasks)
    rows = math.ceil(len(layers) / columns)
    fig, axes = plt.subplots(rows, min(columns, len(layers)), figsize=(3 * min(columns, len(layers)), 2.8 * rows),
                             squeeze=False)
    for ax, name in zip(axes.flat, layers):
        m, spec = kmasks[name].float(), specs[name]
        if learngene_first:
            rows_order = torch.argsort(masks[spec.out_group].float().cpu(), descending=True, stable=True)
            cols_order = (torch.argsort(masks[spec.in_group].float().cpu(), descending=True, stable=True)
                          if spec.in_group in masks else torch.arange(m.shape[1]))
            m = m[rows_order][:, cols_order]
        ax.imshow(m, cmap="Greens", vmin=0, vmax=1.3, aspect="auto", interpolation="nearest")
        ax.set_title(f"{name}: {int(m.sum())} of {m.numel()} slices ({m.mean():.0%})", fontsize=8)
        ax.set_xticks([]), ax.set_yticks([])
    for ax in axes.flat[len(layers):]:
        ax.axis("off")
    axes[-1, 0].set_xlabel("input channel"), axes[-1, 0].set_ylabel("output channel")
    fig.suptitle(title or "a learngene: whole channels within kernels", fontsize=10)
    fig.tight_layout()
    return fig


def plot_circuit(lg, max_channels: int = 24) -> plt.Figure:
    """Paper Fig. 2 from a real learngene: "several complete neural circuits in the unit of channels
    within kernels". Each column is a layer, each dot a channel, green dots the learngene's channels;
    lines join learngene channels of consecutive layers, i.e. the kernel slices W[S_out, S_in] it keeps.
    """
    sns.set_theme(style="white", context="notebook")
    layers = _main_path(lg)
    fig, ax = plt.subplots(figsize=(1.2 + 0.95 * len(layers), 5.4))
    prev, segments = None, []
    for i, (stage, mask) in enumerate(layers):
        shown = _subsample(mask, max_channels)
        keep = mask[shown]
        ys = torch.linspace(1, 0, len(shown)) if len(shown) > 1 else torch.tensor([0.5])
        ax.scatter([i] * int((~keep).sum()), ys[~keep], s=16, color=_OTHER, zorder=2)
        ax.scatter([i] * int(keep.sum()), ys[keep], s=20, color=PALETTE["Learngene"], zorder=3)
        if prev is not None:
            segments += [[(i - 1, y0), (i, y1)] for y0 in prev.tolist() for y1 in ys[keep].tolist()]
        label = f"{'RGB' if i == 0 else f'conv {i}'}\n{int(mask.sum())}/{len(mask)}"
        if len(shown) < len(mask):
            label += f"\n(showing\n{len(shown)} of {len(mask)})"
        ax.text(i, -0.06, label, ha="center", va="top", fontsize=7)
        prev = ys[keep]
    for stage in range(layers[-1][0] + 1):  # stages: one resolution each, shaded in turn
        cols = [i for i, (s, _) in enumerate(layers) if s == stage]
        ax.add_patch(plt.Rectangle((cols[0] - 0.45, -0.03), cols[-1] - cols[0] + 0.9, 1.09, lw=0, zorder=0,
                                   fc="#f0f0f0" if stage % 2 else "#f7f7f7"))
        ax.text((cols[0] + cols[-1]) / 2, 1.03, f"stage {stage + 1}", ha="center", fontsize=7, color="#777777")
    ax.add_collection(LineCollection(segments, colors=PALETTE["Learngene"], linewidths=0.4, alpha=0.12, zorder=1))
    ax.set_xlim(-0.6, len(layers) - 0.4), ax.set_ylim(-0.32, 1.07), ax.axis("off")
    ax.legend(handles=[Line2D([], [], ls="", marker="o", color=PALETTE["Learngene"], label="learngene channel"),
                       Line2D([], [], ls="", marker="o", color=_OTHER, label="other channel (random init)"),
                       Line2D([], [], color=PALETTE["Learngene"], alpha=0.5, label="kept kernel slice")],
              loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, fontsize=8, frameon=False)
    ax.set_title(f"learngene of {lg.arch} ×{lg.width:g}: {lg.num_params:,} parameters "
                 f"({100 * lg.fraction:.1f}% of the network), whole channels within kernels", fontsize=10)
    fig.tight_layout()
    return fig


def _normalised_maps(m: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, h, w) -> (N, H, W), bilinear, each map scaled to [0, 1]; a flat map becomes all zeros."""
    up = F.interpolate(m.detach().float().cpu().unsqueeze(1), size=size, mode="bilinear", align_corners=False)[:, 0]
    lo, hi = up.amin((1, 2), keepdim=True), up.amax((1, 2), keepdim=True)
    return (up - lo) / (hi - lo).clamp_min(1e-8)


def plot_activation_maps(images: torch.Tensor, maps: dict[str, torch.Tensor],
                         class_names: list[str] | None = None) -> plt.Figure:
    """Paper Fig. 5 style: the images, then one row per network with its response map overlaid.

    Each map is upsampled to the image and scaled to [0, 1] per image, so rows compare *where*
    the networks look, not how strongly (their scales differ).

    Args:
        images: uint8 (N, 3, H, W).
        maps: row label -> non-negative (N, h, w) activation strength, any h, w.
        class_names: one column title per image.
    """
    sns.set_theme(style="white", context="notebook")
    images = images.detach().cpu()
    n, rows = len(images), 1 + len(maps)
    fig, axes = plt.subplots(rows, n, figsize=(1.6 * n + 0.4, 1.65 * rows), squeeze=False)
    gray = images.float().mean(1)
    for j in range(n):
        axes[0, j].imshow(images[j].permute(1, 2, 0))
        if class_names:
            axes[0, j].set_title("\n".join(textwrap.wrap(class_names[j], 16)[:2]), fontsize=8)
    for i, (label, m) in enumerate(maps.items(), start=1):
        if len(m) != n:
            raise ValueError(f"maps[{label!r}] has {len(m)} maps for {n} images")
        up = _normalised_maps(m, tuple(images.shape[-2:]))
        for j in range(n):
            axes[i, j].imshow(gray[j], cmap="gray", vmin=0, vmax=255)
            axes[i, j].imshow(up[j], cmap="inferno", alpha=0.55, vmin=0, vmax=1)
    for i, label in enumerate(["image", *maps]):
        axes[i, 0].set_ylabel(label, fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    return fig
