"""Learngenes into descendants of another depth, width or architecture.

The paper says learngenes "have the scalability ... on the downstream
structure of networks" (abstract): they initialise deeper and wider networks
and other architectures, deeper ones through *partial identity mapping*
(PIM) layers. How is not stated; our reconstruction (docs/decisions.md #9):

* The learngene is read as **stages** (one per spatial resolution), each a
  chain of conv *pieces*: the learngene rows and columns of a kernel,
  ``W[S_out, S_in]``, with the BatchNorm affine parameters and running
  statistics of ``S_out``.
* In the descendant, learngene channels take the **first** ``|S|`` channels
  of every layer (channel order is arbitrary), so a wider network simply has
  more random channels after them.
* Stage ``i`` of the learngene goes to stage ``i`` of the descendant. A
  descendant stage with more convs gets the learngene's convs first and
  **PIM layers** after them: on the learngene channels an identity (centre
  tap 1, every other input 0, BN scale 1, shift 0, running mean 0 and
  variance 1), random elsewhere, so the circuit passes through them unchanged.
* A residual block's 1x1 shortcut is copied when the descendant is a ResNet
  whose block holds the whole learngene stage; otherwise a descendant
  shortcut has BN scale 0 on the learngene channels (it adds nothing there
  until training says otherwise). A ResNet learngene going into a stage with
  *fewer* convs than its block keeps the block's shortcut projection (placed
  as a centre tap) after PIM layers; its main path is dropped.
* Learngene stages beyond the descendant's last stage are dropped; extra
  descendant stages get PIM layers. Everything that is not learngene or PIM
  keeps its random initialisation, and all of it is trainable, except that
  in a copied layer the learngene rows' columns beyond the learngene inputs
  (the cross-weights) are multiplied by ``cross_scale`` (docs/decisions.md #16).

**When the circuit computes what it computed in the ancestor.** At birth, on
the learngene channels, every conv and BN output equals the ancestor's (to
float rounding: a PIM BatchNorm divides by ``sqrt(1 + eps)``) when all of
these hold: the ancestor's learngene was a closed circuit (evolved with
``closed_circuit=True``, so its channels never read the others); the
descendant is built with ``cross_scale=0`` (so they do not read its random
channels either); the BN running statistics are inherited (learngene file
format 2) and both networks are in eval mode (in training mode BN uses the
batch's statistics); and the mapping keeps every circuit whole: the same
network, a wider one, or a deeper one of the same family (VGG into a deeper
VGG through PIM layers). Between VGG and ResNet12 the nonlinearity and the
residual sums differ, and a dropped stage or main path drops its part of
the circuit, so there it holds only in part. Otherwise, with random
cross-weights, the inherited channels also read random ones from birth.

Only copied pieces count as inherited parameters: identity weights carry no
learned knowledge. A mapping that cannot work (a layer with fewer channels
than the learngene keeps, a stage too short for a plain chain) raises
:class:`~gtl.learngene.IncompatibleLearngeneError` saying where and why.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .learngene import IncompatibleLearngeneError, Learngene, _group_mask, check_cross_scale, seeded_model
from .learngene import implant
from .models import ConvSpec, FewShotNet, build_model


@dataclass
class Piece:
    """One conv of a learngene with only its learngene rows and columns."""

    source: str                # the conv's name in the ancestor
    weight: torch.Tensor       # (k_out, k_in, kh, kw)
    bn_weight: torch.Tensor    # (k_out,)
    bn_bias: torch.Tensor      # (k_out,)
    running_mean: torch.Tensor  # (k_out,) BN statistics: carried, not counted as parameters
    running_var: torch.Tensor  # (k_out,)

    @property
    def num_params(self) -> int:
        return self.weight.numel() + self.bn_weight.numel() + self.bn_bias.numel()


@dataclass
class SourceStage:
    main: list[Piece]
    shortcut: Piece | None


@dataclass
class Step:
    """What one descendant conv receives: ``copy`` / ``shortcut`` (a piece), ``pim``
    (identity on the learngene channels) or ``mute`` (a shortcut whose BN scale is 0
    on the learngene channels); ``dropped`` marks a piece no descendant conv gets."""

    target: str
    kind: str
    source: str | None
    k_in: int
    k_out: int
    params: int


def learngene_stages(lg: Learngene) -> list[SourceStage]:
    """The learngene's pieces, stage by stage, read from a network that inherited it."""
    host = implant(build_model(lg.arch, 5, lg.width), lg)
    modules = dict(host.named_modules())

    def piece(spec: ConvSpec) -> Piece:
        conv, bn = modules[spec.conv], modules[spec.bn]
        m_out = _group_mask(lg.masks, spec.out_group, conv.out_channels, "cpu")
        m_in = _group_mask(lg.masks, spec.in_group, conv.in_channels, "cpu")
        w = conv.weight.detach()[m_out][:, m_in].clone()
        return Piece(spec.conv, w, *(t.detach()[m_out].clone() for t in (bn.weight, bn.bias, bn.running_mean,
                                                                        bn.running_var)))

    return [SourceStage([piece(s) for s in st.main], piece(st.shortcut) if st.shortcut else None)
            for st in host.stages()]


def plan(lg: Learngene, model: FewShotNet) -> list[Step]:
    """Which descendant conv gets which learngene piece (or a PIM layer); raises if impossible."""
    if "vit" in (lg.arch, model.arch):
        raise IncompatibleLearngeneError(
            f"gtl.inherit maps learngenes between CNNs (conv stages); {lg.arch} -> {model.arch} involves a ViT, "
            f"whose learngene units are heads and token/MLP channels: use a descendant of the same ViT")
    source, steps, carried = learngene_stages(lg), [], 3  # RGB is always whole
    modules = dict(model.named_modules())
    for i, stage in enumerate(model.stages()):
        src = source[i] if i < len(source) else SourceStage([], None)
        n, m = len(stage.main), len(src.main)
        if m <= n:
            pieces = src.main + [None] * (n - m)
        elif src.shortcut is not None:
            pieces = [None] * (n - 1) + [src.shortcut]
        else:
            raise IncompatibleLearngeneError(
                f"stage {i + 1} of {model.arch} has {n} conv(s) but the learngene's stage {i + 1} "
                f"({lg.arch}) is a chain of {m}: a circuit cannot be shortened without breaking it. "
                f"Choose a descendant with at least {m} convs in that stage (a deeper one).")
        stage_in = carried
        for spec, p in zip(stage.main, pieces):
            conv = modules[spec.conv]
            if p is None:
                step = Step(spec.conv, "pim", None, carried, carried, 0)
            else:
                kind = "shortcut" if p is src.shortcut else "copy"
                step = Step(spec.conv, kind, p.source, p.weight.shape[1], p.weight.shape[0], p.num_params)
            _check_fits(step, conv, lg, model, carried)
            steps.append(step)
            carried = step.k_out
        if stage.shortcut is not None:
            conv = modules[stage.shortcut.conv]
            if src.shortcut is not None and m <= n:
                p = src.shortcut
                step = Step(stage.shortcut.conv, "copy", p.source, p.weight.shape[1], p.weight.shape[0],
                            p.num_params)
            else:
                step = Step(stage.shortcut.conv, "mute", None, stage_in, carried, 0)
            _check_fits(step, conv, lg, model, stage_in)
            steps.append(step)
        elif src.shortcut is not None and m <= n:  # a plain stage holds the main path, not the skip
            p = src.shortcut
            steps.append(Step("", "dropped", p.source, p.weight.shape[1], p.weight.shape[0], 0))
    for stage in source[len(model.stages()):]:  # deeper than the descendant: not transferred
        steps += [Step("", "dropped", p.source, p.weight.shape[1], p.weight.shape[0], 0)
                  for p in stage.main + ([stage.shortcut] if stage.shortcut else [])]
    return steps


def _check_fits(step: Step, conv: nn.Conv2d, lg: Learngene, model: FewShotNet, carried: int) -> None:
    if step.k_in != carried:  # cannot happen with the models of gtl.models; guards new ones
        raise IncompatibleLearngeneError(f"{step.target}: the learngene piece {step.source} reads "
                                         f"{step.k_in} channels but {carried} arrive")
    if step.k_out > conv.out_channels or step.k_in > conv.in_channels:
        raise IncompatibleLearngeneError(
            f"{model.arch} (width {model.width}) layer {step.target} has {conv.in_channels} -> "
            f"{conv.out_channels} channels, but the learngene ({lg.arch}, width {lg.width}) needs "
            f"{step.k_in} -> {step.k_out} there: the descendant is too narrow. Use a width of at "
            f"least the learngene's channel count in every layer.")


@torch.no_grad()
def apply(model: FewShotNet, lg: Learngene, steps: list[Step], cross_scale: float = 1.0) -> FewShotNet:
    """Write a :func:`plan` into ``model`` (freshly initialised) in place; the cross-weights
    of copied layers are multiplied by ``cross_scale`` (PIM rows read no other channel)."""
    check_cross_scale(cross_scale)
    pieces = {p.source: p for st in learngene_stages(lg) for p in st.main + ([st.shortcut] if st.shortcut else [])}
    modules = dict(model.named_modules())
    bns = {s.conv: modules[s.bn] for s in model.conv_specs()}
    for step in (s for s in steps if s.kind != "dropped"):
        conv, bn = modules[step.target], bns[step.target]
        w = conv.weight
        if step.kind == "mute":
            bn.weight[:step.k_out] = 0.0
            bn.bias[:step.k_out] = 0.0
            continue
        if step.kind == "pim":  # learngene rows read the learngene channels only, unchanged
            w[:step.k_out] = 0.0
            piece = torch.eye(step.k_out, dtype=w.dtype)[:, :, None, None]
            ones, zeros = torch.ones(step.k_out), torch.zeros(step.k_out)
            bn_values = (ones, zeros, zeros, ones)
        else:
            p = pieces[step.source]
            piece, bn_values = p.weight, (p.bn_weight, p.bn_bias, p.running_mean, p.running_var)
            w[:step.k_out, step.k_in:] *= cross_scale
        _place(w, piece.to(w.device, w.dtype), step)
        for t, value in zip((bn.weight, bn.bias, bn.running_mean, bn.running_var), bn_values):
            t[:step.k_out] = value.to(t.device, t.dtype)
    return model


def _place(w: torch.Tensor, piece: torch.Tensor, step: Step) -> None:
    """Put a ``(k_out, k_in, kh, kw)`` piece in the first rows/columns of ``w``; a 1x1
    piece in a larger kernel becomes its centre tap (the rest of that block 0)."""
    k_out, k_in = piece.shape[:2]
    if piece.shape[2:] == w.shape[2:]:
        w[:k_out, :k_in] = piece
    elif piece.shape[2:] == (1, 1):
        kh, kw = w.shape[2:]
        w[:k_out, :k_in] = 0.0
        w[:k_out, :k_in, kh // 2, kw // 2] = piece[:, :, 0, 0]
    else:
        raise IncompatibleLearngeneError(f"{step.target}: a {tuple(piece.shape[2:])} kernel piece "
                                         f"does not fit a {tuple(w.shape[2:])} kernel")


def inherit(model: FewShotNet, lg: Learngene, cross_scale: float = 1.0) -> FewShotNet:
    """Initialise ``model`` from ``lg`` in place, whatever its depth, width or architecture.

    The same architecture and width keeps the learngene at its own channel
    positions (:func:`gtl.learngene.implant`); anything else is mapped by
    :func:`plan` (see the module docstring). Either way the cross-weights are
    multiplied by ``cross_scale``.
    """
    if model.arch == lg.arch and abs(model.width - lg.width) < 1e-9:
        return implant(model, lg, cross_scale)
    return apply(model, lg, plan(lg, model), cross_scale)


def inherited_params(lg: Learngene, model: FewShotNet) -> int:
    """Learned parameters ``model`` receives from ``lg`` (PIM identities do not count)."""
    if model.arch == lg.arch and abs(model.width - lg.width) < 1e-9:
        return lg.num_params
    return sum(s.params for s in plan(lg, model))


def build(lg: Learngene, arch: str, width: float, num_classes: int, seed: int,
          cross_scale: float = 1.0) -> FewShotNet:
    """A seeded ``arch`` network of ``width`` initialised from ``lg``: a descendant
    (cross-weights multiplied by ``cross_scale``)."""
    return inherit(seeded_model(arch, num_classes, width, seed), lg, cross_scale)


def mapping_table(lg: Learngene, arch: str, width: float) -> list[dict]:
    """The plan as rows (descendant conv, what it gets, from where, channels): for notebooks."""
    model = build_model(arch, 5, width)
    return [{"layer": s.target, "gets": s.kind, "from": s.source or "", "channels": f"{s.k_in}->{s.k_out}",
             "params": s.params} for s in plan(lg, model)]
