"""The one training loop of the package: a lifetime, a critic, a fine-tune, a pre-training.

Images arrive as uint8 tensors on the training device; augmentation (random
crop with padding, horizontal flip) and normalisation happen there, batched,
so a GPU never waits for a CPU data loader.
"""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

# ImageNet statistics: the usual normalisation for both benchmarks (our choice).
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


@dataclass
class TrainConfig:
    """SGD settings of one training run (docs/decisions.md #4: SGD 0.01 / 0.9 / 5e-4).

    Args:
        steps: optimisation steps.
        batch_size: images per step (a task smaller than this is used whole).
        lr: learning rate (constant: lifetimes are short).
        momentum: SGD momentum.
        weight_decay: L2 penalty.
        augment: random crop + flip on every batch.
    """

    steps: int = 100
    batch_size: int = 25
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    augment: bool = True

    def __post_init__(self):
        check_values("TrainConfig", [
            (self.steps >= 0, f"steps must be >= 0, got {self.steps}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.lr > 0, f"lr must be > 0, got {self.lr}"),
            (0 <= self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}"),
            (self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}")])


def check_values(config: str, checks: list[tuple[bool, str]]) -> None:
    """Fail when a config is built, not an hour into a run: one ValueError naming every bad value."""
    bad = [message for ok, message in checks if not ok]
    if bad:
        raise ValueError(f"{config}: " + "; ".join(bad))


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(B, 3, H, W)`` -> normalised float32 on the same device."""
    x = images.float() / 255.0  # out of place: a float input is never modified
    mean, std = _statistics_on(x.device)
    return (x - mean) / std


@functools.lru_cache(maxsize=None)
def _statistics_on(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """MEAN and STD on ``device``, copied once: a copy per step would make the host wait for the GPU."""
    return MEAN.to(device), STD.to(device)


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random crop (padding = 1/8 of the side, reflect) and horizontal flip, per image."""
    dx, dy, flip = random_shifts(len(x), crop_padding(x.shape[-2]), generator)
    return shift_and_flip(x, dx, dy, flip)


def crop_padding(side: int) -> int:
    """Padding of the random crop: 1/8 of the image side (4 px at 32, 10 px at 84)."""
    return max(1, side // 8)


def random_shifts(b: int, pad: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Crop offsets ``dx``, ``dy`` in ``[0, 2 pad]`` and flip flags for ``b`` images (on the CPU)."""
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
    flip = torch.rand(b, generator=generator) < 0.5
    return dx, dy, flip


def shift_and_flip(x: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """Apply crop offsets and flips to a batch ``x`` (B, C, H, W), on its device.

    Done with one padded tensor and gathered windows, so it costs a few tensor
    ops whatever the batch size, on CPU or GPU.
    """
    b, _, h, w = x.shape
    pad = crop_padding(h)
    dx, dy, flip = dx.to(x.device), dy.to(x.device), flip.to(x.device)
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    cols = torch.arange(w, device=x.device).unsqueeze(0) + dx.unsqueeze(1)           # (b, w)
    cols = torch.where(flip.unsqueeze(1), cols.flip(1), cols)
    rows = torch.arange(h, device=x.device).unsqueeze(0) + dy.unsqueeze(1)           # (b, h)
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    out = padded.permute(0, 2, 3, 1)[batch, rows.unsqueeze(2), cols.unsqueeze(1)]   # (b, h, w, c)
    return out.permute(0, 3, 1, 2).contiguous()


@dataclass
class BatchPlan:
    """Every random choice of a training run, drawn up front: ``idx`` (steps, batch)
    image indices and, with augmentation, ``dx``, ``dy``, ``flip`` of the same shape.

    Drawing them before the first step keeps the host out of the loop (one
    transfer to the GPU, no sync per step), and is what lets a population be
    trained batched with exactly the batches each member gets alone.
    """

    idx: torch.Tensor
    dx: torch.Tensor | None = None
    dy: torch.Tensor | None = None
    flip: torch.Tensor | None = None

    def to(self, device) -> "BatchPlan":
        return BatchPlan(*(None if t is None else t.to(device) for t in (self.idx, self.dx, self.dy, self.flip)))


def batch_plan(n: int, cfg: "TrainConfig", seed: int, side: int) -> BatchPlan:
    """The batches :func:`train` draws for ``n`` images of ``side`` pixels: shuffles without
    replacement (reshuffled when a pass ends), then the batch's crop offsets and flips."""
    if n == 0:
        raise ValueError("cannot train on an empty set of images")
    g = torch.Generator().manual_seed(seed)
    order, pos, bs = torch.randperm(n, generator=g), 0, min(cfg.batch_size, n)
    idx, shifts = [], []
    for _ in range(cfg.steps):
        if pos + bs > len(order):
            order, pos = torch.randperm(n, generator=g), 0
        idx.append(order[pos: pos + bs])
        pos += bs
        if cfg.augment:
            shifts.append(random_shifts(bs, crop_padding(side), g))
    if not idx:
        return BatchPlan(torch.zeros(0, bs, dtype=torch.long))
    if not cfg.augment:
        return BatchPlan(torch.stack(idx))
    dx, dy, flip = (torch.stack(t) for t in zip(*shifts))
    return BatchPlan(torch.stack(idx), dx, dy, flip)


def autocast(device: torch.device, bf16: bool):
    """bf16 autocast on ``device`` (CUDA or CPU) when ``bf16``, else a context that changes nothing
    (not a disabled autocast, which would switch off one the caller opened around it)."""
    if not bf16 or device.type not in ("cuda", "cpu"):
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def train(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, cfg: TrainConfig,
          seed: int, on_step: Callable[[int], None] | None = None, channels_last: bool = True,
          bf16: bool = False) -> list[float]:
    """Train ``model`` in place on uint8 ``images``; returns the loss of every step.

    Batches come from :func:`batch_plan` (seeded by ``seed``), so the same call
    gives the same weights; :func:`gtl.population.train_population` trains many
    models at once on exactly these batches. ``on_step(k)`` is called
    after step ``k`` (1, 2, ...): for learning curves; it must leave the model
    in training mode. ``channels_last`` keeps the model's conv weights and the
    batches in channels-last memory: the same numbers up to float rounding, and
    1.1-1.5x faster on a CPU (oneDNN) as on a GPU (cuDNN). ``bf16`` runs the
    forward pass under bf16 autocast on the images' device (the caller decides:
    :meth:`gtl.population.Runtime.bf16_on`), as the batched path does, so a
    benchmark compares the two at one precision. Closed learngene
    circuits (:func:`gtl.learngene.close_circuit`) stay closed: :func:`hold_circuits`;
    entries given their own learning rate (:func:`scale_updates`) move that much less.
    """
    plan = batch_plan(len(images), cfg, seed, images.shape[-2]).to(images.device)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model.to(memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                          weight_decay=cfg.weight_decay)
    amp = autocast(images.device, bf16)
    scaled = _scaled_params(model)
    model.train()
    losses = []
    for step in range(cfg.steps):
        idx = plan.idx[step]
        x = normalize(images[idx])
        if cfg.augment:
            x = shift_and_flip(x, plan.dx[step], plan.dy[step], plan.flip[step])
        with amp:
            logits = model(x.contiguous(memory_format=fmt))
        loss = F.cross_entropy(logits.float(), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        before = [p.detach().clone() for p, _ in scaled]
        opt.step()
        with torch.no_grad():
            for (p, scale), old in zip(scaled, before):
                p.copy_(torch.lerp(old, p, scale))  # old + scale * (the step SGD took)
        hold_circuits(model)
        losses.append(loss.detach())
        if on_step is not None:
            on_step(len(losses))
    return [float(v) for v in torch.stack(losses).cpu()] if losses else []


def scale_updates(model: nn.Module, masks: dict[str, torch.Tensor], factor: float) -> nn.Module:
    """Train the entries of ``model``'s parameters under ``masks`` (bool, by parameter name) at ``factor``
    times the learning rate (0: frozen), every other entry as before; returns ``model``.

    For explanation 2 of docs/decisions.md #20 (inherited weights at a tenth of the learning rate, or
    frozen). :func:`train` scales each step SGD takes on those entries: with SGD's momentum buffer
    (weight decay included) independent of the learning rate, that is exactly a per-entry learning rate;
    the other entries keep theirs (their gradients change only because the scaled entries move less).
    BatchNorm's running statistics are not parameters: they still follow the batches. Stacked (batched)
    training does not know it: such networks train one by one (:meth:`gtl.population.Runtime.stacks`).
    """
    model.update_scales = {name: torch.where(m, float(factor), 1.0) for name, m in masks.items()}
    return model


def _scaled_params(model: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(parameter, its per-entry factor) for every parameter :func:`scale_updates` gave one."""
    params, scales = dict(model.named_parameters()), getattr(model, "update_scales", {})
    return [(params[name], scale.to(params[name].device)) for name, scale in scales.items()]


@torch.no_grad()
def hold_circuits(model: nn.Module) -> None:
    """Put the zeros of closed learngene circuits back after an optimiser step.

    :func:`gtl.learngene.close_circuit` gives a conv the attribute
    ``circuit_keep`` (0 at the cross-weights, 1 elsewhere). SGD moves those
    weights (their gradient, momentum and weight decay are not 0), so every
    step is followed by this multiplication: the forward pass never sees them
    and they stay at exactly 0. A network without closed circuits is unchanged.
    """
    for m in model.modules():
        keep = getattr(m, "circuit_keep", None)
        if keep is None:
            continue
        if keep.device != m.weight.device:  # the network moved after it was closed
            keep = m.circuit_keep = keep.to(m.weight.device)
        m.weight.mul_(keep)


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500) -> float:
    """Top-1 accuracy of ``model`` (in eval mode) on uint8 ``images``."""
    model.eval()
    correct = 0
    for i in range(0, len(images), batch_size):
        logits = model(normalize(images[i: i + batch_size]))
        correct += int((logits.argmax(1) == labels[i: i + batch_size]).sum())
    return correct / max(1, len(images))


@torch.no_grad()
def features(model: nn.Module, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Penultimate features of ``model`` (eval mode) for uint8 ``images``."""
    model.eval()
    return torch.cat([model.features(normalize(images[i: i + batch_size]))
                      for i in range(0, len(images), batch_size)])
