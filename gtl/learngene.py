"""Learngenes: whole channels *within* conv kernels, with their weights.

Paper (Fig. 2 caption): a learngene is "several complete neural circuits in
the unit of channels within kernels". Our reading (docs/decisions.md #1): per
channel group ``g`` a channel set ``S_g``; for a conv from group ``a`` to
group ``b`` the learngene holds the kernel slices ``W[S_b, S_a]`` (only the
input slices that come from learngene channels, so the kept channels form
connected circuits from the image to the last layer), the BatchNorm
affine parameters of ``S_b`` and (file format 2) the BN running statistics
of ``S_b``. Not the classifier head. With ~45% of the channels of every
group this is ~20% of the parameters, since a kernel slice is kept only if
both its ends are.

Per conv layer the learngene is therefore a boolean mask over the
(out-channel, in-channel) kernel slices: :func:`kernel_masks` gives it.
The slices ``W[S_b, ~S_a]`` by which learngene channels read the *other*
channels are its **cross-weights** (:func:`cross_masks`): a descendant gets
them at ``cross_scale`` times their random start, and a lifetime with a
closed circuit (:func:`close_circuit`) holds them at 0 (docs/decisions.md #16).
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field

import torch
from torch import nn

from .cache import digest
from .paths import write_atomically
from .models import INPUT_GROUP, FewShotNet, build_model, channel_groups

ChannelMasks = dict[str, torch.Tensor]  # channel group -> bool (channels,)
FORMAT_VERSION = 2  # 2: BN running statistics (``Learngene.stats``)


class IncompatibleLearngeneError(ValueError):
    """A learngene does not fit a network (other architecture, width or layout)."""


class LearngeneFormatError(ValueError):
    """A learngene written by an older version of gtl, in a file format this one does not read."""


@dataclass
class Learngene:
    """Channel masks plus the weights at those positions, and where they came from.

    Attributes:
        arch: architecture it was extracted from (``"vgg11"``, ...).
        width: width multiplier of that architecture.
        masks: channel group -> bool tensor of the channels in the learngene.
        weights: parameter name -> 1-D tensor of the values at the masked
            positions, in row-major order of the parameter.
        meta: provenance: dataset, generation, seed, parameter counts, ...
        stats: BN buffer name (``running_mean`` / ``running_var``) -> 1-D tensor of
            its values at the masked channels; empty for a ViT (no BatchNorm).
    """

    arch: str
    width: float
    masks: ChannelMasks
    weights: dict[str, torch.Tensor]
    meta: dict = field(default_factory=dict)
    stats: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def num_params(self) -> int:
        """Number of parameters the learngene carries (BN statistics are measured, not parameters)."""
        return sum(int(w.numel()) for w in self.weights.values())

    @property
    def fraction(self) -> float:
        """Share of the source network's parameters (head included) in the learngene."""
        return self.num_params / self.meta["total_params"]

    def channel_fraction(self) -> dict[str, float]:
        return {g: float(m.float().mean()) for g, m in self.masks.items()}

    def fingerprint(self) -> str:
        """A digest of what it transfers (architecture, masks, weights, BN statistics), not of its
        ``meta``: results computed from this learngene are cached under it (:mod:`gtl.cache`)."""
        tensors = [x for d in (self.masks, self.weights, self.stats) for name in sorted(d) for x in (name, d[name])]
        return digest(self.arch, str(self.width), *tensors)

    def to_dict(self) -> dict:
        return {"format": FORMAT_VERSION, "arch": self.arch, "width": self.width,
                "masks": self.masks, "weights": self.weights, "meta": self.meta, "stats": self.stats}

    @classmethod
    def from_dict(cls, d: dict) -> "Learngene":
        if not isinstance(d, dict) or "format" not in d or "arch" not in d:
            raise ValueError(f"not a gtl learngene (format {FORMAT_VERSION})")
        if d["format"] != FORMAT_VERSION:  # format 1 had no BN statistics: they cannot be made up
            raise LearngeneFormatError(
                f"a learngene of file format {d['format']}, but this version of gtl reads format "
                f"{FORMAT_VERSION} (learngenes now carry BN running statistics, docs/decisions.md #16): "
                f"re-run evolve (python -m gtl evolve, or gtl.evolution.evolve) to make a new one")
        return cls(d["arch"], d["width"], d["masks"], d["weights"], d["meta"], d["stats"])

    def save(self, path: str | os.PathLike) -> None:
        """Write one file (torch format, loadable with ``weights_only=True``)."""
        write_atomically(path, lambda tmp: torch.save(self.to_dict(), tmp))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Learngene":
        """Read a file written by :meth:`save`; a clear error for anything else."""
        try:
            d = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise FileNotFoundError(f"no learngene file at {path}") from None
        except Exception as e:
            first_line = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise ValueError(f"{path} is not a learngene file: torch cannot read it "
                             f"({type(e).__name__}: {first_line[:120]})") from None
        try:
            return cls.from_dict(d)
        except LearngeneFormatError as e:
            raise LearngeneFormatError(f"{path}: {e}") from None
        except ValueError:
            raise ValueError(f"{path} is not a gtl learngene file (format {FORMAT_VERSION})") from None

    def describe(self) -> str:
        """A few lines for humans: what, from where, how big."""
        m = self.meta
        lines = [f"learngene of {self.arch} (width {self.width})",
                 f"  parameters : {self.num_params:,} of {m.get('total_params', 0):,} "
                 f"({100 * self.fraction:.1f}%)",
                 f"  dataset    : {m.get('dataset', '?')}, image size {m.get('image_size', '?')}",
                 f"  generation : {m.get('generation', '?')}, seed {m.get('seed', '?')}, "
                 f"fitness {m.get('fitness', float('nan')):.3f}",
                 f"  births     : cross-weights x{m.get('cross_scale', '?')}, closed circuit "
                 f"{m.get('closed_circuit', '?')}",
                 "  channels kept per group:"]
        for g, mask in self.masks.items():
            lines.append(f"    {g:<22} {int(mask.sum()):>4} / {mask.numel():<4}")
        return "\n".join(lines)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _group_mask(masks: ChannelMasks, group: str, channels: int, device) -> torch.Tensor:
    if group == INPUT_GROUP:
        return torch.ones(channels, dtype=torch.bool, device=device)
    return masks[group].to(device)


def kernel_masks(model: FewShotNet, masks: ChannelMasks, cross: bool = False) -> dict[str, torch.Tensor]:
    """Per conv: bool ``(out, in)`` mask of the kernel slices in the learngene, or (``cross``) of
    its cross-weights, the slices by which learngene channels read the other channels."""
    modules = dict(model.named_modules())
    out = {}
    for s in model.conv_specs():
        conv = modules[s.conv]
        m_out = _group_mask(masks, s.out_group, conv.out_channels, "cpu")
        m_in = _group_mask(masks, s.in_group, conv.in_channels, "cpu")
        out[s.conv] = m_out.unsqueeze(1) & (~m_in if cross else m_in).unsqueeze(0)
    return out


def param_masks(model: FewShotNet, masks: ChannelMasks) -> dict[str, torch.Tensor]:
    """Per parameter in the learngene: a bool mask of its shape."""
    _check_masks(model, masks)
    if hasattr(model, "unit_param_masks"):  # a ViT: heads, MLP channels and token channels
        return model.unit_param_masks(masks)
    modules = dict(model.named_modules())
    kmasks = kernel_masks(model, masks)
    out = {}
    for s in model.conv_specs():
        conv = modules[s.conv]
        out[f"{s.conv}.weight"] = kmasks[s.conv][:, :, None, None].expand_as(conv.weight)
        m_out = masks[s.out_group]
        if conv.bias is not None:
            out[f"{s.conv}.bias"] = m_out
        out[f"{s.bn}.weight"] = m_out
        out[f"{s.bn}.bias"] = m_out
    return out


def stat_masks(model: FewShotNet, masks: ChannelMasks) -> dict[str, torch.Tensor]:
    """Per BN running statistic in the learngene: a bool mask of its channels.

    The statistics belong with the BN scale and shift they normalise for: a
    descendant whose learngene channels compute what the ancestor's did (a
    closed circuit, docs/decisions.md #16) then normalises them as the
    ancestor did. A ViT has no BatchNorm, so none.
    """
    if hasattr(model, "unit_param_masks"):
        return {}
    return {f"{s.bn}.{stat}": masks[s.out_group] for s in model.conv_specs()
            for stat in ("running_mean", "running_var")}


def cross_masks(model: FewShotNet, masks: ChannelMasks) -> dict[str, torch.Tensor]:
    """Per conv (module name) whose learngene rows read non-learngene channels: a bool mask of
    the weight's shape, True at the cross-weights ``W[S_out, ~S_in]`` (docs/decisions.md #16).

    Only CNN learngenes are circuits of channels: a ViT's LayerNorm mixes
    every token channel, so cutting a few weights would not close anything.
    """
    if hasattr(model, "unit_param_masks"):
        raise IncompatibleLearngeneError(
            f"cross_scale and closed_circuit apply to CNN learngenes (channels within conv kernels); "
            f"{model.arch} learngenes are heads and token/MLP channels, which LayerNorm mixes: keep "
            f"cross_scale=1 and closed_circuit=False")
    weights = {name: conv.weight for name, conv in model.named_modules() if isinstance(conv, nn.Conv2d)}
    return {name: cross[:, :, None, None].expand_as(weights[name])
            for name, cross in kernel_masks(model, masks, cross=True).items() if cross.any()}


@torch.no_grad()
def close_circuit(model: FewShotNet, masks: ChannelMasks) -> FewShotNet:
    """Make the learngene of ``masks`` a closed circuit in ``model``, in place: its channels read
    only learngene channels (cross-weights 0), and training keeps them so (docs/decisions.md #16).

    Each conv with cross-weights gets the plain attribute ``circuit_keep``: a
    float mask of its weight's shape, 0 at the cross-weights. It is not a
    registered buffer, so state dicts (checkpoints, stacking) do not change;
    :func:`gtl.train.hold_circuits` multiplies the weight by it after every
    optimiser step, which holds the cross-weights at exactly 0 whatever the
    gradient, momentum or weight decay.
    """
    for name, cross in cross_masks(model, masks).items():
        conv = model.get_submodule(name)
        keep = (~cross).to(conv.weight.device, conv.weight.dtype)
        conv.weight.mul_(keep)
        conv.circuit_keep = keep
    return model


def masked_fraction(model: FewShotNet, masks: ChannelMasks) -> float:
    """The share of ``model``'s parameters a learngene with ``masks`` carries
    (``extract(model, masks).fraction``, without copying a weight)."""
    kept = sum(int(m.sum()) for m in param_masks(model, masks).values())
    return kept / count_params(model)


def _check_masks(model: FewShotNet, masks: ChannelMasks) -> None:
    groups = channel_groups(model)
    if set(masks) != set(groups):
        raise IncompatibleLearngeneError(
            f"masks name the channel groups {sorted(masks)[:4]}..., but {model.arch} has "
            f"{sorted(groups)[:4]}...: the learngene comes from another architecture")
    for g, n in groups.items():
        if masks[g].shape != (n,) or masks[g].dtype != torch.bool:
            raise IncompatibleLearngeneError(
                f"channel group {g} has {n} channels in this {model.arch} (width {model.width}) "
                f"but the mask is {tuple(masks[g].shape)} {masks[g].dtype}: the learngene comes "
                f"from a network of another width")


def extract(model: FewShotNet, masks: ChannelMasks, **meta) -> Learngene:
    """Cut the learngene given by ``masks`` out of ``model`` (weights and BN statistics copied to the CPU)."""
    params, buffers = dict(model.named_parameters()), dict(model.named_buffers())
    weights = {name: params[name].detach()[m.to(params[name].device)].cpu().clone()
               for name, m in param_masks(model, masks).items()}
    stats = {name: buffers[name][m.to(buffers[name].device)].cpu().clone()
             for name, m in stat_masks(model, masks).items()}
    info = {"total_params": count_params(model), "created": datetime.datetime.now().isoformat(timespec="seconds")}
    info.update(meta)
    lg = Learngene(model.arch, model.width, {g: m.cpu().clone() for g, m in masks.items()}, weights, info, stats)
    lg.meta["num_params"] = lg.num_params
    lg.meta["fraction"] = lg.fraction
    return lg


def check_compatible(model: FewShotNet, lg: Learngene) -> None:
    """Raise :class:`IncompatibleLearngeneError` saying why ``lg`` cannot initialise ``model``."""
    if model.arch != lg.arch:
        raise IncompatibleLearngeneError(
            f"this learngene was extracted from {lg.arch} but the network is {model.arch}: its "
            f"masks index the channels of {lg.arch} layers, which {model.arch} does not have. "
            f"Build a {lg.arch} descendant, or map the learngene onto {model.arch} with gtl.inherit.inherit "
            f"(depth/width/architecture transfer).")
    if abs(model.width - lg.width) > 1e-9:
        raise IncompatibleLearngeneError(
            f"this learngene comes from {lg.arch} of width {lg.width}, the network has width "
            f"{model.width}: channel positions differ. Use gtl.inherit.inherit for wider descendants.")
    _check_masks(model, lg.masks)
    expected = {n: int(m.sum()) for n, m in param_masks(model, lg.masks).items()}
    got = {n: int(w.numel()) for n, w in lg.weights.items()}
    expected_stats = {n: int(m.sum()) for n, m in stat_masks(model, lg.masks).items()}
    got_stats = {n: int(s.numel()) for n, s in lg.stats.items()}
    if expected != got or expected_stats != got_stats:
        raise IncompatibleLearngeneError(f"the learngene's weights or BN statistics do not match its masks "
                                         f"(corrupt file?): expected {expected} and {expected_stats}, "
                                         f"got {got} and {got_stats}")


@torch.no_grad()
def implant(model: FewShotNet, lg: Learngene, cross_scale: float = 1.0) -> FewShotNet:
    """Copy the learngene (weights and BN statistics) into ``model`` in place, at the channel
    positions it had in its ancestor: ``model`` has the learngene's own architecture and width.
    (:func:`gtl.inherit.inherit`, the one public way to inherit, calls this for such a network
    and maps the learngene into any other.)

    ``model`` should be freshly (randomly) initialised: that is a descendant.
    Every other weight stays as it was, except the cross-weights, by which
    learngene channels read the others: they are multiplied by ``cross_scale``
    (1: left random, 0: the learngene starts as a closed circuit; docs/decisions.md #16).
    """
    check_cross_scale(cross_scale)
    check_compatible(model, lg)
    params, buffers = dict(model.named_parameters()), dict(model.named_buffers())
    for name, m in param_masks(model, lg.masks).items():
        p = params[name]
        p[m.to(p.device)] = lg.weights[name].to(p.device, p.dtype)
    for name, m in stat_masks(model, lg.masks).items():
        b = buffers[name]
        b[m.to(b.device)] = lg.stats[name].to(b.device, b.dtype)
    if cross_scale != 1:
        for name, cross in cross_masks(model, lg.masks).items():
            w = params[f"{name}.weight"]
            w[cross.to(w.device)] *= cross_scale
    return model


def check_cross_scale(cross_scale: float) -> None:
    """A scale of random cross-weights: between none (0) and a fresh network's (1)."""
    if not 0 <= cross_scale <= 1:
        raise ValueError(f"cross_scale must be in [0, 1], got {cross_scale}")


def build_descendant(lg: Learngene, num_classes: int, seed: int, cross_scale: float = 1.0) -> FewShotNet:
    """A fresh network of the learngene's architecture, seeded, with the learngene inherited
    (cross-weights scaled by ``cross_scale``, see :func:`implant`)."""
    return implant(seeded_model(lg.arch, num_classes, lg.width, seed), lg, cross_scale)


def seeded_model(arch: str, num_classes: int, width: float, seed: int) -> FewShotNet:
    """``build_model`` with a private RNG: the same seed gives the same initial weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(arch, num_classes, width)


# -------------------------------------------------------- choosing channels


def channel_saliency(model: FewShotNet) -> dict[str, torch.Tensor]:
    """|BN gamma| per channel, summed over the BNs of each group (docs/decisions.md #2).

    A channel whose BN scale training drove to ~0 contributes little to the
    next layer; the largest scales mark the channels the network relies on.
    """
    if hasattr(model, "unit_saliency"):
        return model.unit_saliency()
    modules = dict(model.named_modules())
    sal: dict[str, torch.Tensor] = {}
    for s in model.conv_specs():
        gamma = modules[s.bn].weight.detach().abs().cpu()
        sal[s.out_group] = sal.get(s.out_group, 0) + gamma
    return sal


def top_channels(saliency: dict[str, torch.Tensor], fraction: float) -> ChannelMasks:
    """Per group, the ``round(fraction * C)`` most salient channels (at least one)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"channel fraction must be in (0, 1], got {fraction}")
    masks = {}
    for g, s in saliency.items():
        k = max(1, round(fraction * s.numel()))
        m = torch.zeros(s.numel(), dtype=torch.bool)
        m[torch.topk(s, k).indices] = True
        masks[g] = m
    return masks


def random_channels(model: FewShotNet, fraction: float, seed: int) -> ChannelMasks:
    """Per group, ``round(fraction * C)`` channels drawn at random (a control, not GTL)."""
    g = torch.Generator().manual_seed(seed)
    return top_channels({k: torch.rand(n, generator=g) for k, n in channel_groups(model).items()}, fraction)
