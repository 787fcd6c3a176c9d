"""gtl.train: normalisation, augmentation and the training loop."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gtl.learngene import close_circuit, cross_masks, random_channels, seeded_model
from gtl.population import Runtime
from gtl.train import (MEAN, STD, TrainConfig, accuracy, augment, features, hold_circuits, normalize, scale_updates,
                       train)


def test_normalize_maps_uint8_to_standardised_float():
    images = torch.tensor([0, 255], dtype=torch.uint8).view(2, 1, 1, 1).expand(2, 3, 2, 2).contiguous()
    out = normalize(images)
    assert out.dtype == torch.float32 and out.shape == images.shape
    assert torch.allclose(out[0, :, 0, 0], -MEAN.flatten() / STD.flatten())
    assert torch.allclose(out[1, :, 0, 0], (1 - MEAN.flatten()) / STD.flatten())
    assert images.dtype == torch.uint8 and int(images.max()) == 255  # input untouched


def _position_coded(b=3, h=16, w=16):
    """Images whose every pixel value says where it is (distinct values everywhere)."""
    base = torch.arange(h * w, dtype=torch.float32).view(1, 1, h, w)
    return base.expand(b, 3, h, w) + 1000 * torch.arange(b * 3, dtype=torch.float32).view(b, 3, 1, 1)


def test_augment_keeps_shape_and_dtype():
    x = torch.randn(4, 3, 32, 32)
    out = augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.is_contiguous()


def test_augment_is_deterministic_for_a_generator_seed():
    x = torch.randn(8, 3, 32, 32)
    a = augment(x, torch.Generator().manual_seed(1))
    b = augment(x, torch.Generator().manual_seed(1))
    c = augment(x, torch.Generator().manual_seed(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, x)


def test_augment_outputs_are_flipped_crops_of_the_reflect_padded_image():
    x = _position_coded(b=6)
    out = augment(x, torch.Generator().manual_seed(3))
    pad = 16 // 8
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    flipped_any = False
    for i in range(len(x)):
        matches = [(dy, dx, flip)
                   for dy in range(2 * pad + 1) for dx in range(2 * pad + 1) for flip in (False, True)
                   if torch.equal(out[i], (lambda w: w.flip(-1) if flip else w)(padded[i, :, dy:dy + 16, dx:dx + 16]))]
        assert matches, f"image {i} is not a (flipped) crop"
        flipped_any |= any(f for _, _, f in matches)
    assert flipped_any  # with 6 images, at least one flip (probability 1 - 1/64)


def test_train_changes_weights_and_is_deterministic(mini_train):
    images, labels = mini_train.images[:20], torch.arange(20) % 5
    cfg = TrainConfig(steps=4, batch_size=8)
    a, b, c = (seeded_model("conv4", 5, 0.25, 0) for _ in range(3))
    init = {k: v.clone() for k, v in a.state_dict().items()}
    la = train(a, images, labels, cfg, seed=11)
    lb = train(b, images, labels, cfg, seed=11)
    lc = train(c, images, labels, cfg, seed=12)
    assert len(la) == 4 and la == lb and la != lc  # another seed: other batches, other losses
    assert all(isinstance(v, float) for v in la)
    assert not torch.equal(a.body[0].weight, init["body.0.weight"])
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k
    assert not torch.equal(a.body[0].weight, c.body[0].weight)  # another seed, other batches


@pytest.mark.slow
def test_train_learns_a_two_way_task_on_real_images(mini_train):
    pick = torch.cat([torch.nonzero(mini_train.labels == c).flatten()[:10] for c in (0, 1)])
    images, labels = mini_train.images[pick], (mini_train.labels[pick] == 1).long()
    net = seeded_model("conv4", 2, 0.25, 0)
    losses = train(net, images, labels, TrainConfig(steps=30, batch_size=10, lr=0.05, augment=False), seed=0)
    assert len(losses) == 30
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5
    assert accuracy(net, images, labels) >= 0.75  # eval-mode BN: running stats lag a little


def test_train_rejects_an_empty_set():
    with pytest.raises(ValueError, match="empty"):
        train(seeded_model("conv4", 2, 0.25, 0), torch.zeros(0, 3, 32, 32, dtype=torch.uint8),
              torch.zeros(0, dtype=torch.long), TrainConfig(steps=1), seed=0)


def test_train_with_a_batch_larger_than_the_data_uses_it_whole():
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    losses = train(seeded_model("conv4", 3, 0.25, 0), images, torch.arange(3), TrainConfig(steps=2, batch_size=64), 0)
    assert len(losses) == 2


def test_accuracy_and_features():
    net = seeded_model("conv4", 3, 0.25, 0)
    images = torch.randint(0, 256, (7, 3, 32, 32), dtype=torch.uint8)
    with torch.no_grad():
        predicted = net.eval()(normalize(images)).argmax(1)
    assert accuracy(net, images, predicted, batch_size=3) == 1.0
    assert accuracy(net, images, (predicted + 1) % 3, batch_size=3) == 0.0
    half = predicted.clone()
    half[:3] = (half[:3] + 1) % 3
    assert accuracy(net, images, half) == pytest.approx(4 / 7)
    f = features(net, images, batch_size=2)
    assert f.shape == (7, net.head.in_features)
    assert not net.training


def test_normalize_leaves_a_float_input_unchanged():
    x = torch.full((1, 3, 4, 4), 128.0)
    normalize(x)
    assert torch.all(x == 128.0)


@pytest.mark.parametrize("arch", ["vgg11", "resnet12"])
def test_a_closed_circuit_stays_closed_through_sgd_with_momentum_and_weight_decay(arch):
    net = seeded_model(arch, 5, 0.125, 0)
    masks = random_channels(net, 0.45, seed=1)
    close_circuit(net, masks)
    start = {k: v.clone() for k, v in net.state_dict().items()}
    images = torch.randint(0, 256, (10, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    cfg = TrainConfig(steps=4, batch_size=5, lr=0.05, momentum=0.9, weight_decay=5e-4)
    modules, cross = dict(net.named_modules()), cross_masks(net, masks)
    nonzero = []  # after every step, the cross-weights left nonzero
    train(net, images, torch.arange(10) % 5, cfg, seed=2,
          on_step=lambda k: nonzero.append(sum(int(torch.count_nonzero(modules[n].weight[c]))
                                               for n, c in cross.items())))
    assert nonzero == [0] * cfg.steps
    for name, c in cross.items():
        assert not torch.equal(modules[name].weight[~c], start[f"{name}.weight"][~c]), name  # the rest learns


def test_hold_circuits_leaves_an_open_network_alone():
    net = seeded_model("conv4", 5, 0.25, 0)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    hold_circuits(net)
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())


@pytest.mark.parametrize("factor", [0.0, 0.1])
def test_scaled_updates_move_only_the_masked_entries_that_much_less(mini_train, factor):
    """One SGD step from the same weights and batch: the masked entries move ``factor`` times the plain step,
    every other entry exactly the plain step (a per-entry learning rate, explanation 2 of decision #20)."""
    images, labels = mini_train.images[:20], torch.arange(20) % 5
    cfg = TrainConfig(steps=1, batch_size=8)
    plain, scaled = seeded_model("conv4", 5, 0.25, 0), seeded_model("conv4", 5, 0.25, 0)
    init = plain.body[0].weight.detach().clone()
    mask = torch.zeros_like(init, dtype=torch.bool)
    mask[: init.shape[0] // 2] = True
    scale_updates(scaled, {"body.0.weight": mask}, factor)
    train(plain, images, labels, cfg, seed=3, channels_last=False)
    train(scaled, images, labels, cfg, seed=3, channels_last=False)
    full, slow = plain.body[0].weight.detach() - init, scaled.body[0].weight.detach() - init
    assert full[mask].abs().max() > 0
    torch.testing.assert_close(slow[mask], factor * full[mask], rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(slow[~mask], full[~mask], rtol=1e-5, atol=1e-7)


def test_frozen_entries_stay_put_through_many_steps_and_such_networks_never_stack(mini_train):
    images, labels = mini_train.images[:20], torch.arange(20) % 5
    net = seeded_model("conv4", 5, 0.25, 0)
    init = net.body[0].weight.detach().clone()
    scale_updates(net, {"body.0.weight": torch.ones_like(init, dtype=torch.bool)}, 0.0)
    train(net, images, labels, TrainConfig(steps=5, batch_size=8), seed=0)
    assert torch.equal(net.body[0].weight.detach(), init)  # momentum and weight decay too
    assert not Runtime(mode="batched").stacks([net], "cpu")
    assert Runtime(mode="batched").stacks([seeded_model("conv4", 5, 0.25, 0)], "cpu")


def test_scaled_updates_are_sgd_with_momentum_and_weight_decay_at_a_per_entry_learning_rate(mini_train):
    """Three full-batch steps against SGD written out by hand, each entry at its own learning rate: the
    momentum buffer (weight decay included) does not depend on the learning rate, so scaling the step is exact."""
    images, labels = mini_train.images[:20], torch.arange(20) % 5
    cfg = TrainConfig(steps=3, batch_size=20, augment=False)
    net, ref = seeded_model("conv4", 5, 0.25, 0), seeded_model("conv4", 5, 0.25, 0)
    mask = torch.zeros_like(net.body[0].weight, dtype=torch.bool)
    mask[::2] = True
    train(scale_updates(net, {"body.0.weight": mask}, 0.1), images, labels, cfg, seed=0, channels_last=False)
    params = dict(ref.named_parameters())
    scale = {name: torch.where(mask, 0.1, 1.0) if name == "body.0.weight" else 1.0 for name in params}
    buffers: dict[str, torch.Tensor] = {}
    ref.train()
    for _ in range(cfg.steps):
        loss = F.cross_entropy(ref(normalize(images)), labels)
        grads = torch.autograd.grad(loss, list(params.values()))
        with torch.no_grad():
            for (name, p), g in zip(params.items(), grads):
                d = g + cfg.weight_decay * p
                buffers[name] = d if name not in buffers else cfg.momentum * buffers[name] + d
                p -= cfg.lr * scale[name] * buffers[name]
    for name, p in net.named_parameters():
        torch.testing.assert_close(p, params[name], rtol=1e-4, atol=1e-5, msg=name)
