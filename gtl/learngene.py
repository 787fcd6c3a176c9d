"""Learngenes: whole channels *within* conv kernels, with their weights.

Paper (Fig. 2 caption): a learngene is "several complete neural circuits in
the unit of channels within kernels". Our reading (docs/decisions.md #1): per
channel group ``g`` a channel set ``S_g``; for a conv from group ``a`` to
group ``b`` the learngene holds the kernel slices ``W[S_b, S_a]`` (only the
input slices that come from learngene channels, so the kept channels form
connected circuits from the image to the last layer) and the BatchNorm
affine parameters of ``S_b``. Not the classifier head, not BN running
statistics. With ~45% of the channels of every group this is ~20% of the
parameters, since a kernel slice is kept only if both its ends are.

Per conv layer the learngene is therefore a boolean mask over the
(out-channel, in-channel) kernel slices: :func:`kernel_masks` gives it.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field

import torch
from torch import nn

from .cache import digest
from .models import INPUT_GROUP, FewShotNet, build_model, channel_groups

ChannelMasks = dict[str, torch.Tensor]  # channel group -> bool (channels,)
FORMAT_VERSION = 1


class IncompatibleLearngeneError(ValueError):
    """A learngene does not fit a network (other architecture, width or layout)."""


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
    """

    arch: str
    width: float
    masks: ChannelMasks
    weights: dict[str, torch.Tensor]
    meta: dict = field(default_factory=dict)

    @property
    def num_params(self) -> int:
        """Number of parameters the learngene carries."""
        return sum(int(w.numel()) for w in self.weights.values())

    @property
    def fraction(self) -> float:
        """Share of the source network's parameters (head included) in the learngene."""
        return self.num_params / self.meta["total_params"]

    def channel_fraction(self) -> dict[str, float]:
        return {g: float(m.float().mean()) for g, m in self.masks.items()}

    def fingerprint(self) -> str:
        """A digest of what it transfers (architecture, masks, weights), not of its ``meta``:
        results computed from this learngene are cached under it (:mod:`gtl.cache`)."""
        tensors = [x for d in (self.masks, self.weights) for name in sorted(d) for x in (name, d[name])]
        return digest(self.arch, str(self.width), *tensors)

    def to_dict(self) -> dict:
        return {"format": FORMAT_VERSION, "arch": self.arch, "width": self.width,
                "masks": self.masks, "weights": self.weights, "meta": self.meta}

    @classmethod
    def from_dict(cls, d: dict) -> "Learngene":
        if not isinstance(d, dict) or d.get("format") != FORMAT_VERSION:
            raise ValueError(f"not a gtl learngene (format {FORMAT_VERSION})")
        return cls(d["arch"], d["width"], d["masks"], d["weights"], d["meta"])

    def save(self, path: str | os.PathLike) -> None:
        """Write one file (torch format, loadable with ``weights_only=True``)."""
        tmp = f"{path}.tmp"
        torch.save(self.to_dict(), tmp)
        os.replace(tmp, path)

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


def kernel_masks(model: FewShotNet, masks: ChannelMasks) -> dict[str, torch.Tensor]:
    """Per conv: bool ``(out, in)`` mask of the kernel slices in the learngene."""
    modules = dict(model.named_modules())
    out = {}
    for s in model.conv_specs():
        conv = modules[s.conv]
        m_out = _group_mask(masks, s.out_group, conv.out_channels, "cpu")
        m_in = _group_mask(masks, s.in_group, conv.in_channels, "cpu")
        out[s.conv] = m_out.unsqueeze(1) & m_in.unsqueeze(0)
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
    """Cut the learngene given by ``masks`` out of ``model`` (weights copied to the CPU)."""
    params = dict(model.named_parameters())
    weights = {name: params[name].detach()[m.to(params[name].device)].cpu().clone()
               for name, m in param_masks(model, masks).items()}
    info = {"total_params": count_params(model), "created": datetime.datetime.now().isoformat(timespec="seconds")}
    info.update(meta)
    lg = Learngene(model.arch, model.width, {g: m.cpu().clone() for g, m in masks.items()}, weights, info)
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
    if expected != got:
        raise IncompatibleLearngeneError(f"the learngene's weights do not match its masks "
                                         f"(corrupt file?): expected {expected}, got {got}")


@torch.no_grad()
def inherit(model: FewShotNet, lg: Learngene) -> FewShotNet:
    """Copy the learngene into ``model`` in place; every other weight stays as it was.

    ``model`` should be freshly (randomly) initialised: that is a descendant.
    """
    check_compatible(model, lg)
    params = dict(model.named_parameters())
    for name, m in param_masks(model, lg.masks).items():
        p = params[name]
        p[m.to(p.device)] = lg.weights[name].to(p.device, p.dtype)
    return model


def build_descendant(lg: Learngene, num_classes: int, seed: int) -> FewShotNet:
    """A fresh network of the learngene's architecture, seeded, with the learngene inherited."""
    return inherit(seeded_model(lg.arch, num_classes, lg.width, seed), lg)


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
