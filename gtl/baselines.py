"""The methods a descendant is compared with (docs/decisions.md #12), and the descendant itself.

Each method is a *maker*: a function of the episode's seed that returns a fresh
network for :func:`gtl.evaluation.evaluate` to fine-tune, so every method meets
the same episodes. Scratch transfers nothing; Learngene inherits a learngene;
Pre-Fin transfers a whole pre-trained network; Pre-Cut and Random-mask cut a
pre-trained network to the learngene's channel counts (by saliency, or at
random); Layer-LG transfers whole top layers of the same parameter budget.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import torch
from tqdm.auto import tqdm

from .cache import cached_state, key
from .data import ImageDataset, dataset_label, load_dataset
from .learngene import (ChannelMasks, Learngene, build_descendant, channel_saliency, close_circuit, count_params,
                        extract, random_channels, seeded_model)
from .models import FewShotNet
from .paths import runs_dir
from .population import Runtime, default_device
from .tasks import derive_seed
from .train import TrainConfig, train

if TYPE_CHECKING:  # for annotations only: gtl.evolution imports this module
    from .evaluation import EvalConfig
    from .evolution import GTLConfig


def scratch(arch: str, width: float) -> Callable[[int], FewShotNet]:
    """Scratch: a randomly initialised network (nothing transferred)."""
    return lambda s: seeded_model(arch, 5, width, s)


def from_learngene(lg: Learngene, cross_scale: float = 1.0) -> Callable[[int], FewShotNet]:
    """Learngene: learngene weights inherited, every other weight random (docs/decisions.md #9);
    ``cross_scale`` scales the weights by which learngene channels read the others at birth."""
    return lambda s: build_descendant(lg, 5, s, cross_scale=cross_scale)


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
             device: str = "cpu", runtime: Runtime | None = None, circuit: ChannelMasks | None = None) -> FewShotNet:
    """The Pre-Fin ancestor: trained on *all* training classes at once (docs/decisions.md #12).

    ``runtime`` gives the precision, memory format and cuDNN autotuner, as for
    every other training here (bf16 on CUDA by default; fp32 on a CPU unless
    ``runtime.cpu_bf16``). :func:`pretrained_network` caches it. ``circuit``: channels
    held a closed circuit all through the training (Pre-Closed, :func:`pre_closed`).
    """
    runtime = runtime or Runtime()
    net = seeded_model(arch, len(train_set.classes), width, seed).to(device)
    if circuit is not None:
        close_circuit(net, circuit)
    # minutes of silence otherwise: a bar on a terminal (tqdm's own rule; $TQDM_DISABLE=1, set by --quiet, hides it)
    with runtime.backend(device), tqdm(total=cfg.steps, desc="Pre-Fin pre-training (cached once done)",
                                       disable=None, leave=False) as bar:
        train(net, train_set.images, train_set.labels.to(train_set.images.device), cfg, seed,
              on_step=lambda _: bar.update(), channels_last=runtime.channels_last, bf16=runtime.bf16_on(device))
    return net


def pretrained_network(cfg: GTLConfig, eval_cfg: EvalConfig, data_root=None, device: str | None = None,
                       runtime: Runtime | None = None, circuit: ChannelMasks | None = None) -> FewShotNet:
    """Pre-Fin's ancestor: same architecture, trained on all training classes, cached in
    ``runs/pretrained/`` under its settings, the training images' fingerprint and the code
    version; ``runtime`` gives its precision (see :func:`pretrain`); ``circuit``: channels held a closed
    circuit all through the training (:func:`pre_closed`)."""
    device = device or default_device()
    train_set = load_dataset(cfg.dataset, "train", data_root, cfg.image_size)
    held = [] if circuit is None else [{g: m.nonzero().flatten().tolist() for g, m in circuit.items()}]
    name = key(cfg.dataset, cfg.arch, cfg.width, cfg.image_size, eval_cfg.pretrain, cfg.seed, train_set.fingerprint(),
               (runtime or Runtime()).precision(device), *held, producer="baselines")
    label = f"{dataset_label(cfg.dataset)}-{cfg.arch}{'' if circuit is None else '-closed'}-{name}.pt"
    state = cached_state(runs_dir() / "pretrained" / label,
                         lambda: pretrain(cfg.arch, cfg.width, train_set.to(device), eval_cfg.pretrain, cfg.seed,
                                          device, runtime, circuit).state_dict())
    net = seeded_model(cfg.arch, len(train_set.classes), cfg.width, cfg.seed)
    net.load_state_dict(state)
    return net.to(device)


def pretrained_params(model: FewShotNet) -> int:
    """Parameters Pre-Fin transfers: all of them but the head it replaces."""
    return count_params(model) - sum(p.numel() for p in model.head.parameters())


def random_like(lg: Learngene, model: FewShotNet, seed: int) -> Learngene:
    """Random-mask: as many channels per group as ``lg`` keeps, drawn at random, with
    ``model``'s weights (docs/decisions.md #12). Same size and shape, no evolution."""
    g = torch.Generator().manual_seed(seed)
    scores = {}
    for group, m in lg.masks.items():  # a random order of the channels, first ones highest
        scores[group] = torch.empty(m.numel()).index_put_((torch.randperm(m.numel(), generator=g),),
                                                          torch.arange(m.numel(), 0, -1, dtype=torch.float))
    return cut_like(lg, model, scores, method="Random-mask", seed=seed)


def pre_cut(lg: Learngene, model: FewShotNet) -> Learngene:
    """Pre-Cut: ``model`` (pre-trained) cut by GTL's own saliency rule, its largest |BN γ|
    (:func:`gtl.learngene.channel_saliency`), to as many channels per group as ``lg`` keeps
    (docs/decisions.md #12). What the learngene's construction gives without evolution:
    the natural control for the claim that evolution condenses *core* knowledge."""
    return cut_like(lg, model, channel_saliency(model), method="Pre-Cut")


def pre_closed(cfg: "GTLConfig", eval_cfg: "EvalConfig", data_root=None, device: str | None = None,
               runtime: Runtime | None = None) -> Learngene:
    """Pre-Closed (docs/decisions.md #20, explanation 3): Pre-Fin's pre-training with a closed circuit held
    all through it - a random ``cfg.initial_channel_fraction`` of every group's channels (generation 0's
    share, about 20% of the parameters), drawn from ``cfg.seed`` - then that circuit cut out. Inherited born
    cut, it computes exactly what it computed while pre-trained: what the construction *can* carry, given
    all of pre-training's data."""
    groups = seeded_model(cfg.arch, 5, cfg.width, cfg.seed)  # only its channel groups are read
    circuit = random_channels(groups, cfg.initial_channel_fraction, derive_seed(cfg.seed, "pre-closed circuit"))
    net = pretrained_network(cfg, eval_cfg, data_root, device, runtime, circuit).cpu()
    return extract(net, circuit, method="Pre-Closed")


def cut_like(lg: Learngene, model: FewShotNet, scores: dict[str, torch.Tensor], **meta) -> Learngene:
    """A learngene of ``model`` with, per group, ``lg``'s channel count: the highest ``scores``."""
    masks: ChannelMasks = {}
    for group, m in lg.masks.items():
        new = torch.zeros_like(m)
        new[torch.topk(scores[group], int(m.sum())).indices] = True
        masks[group] = new
    return extract(model, masks, **meta)


def last_layers(model: FewShotNet, budget: int) -> list[str]:
    """Layer-LG's layers: whole convs (with their BN) taken from the top of the network
    down, stopping at the count closest to ``budget`` parameters (at least one).

    The earlier learngene papers inherit integral top layers (Heur-LG: the last
    three); matching the learngene's budget keeps the comparison fair.
    """
    modules, chosen, total = dict(model.named_modules()), [], 0
    for spec in reversed(model.conv_specs()):
        n = sum(p.numel() for name in (spec.conv, spec.bn) for p in modules[name].parameters())
        if chosen and abs(total + n - budget) >= abs(total - budget):
            break
        chosen.append(spec.conv)
        total += n
    return chosen


def from_layers(model: FewShotNet, budget: int) -> tuple[Callable[[int], FewShotNet], int]:
    """Layer-LG: whole pre-trained layers (conv + BN, statistics included), the rest random."""
    bn_of = {s.conv: s.bn for s in model.conv_specs()}
    names = last_layers(model, budget)
    prefixes = tuple(f"{n}." for c in names for n in (c, bn_of[c]))
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if k.startswith(prefixes)}
    params = sum(v.numel() for k, v in state.items() if k.endswith(("weight", "bias")))
    arch, width = model.arch, model.width

    def make(s: int) -> FewShotNet:
        net = seeded_model(arch, 5, width, s)
        net.load_state_dict(state, strict=False)
        return net
    return make, params
