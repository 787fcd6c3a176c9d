"""gtl.learngene: masks, sizes, extraction, inheritance, files, channel choice."""
from __future__ import annotations

import math

import pytest
import torch

from _helpers import circuit_outputs, closed_ancestor
from gtl.learngene import (IncompatibleLearngeneError, Learngene, LearngeneFormatError, build_descendant,
                           channel_saliency, close_circuit, count_params, cross_masks, extract, implant, kernel_masks,
                           masked_fraction, param_masks, random_channels, seeded_model, top_channels)
from gtl.models import INPUT_GROUP, build_model, channel_groups

ARCHS = ["conv4", "vgg11", "resnet12"]


def perturbed(model, seed: int):
    """``model`` with every parameter and BN buffer moved away from its (shared) init values.

    Fresh networks all have BN weight 1 / bias 0 and zero running means, so
    without this a copy of BN values would be indistinguishable from no copy.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in list(model.parameters()) + [b for b in model.buffers() if b.is_floating_point()]:
            t.add_(torch.randn(t.shape, generator=g))
    return model


def test_param_count_matches_an_independent_count():
    net = build_model("resnet12", width=0.125)
    masks = random_channels(net, 0.4, seed=1)
    groups = channel_groups(net)
    modules = dict(net.named_modules())
    expected = 0
    for s in net.conv_specs():
        conv = modules[s.conv]
        n_out = int(masks[s.out_group].sum())
        n_in = 3 if s.in_group == INPUT_GROUP else int(masks[s.in_group].sum())
        kh, kw = conv.kernel_size
        expected += n_out * n_in * kh * kw + 2 * n_out  # kernel slices + BN gamma/beta
        assert n_out <= groups[s.out_group]
    lg = extract(net, masks)
    assert lg.num_params == expected == lg.meta["num_params"]
    assert lg.meta["total_params"] == sum(p.numel() for p in net.parameters())
    assert lg.fraction == pytest.approx(expected / lg.meta["total_params"])
    assert masked_fraction(net, masks) == lg.fraction  # the same count, without copying weights


@pytest.mark.parametrize("arch", ARCHS)
def test_kernel_masks_are_outer_products_of_channel_masks(arch):
    net = build_model(arch, width=0.25)
    masks = random_channels(net, 0.5, seed=2)
    km = kernel_masks(net, masks)
    for s in net.conv_specs():
        m_out = masks[s.out_group]
        m_in = torch.ones(3, dtype=torch.bool) if s.in_group == INPUT_GROUP else masks[s.in_group]
        assert km[s.conv].shape == (len(m_out), len(m_in))
        assert int(km[s.conv].sum()) == int(m_out.sum()) * int(m_in.sum())
        assert torch.equal(km[s.conv][m_out][:, m_in], torch.ones(int(m_out.sum()), int(m_in.sum()), dtype=torch.bool))


@pytest.mark.parametrize("arch", ["vgg11", "resnet12"])
@pytest.mark.parametrize("width", [0.25, 0.5])
def test_45_percent_of_channels_is_about_20_percent_of_parameters(arch, width):
    net = build_model(arch, width=width)
    lg = extract(net, top_channels(channel_saliency(net), 0.45))
    assert 0.17 <= lg.fraction <= 0.23
    assert all(abs(f - 0.45) < 0.1 for f in lg.channel_fraction().values())


@pytest.mark.parametrize("arch", ARCHS)
def test_extract_then_inherit_copies_exactly_the_learngene(arch):
    source = perturbed(seeded_model(arch, 5, 0.25, seed=1), seed=10)
    masks = random_channels(source, 0.45, seed=3)
    lg = extract(source, masks, dataset="unit-test")

    fresh = seeded_model(arch, 5, 0.25, seed=2)
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    descendant = implant(fresh, lg)
    assert descendant is fresh  # in place

    src_state, after = source.state_dict(), fresh.state_dict()
    modules = dict(source.named_modules())
    in_learngene: dict[str, torch.Tensor] = {}
    for s in source.conv_specs():  # positions computed here from the channel masks
        m_out = masks[s.out_group]
        m_in = torch.ones(3, dtype=torch.bool) if s.in_group == INPUT_GROUP else masks[s.in_group]
        k = (m_out[:, None] & m_in[None, :])[:, :, None, None].expand_as(modules[s.conv].weight)
        in_learngene[f"{s.conv}.weight"] = k
        for name in ("weight", "bias", "running_mean", "running_var"):  # BN affine and statistics
            in_learngene[f"{s.bn}.{name}"] = m_out

    copied = 0
    for name, value in after.items():
        mask = in_learngene.get(name)
        if mask is None:  # head, num_batches_tracked: untouched
            assert torch.equal(value, before[name]), name
            continue
        assert torch.equal(value[mask], src_state[name][mask]), name
        assert torch.equal(value[~mask], before[name][~mask]), name
        assert not torch.equal(value[mask], before[name][mask]), name  # really overwritten
        copied += int(mask.sum()) if name in lg.weights else 0
    assert copied == lg.num_params  # parameters only: statistics are carried, not counted
    assert sum(v.numel() for v in lg.stats.values()) == 2 * sum(int(masks[s.out_group].sum())
                                                                 for s in source.conv_specs())
    assert any(n.startswith("head") for n in after) and any("running_mean" in n for n in after)


def test_build_descendant_is_seeded_model_plus_inherit():
    source = perturbed(seeded_model("conv4", 5, 0.25, seed=1), seed=4)
    lg = extract(source, random_channels(source, 0.45, seed=0))
    a = build_descendant(lg, 7, seed=5)
    b = implant(seeded_model("conv4", 7, 0.25, seed=5), lg)
    assert a.num_classes == 7
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k


def test_save_load_round_trip(tmp_path):
    source = perturbed(seeded_model("vgg11", 5, 0.125, seed=1), seed=2)
    masks = top_channels(channel_saliency(source), 0.45)
    lg = extract(source, masks, dataset="miniimagenet", image_size=32, generation=3, fitness=0.5)
    path = tmp_path / "lg.pt"
    lg.save(path)
    assert not (tmp_path / "lg.pt.tmp").exists()

    raw = torch.load(path, weights_only=True)  # plain tensors and builtins only
    assert raw["arch"] == "vgg11"

    back = Learngene.load(path)
    assert (back.arch, back.width) == (lg.arch, lg.width)
    assert back.meta == lg.meta
    assert back.meta["generation"] == 3 and back.meta["dataset"] == "miniimagenet"
    assert back.masks.keys() == lg.masks.keys() and back.weights.keys() == lg.weights.keys()
    for g in lg.masks:
        assert back.masks[g].dtype == torch.bool and torch.equal(back.masks[g], lg.masks[g])
    for n in lg.weights:
        assert torch.equal(back.weights[n], lg.weights[n])
    assert back.stats.keys() == lg.stats.keys() and len(lg.stats) == 2 * len(source.conv_specs())
    for n in lg.stats:
        assert torch.equal(back.stats[n], lg.stats[n])
    assert back.fingerprint() == lg.fingerprint()
    # and it still initialises a descendant exactly like the original
    a, b = build_descendant(lg, 5, seed=9), build_descendant(back, 5, seed=9)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k


def test_describe_names_the_architecture_and_size():
    net = build_model("conv4", width=0.25)
    lg = extract(net, top_channels(channel_saliency(net), 0.5), dataset="cifar-fs", image_size=32)
    text = lg.describe()
    assert "conv4" in text and f"{lg.num_params:,}" in text and "cifar-fs" in text
    assert f"{100 * lg.fraction:.1f}%" in text


def test_load_garbage_file_is_a_clear_error(tmp_path):
    path = tmp_path / "garbage.pt"
    path.write_bytes(b"this is not a torch file \x00\x01\x02" * 10)
    with pytest.raises(ValueError, match="is not a learngene file") as e:
        Learngene.load(path)
    assert str(path) in str(e.value)


def test_load_other_torch_file_is_a_clear_error(tmp_path):
    path = tmp_path / "state.pt"
    torch.save({"weight": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="not a gtl learngene file") as e:
        Learngene.load(path)
    assert str(path) in str(e.value)


def test_a_format_1_file_is_a_clear_error_naming_the_version(tmp_path):
    source = seeded_model("conv4", 5, 0.25, seed=1)
    old = extract(source, random_channels(source, 0.45, 0)).to_dict()
    old["format"] = 1
    del old["stats"]  # format 1 had no BN statistics
    path = tmp_path / "old.pt"
    torch.save(old, path)
    with pytest.raises(LearngeneFormatError, match=r"format 1.*reads format 2.*re-run evolve") as e:
        Learngene.load(path)
    assert str(path) in str(e.value) and isinstance(e.value, ValueError)


def test_load_missing_file_is_a_clear_error(tmp_path):
    path = tmp_path / "nowhere" / "learngene.pt"
    with pytest.raises(FileNotFoundError, match="no learngene file") as e:
        Learngene.load(path)
    assert str(path) in str(e.value)


def test_inherit_into_other_architecture_names_both():
    lg = extract(build_model("vgg11", width=0.25), random_channels(build_model("vgg11", width=0.25), 0.45, 0))
    with pytest.raises(IncompatibleLearngeneError) as e:
        implant(build_model("resnet12", width=0.25), lg)
    assert "vgg11" in str(e.value) and "resnet12" in str(e.value)
    assert isinstance(e.value, ValueError)  # callers catching ValueError keep working


def test_inherit_into_other_width_names_both():
    src = build_model("conv4", width=0.25)
    lg = extract(src, random_channels(src, 0.45, 0))
    target = build_model("conv4", width=0.5)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(IncompatibleLearngeneError) as e:
        implant(target, lg)
    assert "0.25" in str(e.value) and "0.5" in str(e.value)
    for k, v in target.state_dict().items():  # nothing half-copied
        assert torch.equal(v, before[k])


def test_inherit_rejects_masks_and_weights_that_disagree():
    src = build_model("conv4", width=0.25)
    lg = extract(src, random_channels(src, 0.45, 0))
    name = next(iter(lg.weights))
    lg.weights[name] = lg.weights[name][:-1]
    with pytest.raises(IncompatibleLearngeneError, match="do not match"):
        implant(build_model("conv4", width=0.25), lg)


def test_masks_of_wrong_length_are_rejected():
    net = build_model("conv4", width=0.25)
    masks = random_channels(net, 0.5, 0)
    first = next(iter(masks))
    masks[first] = torch.ones(len(masks[first]) + 1, dtype=torch.bool)
    with pytest.raises(IncompatibleLearngeneError, match=first):
        extract(net, masks)


def test_top_channels_picks_the_most_salient():
    saliency = {"a": torch.tensor([0.1, 5.0, 0.3, 4.0, 0.2, 3.0, 0.0, 0.05, 2.0, 0.01]),
                "b": torch.tensor([1.0, 3.0, 2.0])}
    masks = top_channels(saliency, 0.4)
    assert masks["a"].dtype == torch.bool
    assert masks["a"].nonzero().flatten().tolist() == [1, 3, 5, 8]  # round(0.4 * 10) = 4 largest
    assert masks["b"].nonzero().flatten().tolist() == [1]  # round(0.4 * 3) = 1
    tiny = top_channels(saliency, 0.01)
    assert tiny["a"].nonzero().flatten().tolist() == [1] and tiny["b"].nonzero().flatten().tolist() == [1]
    assert all(m.all() for m in top_channels(saliency, 1.0).values())


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5])
def test_top_channels_rejects_bad_fractions(fraction):
    with pytest.raises(ValueError, match="channel fraction"):
        top_channels({"a": torch.ones(4)}, fraction)


def test_channel_saliency_sums_abs_bn_scales_per_group():
    net = build_model("resnet12", width=0.125)
    with torch.no_grad():
        net.body[0].bn3.weight.copy_(-torch.arange(8.0))
        net.body[0].bn_shortcut.weight.fill_(0.5)
        net.body[0].bn1.weight.copy_(torch.arange(8.0) * 2)
    sal = channel_saliency(net)
    assert sal.keys() == channel_groups(net).keys()
    assert torch.allclose(sal["body.0.out"], torch.arange(8.0) + 0.5)
    assert torch.allclose(sal["body.0.conv1"], torch.arange(8.0) * 2)


def test_random_channels_is_seeded():
    net = build_model("vgg11", width=0.25)
    a, b = random_channels(net, 0.45, seed=7), random_channels(net, 0.45, seed=7)
    c = random_channels(net, 0.45, seed=8)
    assert all(torch.equal(a[g], b[g]) for g in a)
    assert any(not torch.equal(a[g], c[g]) for g in a)
    for g, n in channel_groups(net).items():
        assert int(a[g].sum()) == max(1, round(0.45 * n))


def test_channel_fraction_reports_each_group():
    net = build_model("conv4", width=0.25)  # 16 channels per group
    lg = extract(net, random_channels(net, 0.25, seed=0))
    assert lg.channel_fraction() == {g: 0.25 for g in channel_groups(net)}
    assert count_params(net) == lg.meta["total_params"]
    assert math.isclose(lg.meta["fraction"], lg.fraction)


# ------------------------------------------------ complete circuits (docs/decisions.md #16)


def test_default_build_descendant_gives_the_weights_it_gave_before_cross_scale():
    """Defaults draw no random number more and scale nothing: the old recipe, parameter for parameter."""
    source = perturbed(seeded_model("vgg11", 5, 0.25, seed=1), seed=4)
    lg = extract(source, random_channels(source, 0.45, seed=0))
    child = build_descendant(lg, 5, seed=5)
    before = seeded_model("vgg11", 5, 0.25, seed=5)  # seeded model + learngene written at its masks
    params = dict(before.named_parameters())
    with torch.no_grad():
        for name, m in param_masks(before, lg.masks).items():
            params[name][m] = lg.weights[name]
    for (k, a), b in zip(child.named_parameters(), before.parameters()):
        assert torch.equal(a, b), k


@pytest.mark.parametrize("arch", ARCHS)
def test_cross_scale_scales_exactly_the_cross_weights(arch):
    source = perturbed(seeded_model(arch, 5, 0.25, seed=1), seed=3)
    lg = extract(source, random_channels(source, 0.45, seed=2))
    full, half, none = (build_descendant(lg, 5, seed=6, cross_scale=c) for c in (1.0, 0.5, 0.0))
    cross = {f"{n}.weight": m for n, m in cross_masks(full, lg.masks).items()}
    assert len(cross) == len(full.conv_specs()) - (2 if arch == "resnet12" else 1)  # all but the convs reading RGB
    for (name, a), b, c in zip(full.state_dict().items(), half.state_dict().values(), none.state_dict().values()):
        m = cross.get(name, torch.zeros_like(a, dtype=torch.bool))
        assert torch.equal(b[~m], a[~m]) and torch.equal(c[~m], a[~m]), name  # nothing else moves
        assert torch.equal(b[m], 0.5 * a[m]) and not c[m].any(), name
        assert a[m].abs().sum() > 0 or not m.any(), name


def test_close_circuit_zeroes_the_cross_weights_and_leaves_the_state_dict_alone():
    net = perturbed(seeded_model("resnet12", 5, 0.125, seed=1), seed=2)
    masks = random_channels(net, 0.45, seed=3)
    keys = net.state_dict().keys()
    close_circuit(net, masks)
    assert net.state_dict().keys() == keys  # circuit_keep is a plain attribute, not a buffer
    modules = dict(net.named_modules())
    for name, cross in cross_masks(net, masks).items():
        conv = modules[name]
        assert not conv.weight[cross].any() and conv.weight[~cross].all()
        assert torch.equal(conv.circuit_keep, (~cross).float())


@pytest.mark.parametrize("batched", [False, True], ids=["loop", "batched"])
@pytest.mark.parametrize("arch", ARCHS)
def test_a_closed_circuit_descendant_computes_what_its_ancestor_computed(arch, batched):
    """The learngene as complete circuits: inherited with cross_scale 0, its channels give
    the ancestor's activations layer by layer (BN in eval mode, inherited statistics)."""
    ancestor, masks = closed_ancestor(arch, batched)
    modules = dict(ancestor.named_modules())
    for name, cross in cross_masks(ancestor, masks).items():  # training kept the circuit closed
        assert not modules[name].weight[cross].any(), name
    lg = extract(ancestor, masks)
    channels = {s.conv: masks[s.out_group] for s in ancestor.conv_specs()}  # the same positions in both
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    expected = circuit_outputs(ancestor, channels, x)
    assert len(expected) == 2 * len(ancestor.conv_specs())

    got = circuit_outputs(build_descendant(lg, 5, seed=7, cross_scale=0.0), channels, x)
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-4, atol=1e-5, msg=lambda m: f"{name}: {m}")

    flooded = circuit_outputs(build_descendant(lg, 5, seed=7, cross_scale=1.0), channels, x)
    last = ancestor.conv_specs()[-1].conv + " bn"
    assert not torch.allclose(flooded[last], expected[last], rtol=1e-2, atol=1e-2)  # random cross-weights


def test_vit_learngenes_refuse_cross_scale_and_closed_circuits_but_keep_the_defaults():
    vit = seeded_model("vit", 5, 0.25, seed=0)
    lg = extract(vit, random_channels(vit, 0.5, seed=1))
    assert lg.stats == {}
    build_descendant(lg, 5, seed=2)  # the defaults work
    with pytest.raises(IncompatibleLearngeneError, match="apply to CNN learngenes"):
        build_descendant(lg, 5, seed=2, cross_scale=0.0)
    with pytest.raises(IncompatibleLearngeneError, match="apply to CNN learngenes"):
        close_circuit(vit, lg.masks)


@pytest.mark.parametrize("scale", [-0.1, 1.5])
def test_cross_scale_out_of_range_is_refused(scale):
    source = seeded_model("conv4", 5, 0.25, seed=1)
    lg = extract(source, random_channels(source, 0.45, seed=0))
    with pytest.raises(ValueError, match=f"cross_scale must be in \\[0, 1\\], got {scale}"):
        build_descendant(lg, 5, seed=0, cross_scale=scale)
