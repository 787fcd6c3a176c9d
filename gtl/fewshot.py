"""Few-shot evaluation of descendants, and the baselines they are compared with.

Protocol (decisions.md #10): N-way K-shot episodes on classes the learngene
never saw; each network is fine-tuned on the support set (whole network,
fresh head, SGD for a fixed number of steps) and scored on the queries.
Every method meets the *same* episodes and the same fine-tuning seeds, so
differences come from the initialisation alone. Accuracies are reported as
mean ± 95% confidence interval (1.96 · sd / sqrt(n)) over episodes.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch
from tqdm.auto import tqdm

from .data import ImageDataset
from .learngene import Learngene, build_descendant, count_params, seeded_model
from .models import FewShotNet
from .tasks import Task, TaskSampler, derive_seed
from .train import TrainConfig, accuracy, train


@dataclass
class EvalConfig:
    """An evaluation protocol (decisions.md #10, #12; the paper states none of it).

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

    @classmethod
    def quick(cls, **overrides) -> "EvalConfig":
        """CPU in minutes: 60 episodes, 50 fine-tuning steps, a short pre-training."""
        base = dict(episodes=60, finetune=TrainConfig(steps=50, batch_size=25),
                    pretrain=TrainConfig(steps=1500, batch_size=64))
        return replace(cls(), **{**base, **overrides})

    @classmethod
    def paper(cls, **overrides) -> "EvalConfig":
        return replace(cls(), **overrides)

    @classmethod
    def from_profile(cls, profile: str, **overrides) -> "EvalConfig":
        if profile not in ("quick", "paper"):
            raise ValueError(f"profile must be 'quick' or 'paper', got {profile!r}")
        return getattr(cls, profile)(**overrides)


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


def mean_ci95(values: list[float]) -> tuple[float, float]:
    """Mean and half-width of the normal 95% confidence interval, 1.96 · sd / sqrt(n).

    Example:
        >>> mean_ci95([0.5, 0.7])
        (0.6, 0.196...)
    """
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mean = sum(values) / n
    if n == 1:
        return mean, float("nan")
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, 1.96 * sd / math.sqrt(n)


def finetune_on_task(model: FewShotNet, task: Task, cfg: TrainConfig, seed: int) -> float:
    """Give ``model`` a fresh head, train it on the support set, return query accuracy."""
    model.reset_head(task.ways, seed)
    train(model, task.support_x, task.support_y, cfg, seed)
    return accuracy(model, task.query_x, task.query_y)


def evaluate(make_model: Callable[[int], FewShotNet], test_set: ImageDataset, cfg: EvalConfig,
             seed: int, method: str, params_transferred: int = 0, device: str = "cpu",
             progress: bool = True) -> FewShotResult:
    """Fine-tune ``make_model(episode_seed)`` on every episode; mean ± 95% CI of query accuracy.

    Args:
        make_model: builds the network to test for one episode (it is changed).
        test_set: novel classes to draw episodes from.
        cfg: the protocol.
        seed: draws the episodes and the fine-tuning batches.
        method: name in the result table.
        params_transferred: parameters the method copies from elsewhere.
    """
    sampler = TaskSampler(test_set, cfg.ways, cfg.shots, cfg.queries)
    accs = []
    for e in tqdm(range(cfg.episodes), desc=f"{method} {cfg.ways}w{cfg.shots}s", disable=not progress,
                  leave=False):
        task = sampler.sample(derive_seed(seed, "episode", e))
        model = make_model(derive_seed(seed, "model", e)).to(device)
        accs.append(finetune_on_task(model, task, cfg.finetune, derive_seed(seed, "finetune", e)))
    mean, ci = mean_ci95(accs)
    return FewShotResult(method, mean, ci, len(accs), cfg.ways, cfg.shots, seed, params_transferred, accs)


# ------------------------------------------------------------- baselines


def scratch(arch: str, width: float) -> Callable[[int], FewShotNet]:
    """Scratch: a randomly initialised network (nothing transferred)."""
    return lambda s: seeded_model(arch, 5, width, s)


def from_learngene(lg: Learngene) -> Callable[[int], FewShotNet]:
    """Learngene: learngene weights inherited, every other weight random (decisions.md #9)."""
    return lambda s: build_descendant(lg, 5, s)


def from_pretrained(model: FewShotNet) -> Callable[[int], FewShotNet]:
    """Pre-Fin: every weight of a network pre-trained on the training classes, new head."""
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    arch, width, n = model.arch, model.width, model.num_classes

    def make(s: int) -> FewShotNet:
        net = seeded_model(arch, n, width, s)
        net.load_state_dict(state)
        return net
    return make


def pretrain(arch: str, width: float, train_set: ImageDataset, cfg: TrainConfig, seed: int,
             path: str | os.PathLike | None = None, device: str = "cpu") -> FewShotNet:
    """The Pre-Fin ancestor: trained on *all* training classes at once (decisions.md #12).

    With ``path``, the trained weights are cached there and reused when the
    file exists, so notebooks share one pre-training.
    """
    net = seeded_model(arch, len(train_set.classes), width, seed)
    if path is not None and Path(path).exists():
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return net.to(device)
    net = net.to(device)
    train(net, train_set.images, train_set.labels.to(train_set.images.device), cfg, seed)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.save(net.state_dict(), f"{path}.tmp")
        os.replace(f"{path}.tmp", path)
    return net


def pretrained_params(model: FewShotNet) -> int:
    """Parameters Pre-Fin transfers: all of them but the head it replaces."""
    return count_params(model) - sum(p.numel() for p in model.head.parameters())
