"""Train a whole population of networks as one computation.

GTL trains many small networks of one architecture on small tasks. One after
another, each step is a handful of tiny kernels and a GPU sits mostly idle.
Here ``P`` networks become **one stacked network**: every ``Conv2d`` becomes a
grouped convolution with ``P`` times the channels (``groups=P``), every
``BatchNorm2d`` normalises ``P`` times the channels, every ``Linear`` becomes a
batched matrix product. Member ``p`` owns the ``p``-th slice of every channel
dimension, its images enter as the ``p``-th group of input channels, and no
operation mixes slices, so the stacked network computes exactly what the ``P``
networks compute alone: same batches (:func:`gtl.train.batch_plan`), same
BatchNorm statistics, same SGD update (plain, momentum and weight decay are
all elementwise). The loop in :func:`gtl.train.train` stays the reference; the
tests check the two agree to float tolerance.

:class:`Runtime` says how to run: ``"loop"`` or ``"batched"`` (``"auto"``
picks batched on CUDA and the loop on a CPU, where the benchmark
``python -m gtl.bench`` shows batching no faster), and on CUDA bf16 autocast
(on a CPU only when asked: ``cpu_bf16``), channels-last memory and optional
``torch.compile``.
"""
from __future__ import annotations

import contextlib
import copy
import os
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .train import TrainConfig, autocast, batch_plan, hold_circuits, normalize, shift_and_flip, train

# Modules without parameters that act on each channel (or each position) alone:
# they need no change to serve P stacked members.
CHANNELWISE = (nn.ReLU, nn.LeakyReLU, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
               nn.Identity, nn.Flatten, nn.Sequential)


def default_device() -> str:
    """Where to compute when nobody says: the GPU when there is one, else the CPU."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def free_cpu_threads() -> int:
    """CPU threads for a command that is not told (``--threads``): torch's default, less the CPUs other
    processes keep busy now (the 1-minute load average), shared among this machine's ``torchrun`` ranks
    (``LOCAL_WORLD_SIZE``: they start together and see the same load), at least 1.

    Threads that wait on a core another process holds stall each other: on 2 cores beside one busy
    process, 2 threads ran lifetime steps 2.7x slower than 1 thread, while alone 2 threads ran 1.4x
    faster (``python -m gtl.bench --threads``, ``figures/cpu_threads.csv``). The load average is a
    minute behind, so a job started just before is not yet seen; ``--threads`` says it exactly.
    """
    busy = round(os.getloadavg()[0]) if hasattr(os, "getloadavg") else 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    ranks_here = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return max(1, min(torch.get_num_threads(), (cpus - busy) // max(1, ranks_here)))


@dataclass(frozen=True)
class Runtime:
    """How to train populations: not a hyper-parameter (results agree to float tolerance,
    bf16 aside), so it is not part of any config key; the precision (:meth:`precision`) is
    part of a run folder's name. Wherever a function takes ``runtime=None``, None means
    ``Runtime()``: ``auto``, bf16 on CUDA, fp32 on a CPU, channels-last.

    Args:
        mode: ``"loop"`` (one network after another, the reference), ``"batched"``
            (stacked, see the module docstring) or ``"auto"``.
        chunk: most members trained in one stacked network (bounds memory).
        bf16: bf16 autocast on CUDA; False trains in fp32 everywhere.
        cpu_bf16: bf16 autocast on a CPU too (docs/decisions.md #19): other numbers than fp32,
            faster on some CPUs (``python -m gtl.bench --cpu-bf16``). Default: ``$GTL_CPU_BF16=1``,
            else off; so ``GTL_CPU_BF16=1 make figures`` runs every notebook in bf16 on the CPU.
        channels_last: channels-last memory format (faster on GPUs and CPUs alike).
        compile: ``torch.compile`` the stacked network (CUDA; first call compiles).
        cudnn_benchmark: let cuDNN time its algorithms for each new convolution
            shape and keep the fastest (CUDA). Shapes repeat every step and
            generation, and the default choice for grouped convolutions can be slow.
    """

    mode: str = "auto"
    chunk: int = 64
    bf16: bool = True
    cpu_bf16: bool = field(default_factory=lambda: os.environ.get("GTL_CPU_BF16", "") == "1")
    channels_last: bool = True
    compile: bool = False
    cudnn_benchmark: bool = True

    def __post_init__(self):
        if self.mode not in ("auto", "loop", "batched"):
            raise ValueError(f"runtime mode must be 'auto', 'loop' or 'batched', got {self.mode!r}")
        if self.chunk < 1:
            raise ValueError(f"chunk must be >= 1, got {self.chunk}")

    def batched_on(self, device: torch.device | str) -> bool:
        """Whether populations on ``device`` train stacked."""
        if self.mode == "auto":
            return torch.device(device).type == "cuda"
        return self.mode == "batched"

    def stacks(self, models: Sequence[nn.Module], device: torch.device | str) -> bool:
        """Whether these models train stacked: batched on ``device``, and, under ``auto``,
        only networks :func:`stack` can stack (a ViT trains one by one), and none with per-entry learning
        rates (:func:`gtl.train.scale_updates`)."""
        if not models or not self.batched_on(device) or any(getattr(m, "update_scales", None) for m in models):
            return False  # per-entry learning rates (gtl.train.scale_updates) train one by one
        return self.mode != "auto" or batchable(models[0])

    def bf16_on(self, device: torch.device | str) -> bool:
        """Whether training on ``device`` runs under bf16 autocast."""
        kind = torch.device(device).type
        return self.bf16 and (kind == "cuda" or kind == "cpu" and self.cpu_bf16)

    def precision(self, device: torch.device | str) -> str:
        """``"bf16"`` or ``"fp32"``: what training on ``device`` computes in (it names run folders)."""
        return "bf16" if self.bf16_on(device) else "fp32"

    def amp(self, device: torch.device | str):
        """The autocast context of a training step on ``device``."""
        return autocast(torch.device(device), self.bf16_on(device))

    def memory_format(self, device: torch.device | str) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    @contextlib.contextmanager
    def backend(self, device: torch.device | str):
        """cuDNN settings for a run on ``device``; the global flag is restored afterwards."""
        if torch.device(device).type != "cuda":
            yield
            return
        before = torch.backends.cudnn.benchmark
        torch.backends.cudnn.benchmark = self.cudnn_benchmark
        try:
            yield
        finally:
            torch.backends.cudnn.benchmark = before


LOOP = Runtime(mode="loop", cpu_bf16=False)  # the reference: fp32 on a CPU, whatever $GTL_CPU_BF16 says


class StackedLinear(nn.Module):
    """``P`` linear layers as one: ``(B, P * in)`` -> ``(B, P * out)``, member-major."""

    def __init__(self, linears: Sequence[nn.Linear]):
        super().__init__()
        self.members = len(linears)
        self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in linears]).clone())  # (P, out, in)
        self.bias = nn.Parameter(torch.stack([m.bias.detach() for m in linears]).clone())      # (P, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], self.members, -1)
        return (torch.einsum("bpi,poi->bpo", x, self.weight) + self.bias).flatten(1)


def _stacked_conv(convs: Sequence[nn.Conv2d]) -> nn.Conv2d:
    """One grouped conv for ``P`` convs; members' closed circuits (``circuit_keep``, see
    :func:`gtl.learngene.close_circuit`) stack with it, all ones for a member without."""
    c = convs[0]
    p = len(convs)
    out = nn.Conv2d(p * c.in_channels, p * c.out_channels, c.kernel_size, c.stride, c.padding, c.dilation,
                    groups=p * c.groups, bias=c.bias is not None, padding_mode=c.padding_mode)
    out = out.to(c.weight.device)
    with torch.no_grad():
        out.weight.copy_(torch.cat([m.weight for m in convs]))
        if c.bias is not None:
            out.bias.copy_(torch.cat([m.bias for m in convs]))
    keeps = [getattr(m, "circuit_keep", None) for m in convs]
    if any(k is not None for k in keeps):
        out.circuit_keep = torch.cat([torch.ones_like(m.weight) if k is None else k.to(m.weight)
                                      for m, k in zip(convs, keeps)])
    return out


def _stacked_bn(bns: Sequence[nn.BatchNorm2d]) -> nn.BatchNorm2d:
    b = bns[0]
    if any(m.momentum != b.momentum or m.eps != b.eps for m in bns):
        raise ValueError("members' BatchNorm layers differ in momentum or eps")
    out = nn.BatchNorm2d(len(bns) * b.num_features, b.eps, b.momentum, b.affine, b.track_running_stats)
    out = out.to(b.running_mean.device)
    out.load_state_dict({k: torch.cat([m.state_dict()[k] for m in bns]) if v.dim() else v
                         for k, v in b.state_dict().items()})
    return out


def batchable(model: nn.Module) -> bool:
    """Whether :func:`stack` can stack this network (CNNs yes; a ViT's LayerNorm and attention no)."""
    try:
        _check_batchable(model)
        return True
    except TypeError:
        return False


def _check_batchable(model: nn.Module) -> None:
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear)):
            continue
        if isinstance(m, CHANNELWISE) or not any(True for _ in m.parameters(recurse=False)) and list(m.children()):
            continue
        raise TypeError(f"cannot train {type(model).__name__} batched: module {name or '<root>'} "
                        f"({type(m).__name__}) is not one of Conv2d, BatchNorm2d, Linear or a channelwise "
                        f"op; use Runtime(mode='loop')")


def stack(models: Sequence[nn.Module]) -> nn.Module:
    """One network that computes all ``models`` (same architecture) side by side.

    Input ``(B, P * 3, H, W)``: member ``p``'s images are channels ``3p:3p+3``.
    Output ``(B, P * classes)``, member-major. The models are not changed.
    """
    if not models:
        raise ValueError("no models to stack")
    first = models[0]
    _check_batchable(first)
    shapes = {k: v.shape for k, v in first.state_dict().items()}
    for m in models[1:]:
        if type(m) is not type(first) or {k: v.shape for k, v in m.state_dict().items()} != shapes:
            raise ValueError("stacked models must share one architecture and width")
    stacked = copy.deepcopy(first)
    member_modules = [dict(m.named_modules()) for m in models]
    for name, module in list(stacked.named_modules()):
        parts = [mods[name] for mods in member_modules]
        if isinstance(module, nn.Conv2d):
            new = _stacked_conv(parts)
        elif isinstance(module, nn.BatchNorm2d):
            new = _stacked_bn(parts)
        elif isinstance(module, nn.Linear):
            new = StackedLinear(parts)
        else:
            continue
        parent, _, attr = name.rpartition(".")
        setattr(stacked.get_submodule(parent) if parent else stacked, attr, new)
    return stacked


@torch.no_grad()
def unstack(stacked: nn.Module, models: Sequence[nn.Module]) -> None:
    """Copy the stacked network's weights and BN statistics back into each member."""
    p = len(models)
    member_modules = [dict(m.named_modules()) for m in models]
    for name, module in stacked.named_modules():
        if not isinstance(module, (nn.Conv2d, nn.BatchNorm2d, StackedLinear)):
            continue
        for key, value in module.state_dict().items():
            chunks = value.chunk(p) if value.dim() else [value] * p
            for mods, chunk in zip(member_modules, chunks):
                target = mods[name].state_dict()[key]
                target.copy_(chunk.reshape(target.shape).to(memory_format=torch.contiguous_format))


def stacked_input(images: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
    """``P`` batches ``(B, 3, H, W)`` (or one ``(P, B, 3, H, W)`` tensor) -> ``(B, P * 3, H, W)``."""
    x = torch.stack(list(images)) if not torch.is_tensor(images) else images
    return x.transpose(0, 1).flatten(1, 2)


def member_logits(logits: torch.Tensor, members: int) -> torch.Tensor:
    """``(B, P * classes)`` -> ``(B, P, classes)``."""
    return logits.reshape(logits.shape[0], members, -1)


def train_population(models: Sequence[nn.Module], images: Sequence[torch.Tensor], labels: Sequence[torch.Tensor],
                     cfg: TrainConfig, seeds: Sequence[int], runtime: Runtime | None = None,
                     on_step: Callable[[int, nn.Module], None] | None = None) -> list[list[float]]:
    """Train every ``models[p]`` in place on ``images[p]``, as :func:`gtl.train.train` with ``seeds[p]`` would.

    Returns each member's losses. With the batched runtime the members train
    as one stacked network (at most ``runtime.chunk`` at a time; every member
    needs the same number of images); ``on_step(k, stacked)`` is then called
    after step ``k`` with the stacked network (see :func:`stacked_accuracy`).
    With the loop it is called with each member in turn. ``auto`` trains a
    network that cannot be stacked (:func:`batchable`) with the loop.
    """
    if not (len(models) == len(images) == len(labels) == len(seeds)):
        raise ValueError("need one set of images, labels and a seed per model")
    if not models:  # e.g. a rank with no member when the population is smaller than the world
        return []
    runtime = runtime or Runtime()
    device = images[0].device
    losses = []
    with runtime.backend(device):
        if not runtime.stacks(models, device):
            for m, x, y, s in zip(models, images, labels, seeds):
                hook = None if on_step is None else (lambda k, m=m: on_step(k, m))
                losses.append(train(m, x, y, cfg, s, on_step=hook, channels_last=runtime.channels_last,
                                    bf16=runtime.bf16_on(device)))
            return losses
        for i in range(0, len(models), runtime.chunk):
            sl = slice(i, i + runtime.chunk)
            losses += _train_stacked(models[sl], images[sl], labels[sl], cfg, seeds[sl], runtime, on_step)
    return losses


def _train_stacked(models, images, labels, cfg: TrainConfig, seeds, runtime: Runtime,
                   on_step) -> list[list[float]]:
    n = {len(x) for x in images}
    if len(n) != 1:
        raise ValueError(f"batched training needs the same number of images per member, got {sorted(n)}")
    p, device = len(models), images[0].device
    side = images[0].shape[-2]
    plans = [batch_plan(len(images[0]), cfg, s, side) for s in seeds]
    idx = torch.stack([q.idx for q in plans], 1).to(device)                        # (steps, P, bs)
    if cfg.augment:
        dx, dy, flip = (torch.stack([getattr(q, k) for q in plans], 1).flatten(1).to(device)
                        for k in ("dx", "dy", "flip"))                             # (steps, P * bs)
    all_x, all_y = torch.stack(list(images)), torch.stack(list(labels))          # (P, N, ...)
    members = torch.arange(p, device=device).unsqueeze(1)
    fmt = runtime.memory_format(device)
    stacked = stack(models).to(memory_format=fmt)
    stacked.memory_format = fmt  # read by stacked_accuracy
    forward = torch.compile(stacked) if runtime.compile else stacked
    opt = torch.optim.SGD(stacked.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    stacked.train()
    losses = []
    for step in range(cfg.steps):
        x = normalize(all_x[members, idx[step]].flatten(0, 1))                   # (P * bs, 3, H, W)
        if cfg.augment:
            x = shift_and_flip(x, dx[step], dy[step], flip[step])
        x = stacked_input(x.unflatten(0, (p, -1))).contiguous(memory_format=fmt)
        y = all_y[members, idx[step]]                                              # (P, bs)
        with runtime.amp(device):
            logits = member_logits(forward(x), p)                                  # (bs, P, classes)
        per_member = F.cross_entropy(logits.float().permute(0, 2, 1), y.T, reduction="none").mean(0)
        opt.zero_grad(set_to_none=True)
        per_member.sum().backward()  # members share no weight: each gets its own gradient
        opt.step()
        hold_circuits(stacked)
        losses.append(per_member.detach())
        if on_step is not None:
            on_step(step + 1, stacked)
    unstack(stacked, models)
    if not losses:
        return [[] for _ in models]
    return torch.stack(losses).T.cpu().tolist()


@torch.no_grad()
def stacked_accuracy(stacked: nn.Module, images: Sequence[torch.Tensor], labels: Sequence[torch.Tensor],
                     batch_size: int = 500) -> list[float]:
    """Each member's top-1 accuracy (eval mode) on its own uint8 ``images[p]`` (equal sizes)."""
    was_training = stacked.training
    stacked.eval()
    p = len(images)
    all_x, all_y = torch.stack(list(images)), torch.stack(list(labels))
    fmt = getattr(stacked, "memory_format", torch.contiguous_format)
    correct = torch.zeros(p, device=all_x.device)
    for i in range(0, all_x.shape[1], batch_size):
        x = stacked_input(normalize(all_x[:, i: i + batch_size].flatten(0, 1)).unflatten(0, (p, -1)))
        x = x.contiguous(memory_format=fmt)
        pred = member_logits(stacked(x), p).argmax(2)                              # (b, P)
        correct += (pred == all_y[:, i: i + batch_size].T).sum(0)
    stacked.train(was_training)
    return [c / max(1, all_x.shape[1]) for c in correct.tolist()]
