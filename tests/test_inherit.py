"""gtl.inherit: learngenes into deeper, wider and other networks (PIM layers, channel mapping)."""
from __future__ import annotations

import pytest
import torch

from _helpers import circuit_outputs, closed_ancestor
from gtl import inherit as I
from gtl.learngene import IncompatibleLearngeneError, extract, implant, random_channels, seeded_model
from gtl.models import build_model


def learngene_of(arch: str, width: float = 0.25, seed: int = 0):
    """A learngene cut from a network whose every parameter was moved off its init values."""
    net = seeded_model(arch, 5, width, seed)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g))
    return net, extract(net, random_channels(net, 0.45, seed))


def test_same_architecture_and_width_keeps_the_channel_positions():
    _, lg = learngene_of("vgg11")
    a = I.build(lg, "vgg11", 0.25, 5, seed=4)
    b = implant(seeded_model("vgg11", 5, 0.25, 4), lg)
    for (n, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), n
    assert I.inherited_params(lg, a) == lg.num_params


def test_wider_descendant_gets_the_pieces_in_its_first_channels():
    _, lg = learngene_of("vgg11")
    child = I.build(lg, "vgg11", 0.5, 5, seed=1)
    fresh = seeded_model("vgg11", 5, 0.5, 1)
    modules, fresh_modules = dict(child.named_modules()), dict(fresh.named_modules())
    stages = I.learngene_stages(lg)
    pieces = [p for st in stages for p in st.main]
    for spec, p in zip(child.conv_specs(), pieces):
        k_out, k_in = p.weight.shape[:2]
        w = modules[spec.conv].weight
        assert torch.equal(w[:k_out, :k_in], p.weight)
        assert torch.equal(modules[spec.bn].weight[:k_out], p.bn_weight)
        assert torch.equal(w[k_out:], fresh_modules[spec.conv].weight[k_out:])  # the rest stays random
    assert I.inherited_params(lg, child) == lg.num_params


def isolate(model, first: dict[str, int]) -> None:
    """Zero every input of a learngene channel that comes from a non-learngene channel."""
    modules = dict(model.named_modules())
    with torch.no_grad():
        for spec in model.conv_specs():
            w = modules[spec.conv].weight
            k_out, k_in = first[spec.out_group], first.get(spec.in_group, w.shape[1])
            w[:k_out, k_in:] = 0


def test_deeper_descendant_computes_the_learngene_circuit_through_pim_layers():
    """VGG11 -> VGG13 adds one PIM layer in each of the first three stages: with the
    learngene channels cut off from the random ones, both compute the same features."""
    net, lg = learngene_of("vgg11")
    # the ancestor's circuit alone, with its channels moved to the front
    ancestor = seeded_model("vgg11", 5, 0.25, 9)
    ancestor = I.apply(ancestor, lg, I.plan(lg, ancestor))
    child = I.build(lg, "vgg13", 0.25, 5, seed=2)
    kinds = [s.kind for s in I.plan(lg, child)]
    assert kinds == ["copy", "pim", "copy", "pim", "copy", "copy", "copy", "copy", "copy", "copy"]
    for m in (ancestor, child):
        first = {}
        for step, spec in zip(I.plan(lg, m), m.conv_specs()):
            first[spec.out_group] = step.k_out
        isolate(m, first)
    k = lg.masks[ancestor.conv_specs()[-1].out_group].sum()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        fa, fc = ancestor.eval().features(x)[:, :k], child.eval().features(x)[:, :k]
    assert fa.abs().sum() > 0
    torch.testing.assert_close(fc, fa, rtol=1e-3, atol=1e-5)


def test_pim_layer_is_an_identity_on_the_learngene_channels():
    _, lg = learngene_of("vgg11")
    child = I.build(lg, "vgg13", 0.5, 5, seed=0)
    modules = dict(child.named_modules())
    step = next(s for s in I.plan(lg, child) if s.kind == "pim")
    w, k = modules[step.target].weight, step.k_out
    eye = torch.zeros_like(w[:k])
    eye[torch.arange(k), torch.arange(k), 1, 1] = 1
    assert torch.equal(w[:k], eye)                       # learngene rows read only themselves
    assert w[k:].abs().sum() > 0                          # the other rows stay random


def test_vgg_to_resnet_maps_stage_by_stage_and_mutes_the_shortcuts():
    _, lg = learngene_of("vgg11")
    child = I.build(lg, "resnet12", 0.25, 5, seed=0)
    steps = I.plan(lg, child)
    by_target = {s.target: s for s in steps}
    assert by_target["body.0.conv1"].kind == "copy" and by_target["body.0.conv2"].kind == "pim"
    assert [by_target[f"body.2.conv{i}"].kind for i in (1, 2, 3)] == ["copy", "copy", "pim"]
    mute = by_target["body.1.shortcut"]
    assert mute.kind == "mute"
    assert torch.equal(child.body[1].bn_shortcut.weight[:mute.k_out], torch.zeros(mute.k_out))
    dropped = [s for s in steps if s.kind == "dropped"]  # VGG11's fifth stage has no ResNet12 stage
    assert len(dropped) == 2
    copied = sum(s.params for s in steps)
    assert 0 < copied < lg.num_params == copied + sum(p.num_params for p in I.learngene_stages(lg)[4].main)
    assert torch.isfinite(child(torch.randn(2, 3, 32, 32))).all()


def test_resnet_to_resnet_wider_copies_the_shortcut():
    _, lg = learngene_of("resnet12", 0.125)
    child = I.build(lg, "resnet12", 0.25, 5, seed=0)
    assert {s.kind for s in I.plan(lg, child)} == {"copy"}
    assert I.inherited_params(lg, child) == lg.num_params
    sc = I.learngene_stages(lg)[0].shortcut
    k_out, k_in = sc.weight.shape[:2]
    assert torch.equal(child.body[0].shortcut.weight[:k_out, :k_in], sc.weight)


def test_resnet_block_into_a_shorter_stage_keeps_its_shortcut_as_a_centre_tap():
    _, lg = learngene_of("resnet12", 0.125)
    child = I.build(lg, "vgg11", 0.25, 5, seed=0)
    first = I.plan(lg, child)[0]
    assert (first.kind, first.source) == ("shortcut", "body.0.shortcut")
    sc = I.learngene_stages(lg)[0].shortcut
    k_out, k_in = sc.weight.shape[:2]
    w = child.body[0].weight[:k_out, :k_in]
    assert torch.equal(w[:, :, 1, 1], sc.weight[:, :, 0, 0])
    assert torch.count_nonzero(w) == torch.count_nonzero(sc.weight)  # every other tap is 0


def test_too_narrow_a_descendant_is_refused_with_the_layer_and_counts():
    _, lg = learngene_of("vgg11", 0.5)
    with pytest.raises(IncompatibleLearngeneError, match=r"too narrow") as e:
        I.build(lg, "vgg13", 0.125, 5, seed=0)
    assert "body.0" in str(e.value) and "vgg11" in str(e.value)


def test_a_chain_cannot_be_shortened():
    _, lg = learngene_of("vgg13")
    with pytest.raises(IncompatibleLearngeneError, match=r"stage 1 of vgg11 has 1 conv.*chain of 2"):
        I.build(lg, "vgg11", 0.25, 5, seed=0)


@pytest.mark.parametrize("source, target", [("vgg11", "vgg16"), ("vgg11", "vgg19"), ("vgg11", "conv4"),
                                            ("resnet12", "vgg16"), ("conv4", "resnet12")])
def test_every_mapping_gives_a_working_network(source, target):
    _, lg = learngene_of(source, 0.25)
    width = 1.0 if target == "conv4" else 0.5
    if (source, target) == ("vgg11", "conv4"):
        with pytest.raises(IncompatibleLearngeneError):
            I.build(lg, target, width, 5, seed=0)
        return
    child = I.build(lg, target, width, 5, seed=0)
    assert torch.isfinite(child(torch.randn(2, 3, 32, 32))).all()
    assert 0 < I.inherited_params(lg, child) <= lg.num_params
    rows = I.mapping_table(lg, target, width)
    assert len(rows) >= len(child.conv_specs())


def test_resnet_into_a_long_enough_plain_stage_copies_the_main_path_and_drops_the_shortcut():
    _, lg = learngene_of("resnet12", 0.125)
    steps = I.plan(lg, build_model("vgg19", 5, 0.25))  # VGG19 stages 3-5 hold 4 convs
    stage3 = [s for s in steps if s.source and s.source.startswith("body.2.")]
    assert [(s.kind, s.source) for s in stage3] == [("copy", "body.2.conv1"), ("copy", "body.2.conv2"),
                                                    ("copy", "body.2.conv3"), ("dropped", "body.2.shortcut")]


# ------------------------------------------------ complete circuits (docs/decisions.md #16)


def copied_cross(model, steps) -> dict[str, torch.Tensor]:
    """Per conv weight: True at the cross-weights of copied layers, ``[:k_out, k_in:]``."""
    modules, out = dict(model.named_modules()), {}
    for step in steps:
        if step.kind in ("copy", "shortcut"):
            m = torch.zeros_like(modules[step.target].weight, dtype=torch.bool)
            m[:step.k_out, step.k_in:] = True
            out[f"{step.target}.weight"] = m
    return out


@pytest.mark.parametrize("target, width", [("vgg13", 0.5), ("vgg11", 0.5), ("resnet12", 0.25)])
def test_cross_scale_scales_exactly_the_cross_weights_of_copied_layers(target, width):
    _, lg = learngene_of("vgg11")
    full, half, none = (I.build(lg, target, width, 5, seed=3, cross_scale=c) for c in (1.0, 0.5, 0.0))
    steps = I.plan(lg, full)
    cross = copied_cross(full, steps)
    assert cross and any(m.any() for m in cross.values())
    for (name, a), b, c in zip(full.state_dict().items(), half.state_dict().values(), none.state_dict().values()):
        m = cross.get(name, torch.zeros_like(a, dtype=torch.bool))
        assert torch.equal(b[~m], a[~m]) and torch.equal(c[~m], a[~m]), name  # nothing else moves
        assert torch.equal(b[m], 0.5 * a[m]) and not c[m].any(), name
    with pytest.raises(ValueError, match="cross_scale must be in"):
        I.build(lg, target, width, 5, seed=3, cross_scale=2.0)


def test_copied_pieces_carry_their_bn_statistics_and_pim_layers_start_neutral():
    net, masks = closed_ancestor("vgg11", batched=False)
    lg = extract(net, masks)
    child = I.build(lg, "vgg13", 0.25, 5, seed=0)
    modules, source = dict(child.named_modules()), dict(net.named_modules())
    bn_of = {s.conv: s.bn for s in child.conv_specs()}
    src_bn = {s.conv: s.bn for s in net.conv_specs()}
    src_group = {s.conv: s.out_group for s in net.conv_specs()}
    for step in I.plan(lg, child):
        bn = modules[bn_of[step.target]]
        k = step.k_out
        if step.kind == "copy":
            src = source[src_bn[step.source]]
            keep = masks[src_group[step.source]]
            assert torch.equal(bn.running_mean[:k], src.running_mean[keep])
            assert torch.equal(bn.running_var[:k], src.running_var[keep])
        elif step.kind == "pim":
            assert torch.equal(bn.running_mean[:k], torch.zeros(k)) and torch.equal(bn.running_var[:k], torch.ones(k))
    assert I.inherited_params(lg, child) == lg.num_params  # statistics are carried, not counted


@pytest.mark.parametrize("arch, target, width", [("vgg11", "vgg13", 0.125), ("vgg11", "vgg16", 0.25),
                                                 ("vgg11", "vgg11", 0.25), ("resnet12", "resnet12", 0.25)])
def test_a_closed_circuit_passes_whole_into_a_deeper_or_wider_descendant(arch, target, width):
    """The module docstring's promise: closed circuit in the ancestor, cross_scale 0, inherited BN
    statistics, eval mode: every copied layer and the features repeat the ancestor's on the learngene."""
    ancestor, masks = closed_ancestor(arch, batched=False)
    lg = extract(ancestor, masks)
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    expected = circuit_outputs(ancestor, {s.conv: masks[s.out_group] for s in ancestor.conv_specs()}, x)
    last = masks[ancestor.conv_specs()[-1].out_group]
    with torch.no_grad():
        features = ancestor.eval().features(x)[:, last]
    for cross_scale, same in ((0.0, True), (1.0, False)):
        child = I.build(lg, target, width, 5, seed=4, cross_scale=cross_scale)
        steps = [s for s in I.plan(lg, child) if s.kind == "copy"]
        got = circuit_outputs(child, {s.target: torch.arange(s.k_out) for s in steps}, x)
        with torch.no_grad():
            close = [torch.allclose(child.eval().features(x)[:, :int(last.sum())], features, rtol=1e-3, atol=1e-5)]
        for s in steps:
            for suffix in ("", " bn"):
                close.append(torch.allclose(got[s.target + suffix], expected[s.source + suffix], rtol=1e-3, atol=1e-5))
        assert all(close) if same else not all(close), cross_scale
