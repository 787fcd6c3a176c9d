"""Figures and tables, written as PNG + SVG and CSV + Markdown into ``figures/``."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from .paths import figures_dir

PALETTE = {"Learngene": "#1b7837", "Scratch": "#878787", "Pre-Fin": "#2166ac", "population": "#1b7837",
           "learngene size": "#c2a5cf"}


def save_figure(fig: plt.Figure, name: str) -> list[Path]:
    """Write ``figures/<name>.png`` and ``.svg``; return the paths."""
    paths = [figures_dir() / f"{name}.{ext}" for ext in ("png", "svg")]
    with plt.rc_context({"svg.hashsalt": "gtl"}):  # fixed element ids: a re-run leaves git clean
        for p in paths:
            fig.savefig(p, dpi=150, bbox_inches="tight", metadata={"Date": None} if p.suffix == ".svg" else None)
    return paths


def to_markdown(df: pd.DataFrame, floatfmt: str = "{:.2f}") -> str:
    """A GitHub Markdown table (no extra dependency)."""
    cells = [[floatfmt.format(v) if isinstance(v, float) else str(v) for v in row] for row in df.itertuples(index=False)]
    header = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    return "\n".join([header, sep] + ["| " + " | ".join(r) + " |" for r in cells]) + "\n"


def save_table(df: pd.DataFrame, name: str) -> list[Path]:
    """Write ``figures/<name>.csv`` and ``.md``; return the paths."""
    csv, md = figures_dir() / f"{name}.csv", figures_dir() / f"{name}.md"
    df.to_csv(csv, index=False)
    md.write_text(to_markdown(df))
    return [csv, md]


def _count(n: float) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k" if n >= 1e3 else f"{n:.0f}"


def plot_evolution(history: pd.DataFrame, references: list[dict] | None = None, title: str = "") -> plt.Figure:
    """Paper Figure 4: learngene size (bars) and population accuracy (curve, min-max band).

    Args:
        history: one row per member and generation (``generations.csv`` of a run),
            with ``critic_accuracy`` (accuracy on validation classes) and
            ``learngene_params``.
        references: horizontal lines, each ``{"label", "accuracy", "ci95", "params"}``
            (Scratch, Pre-Fin, ...), measured with the same critic protocol.
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
            label="population accuracy (mean)")
    ax.fill_between(per_gen.index, 100 * per_gen["low"], 100 * per_gen["high"], color=PALETTE["population"],
                    alpha=0.15, label="population min–max")
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
