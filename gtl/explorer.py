"""An interactive explorer of a GTL run (ipywidgets, JupyterLab or classic Jupyter).

Pick a generation: see its population's fitness (tournament winners marked),
the winning learngene's channel masks layer by layer, and train, live, a
descendant of that learngene and a network from scratch on a new 5-way task
of unseen classes, side by side. The pieces are plain functions, so they are
tested without a browser and usable without widgets.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import torch

from .evolution import EvolutionResult, champion_path
from .evaluation import curve_on_task
from .learngene import Learngene, build_descendant, seeded_model
from .plots import PALETTE
from .tasks import TaskSampler


def champion(result: EvolutionResult, generation: int) -> Learngene:
    """The learngene that won ``generation`` (saved by :func:`gtl.evolution.evolve`)."""
    path = champion_path(result.run_dir, generation)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: runs made before gtl kept each generation's winner do not "
                                f"have it; evolve again into a fresh run directory")
    return Learngene.load(path)


def generation_table(history: pd.DataFrame, generation: int) -> pd.DataFrame:
    """One generation's members, best first: fitness, critic accuracy, size, parent, winner."""
    g = history[history.generation == generation]
    if g.empty:
        raise ValueError(f"no generation {generation}: the run has generations "
                         f"{int(history.generation.min())}-{int(history.generation.max())}")
    cols = ["member", "parent", "fitness", "critic_accuracy", "learngene_fraction", "winner"]
    return g[cols].sort_values("fitness", ascending=False).reset_index(drop=True)


def plot_generation(history: pd.DataFrame, generation: int, ax=None) -> plt.Figure:
    """Fitness of every member of a generation; tournament winners in colour."""
    g = history[history.generation == generation].sort_values("member")
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5, 2.6))
    colors = [PALETTE["Learngene"] if w else PALETTE["Scratch"] for w in g.winner]
    ax.bar(g.member.astype(str), g.fitness, color=colors)
    ax.set_xlabel("member")
    ax.set_ylabel("fitness")
    ax.set_title(f"generation {generation}: winners in green", fontsize=9)
    lo = float(g.fitness.min())
    ax.set_ylim(min(0.0, lo - 0.02), float(g.fitness.max()) + 0.05)
    return fig


def plot_masks(lg: Learngene, ax=None) -> plt.Figure:
    """The learngene's channels, one row per channel group (layer): kept channels in colour."""
    groups = list(lg.masks)
    width = max(m.numel() for m in lg.masks.values())
    grid = torch.full((len(groups), width), float("nan"))
    for i, g in enumerate(groups):
        grid[i, : lg.masks[g].numel()] = lg.masks[g].float()
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 0.25 * len(groups) + 1))
    cmap = plt.matplotlib.colors.ListedColormap(["#f0f0f0", PALETTE["Learngene"]]).with_extremes(bad="white")
    ax.imshow(grid.numpy(), aspect="auto", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks(range(len(groups)), [f"{g} ({int(lg.masks[g].sum())}/{lg.masks[g].numel()})" for g in groups],
                  fontsize=6)
    ax.set_xlabel("channel")
    ax.set_title(f"learngene: {100 * lg.fraction:.1f}% of the parameters", fontsize=9)
    return fig


def race(lg: Learngene, test_set, shots: int = 5, queries: int = 15, steps: int = 50, seed: int = 0,
         finetune=None, at: tuple[int, ...] | None = None, cross_scale: float = 1.0) -> pd.DataFrame:
    """A descendant of ``lg`` (born with ``cross_scale``, docs/decisions.md #16: the run's) and a
    scratch network learn the same new 5-way task: query accuracy after each number of steps in ``at``."""
    from .train import TrainConfig
    finetune = finetune or TrainConfig(steps=steps, batch_size=25)
    at = at or tuple(sorted({0, *range(5, steps + 1, 5), steps}))
    task = TaskSampler(test_set, 5, shots, queries).sample(seed)
    device = test_set.images.device
    nets = {"Learngene": build_descendant(lg, 5, seed, cross_scale),
            "Scratch": seeded_model(lg.arch, 5, lg.width, seed)}
    rows = []
    for name, net in nets.items():
        for step, acc in zip(at, curve_on_task(net.to(device), task, finetune, seed, at)):
            rows.append({"method": name, "step": step, "accuracy": acc})
    return pd.DataFrame(rows)


def plot_race(df: pd.DataFrame, ax=None) -> plt.Figure:
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(4, 2.6))
    for method, g in df.groupby("method", sort=False):
        ax.plot(g.step, 100 * g.accuracy, "o-", ms=3, color=PALETTE[method], label=method)
    ax.set_xlabel("fine-tuning steps on the new task")
    ax.set_ylabel("query accuracy (%)")
    ax.legend(fontsize=8, frameon=False)
    return fig


def explorer(result: EvolutionResult, test_set, shots: int = 5, steps: int = 30):
    """The widget: a generation slider, a task seed and a button that runs the race."""
    import ipywidgets as w
    from IPython.display import display

    history = result.history
    gens = sorted(history.generation.unique())
    generation = w.IntSlider(value=int(gens[-1]), min=int(gens[0]), max=int(gens[-1]), description="generation")
    task_seed = w.IntText(value=0, description="task seed")
    run = w.Button(description="train a descendant", button_style="success")
    top, race_out = w.Output(), w.Output()
    state = {}  # what is on screen: the generation shown and the last race (tests read it)

    def show(_=None):
        state["generation"] = generation.value
        top.clear_output(wait=True)
        with top:
            fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3), gridspec_kw={"width_ratios": [1, 1.4]})
            plot_generation(history, generation.value, a)
            plot_masks(champion(result, generation.value), b)
            fig.tight_layout()
            plt.show()

    def go(_=None):
        race_out.clear_output(wait=True)
        with race_out:
            if task_seed.value < 0:  # a message a reader can act on, not a traceback
                print(f"the task seed must be 0 or more, got {task_seed.value}: type another one")
                return
            print(f"training on a new 5-way {shots}-shot task (seed {task_seed.value}) ...")
            df = race(champion(result, generation.value), test_set, shots=shots, steps=steps, seed=task_seed.value,
                      cross_scale=result.config.cross_scale)
            state["race"] = df
            race_out.clear_output(wait=True)
            plot_race(df)
            plt.show()

    generation.observe(show, names="value")
    run.on_click(go)
    show()
    box = w.VBox([w.HBox([generation, task_seed, run]), top, race_out])
    box.state = state
    display(box)
    return box
