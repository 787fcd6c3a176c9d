"""gtl.models: shapes, widths, the conv specs the learngene code relies on, heads."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from gtl.learngene import seeded_model
from gtl.models import ARCHITECTURES, INPUT_GROUP, VGG_CFGS, build_model, channel_groups

CNNS = sorted(a for a in ARCHITECTURES if a != "vit")  # the ViT's units are tested in test_vit.py

# Base channel counts of each architecture's convs at width 1, in conv order.
BASE_CHANNELS = {
    "conv4": [64] * 4,
    "vgg11": [64, 128, 256, 256, 512, 512, 512, 512],
    "resnet12": [64, 160, 320, 640],  # one group per stage
    **{a: [c for c in cfg if c != "M"] for a, cfg in VGG_CFGS.items() if a != "vgg11"},
}


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
@pytest.mark.parametrize("size", [32, 84])
@pytest.mark.parametrize("width", [0.125, 0.5])
def test_output_shape(arch, size, width):
    net = build_model(arch, num_classes=7, width=width)
    with torch.no_grad():
        out = net.eval()(torch.randn(2, 3, size, size))
    assert out.shape == (2, 7)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_features_have_the_heads_input_width(arch):
    net = build_model(arch, num_classes=3, width=0.25)
    with torch.no_grad():
        f = net.eval().features(torch.randn(2, 3, 32, 32))
    assert f.shape == (2, net.head.in_features)


@pytest.mark.parametrize("arch", CNNS)
@pytest.mark.parametrize("width", [0.1, 0.25, 0.5])
def test_width_multiplier_scales_every_group(arch, width):
    net = build_model(arch, width=width)
    expected = [max(1, int(round(c * width))) for c in BASE_CHANNELS[arch]]
    sizes = list(channel_groups(net).values())
    if arch == "resnet12":  # three groups per block (conv1, conv2, stage), all of the stage's width
        assert sizes[0::3] == sizes[1::3] == sizes[2::3]
        sizes = sizes[2::3]
    assert sizes == expected
    assert net.head.in_features == expected[-1]
    assert net.width == width


def test_width_changes_parameter_count():
    small, big = build_model("vgg11", width=0.125), build_model("vgg11", width=0.25)
    n = lambda m: sum(p.numel() for p in m.parameters())
    assert 3 < n(big) / n(small) < 4.5  # convs scale ~quadratically in the width


@pytest.mark.parametrize("arch", ["vgg12", "", "VGG11"])
def test_build_model_rejects_unknown_arch(arch):
    with pytest.raises(ValueError, match="unknown architecture") as e:
        build_model(arch)
    assert "resnet12" in str(e.value) and "vgg11" in str(e.value)  # lists the choices


@pytest.mark.parametrize("width", [0, -0.5])
def test_build_model_rejects_non_positive_width(width):
    with pytest.raises(ValueError, match="width must be positive"):
        build_model("conv4", width=width)


@pytest.mark.parametrize("arch", CNNS)
def test_conv_specs_are_consistent_with_channel_groups(arch):
    net = build_model(arch, width=0.25)
    modules = dict(net.named_modules())
    groups = channel_groups(net)
    specs = net.conv_specs()
    all_convs = {n for n, m in net.named_modules() if isinstance(m, nn.Conv2d)}
    assert sorted(s.conv for s in specs) == sorted(all_convs)  # every conv, exactly once
    assert INPUT_GROUP not in groups
    for s in specs:
        conv, bn = modules[s.conv], modules[s.bn]
        assert isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)
        in_size = 3 if s.in_group == INPUT_GROUP else groups[s.in_group]
        assert conv.in_channels == in_size, s
        assert conv.out_channels == groups[s.out_group] == bn.num_features, s
    assert specs[0].in_group == INPUT_GROUP
    # the last group feeds the head
    assert groups[specs[-1].out_group] == net.head.in_features


@pytest.mark.parametrize("arch, n_convs", [("conv4", 4), ("vgg11", 8)])
def test_plain_chains_link_each_conv_to_the_next(arch, n_convs):
    specs = build_model(arch, width=0.25).conv_specs()
    assert len(specs) == n_convs
    for a, b in zip(specs, specs[1:]):
        assert b.in_group == a.out_group
    assert len({s.out_group for s in specs}) == n_convs  # each conv output its own group


def test_resnet_stage_output_is_shared_by_conv3_and_shortcut():
    net = build_model("resnet12", width=0.25)
    specs = {s.conv: s for s in net.conv_specs()}
    assert len(specs) == 16
    prev = INPUT_GROUP
    for b in range(4):
        p = f"body.{b}"
        conv3, short = specs[f"{p}.conv3"], specs[f"{p}.shortcut"]
        assert conv3.out_group == short.out_group
        assert short.in_group == specs[f"{p}.conv1"].in_group == prev
        assert specs[f"{p}.conv2"].in_group == specs[f"{p}.conv1"].out_group
        assert conv3.in_group == specs[f"{p}.conv2"].out_group
        assert conv3.out_group not in (specs[f"{p}.conv1"].out_group, specs[f"{p}.conv2"].out_group)
        prev = conv3.out_group
    assert len(channel_groups(net)) == 12  # conv1, conv2 and stage per block


def test_reset_head_gives_a_fresh_classifier_and_keeps_the_body():
    net = build_model("conv4", num_classes=5, width=0.25)
    body = {k: v.clone() for k, v in net.body.state_dict().items()}
    old_head = net.head
    torch.manual_seed(123)
    net.reset_head(9, seed=7)
    assert net.head is not old_head
    assert net.num_classes == 9 and net.description()["num_classes"] == 9
    assert net.head.out_features == 9 and net.head.in_features == old_head.in_features
    assert torch.all(net.head.bias == 0)
    assert 0 < net.head.weight.std() < 0.05  # small normal init
    assert net.eval()(torch.randn(2, 3, 32, 32)).shape == (2, 9)
    for k, v in net.body.state_dict().items():
        assert torch.equal(v, body[k])
    # the head depends on its seed alone, not on torch's global RNG
    torch.manual_seed(456)
    other = build_model("conv4", num_classes=5, width=0.25)
    other.reset_head(9, seed=7)
    assert torch.equal(other.head.weight, net.head.weight)
    other.reset_head(9, seed=8)
    assert not torch.equal(other.head.weight, net.head.weight)


def test_description_rebuilds_the_network():
    net = build_model("vgg11", num_classes=4, width=0.125)
    d = net.description()
    assert d == {"arch": "vgg11", "width": 0.125, "num_classes": 4}
    again = build_model(**{"arch": d["arch"], "num_classes": d["num_classes"], "width": d["width"]})
    assert [p.shape for p in again.parameters()] == [p.shape for p in net.parameters()]


def test_initialisation_is_the_documented_one():
    net = build_model("vgg11", width=0.125)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)
        if isinstance(m, nn.Linear):
            assert torch.all(m.bias == 0)


def test_seeded_model_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, b, c = seeded_model("conv4", 5, 0.25, 1), seeded_model("conv4", 5, 0.25, 1), seeded_model("conv4", 5, 0.25, 2)
    assert torch.equal(torch.get_rng_state(), before)
    for (k, va), vb, vc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(va, vb), k
    assert not torch.equal(a.body[0].weight, c.body[0].weight)


@pytest.mark.parametrize("arch, layers", [("vgg11", [1, 1, 2, 2, 2]), ("vgg13", [2, 2, 2, 2, 2]),
                                          ("vgg16", [2, 2, 3, 3, 3]), ("vgg19", [2, 2, 4, 4, 4]),
                                          ("conv4", [1, 1, 1, 1]), ("resnet12", [3, 3, 3, 3])])
def test_stages_cut_the_main_path_at_each_resolution(arch, layers):
    net = build_model(arch, width=0.25)
    stages = net.stages()
    assert [len(s.main) for s in stages] == layers
    main = [spec for s in stages for spec in s.main]
    shortcuts = [s.shortcut for s in stages if s.shortcut is not None]
    assert sorted(main + shortcuts, key=str) == sorted(net.conv_specs(), key=str)  # every conv once
    for a, b in zip(main, main[1:]):
        assert b.in_group == a.out_group  # one unbroken chain along the main path
    assert (len(shortcuts) == len(stages)) == (arch == "resnet12")
