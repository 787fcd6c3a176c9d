"""gtl.evaluation (the episode protocol) and gtl.baselines (what descendants meet); statistics:
tests/test_stats.py."""
from __future__ import annotations

import pytest
import torch

from _helpers import indexed_dataset
from gtl.baselines import (
    from_layers,
    from_learngene,
    from_pretrained,
    last_layers,
    pre_cut,
    pretrain,
    pretrained_params,
    random_like,
    scratch,
)
from gtl.evaluation import (
    EvalConfig,
    FewShotResult,
    activation_maps,
    calibrate_bn,
    curve_on_task,
    episode_accuracies,
    evaluate,
    finetune_on_task,
    instinct_on_task,
)
from gtl.learngene import channel_saliency, extract, random_channels, seeded_model
from gtl.stats import mean_ci95
from gtl.tasks import TaskSampler
from gtl.train import TrainConfig, accuracy, normalize

TINY = EvalConfig(ways=5, shots=1, queries=3, episodes=3, finetune=TrainConfig(steps=3, batch_size=5),
                  pretrain=TrainConfig(steps=2, batch_size=16))


def test_eval_config_profiles():
    quick, paper = EvalConfig.from_profile("quick"), EvalConfig.from_profile("paper")
    assert quick.episodes == 60 and quick.finetune.steps == 50
    assert paper.episodes == 600 and paper.queries == 15 and paper.ways == 5
    assert EvalConfig.from_profile("quick", shots=1, episodes=7).shots == 1
    assert EvalConfig.from_profile("quick", episodes=7).episodes == 7
    assert EvalConfig.quick().pretrain.steps < EvalConfig.paper().pretrain.steps


def test_heur_lg_protocol_is_the_learngene_groups_longer_fine_tuning():
    cfg = EvalConfig.heur_lg()
    assert (cfg.ways, cfg.shots, cfg.queries, cfg.episodes) == (5, 20, 15, 600)
    ft = cfg.finetune
    assert (ft.lr, ft.momentum, ft.weight_decay, ft.batch_size) == (0.005, 0.9, 5e-4, 32)
    assert 95 <= ft.steps * ft.batch_size / (cfg.ways * cfg.shots) <= 105  # about 100 epochs of the support set
    assert EvalConfig.heur_lg(episodes=60).episodes == 60


@pytest.mark.parametrize("profile", ["fast", "", "Quick"])
def test_eval_config_rejects_unknown_profiles(profile):
    with pytest.raises(ValueError, match="profile must be"):
        EvalConfig.from_profile(profile)


@pytest.mark.slow
def test_evaluate_on_real_images(mini_test):
    torch.manual_seed(0)
    a = evaluate(scratch("conv4", 0.25), mini_test, TINY, seed=5, method="Scratch", progress=False)
    torch.manual_seed(1)  # another global RNG state: results depend on the seed argument alone
    b = evaluate(scratch("conv4", 0.25), mini_test, TINY, seed=5, method="Scratch", progress=False)
    assert isinstance(a, FewShotResult)
    assert a.episodes == len(a.accuracies) == 3
    assert all(0 <= x <= 1 for x in a.accuracies)
    # each accuracy is a count of correct queries out of ways * queries
    assert all(abs(x * 15 - round(x * 15)) < 1e-9 for x in a.accuracies)
    assert a.accuracies == b.accuracies and a.mean == b.mean and a.ci95 == b.ci95
    assert (a.mean, a.ci95) == pytest.approx(mean_ci95(a.accuracies))
    assert (a.ways, a.shots, a.seed, a.method) == (5, 1, 5, "Scratch")
    assert "accuracies" not in a.row() and a.row()["mean"] == a.mean
    assert str(a).startswith("Scratch: ") and "5-way 1-shot" in str(a)


def test_evaluate_uses_the_same_episodes_and_models_for_a_seed():
    ds = indexed_dataset([8] * 6, size=32)
    built: list[list[int]] = [[], []]

    def recorder(k):
        def make(s):
            built[k].append(s)
            return seeded_model("conv4", 5, 0.25, s)
        return make

    cfg = EvalConfig(ways=3, shots=1, queries=2, episodes=4, finetune=TrainConfig(steps=1, batch_size=3))
    evaluate(recorder(0), ds, cfg, seed=1, method="a", progress=False)
    evaluate(recorder(1), ds, cfg, seed=1, method="b", progress=False)
    assert built[0] == built[1] and len(set(built[0])) == 4  # one fresh seeded model per episode
    other: list[int] = []
    evaluate(lambda s: other.append(s) or seeded_model("conv4", 5, 0.25, s), ds, cfg, seed=2, method="c",
             progress=False)
    assert other != built[0]


def test_evaluate_does_not_depend_on_the_global_torch_rng():
    ds = indexed_dataset([8] * 6, size=32)
    cfg = EvalConfig(ways=3, shots=1, queries=2, episodes=2, finetune=TrainConfig(steps=2, batch_size=3))
    heads = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        models = []
        evaluate(lambda s: models.append(seeded_model("conv4", 5, 0.25, s)) or models[-1], ds, cfg, seed=0,
                 method="x", progress=False)
        heads.append([m.head.weight.detach().clone() for m in models])
    assert all(torch.equal(a, b) for a, b in zip(*heads))


def test_finetune_on_task_gives_a_fresh_head_for_the_task():
    ds = indexed_dataset([6] * 4, size=32)
    task = TaskSampler(ds, ways=3, shots=2, queries=2).sample(0)
    net = seeded_model("conv4", 64, 0.25, 0)
    acc = finetune_on_task(net, task, TrainConfig(steps=2, batch_size=6), seed=0)
    assert net.head.out_features == 3 and 0 <= acc <= 1
    assert acc * 6 == pytest.approx(round(acc * 6))


def _trained_source():
    net = seeded_model("conv4", 64, 0.25, 0)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)  # unlike any fresh network
        net.body[1].running_mean.fill_(0.3)
    return net


def test_from_pretrained_copies_every_weight_but_the_head():
    source = _trained_source()
    make = from_pretrained(source)
    with torch.no_grad():
        source.body[0].weight.zero_()  # a snapshot: later changes to the source do not leak
    a, b = make(1), make(2)
    for name, value in a.state_dict().items():
        if not name.startswith("head."):
            assert torch.equal(value, b.state_dict()[name]), name
    assert torch.all(a.body[0].weight != 0)
    assert torch.all(a.body[1].running_mean == 0.3)
    assert torch.equal(a.body[4].weight, source.body[4].weight)
    # the protocol replaces the head before fine-tuning: nothing of the source's head survives
    a.reset_head(5, seed=0)
    assert a.head.out_features == 5 and torch.all(a.head.bias == 0)
    a.body[4].weight.data.zero_()
    assert not torch.equal(make(1).body[4].weight, a.body[4].weight)  # each call is a new network


def test_pretrained_params_excludes_the_head():
    net = seeded_model("vgg11", 64, 0.125, 0)
    body = sum(p.numel() for n, p in net.named_parameters() if not n.startswith("head."))
    assert pretrained_params(net) == body
    assert pretrained_params(net) == sum(p.numel() for p in net.body.parameters())


def test_scratch_and_learngene_makers():
    a, b = scratch("conv4", 0.25)(3), scratch("conv4", 0.25)(3)
    assert torch.equal(a.body[0].weight, b.body[0].weight)
    assert not torch.equal(a.body[0].weight, scratch("conv4", 0.25)(4).body[0].weight)
    source = _trained_source()
    masks = random_channels(source, 0.5, 0)
    lg = extract(source, masks)
    d = from_learngene(lg)(3)
    m = masks["body.0"]
    assert torch.equal(d.body[0].weight[m], source.body[0].weight[m])
    assert torch.equal(d.body[0].weight[~m], a.body[0].weight[~m])


def test_pretrain_trains_on_all_classes():
    ds = indexed_dataset([4] * 6, size=32)
    net = pretrain("conv4", 0.25, ds, TrainConfig(steps=2, batch_size=8), seed=0)
    assert net.num_classes == 6
    fresh = seeded_model("conv4", 6, 0.25, 0)
    assert not torch.equal(net.body[0].weight, fresh.body[0].weight)


def test_pretraining_follows_the_runtimes_precision_and_memory_format(monkeypatch):
    """Pre-Fin's ancestor trains at the precision every other network here trains at
    (bf16 on CUDA unless --fp32; on a CPU with --cpu-bf16), not silently in fp32."""
    import gtl.baselines
    from gtl.population import LOOP, Runtime
    seen, real = [], gtl.baselines.train
    monkeypatch.setattr(gtl.baselines, "train",
                        lambda *a, **k: seen.append((k["bf16"], k["channels_last"])) or real(*a, **k))
    ds, cfg = indexed_dataset([4] * 6, size=32), TrainConfig(steps=1, batch_size=8)
    pretrain("conv4", 0.25, ds, cfg, seed=0)
    pretrain("conv4", 0.25, ds, cfg, seed=0, runtime=Runtime(mode="loop", bf16=False, channels_last=False))
    pretrain("conv4", 0.25, ds, cfg, seed=0, runtime=Runtime(mode="loop", cpu_bf16=True))
    assert seen == [(False, LOOP.channels_last), (False, False), (True, True)]


# ------------------------------------------------ instincts and the other baselines


def test_calibrate_bn_sets_the_statistics_of_the_images_and_nothing_else():
    net = seeded_model("conv4", 5, 0.25, 0)
    before = {k: v.clone() for k, v in net.named_parameters()}
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    calibrate_bn(net, images)
    first = net.body[1]
    x = net.body[0](normalize(images))
    torch.testing.assert_close(first.running_mean, x.mean((0, 2, 3)))
    torch.testing.assert_close(first.running_var, x.var((0, 2, 3), unbiased=True))
    assert all(torch.equal(p, before[k]) for k, p in net.named_parameters())
    assert not net.training


def test_instinct_is_nearest_class_mean_without_learning():
    ds = indexed_dataset([6] * 5, size=32)
    task = TaskSampler(ds, 5, 2, 3).sample(0)
    net = seeded_model("conv4", 5, 0.25, 0)
    before = [p.clone() for p in net.parameters()]
    acc = instinct_on_task(net, task)
    # the class is written into every pixel of channel 1: the features separate the classes
    assert acc == 1.0
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert instinct_on_task(seeded_model("conv4", 5, 0.25, 0), task) == acc  # deterministic


def test_evaluate_with_instinct_scoring_trains_nothing(monkeypatch):
    monkeypatch.setattr("gtl.evaluation.train", lambda *a, **k: pytest.fail("instincts must not train"))
    ds = indexed_dataset([6] * 5, size=32)
    r = evaluate(lambda s: seeded_model("conv4", 5, 0.25, s), ds, EvalConfig(ways=5, shots=1, queries=2, episodes=2),
                 seed=0, method="Scratch", progress=False, score=instinct_on_task)
    assert r.episodes == 2 and 0 <= r.mean <= 1


def test_random_like_keeps_the_size_of_every_group_but_not_the_channels():
    net = seeded_model("vgg11", 5, 0.25, 0)
    lg = extract(net, random_channels(net, 0.45, 0))
    other = random_like(lg, net, seed=1)
    assert {g: int(m.sum()) for g, m in other.masks.items()} == {g: int(m.sum()) for g, m in lg.masks.items()}
    assert other.num_params == lg.num_params
    assert any(not torch.equal(other.masks[g], lg.masks[g]) for g in lg.masks)


def test_pre_cut_keeps_each_groups_size_and_takes_the_most_salient_channels():
    net = seeded_model("vgg11", 5, 0.25, 0)
    with torch.no_grad():  # distinct |gamma| so the ranking is unambiguous
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(torch.randperm(m.num_features).float() + 1)
    lg = extract(net, random_channels(net, 0.45, 0))
    cut = pre_cut(lg, net)
    saliency = channel_saliency(net)
    for g, m in cut.masks.items():
        k = int(lg.masks[g].sum())
        assert int(m.sum()) == k
        assert saliency[g][m].min() > saliency[g][~m].max()  # exactly the top-k by |gamma|
    assert cut.num_params == lg.num_params and cut.meta["method"] == "Pre-Cut"


def test_layer_lg_takes_whole_top_layers_closest_to_the_budget():
    net = seeded_model("vgg11", 5, 0.25, 0)
    specs = net.conv_specs()
    modules = dict(net.named_modules())
    size = {s.conv: sum(p.numel() for n in (s.conv, s.bn) for p in modules[n].parameters()) for s in specs}
    last, second = specs[-1].conv, specs[-2].conv
    assert last_layers(net, 10) == [last]                                   # at least one layer
    assert last_layers(net, size[last] + size[second]) == [last, second]
    make, params = from_layers(net, size[last] + size[second])
    assert params == size[last] + size[second]
    child, fresh = make(3), seeded_model("vgg11", 5, 0.25, 3)
    for name, p in child.state_dict().items():
        ref = net.state_dict()[name] if name.startswith((f"{last}.", f"{second}.", f"{specs[-1].bn}.",
                                                         f"{specs[-2].bn}.")) else fresh.state_dict()[name]
        assert torch.equal(p, ref), name


def test_activation_maps_have_one_map_per_image():
    net = seeded_model("vgg11", 5, 0.25, 0)
    maps = activation_maps(net, torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8))
    assert maps.shape == (3, 8, 8) and (maps >= 0).all()


def test_a_learning_curve_ends_where_finetuning_ends():
    ds = indexed_dataset([8] * 6, size=32)
    cfg = EvalConfig(ways=3, shots=2, queries=2, episodes=2, finetune=TrainConfig(steps=4, batch_size=4))
    make = lambda s: seeded_model("conv4", 5, 0.25, s)  # noqa: E731
    curve = episode_accuracies([make], ds, cfg, seed=1, at=(0, 2, 4), progress=False)[0]
    assert [len(c) for c in curve] == [3, 3]  # per episode: the accuracy at each of the three steps
    plain = evaluate(make, ds, cfg, seed=1, method="x", progress=False)
    assert [c[-1] for c in curve] == pytest.approx(plain.accuracies)  # one training run, read at 4 steps


def test_a_curve_read_with_support_statistics_trains_the_same_and_reads_a_calibrated_copy(mini_train):
    task = TaskSampler(mini_train, 5, 3, 4).sample(1)
    cfg, at = TrainConfig(steps=4, batch_size=10), (0, 2, 4)
    plain, support = seeded_model("conv4", 5, 0.25, 0), seeded_model("conv4", 5, 0.25, 0)
    running = curve_on_task(plain, task, cfg, 7, at)
    calibrated = curve_on_task(support, task, cfg, 7, at, support_statistics=True)
    for (name, a), b in zip(plain.state_dict().items(), support.state_dict().values()):
        assert torch.equal(a, b), name  # the same training, running statistics included
    reader = seeded_model("conv4", 5, 0.25, 0)
    reader.load_state_dict(support.state_dict())
    calibrate_bn(reader, task.support_x)
    assert calibrated[-1] == accuracy(reader, task.query_x, task.query_y)
    assert running[-1] == accuracy(plain, task.query_x, task.query_y)
