"""Figures and tables, written as PNG + SVG and CSV + Markdown into ``figures/``."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch
import torch.nn.functional as F
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .paths import figures_dir

PALETTE = {"Learngene": "#1b7837", "Scratch": "#878787", "Pre-Fin": "#2166ac", "Layer-LG": "#92c5de",
           "Random-mask": "#d6604d", "population": "#1b7837", "learngene size": "#c2a5cf"}


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


# ------------------------------------------------------- paper Figures 1, 2, 3 and 5


def _box(ax, xy, text, color, w=0.26, h=0.13, fontsize=8):
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.01,rounding_size=0.02",
                                fc=color, ec="#333333", lw=0.8, alpha=0.9))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, wrap=True)


def _arrow(ax, a, b, text="", color="#333333", rad=0.0):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12, color=color, lw=1.2,
                                 connectionstyle=f"arc3,rad={rad}"))
    if text:
        ax.text((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, text, ha="center", va="center", fontsize=7, color=color,
                bbox=dict(fc="white", ec="none", alpha=0.9))


def plot_framework() -> plt.Figure:
    """Paper Figs. 1 and 3 redrawn from code: (a) what is transferred, (b) the GTL loop."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5.2))
    for ax in (ax1, ax2):
        ax.set_xlim(0, 1), ax.set_ylim(0, 1), ax.axis("off")
    grey, green, blue = "#e0e0e0", "#a6dba0", "#c6dbef"
    ax1.set_title("(a) Transferring knowledge (paper Fig. 1)", fontsize=11)
    _box(ax1, (0.25, 0.85), "ancestor network\n(pre-trained on many classes)", blue, w=0.4)
    _box(ax1, (0.25, 0.35), "descendant\nall weights copied", blue, w=0.4)
    _arrow(ax1, (0.25, 0.77), (0.25, 0.43), "pre-training + fine-tuning")
    ax1.text(0.25, 0.18, "ALL knowledge:\nmay be redundant or negative", ha="center", fontsize=8, color="#b2182b")
    _box(ax1, (0.75, 0.85), "evolved population\n(GTL)", green, w=0.4)
    _box(ax1, (0.75, 0.35), "descendant: learngene\n+ random rest", green, w=0.4)
    _arrow(ax1, (0.75, 0.77), (0.75, 0.43), "learngene: channels within kernels, ~20% of parameters",
           color=PALETTE["Learngene"])
    ax1.text(0.75, 0.18, "CORE knowledge,\nlike genes in nature", ha="center", fontsize=8, color=PALETTE["Learngene"])
    ax2.set_title("(b) Genetic Transfer Learning (paper Fig. 3)", fontsize=11)
    steps = [((0.5, 0.9), "population: networks inherit\nlearngenes (rest random)", green),
             ((0.85, 0.65), "survival environments:\neach member's own 5-way task\n(lifetime training)", grey),
             ((0.85, 0.3), "extract learngene\n(Lamarckian: trained weights)", grey),
             ((0.5, 0.1), "critic fitness: a fresh network\ninherits it, learns validation tasks", grey),
             ((0.15, 0.3), "tournament: groups of 3,\nthe best wins", "#fddbc7"),
             ((0.15, 0.65), "mutation: add / drop\na few channels", "#fddbc7")]
    for xy, text, color in steps:
        _box(ax2, xy, text, color, w=0.3, h=0.15, fontsize=7.5)
    for (a, _, _), (b, _, _) in zip(steps, steps[1:] + steps[:1]):
        _arrow(ax2, (a[0] + (b[0] - a[0]) * 0.3, a[1] + (b[1] - a[1]) * 0.3),
               (a[0] + (b[0] - a[0]) * 0.7, a[1] + (b[1] - a[1]) * 0.7))
    ax2.text(0.5, 0.55, "one generation per turn", ha="center", fontsize=8, style="italic")
    ax2.text(0.5, 0.44, "best learngene → descendants\non novel classes", ha="center", fontsize=8,
             color=PALETTE["Learngene"], weight="bold")
    fig.tight_layout()
    return fig


def _main_path(lg) -> list[tuple[str, int, torch.Tensor]]:
    """(label, channels, learngene mask) for the RGB input and every main-path conv."""
    from .models import build_model  # local: plots stays importable without the models' weight
    net = build_model(lg.arch, 5, lg.width)
    layers = [("RGB", 3, torch.ones(3, dtype=torch.bool))]
    for stage in net.stages():
        for spec in stage.main:
            layers.append((spec.conv.replace("body.", ""), len(lg.masks[spec.out_group]), lg.masks[spec.out_group]))
    return layers


def plot_circuit(lg, max_channels: int = 24) -> plt.Figure:
    """Paper Fig. 2 from a real learngene: every column a layer, every dot a channel, green dots
    the learngene's channels, lines the kernel slices W[S_out, S_in] it keeps (its circuits)."""
    layers = _main_path(lg)
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(layers), 5.2))
    prev = None
    for i, (name, n, mask) in enumerate(layers):
        shown = torch.linspace(0, n - 1, min(n, max_channels)).round().long().unique()
        keep = mask[shown]
        ys = torch.linspace(0, 1, len(shown))
        ax.scatter([i] * int((~keep).sum()), ys[~keep], s=14, color="#d9d9d9", zorder=2)
        ax.scatter([i] * int(keep.sum()), ys[keep], s=18, color=PALETTE["Learngene"], zorder=3)
        if prev is not None:
            for y0 in prev:
                for y1 in ys[keep]:
                    ax.plot([i - 1, i], [y0, y1], color=PALETTE["Learngene"], lw=0.3, alpha=0.15, zorder=1)
        label = f"{name}\n{int(mask.sum())}/{n}" + (f"\n(showing {len(shown)})" if len(shown) < n else "")
        ax.text(i, -0.08, label, ha="center", va="top", fontsize=7)
        prev = ys[keep]
    ax.set_xlim(-0.6, len(layers) - 0.4), ax.set_ylim(-0.3, 1.05), ax.axis("off")
    ax.set_title(f"learngene of {lg.arch} ×{lg.width:g}: {lg.num_params:,} parameters "
                 f"({100 * lg.fraction:.1f}%), whole channels within kernels", fontsize=10)
    fig.tight_layout()
    return fig


def plot_activation_maps(images: torch.Tensor, maps: dict[str, torch.Tensor],
                         class_names: list[str] | None = None) -> plt.Figure:
    """Paper Fig. 5 style: the images, then one row per network with its response map overlaid
    (each map upsampled to the image and scaled to [0, 1] per image)."""
    n, rows = len(images), 1 + len(maps)
    fig, axes = plt.subplots(rows, n, figsize=(1.6 * n, 1.7 * rows), squeeze=False)
    gray = images.float().mean(1)
    for j in range(n):
        axes[0, j].imshow(images[j].permute(1, 2, 0).cpu())
        if class_names:
            axes[0, j].set_title(class_names[j][:14], fontsize=7)
    for i, (label, m) in enumerate(maps.items(), start=1):
        up = F.interpolate(m.unsqueeze(1).float(), size=images.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
        lo, hi = up.amin((1, 2), keepdim=True), up.amax((1, 2), keepdim=True)
        up = (up - lo) / (hi - lo).clamp_min(1e-8)
        for j in range(n):
            axes[i, j].imshow(gray[j].cpu(), cmap="gray")
            axes[i, j].imshow(up[j].cpu(), cmap="inferno", alpha=0.55, vmin=0, vmax=1)
        axes[i, 0].set_ylabel(label, fontsize=7)
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([])
    axes[0, 0].set_ylabel("image", fontsize=7)
    fig.tight_layout()
    return fig
