"""Few-shot evaluation of descendants: episodes, fine-tuning, instincts.

Protocol (docs/decisions.md #10): N-way K-shot episodes on classes the learngene
never saw; each network is fine-tuned on the support set (whole network,
fresh head, SGD for a fixed number of steps) and scored on the queries.
Every method meets the *same* episodes and the same fine-tuning seeds, so
differences come from the initialisation alone. Accuracies are reported as
mean ± 95% confidence interval (1.96 · sd / sqrt(n)) over episodes; the
statistics that compare methods episode by episode live in :mod:`gtl.stats`,
and the methods themselves (Scratch, Learngene, Pre-Fin, ...) in
:mod:`gtl.baselines`.
"""
from __future__ import annotations

import copy

from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .data import ImageDataset
from .models import FewShotNet
from .population import Runtime, stack, stacked_accuracy, train_population
from .profiles import check_profile
from .stats import long_rows, mean_ci95
from .tasks import Task, TaskSampler, derive_seed
from .train import TrainConfig, accuracy, check_values, features, normalize, train


@dataclass
class EvalConfig:
    """An evaluation protocol (docs/decisions.md #10, #12; the paper states none of it).

    Args:
        ways: classes per episode.
        shots: support images per class.
        queries: query images per class (15 is the field's convention).
        episodes: number of test episodes (600 is the field's convention).
        finetune: how each network is trained on an episode's support set.
        pretrain: how the Pre-Fin baseline is trained on all training classes.
    """

    ways: int = 5
    shots: int = 5
    queries: int = 15
    episodes: int = 600
    finetune: TrainConfig = field(default_factory=lambda: TrainConfig(steps=100, batch_size=25))
    pretrain: TrainConfig = field(default_factory=lambda: TrainConfig(steps=30000, batch_size=128))

    def __post_init__(self):
        check_values("EvalConfig", [
            (self.ways >= 2, f"ways must be >= 2 (a task tells classes apart), got {self.ways}"),
            (self.shots >= 1, f"shots must be >= 1, got {self.shots}"),
            (self.queries >= 1, f"queries must be >= 1, got {self.queries}"),
            (self.episodes >= 1, f"episodes must be >= 1, got {self.episodes}")])

    @classmethod
    def smoke(cls, dataset: str | None = None, **overrides) -> "EvalConfig":
        """Seconds on a CPU, for tests: 4 episodes, 5 fine-tuning steps, a token pre-training."""
        base = dict(episodes=4, queries=3, finetune=TrainConfig(steps=5, batch_size=10),
                    pretrain=TrainConfig(steps=10, batch_size=32))
        return replace(cls(), **{**base, **overrides})

    @classmethod
    def quick(cls, dataset: str | None = None, **overrides) -> "EvalConfig":
        """CPU in minutes: 60 episodes, 50 fine-tuning steps, a short pre-training.

        On CIFAR-FS 6 queries per class: the offline CIFAR-100 subset has as few as
        11 images in a class.
        """
        base = dict(episodes=60, finetune=TrainConfig(steps=50, batch_size=25),
                    pretrain=TrainConfig(steps=1500, batch_size=64))
        if dataset == "cifar-fs":
            base["queries"] = 6
        return replace(cls(), **{**base, **overrides})

    @classmethod
    def heur_lg(cls, dataset: str | None = None, **overrides) -> "EvalConfig":
        """A longer protocol, as an option beside ours (docs/decisions.md #10): the one the learngene
        group's public code uses for descendants (Heur-LG). 5-way tasks of novel classes with 20 images
        per class, about 100 epochs of batch 32 (313 steps of 100 images), SGD lr 0.005, momentum 0.9,
        weight decay 5e-4, every weight trained; 15 queries per class, 600 episodes."""
        base = dict(shots=20, finetune=TrainConfig(steps=313, batch_size=32, lr=0.005, momentum=0.9,
                                                   weight_decay=5e-4))
        return replace(cls(), **{**base, **overrides})

    @classmethod
    def paper(cls, dataset: str | None = None, **overrides) -> "EvalConfig":
        return replace(cls(), **overrides)

    @classmethod
    def from_profile(cls, profile: str, dataset: str | None = None, **overrides) -> "EvalConfig":
        check_profile(profile)
        return getattr(cls, profile)(dataset, **overrides)


@dataclass
class FewShotResult:
    """Mean accuracy with its 95% CI over episodes, and what produced it."""

    method: str
    mean: float
    ci95: float
    episodes: int
    ways: int
    shots: int
    seed: int
    params_transferred: int
    accuracies: list[float] = field(repr=False, default_factory=list)

    def __str__(self) -> str:
        return (f"{self.method}: {100 * self.mean:.2f} ± {100 * self.ci95:.2f}% "
                f"({self.ways}-way {self.shots}-shot, {self.episodes} episodes, seed {self.seed})")

    def row(self) -> dict:
        d = asdict(self)
        d.pop("accuracies")
        return d

    def long(self, **columns) -> list[dict]:
        """One row per episode (:func:`gtl.stats.long_rows`): the method, protocol, seed and
        transferred parameters, ``columns``, the episode and its accuracy."""
        return long_rows(self.accuracies, method=self.method, setting=f"{self.ways}-way {self.shots}-shot",
                         ways=self.ways, shots=self.shots, seed=self.seed,
                         params_transferred=self.params_transferred, **columns)


def finetune_on_task(model: FewShotNet, task: Task, cfg: TrainConfig, seed: int,
                     runtime: Runtime | None = None) -> float:
    """Give ``model`` a fresh head, train it on the support set, return query accuracy.
    ``runtime`` gives the precision and memory format (bf16 on CUDA by default)."""
    runtime = runtime or Runtime()
    model.reset_head(task.ways, seed)
    train(model, task.support_x, task.support_y, cfg, seed, channels_last=runtime.channels_last,
          bf16=runtime.bf16_on(task.support_x.device))
    return accuracy(model, task.query_x, task.query_y)


@torch.no_grad()
def calibrate_bn(model: FewShotNet, images: torch.Tensor) -> None:
    """Set every BatchNorm's running statistics to those of ``images`` (no weight changes).

    An untrained descendant's BN statistics come partly from its learngene (its
    channels' statistics on the ancestor's data) and partly from a fresh network
    (the rest), which fit neither the new images nor each other, so before
    reading its features we measure them on the support set: this is not
    learning (no gradient, no label), just the statistics BN needs.
    """
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average: one pass gives the exact batch statistics
    model.train()
    model.features(normalize(images))
    for bn in bns:
        bn.momentum = 0.1
    model.eval()


@torch.no_grad()
def instinct_on_task(model: FewShotNet, task: Task, cfg: TrainConfig | None = None, seed: int = 0) -> float:
    """Accuracy with no learning at all (docs/decisions.md #11): nearest class mean of the
    untrained network's features, cosine similarity, support means as prototypes."""
    calibrate_bn(model, task.support_x)
    fs = F.normalize(features(model, task.support_x), dim=1)
    fq = F.normalize(features(model, task.query_x), dim=1)
    protos = torch.stack([fs[task.support_y == c].mean(0) for c in range(task.ways)])
    pred = (fq @ F.normalize(protos, dim=1).T).argmax(1)
    return float((pred == task.query_y).float().mean())


def evaluate(make_model: Callable[[int], FewShotNet], test_set: ImageDataset, cfg: EvalConfig,
             seed: int, method: str, params_transferred: int = 0, device: str = "cpu",
             progress: bool = True, score: Callable = finetune_on_task,
             runtime: Runtime | None = None) -> FewShotResult:
    """Fine-tune ``make_model(episode_seed)`` on every episode; mean ± 95% CI of query accuracy.

    ``score=instinct_on_task`` measures instincts instead: the untrained network's
    nearest-class-mean accuracy on the same episodes.

    Args:
        make_model: builds the network to test for one episode (it is changed).
        test_set: novel classes to draw episodes from.
        cfg: the protocol.
        seed: draws the episodes and the fine-tuning batches.
        method: name in the result table.
        params_transferred: parameters the method copies from elsewhere.
        runtime: loop or batched fine-tuning (:class:`gtl.population.Runtime`;
            default: batched on CUDA).
    """
    accs = [a[-1] for a in episode_accuracies([make_model], test_set, cfg, seed, device, runtime, score,
                                              desc=f"{method} {cfg.ways}w{cfg.shots}s", progress=progress)[0]]
    mean, ci = mean_ci95(accs)
    return FewShotResult(method, mean, ci, len(accs), cfg.ways, cfg.shots, seed, params_transferred, accs)


def episode_accuracies(makers: Sequence[Callable[[int], FewShotNet]], test_set: ImageDataset, cfg: EvalConfig,
                       seed: int, device: str = "cpu", runtime: Runtime | None = None,
                       score: Callable = finetune_on_task, at: tuple[int, ...] | None = None,
                       desc: str = "episodes", progress: bool = False,
                       support_statistics: bool = False) -> list[list[list[float]]]:
    """``[maker][episode]``: query accuracies of every maker's network on the same episodes.

    With ``at``, the accuracies after each of those numbers of fine-tuning
    steps (one run each); else one accuracy per episode. Episodes, model seeds
    and fine-tuning seeds depend on ``seed`` and the episode number alone, so
    every maker meets the same ones. A batched runtime fine-tunes up to
    ``runtime.chunk`` networks (of any makers) as one stacked network.
    ``support_statistics``: the curve's accuracies are read with BatchNorm
    statistics measured on the support set (:func:`curve_on_task`).
    """
    runtime = runtime or Runtime()
    sampler = TaskSampler(test_set, cfg.ways, cfg.shots, cfg.queries)
    batched = score is finetune_on_task and runtime.batched_on(device) and not support_statistics
    jobs = [(i, e) for i in range(len(makers)) for e in range(cfg.episodes)]
    out: list[list[list[float]]] = [[] for _ in makers]
    with runtime.backend(device), tqdm(total=len(jobs), desc=desc, disable=not progress, leave=False) as bar:
        for start in range(0, len(jobs), runtime.chunk if batched else 1):
            chunk = jobs[start: start + (runtime.chunk if batched else 1)]
            tasks = [sampler.sample(derive_seed(seed, "episode", e)) for _, e in chunk]
            models = [makers[i](derive_seed(seed, "model", e)).to(device) for i, e in chunk]
            seeds = [derive_seed(seed, "finetune", e) for _, e in chunk]
            if batched or at is not None or score is finetune_on_task:
                loop = replace(runtime, mode="loop")  # this chunk is one job: same precision, no stacking
                accs = finetune_many(models, tasks, cfg.finetune, seeds, runtime if batched else loop, at,
                                     support_statistics)
            else:
                accs = [[score(m, t, cfg.finetune, s)] for m, t, s in zip(models, tasks, seeds)]
            for (i, _), a in zip(chunk, accs):
                out[i].append(a)
            bar.update(len(chunk))
    return out


def finetune_many(models: Sequence[FewShotNet], tasks: Sequence[Task], cfg: TrainConfig, seeds: Sequence[int],
                  runtime: Runtime | None = None, at: tuple[int, ...] | None = None,
                  support_statistics: bool = False) -> list[list[float]]:
    """:func:`finetune_on_task` (or, with ``at``, :func:`curve_on_task`) for every model on its own task.

    Batched (see :mod:`gtl.population`), models of one shape train as stacked
    networks of up to ``runtime.chunk``; their tasks must have equal support and
    query sizes.
    """
    runtime = runtime or Runtime()
    if support_statistics and at is None:
        at = (cfg.steps,)
    if not models or support_statistics or not runtime.stacks(models, tasks[0].support_x.device):
        if at is None:
            return [[finetune_on_task(m, t, cfg, s, runtime)] for m, t, s in zip(models, tasks, seeds)]
        return [curve_on_task(m, t, cfg, s, at, runtime, support_statistics) for m, t, s in zip(models, tasks, seeds)]
    groups: dict[tuple, list[int]] = {}  # only networks of one shape can be stacked
    for i, m in enumerate(models):
        groups.setdefault((type(m), *((k, v.shape) for k, v in m.state_dict().items())), []).append(i)
    out: list = [None] * len(models)
    for members in groups.values():
        for j in range(0, len(members), runtime.chunk):
            part = members[j: j + runtime.chunk]
            accs = _finetune_stacked([models[i] for i in part], [tasks[i] for i in part], cfg,
                                     [seeds[i] for i in part], runtime, at or (cfg.steps,))
            for i, a in zip(part, accs):
                out[i] = a
    return out


def _finetune_stacked(models, tasks, cfg: TrainConfig, seeds, runtime: Runtime, at: tuple[int, ...]):
    for m, t, s in zip(models, tasks, seeds):
        m.reset_head(t.ways, s)
    qx, qy = [t.query_x for t in tasks], [t.query_y for t in tasks]
    accs = {0: stacked_accuracy(stack(models), qx, qy)} if 0 in at else {}

    def check(step: int, stacked) -> None:
        if step in at:
            accs[step] = stacked_accuracy(stacked, qx, qy)
    train_population(models, [t.support_x for t in tasks], [t.support_y for t in tasks],
                     replace(cfg, steps=max(at)), seeds, replace(runtime, chunk=len(models)), on_step=check)
    return [[accs[k][i] for k in at] for i in range(len(models))]


def curve_on_task(model: FewShotNet, task: Task, cfg: TrainConfig, seed: int,
                  at: tuple[int, ...], runtime: Runtime | None = None, support_statistics: bool = False) -> list[float]:
    """Query accuracy after each number of fine-tuning steps in ``at`` (one training run).

    The run is the one :func:`finetune_on_task` makes with ``max(at)`` steps, so the
    point at ``cfg.steps`` equals its accuracy. ``support_statistics``: each accuracy is
    read from a copy whose BatchNorm statistics were measured on the support set
    (:func:`calibrate_bn`) instead of the running ones; the training is the same (up to
    float rounding where the running curves were trained stacked, on a GPU).
    """
    runtime = runtime or Runtime()
    model.reset_head(task.ways, seed)

    def read() -> float:
        if not support_statistics:
            return accuracy(model, task.query_x, task.query_y)
        reader = copy.deepcopy(model)
        calibrate_bn(reader, task.support_x)
        return accuracy(reader, task.query_x, task.query_y)
    accs = {0: read()} if 0 in at else {}

    def check(step: int) -> None:
        if step in at:
            accs[step] = read()
            model.train()
    train(model, task.support_x, task.support_y, replace(cfg, steps=max(at)), seed, on_step=check,
          channels_last=runtime.channels_last, bf16=runtime.bf16_on(task.support_x.device))
    return [accs[k] for k in at]


@torch.no_grad()
def activation_maps(model: FewShotNet, images: torch.Tensor, min_side: int = 8) -> torch.Tensor:
    """Where an (untrained) network responds: the L2 norm over channels of the deepest
    conv output at least ``min_side`` pixels wide, BN calibrated on ``images``.

    Our stand-in for paper Fig. 5's visualisation (its method is not known).
    Returns ``(N, h, w)``.
    """
    calibrate_bn(model, images)
    outputs = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: outputs.append(out))
             for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1)]
    model.features(normalize(images))
    for h in hooks:
        h.remove()
    wide = [o for o in outputs if min(o.shape[-2:]) >= min_side] or outputs[:1]
    return wide[-1].norm(dim=1)
