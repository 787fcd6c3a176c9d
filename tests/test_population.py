"""Batched population training (gtl.population) against the reference loop (gtl.train)."""
from __future__ import annotations

import copy
import itertools

import pytest
import torch
from torch import nn

from _helpers import indexed_dataset, tiny_config
from gtl import evolution as evo
from gtl.baselines import scratch
from gtl.evaluation import EvalConfig, episode_accuracies, finetune_many
from gtl.evolution import GTLConfig, default_run_dir
from gtl.learngene import close_circuit, cross_masks, random_channels, seeded_model
from gtl.models import build_model
from gtl.population import (LOOP, Runtime, stack, stacked_accuracy, stacked_input, train_population, unstack)
from gtl.tasks import TaskSampler
from gtl.train import TrainConfig, accuracy, batch_plan, train

BATCHED = Runtime(mode="batched")
ARCHS = [("conv4", 0.25), ("vgg11", 0.125), ("resnet12", 0.125)]


def population(arch, width, n=3, classes=5):
    return [seeded_model(arch, classes, width, seed) for seed in range(n)]


def uint8_images(n, seed, side=32):
    return torch.randint(0, 256, (n, 3, side, side), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def assert_same_weights(a: nn.Module, b: nn.Module, atol=1e-5):
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        if x.dtype.is_floating_point:
            torch.testing.assert_close(x, y, atol=atol, rtol=1e-4, msg=lambda m: f"{k}: {m}")
        else:
            assert torch.equal(x, y), k


@pytest.mark.parametrize("arch, width", ARCHS)
def test_a_stacked_network_computes_each_member(arch, width):
    models = population(arch, width)
    stacked = stack(models)
    x = [normalised for normalised in torch.randn(3, 4, 3, 32, 32)]
    for mode in ("train", "eval"):
        for m in [*models, stacked]:
            m.train(mode == "train")
        out = stacked(stacked_input(x)).reshape(4, 3, -1)
        for p, m in enumerate(models):
            torch.testing.assert_close(out[:, p], m(x[p]), atol=1e-5, rtol=1e-4)


def test_unstack_of_stack_gives_the_members_back():
    models = population("resnet12", 0.125)
    before = [copy.deepcopy(m) for m in models]
    stacked = stack(models)
    for m in models:  # scribble over the members; unstack must restore every weight and statistic
        for t in m.state_dict().values():
            t.zero_() if t.dtype.is_floating_point else None
    unstack(stacked, models)
    for a, b in zip(before, models):
        assert_same_weights(a, b, atol=0)


@pytest.mark.parametrize("arch, width", ARCHS)
@pytest.mark.parametrize("augment", [True, False])
def test_batched_training_equals_the_loop(arch, width, augment):
    cfg = TrainConfig(steps=3, batch_size=8, augment=augment)
    images = [uint8_images(12, s) for s in range(3)]
    labels = [torch.arange(12) % 5 for _ in range(3)]
    seeds = [11, 12, 13]
    loop, batched = population(arch, width), population(arch, width)
    loop_losses = [train(m, x, y, cfg, s) for m, x, y, s in zip(loop, images, labels, seeds)]
    batched_losses = train_population(batched, images, labels, cfg, seeds, BATCHED)
    torch.testing.assert_close(torch.tensor(batched_losses), torch.tensor(loop_losses), atol=1e-4, rtol=1e-4)
    for a, b in zip(loop, batched):
        assert_same_weights(a, b)  # weights, BN running statistics and num_batches_tracked


@pytest.mark.parametrize("arch, width", ARCHS)
def test_batched_training_holds_closed_circuits_as_the_loop_does(arch, width):
    """Members 0 and 2 live with closed learngene circuits (each its own), member 1 open:
    the stacked network holds each member's cross-weights at 0, as the loop does."""
    cfg = TrainConfig(steps=3, batch_size=8, momentum=0.9, weight_decay=5e-4)
    images = [uint8_images(12, s) for s in range(3)]
    labels = [torch.arange(12) % 5 for _ in range(3)]
    masks = {p: random_channels(build_model(arch, 5, width), 0.45, seed=p) for p in (0, 2)}
    loop, batched = population(arch, width), population(arch, width)
    for models in (loop, batched):
        for p, m in masks.items():
            close_circuit(models[p], m)
    for m, x, y, s in zip(loop, images, labels, [11, 12, 13]):
        train(m, x, y, cfg, s)
    train_population(batched, images, labels, cfg, [11, 12, 13], Runtime(mode="batched", chunk=2))
    for a, b in zip(loop, batched):
        assert_same_weights(a, b)
    for p, models in itertools.product(range(3), (loop, batched)):
        modules = dict(models[p].named_modules())
        crosses = cross_masks(models[p], masks.get(p, masks[0]))
        zeros = [int(torch.count_nonzero(modules[n].weight[c])) == 0 for n, c in crosses.items()]
        assert all(zeros) if p in masks else not any(zeros), p  # the open member's stay random


def test_chunks_and_the_loop_runtime_give_the_same_members():
    cfg = TrainConfig(steps=2, batch_size=6)
    images = [uint8_images(6, s) for s in range(5)]
    labels = [torch.arange(6) % 5 for _ in range(5)]
    whole, chunked, looped = (population("conv4", 0.25, 5) for _ in range(3))
    train_population(whole, images, labels, cfg, list(range(5)), BATCHED)
    train_population(chunked, images, labels, cfg, list(range(5)), Runtime(mode="batched", chunk=2))
    train_population(looped, images, labels, cfg, list(range(5)), LOOP)
    for a, b, c in zip(whole, chunked, looped):
        assert_same_weights(a, b)
        assert_same_weights(a, c)


def test_stacked_accuracy_is_each_members_accuracy():
    models = population("conv4", 0.25, 4)
    images = [uint8_images(30, s) for s in range(4)]
    labels = [torch.randint(0, 5, (30,), generator=torch.Generator().manual_seed(s)) for s in range(4)]
    got = stacked_accuracy(stack(models), images, labels, batch_size=7)
    assert got == [accuracy(m, x, y) for m, x, y in zip(models, images, labels)]


def test_batch_plan_is_the_batches_train_draws():
    plan = batch_plan(10, TrainConfig(steps=4, batch_size=4), seed=1, side=32)
    assert plan.idx.shape == (4, 4) and plan.dx.shape == (4, 4)
    for row in plan.idx[:2]:  # each pass over the images is a permutation: no repeats within a pass
        assert len(set(row.tolist())) == 4
    assert len(set(plan.idx[:2].flatten().tolist())) == 8  # the first pass (10 images) holds both batches
    assert int(plan.dx.max()) <= 8 and int(plan.dx.min()) >= 0  # padding 4 at 32 px
    again = batch_plan(10, TrainConfig(steps=4, batch_size=4), seed=1, side=32)
    assert torch.equal(plan.idx, again.idx) and torch.equal(plan.flip, again.flip)
    assert batch_plan(10, TrainConfig(steps=4, augment=False), seed=1, side=32).dx is None
    with pytest.raises(ValueError, match="empty"):
        batch_plan(0, TrainConfig(), seed=1, side=32)


def test_runtime_auto_batches_on_cuda_only_and_checks_its_settings():
    assert Runtime().batched_on("cuda") and Runtime().batched_on("cuda:1")
    assert not Runtime().batched_on("cpu")  # the benchmark: batching is no faster on a CPU
    assert Runtime(mode="batched").batched_on("cpu") and not LOOP.batched_on("cuda")
    with pytest.raises(ValueError, match="runtime mode"):
        Runtime(mode="fast")
    with pytest.raises(ValueError, match="chunk"):
        Runtime(chunk=0)


def test_the_loop_and_the_batched_path_train_at_the_runtimes_precision(monkeypatch):
    """The benchmark's ratio means something only if both paths run at one precision:
    the loop gets the runtime's bf16 (as it applies on this device) and memory format too."""
    import gtl.population as population_module
    seen = []
    real = population_module.train
    monkeypatch.setattr(population_module, "train",
                        lambda *a, **k: seen.append((k["bf16"], k["channels_last"])) or real(*a, **k))
    args = (population("conv4", 0.25, 2), [uint8_images(6, 0)] * 2, [torch.zeros(6, dtype=torch.long)] * 2,
            TrainConfig(steps=1, batch_size=6), [0, 1])
    train_population(*args, Runtime(mode="loop", bf16=False, channels_last=False))
    train_population(*args, LOOP)
    train_population(*args, Runtime(mode="loop", cpu_bf16=True))
    assert seen == [(False, False)] * 2 + [(False, True)] * 2 + [(True, True)] * 2


def test_bf16_on_a_cpu_only_when_asked_and_the_precision_names_the_run(monkeypatch):
    assert Runtime().precision("cuda") == "bf16" and Runtime().precision("cpu") == "fp32"
    assert Runtime(cpu_bf16=True).precision("cpu") == "bf16"
    monkeypatch.setenv("GTL_CPU_BF16", "1")  # how the notebooks (which build no Runtime) are asked
    assert Runtime().precision("cpu") == "bf16"
    monkeypatch.setenv("GTL_CPU_BF16", "0")
    assert Runtime().precision("cpu") == "fp32"
    assert Runtime(bf16=False, cpu_bf16=True).precision("cpu") == "fp32"  # --fp32 wins
    assert Runtime(bf16=False).precision("cuda:0") == "fp32"
    cfg = GTLConfig.smoke()
    assert default_run_dir(cfg, "quick", "data") == default_run_dir(cfg, "quick", "data", "fp32")
    assert default_run_dir(cfg, "quick", "data", "bf16") != default_run_dir(cfg, "quick", "data")


def test_cpu_bf16_training_stays_close_to_fp32(mini_train):
    """bf16 autocast on a CPU really runs (other losses than fp32) and stays close to fp32
    (docs/decisions.md #19 measures how close at the quick profile's size)."""
    x, y = mini_train.images[:40], mini_train.labels[:40] % 5
    cfg = TrainConfig(steps=20, batch_size=10)
    half, full = population("conv4", 0.25, 1)[0], population("conv4", 0.25, 1)[0]
    lh, lf = train(half, x, y, cfg, 3, bf16=True), train(full, x, y, cfg, 3, bf16=False)
    assert lh != lf
    assert max(abs(a - b) for a, b in zip(lh, lf)) < 0.05
    a, b = (torch.cat([w.detach().flatten() for w in net.parameters()]) for net in (half, full))
    assert ((a - b).norm() / b.norm()).item() < 0.02  # the weights, taken together


def test_the_cudnn_autotuner_is_set_for_a_cuda_run_and_restored_after():
    before = torch.backends.cudnn.benchmark
    try:
        torch.backends.cudnn.benchmark = False
        with Runtime().backend("cuda"):
            assert torch.backends.cudnn.benchmark
        with pytest.raises(RuntimeError), Runtime().backend("cuda:0"):
            raise RuntimeError("a failing run")
        assert torch.backends.cudnn.benchmark is False
        with Runtime().backend("cpu"):
            assert torch.backends.cudnn.benchmark is False  # nothing to tune on a CPU
        torch.backends.cudnn.benchmark = True
        with Runtime(cudnn_benchmark=False).backend("cuda"):
            assert not torch.backends.cudnn.benchmark
        assert torch.backends.cudnn.benchmark
    finally:
        torch.backends.cudnn.benchmark = before


def test_a_network_that_cannot_be_stacked_says_so():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Dropout(0.5), nn.Flatten(), nn.LazyLinear(2))
    with pytest.raises(TypeError, match=r"Dropout.*Runtime\(mode='loop'\)"):
        stack([net, copy.deepcopy(net)])
    with pytest.raises(ValueError, match="one architecture"):
        stack([build_model("conv4", 5, 0.25), build_model("conv4", 5, 0.5)])


def test_members_with_different_numbers_of_images_are_refused():
    with pytest.raises(ValueError, match="same number of images"):
        train_population(population("conv4", 0.25, 2), [uint8_images(6, 0), uint8_images(7, 1)],
                         [torch.zeros(6, dtype=torch.long), torch.zeros(7, dtype=torch.long)],
                         TrainConfig(steps=1), [0, 1], BATCHED)


def test_on_step_sees_the_stacked_network_after_every_step():
    seen = []
    train_population(population("conv4", 0.25, 2), [uint8_images(6, 0)] * 2, [torch.zeros(6, dtype=torch.long)] * 2,
                     TrainConfig(steps=3, batch_size=6), [0, 1], BATCHED,
                     on_step=lambda k, net: seen.append((k, net.training, type(net.head).__name__)))
    assert seen == [(k, True, "StackedLinear") for k in (1, 2, 3)]


# ------------------------------------------------- fine-tuning and critics


@pytest.fixture
def episodes_set():
    return indexed_dataset([12] * 6, size=32)


def test_batched_fine_tuning_and_curves_equal_the_loop(episodes_set):
    sampler = TaskSampler(episodes_set, 5, 2, 3)
    tasks = [sampler.sample(s) for s in range(4)]
    cfg = TrainConfig(steps=4, batch_size=10)
    for at in (None, (0, 2, 4)):
        loop = finetune_many(population("conv4", 0.25, 4), tasks, cfg, [5, 6, 7, 8], LOOP, at)
        batched = finetune_many(population("conv4", 0.25, 4), tasks, cfg, [5, 6, 7, 8],
                                Runtime(mode="batched", chunk=3), at)
        assert batched == loop and len(loop[0]) == (1 if at is None else 3)


def test_episode_accuracies_give_every_maker_the_same_episodes(episodes_set):
    cfg = EvalConfig(ways=5, shots=1, queries=3, episodes=3, finetune=TrainConfig(steps=2, batch_size=5))
    makers = [scratch("conv4", 0.25), scratch("conv4", 0.5)]
    loop = episode_accuracies(makers, episodes_set, cfg, seed=4, runtime=LOOP)
    batched = episode_accuracies(makers, episodes_set, cfg, seed=4, runtime=Runtime(mode="batched", chunk=2))
    assert loop == batched and [len(a) for a in loop] == [3, 3]
    curve = episode_accuracies(makers[:1], episodes_set, cfg, seed=4, runtime=BATCHED, at=(0, 2))[0]
    assert [c[-1] for c in curve] == pytest.approx([a[0] for a in loop[0]])


def test_fine_tuning_one_by_one_follows_the_runtime_too(episodes_set, monkeypatch):
    from gtl import evaluation
    seen = []
    real = evaluation.train
    monkeypatch.setattr(evaluation, "train",
                        lambda *a, **k: seen.append((k["bf16"], k["channels_last"])) or real(*a, **k))
    cfg = EvalConfig(ways=5, shots=1, queries=3, episodes=2, finetune=TrainConfig(steps=1, batch_size=5))
    episode_accuracies([scratch("conv4", 0.25)], episodes_set, cfg, seed=4,
                       runtime=Runtime(mode="loop", bf16=False, channels_last=False))
    episode_accuracies([scratch("conv4", 0.25)], episodes_set, cfg, seed=4, at=(0, 1),
                       runtime=Runtime(mode="loop", bf16=False, channels_last=False))
    assert seen == [(False, False)] * 4


@pytest.mark.slow
def test_a_batched_evolution_equals_the_loop(data_root, tmp_path):
    cfg = tiny_config(population=4, tournament_size=2)
    loop = evo.evolve(cfg, tmp_path / "loop", data_root, "cpu", progress=False, runtime=LOOP)
    batched = evo.evolve(cfg, tmp_path / "batched", data_root, "cpu", progress=False, runtime=BATCHED)
    a, b = loop.history, batched.history
    assert a.winner.tolist() == b.winner.tolist() and a.parent.tolist() == b.parent.tolist()
    assert a.learngene_params.tolist() == b.learngene_params.tolist()
    for column in ("fitness", "critic_accuracy", "host_accuracy"):
        assert a[column].tolist() == pytest.approx(b[column].tolist(), abs=1e-6)
    assert all(torch.equal(loop.best.masks[g], batched.best.masks[g]) for g in loop.best.masks)
    for k in loop.best.weights:
        torch.testing.assert_close(loop.best.weights[k], batched.best.weights[k], atol=1e-4, rtol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU: checks that no step waits for the host")
def test_a_batched_cuda_step_never_syncs_with_the_host():
    models = [m.cuda() for m in population("vgg11", 0.125, 4)]
    images = [uint8_images(16, s).cuda() for s in range(4)]
    labels = [(torch.arange(16) % 5).cuda() for _ in range(4)]
    cfg = TrainConfig(steps=3, batch_size=8)
    train_population(models, images, labels, cfg, [0, 1, 2, 3], BATCHED)  # warm-up: cuDNN, caches
    seen = []

    def strict(step, net):
        seen.append(step)  # steps 2 and 3 run under "error": any synchronising call in them raises
        torch.cuda.set_sync_debug_mode("error" if step < cfg.steps else "default")
    try:
        train_population(models, images, labels, cfg, [0, 1, 2, 3], BATCHED, on_step=strict)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert seen == [1, 2, 3]


@pytest.mark.slow
def test_a_compiled_stacked_network_trains_like_the_plain_one():
    """torch.compile (optional, meant for GPUs) must not change what is learnt. ~30 s on a CPU."""
    cfg = TrainConfig(steps=2, batch_size=5)
    images, labels = [uint8_images(10, s) for s in range(2)], [torch.arange(10) % 5] * 2
    plain, compiled = population("conv4", 0.25, 2), population("conv4", 0.25, 2)
    train_population(plain, images, labels, cfg, [0, 1], BATCHED)
    train_population(compiled, images, labels, cfg, [0, 1], Runtime(mode="batched", compile=True))
    for a, b in zip(plain, compiled):
        assert_same_weights(a, b, atol=1e-4)


@pytest.mark.parametrize("load, expected", [(0.0, "all"), (1.2, "all but one"), (64.0, 1)])
def test_free_cpu_threads_leaves_the_busy_cpus_to_their_processes(monkeypatch, load, expected):
    from gtl import population
    monkeypatch.setattr(population.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(population.os, "sched_getaffinity", lambda pid: set(range(4)))
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)  # one process: a torchrun rank shares (the next test)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(4)
        want = {"all": 4, "all but one": 3}.get(expected, expected)
        assert population.free_cpu_threads() == want
        torch.set_num_threads(2)  # never more than torch's own count
        assert population.free_cpu_threads() == min(want, 2)
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("ranks, load, expected", [(1, 0.0, 8), (2, 0.0, 4), (3, 0.0, 2), (2, 2.0, 3), (16, 0.0, 1)])
def test_torchrun_ranks_on_one_machine_share_its_free_cpus(monkeypatch, ranks, load, expected):
    """Ranks start together and see the same load: each takes its share, not all of it (8 threads each on
    8 CPUs would put 16 threads on 8 cores)."""
    from gtl import population
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(ranks))
    monkeypatch.setattr(population.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(population.os, "sched_getaffinity", lambda pid: set(range(8)))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(8)
        assert population.free_cpu_threads() == expected
    finally:
        torch.set_num_threads(before)
