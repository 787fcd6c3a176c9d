"""Learngenes beyond CNNs: a small ViT whose units are token channels, attention heads and MLP channels."""
from __future__ import annotations

import pytest
import torch

from _helpers import tiny_config
from gtl import evolution as evo
from gtl.evolution import mutate
from gtl.inherit import build
from gtl.learngene import (IncompatibleLearngeneError, build_descendant, channel_saliency, extract, param_masks,
                           random_channels, seeded_model, top_channels)
from gtl.models import ViT, build_model, channel_groups
from gtl.population import LOOP, Runtime, batchable, stack, train_population
from gtl.train import TrainConfig


@pytest.mark.parametrize("size", [32, 84])
@pytest.mark.parametrize("width", [0.25, 1.0])
def test_a_vit_maps_images_to_logits(size, width):
    net = build_model("vit", num_classes=7, width=width)
    assert net(torch.randn(2, 3, size, size)).shape == (2, 7)
    groups = channel_groups(net)
    heads = max(1, round(8 * width))
    assert groups[ViT.TOKENS] == 16 * heads and groups["blocks.0.heads"] == heads
    assert len(groups) == 1 + 2 * ViT.DEPTH


def test_all_units_kept_is_every_parameter_but_the_head():
    net = build_model("vit", width=0.25)
    everything = {g: torch.ones(n, dtype=torch.bool) for g, n in channel_groups(net).items()}
    lg = extract(net, everything)
    assert lg.num_params == sum(p.numel() for n, p in net.named_parameters() if not n.startswith("head."))
    assert set(param_masks(net, everything)) == {n for n, _ in net.named_parameters() if not n.startswith("head.")}


def test_a_dropped_head_takes_exactly_its_weights_out():
    net = build_model("vit", width=0.25)  # 2 heads of 16 dims
    masks = {g: torch.ones(n, dtype=torch.bool) for g, n in channel_groups(net).items()}
    masks["blocks.1.heads"] = torch.tensor([True, False])
    pm = param_masks(net, masks)
    qkv = pm["blocks.1.attn.qkv.weight"]  # rows: q (32), k (32), v (32); head 1 owns rows 16:32 of each
    for part in range(3):
        assert qkv[32 * part: 32 * part + 16].all() and not qkv[32 * part + 16: 32 * part + 32].any()
    assert pm["blocks.1.attn.proj.weight"][:, :16].all() and not pm["blocks.1.attn.proj.weight"][:, 16:].any()
    assert pm["blocks.0.attn.qkv.weight"].all()  # other blocks untouched


def test_a_dropped_token_channel_leaves_every_weight_that_reads_or_writes_it():
    net = build_model("vit", width=0.25)
    masks = {g: torch.ones(n, dtype=torch.bool) for g, n in channel_groups(net).items()}
    masks[ViT.TOKENS][3] = False
    pm = param_masks(net, masks)
    assert not pm["patch.weight"][3].any() and not pm["pos"][..., 3].any()
    assert not pm["blocks.0.fc1.weight"][:, 3].any() and not pm["blocks.0.fc2.weight"][3].any()
    assert not pm["blocks.2.attn.qkv.weight"][:, 3].any() and not pm["blocks.2.attn.proj.weight"][3].any()


def test_45_percent_of_the_units_is_about_20_percent_of_the_parameters():
    net = build_model("vit", width=0.5)
    lg = extract(net, top_channels(channel_saliency(net), 0.45))
    assert 0.15 < lg.fraction < 0.3


def test_a_vit_descendant_inherits_exactly_the_learngene():
    source = seeded_model("vit", 5, 0.25, 1)
    with torch.no_grad():
        for p in source.parameters():
            p.add_(1.0)  # away from any fresh initialisation
    masks = random_channels(source, 0.5, seed=2)
    lg = extract(source, masks)
    child, fresh = build_descendant(lg, 5, seed=3), seeded_model("vit", 5, 0.25, 3)
    pm = param_masks(child, masks)
    src, new, init = dict(source.named_parameters()), dict(child.named_parameters()), dict(fresh.named_parameters())
    for name, p in new.items():
        m = pm.get(name, torch.zeros_like(p, dtype=torch.bool))
        assert torch.equal(p[m], src[name][m]), name
        assert torch.equal(p[~m], init[name][~m]), name


def test_saliency_and_mutation_work_on_vit_units():
    net = build_model("vit", width=0.5)
    sal = channel_saliency(net)
    assert {g: len(s) for g, s in sal.items()} == channel_groups(net)
    masks = top_channels(sal, 0.5)
    child = mutate(masks, sal, rate=1.0, step=0.25, min_fraction=0.1, max_fraction=0.9, seed=0)
    assert any(not torch.equal(masks[g], child[g]) for g in masks)


def test_a_vit_is_trained_one_by_one_and_says_why_it_cannot_be_stacked():
    nets = [seeded_model("vit", 5, 0.25, s) for s in range(2)]
    assert not batchable(nets[0]) and batchable(build_model("conv4"))
    with pytest.raises(TypeError, match="cannot train ViT batched"):
        stack(nets)
    images = [torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)] * 2
    labels = [torch.arange(6) % 5] * 2
    auto = train_population(nets, images, labels, TrainConfig(steps=1, batch_size=6), [0, 1],
                            Runtime(mode="auto"))
    loop = train_population([seeded_model("vit", 5, 0.25, s) for s in range(2)], images, labels,
                            TrainConfig(steps=1, batch_size=6), [0, 1], LOOP)
    assert auto == loop


def test_vit_learngenes_do_not_go_into_cnns_nor_back():
    vit = build_model("vit", width=0.25)
    lg = extract(vit, top_channels(channel_saliency(vit), 0.5))
    with pytest.raises(IncompatibleLearngeneError, match="between CNNs"):
        build(lg, "vgg11", 0.25, 5, seed=0)
    cnn = build_model("vgg11", width=0.25)
    with pytest.raises(IncompatibleLearngeneError, match="between CNNs"):
        build(extract(cnn, top_channels(channel_saliency(cnn), 0.5)), "vit", 0.25, 5, seed=0)
    assert build(lg, "vit", 0.25, 5, seed=0).arch == "vit"  # the same ViT: plain inheritance


def test_complete_circuit_settings_say_they_are_for_cnn_learngenes():
    vit = build_model("vit", width=0.25)
    lg = extract(vit, top_channels(channel_saliency(vit), 0.5))
    assert build(lg, "vit", 0.25, 5, seed=0, cross_scale=1.0).arch == "vit"  # the default works
    with pytest.raises(IncompatibleLearngeneError, match="apply to CNN learngenes"):
        build(lg, "vit", 0.25, 5, seed=0, cross_scale=0.5)
    with pytest.raises(ValueError, match="apply to CNN learngenes"):
        tiny_config(arch="vit", width=0.25, closed_circuit=True)


@pytest.mark.slow
def test_gtl_evolves_a_vit_learngene(data_root, tmp_path):
    result = evo.evolve(tiny_config(arch="vit", width=0.25), tmp_path, data_root, "cpu", progress=False)
    assert result.best.arch == "vit" and 0 < result.best.fraction < 1
    assert len(result.history) == 6 and result.history.fitness.notna().all()
