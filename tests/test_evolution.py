"""gtl.evolution: genetic operators, the run's configuration, and (tiny) real runs."""
from __future__ import annotations

import dataclasses
import fcntl
import math
import os
from pathlib import Path
from dataclasses import asdict

import pandas as pd
import pytest
import torch

import gtl
import gtl.evolution as evo
from _helpers import tiny_config
from gtl.evolution import GTLConfig, config_from_dict, critic_protocol, default_run_dir, evolve, mutate, tournament
from gtl.evaluation import EvalConfig
from gtl.learngene import Learngene, cross_masks, extract
from gtl.population import LOOP, Runtime
from gtl.models import build_model, channel_groups
from gtl.train import TrainConfig

# ------------------------------------------------------------- tournament


def _groups(n: int, size: int, seed: int) -> list[list[int]]:
    """The documented grouping: shuffle with a generator of ``seed``, cut into groups of ``size``."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    return [order[i: i + size] for i in range(0, n, size)]


@pytest.mark.parametrize("n, size", [(12, 3), (10, 3), (7, 2), (5, 5), (4, 1)])
def test_tournament_each_winner_is_its_groups_best(n, size):
    for seed in range(5):
        fitness = torch.rand(n, generator=torch.Generator().manual_seed(100 + seed)).tolist()
        winners = tournament(fitness, size, seed)
        assert len(winners) == math.ceil(n / size)
        assert set(winners) == {max(g, key=lambda j: fitness[j]) for g in _groups(n, size, seed)}
        assert [fitness[w] for w in winners] == sorted((fitness[w] for w in winners), reverse=True)
        assert max(range(n), key=lambda j: fitness[j]) in winners  # the best always wins
        if n % size == 0 and size > 1:
            assert min(range(n), key=lambda j: fitness[j]) not in winners  # the worst never does


def test_tournament_is_deterministic_for_a_seed():
    fitness = torch.rand(30, generator=torch.Generator().manual_seed(0)).tolist()
    assert tournament(fitness, 3, seed=4) == tournament(fitness, 3, seed=4)
    assert len({tuple(sorted(tournament(fitness, 3, seed=s))) for s in range(8)}) > 1


def test_tournament_ties_go_to_the_lower_index():
    assert tournament([0.5, 0.9, 0.9, 0.1], size=4, seed=0) == [1]
    assert tournament([0.3] * 6, size=6, seed=9) == [0]
    # equal winners are listed by index
    fitness = [0.7] * 6
    winners = tournament(fitness, size=2, seed=1)
    assert winners == sorted(winners)
    assert set(winners) == {min(g) for g in _groups(6, 2, 1)}


def test_tournament_of_nobody_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        tournament([], 3, 0)


# --------------------------------------------------------------- mutation


def _parent(n_groups=6, n=20, members=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    masks, saliency = {}, {}
    for i in range(n_groups):
        saliency[f"g{i}"] = torch.randperm(n, generator=g).float()  # distinct saliencies
        mask = torch.zeros(n, dtype=torch.bool)
        mask[torch.randperm(n, generator=g)[:members]] = True
        masks[f"g{i}"] = mask
    return masks, saliency


def test_mutation_adds_the_most_salient_or_drops_the_least_salient():
    masks, saliency = _parent()
    kinds = set()
    for seed in range(10):
        child = mutate(masks, saliency, rate=1.0, step=0.1, min_fraction=0.1, max_fraction=0.9, seed=seed)
        for g, old in masks.items():
            new, s = child[g], saliency[g]
            change = int(new.sum()) - int(old.sum())
            assert change in (2, -2), (g, change)  # round(0.1 * 20) channels, every group mutates
            if change > 0:
                assert torch.all(new[old])  # nothing dropped
                outside = (~old).nonzero().flatten()
                best_outside = set(outside[s[outside].argsort(descending=True)[:2]].tolist())
                assert set((new & ~old).nonzero().flatten().tolist()) == best_outside
                kinds.add("grow")
            else:
                assert not torch.any(new[~old])  # nothing added
                inside = old.nonzero().flatten()
                worst_inside = set(inside[s[inside].argsort()[:2]].tolist())
                assert set((old & ~new).nonzero().flatten().tolist()) == worst_inside
                kinds.add("shrink")
    assert kinds == {"grow", "shrink"}


@pytest.mark.parametrize("step, n, k", [(0.1, 20, 2), (0.01, 20, 1), (0.25, 16, 4), (0.05, 64, 3), (0.1, 17, 2),
                                         (0.06, 64, 4)])
def test_mutation_changes_at_most_step_times_channels(step, n, k):
    masks, saliency = _parent(n=n, members=n // 2)
    for seed in range(6):
        child = mutate(masks, saliency, rate=0.7, step=step, min_fraction=0.05, max_fraction=0.95, seed=seed)
        for g in masks:
            changed = int((child[g] != masks[g]).sum())
            assert changed in (0, k)


def test_mutation_respects_the_channel_fraction_bounds():
    n, lo, hi = 20, 4, 10  # round(0.2 * 20), round(0.5 * 20)
    for members in (lo, lo + 1, hi - 1, hi):
        masks, saliency = _parent(n=n, members=members, seed=members)
        sizes = set()
        for seed in range(12):
            child = mutate(masks, saliency, rate=1.0, step=0.15, min_fraction=0.2, max_fraction=0.5, seed=seed)
            for g in masks:
                size = int(child[g].sum())
                assert lo <= size <= hi, (members, size)
                assert abs(size - members) <= 3
                sizes.add(size)
        if members == hi:
            assert max(sizes) == hi and min(sizes) == hi - 3  # grows are blocked, drops are not
        if members == lo + 1:
            assert lo in sizes  # a drop of 3 stops at the bound


def test_mutation_rate_zero_changes_nothing_and_inputs_are_not_modified():
    masks, saliency = _parent()
    copy = {g: m.clone() for g, m in masks.items()}
    same = mutate(masks, saliency, rate=0.0, step=0.5, min_fraction=0.1, max_fraction=0.9, seed=3)
    assert all(torch.equal(same[g], masks[g]) for g in masks)
    mutate(masks, saliency, rate=1.0, step=0.5, min_fraction=0.1, max_fraction=0.9, seed=3)
    assert all(torch.equal(copy[g], masks[g]) for g in masks)


def test_mutation_is_deterministic_per_seed():
    masks, saliency = _parent()
    run = lambda seed: mutate(masks, saliency, rate=0.5, step=0.1, min_fraction=0.1, max_fraction=0.9, seed=seed)
    a, b = run(5), run(5)
    assert all(torch.equal(a[g], b[g]) for g in masks)
    assert any(not torch.equal(a[g], run(s)[g]) for s in range(6, 10) for g in masks)


# ------------------------------------------------------------------ config


def test_quick_and_paper_profiles():
    q = GTLConfig.quick()
    assert (q.image_size, q.width, q.population, q.generations) == (32, 0.25, 12, 6)
    assert q.arch == "vgg11" and q.lifetime.steps == 100
    assert GTLConfig.quick(population=5, arch="resnet12").population == 5
    p = GTLConfig.paper()
    assert (p.image_size, p.width, p.population, p.generations) == (84, 1.0, 50, 30)
    assert GTLConfig.paper(dataset="cifar-fs").image_size == 32
    assert GTLConfig.paper(dataset="cifar-fs", image_size=40).image_size == 40
    assert GTLConfig.from_profile("quick", seed=4) == GTLConfig.quick(seed=4)
    assert GTLConfig.from_profile("paper", arch="resnet12") == GTLConfig.paper(arch="resnet12")
    for cfg in (q, p):
        cfg.validate()


@pytest.mark.parametrize("profile", ["fast", "Paper", ""])
def test_unknown_profile_is_an_error(profile):
    with pytest.raises(ValueError, match="profile must be"):
        GTLConfig.from_profile(profile)


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1 if isinstance(value, int) else value * 0.5 + 0.01
    if isinstance(value, str):
        return "host" if value == "critic" else value + "x"
    if isinstance(value, TrainConfig):
        return dataclasses.replace(value, steps=value.steps + 1)
    raise TypeError(value)


def test_key_changes_with_every_setting():
    base = GTLConfig.quick()
    assert base.key() == GTLConfig.quick().key() and len(base.key()) == 10
    keys = {base.key()}
    for f in dataclasses.fields(base):
        keys.add(dataclasses.replace(base, **{f.name: _changed(getattr(base, f.name))}).key())
    keys.add(dataclasses.replace(base, critic=dataclasses.replace(base.critic, augment=False)).key())
    keys.add(dataclasses.replace(base, lifetime=dataclasses.replace(base.lifetime, lr=0.02)).key())
    assert len(keys) == len(dataclasses.fields(base)) + 3


def test_config_round_trips_through_a_dict():
    cfg = GTLConfig.quick(seed=7, lifetime=TrainConfig(steps=3, batch_size=2, augment=False))
    again = config_from_dict(asdict(cfg))
    assert again == cfg and again.key() == cfg.key()
    assert isinstance(again.lifetime, TrainConfig) and isinstance(again.critic, TrainConfig)


@pytest.mark.parametrize("overrides, message", [
    (dict(population=2, tournament_size=3), "population"),
    (dict(tournament_size=0), "tournament"),
    (dict(fitness="accuracy"), "fitness"),
    (dict(min_channel_fraction=0.0), "min_channel_fraction"),
    (dict(min_channel_fraction=0.5, initial_channel_fraction=0.45), "min_channel_fraction"),
    (dict(max_channel_fraction=0.4), "max_channel_fraction"),
    (dict(max_channel_fraction=1.2), "max_channel_fraction"),
    (dict(target_fraction=5), "target_fraction must be in \\(0, 1\\), got 5"),
    (dict(ways=1), "ways must be >= 2"),
    (dict(mutation_rate=-1), "mutation_rate must be in \\[0, 1\\], got -1"),
    (dict(image_size=0), "image_size must be >= 8 pixels, got 0"),
    (dict(generations=0), "generations must be >= 1, got 0"),
    (dict(critic_tasks=0), "critic_tasks"),
    (dict(cross_scale=1.5), "cross_scale must be in \\[0, 1\\], got 1.5"),
    (dict(cross_scale=-0.5), "cross_scale must be in \\[0, 1\\], got -0.5"),
    (dict(arch="vit", closed_circuit=True), "apply to CNN learngenes"),
    (dict(arch="vit", cross_scale=0.0), "apply to CNN learngenes"),
])
def test_bad_settings_fail_when_the_config_is_built(overrides, message):
    with pytest.raises(ValueError, match=message):
        GTLConfig.quick(**overrides)


@pytest.mark.parametrize("build, message", [
    (lambda: TrainConfig(batch_size=0), "TrainConfig: batch_size must be >= 1, got 0"),
    (lambda: TrainConfig(steps=-1, lr=0), "steps must be >= 0, got -1; lr must be > 0, got 0"),
    (lambda: EvalConfig(episodes=0), "EvalConfig: episodes must be >= 1, got 0"),
    (lambda: EvalConfig.quick(ways=1), "ways must be >= 2"),
])
def test_train_and_eval_configs_fail_when_built(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_evolve_validates_before_touching_anything(tmp_path):
    with pytest.raises(ValueError, match="fitness"):
        evolve(tiny_config(fitness="nope"), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_critic_protocol_follows_the_config():
    cfg = tiny_config(critic_tasks=3, critic_shots=2, critic_queries=4)
    p = critic_protocol(cfg)
    assert (p.ways, p.shots, p.queries, p.episodes) == (cfg.ways, 2, 4, 3)
    assert p.finetune == cfg.critic


def test_default_run_dir_is_under_gtl_runs_and_named_by_settings_and_data(tmp_path, monkeypatch):
    monkeypatch.setenv("GTL_RUNS", str(tmp_path))
    cfg = tiny_config()
    run_dir = default_run_dir(cfg, "quick", "data-a")
    assert run_dir.parent == tmp_path and run_dir.name.startswith("miniimagenet-conv4-quick-")
    assert default_run_dir(cfg, "quick", "data-a") == run_dir
    assert default_run_dir(cfg, "quick", "data-b") != run_dir
    assert default_run_dir(dataclasses.replace(cfg, seed=cfg.seed + 1), "quick", "data-a") != run_dir


# ------------------------------------------------------------ real runs
# On the shared miniImageNet at 32 px with Conv4 at a quarter width: seconds.


CFG = tiny_config()


@pytest.fixture(scope="module")
def finished_run(data_root, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run-a")
    return evolve(CFG, run_dir, data_root=data_root, device="cpu", progress=False)


@pytest.mark.slow
def test_evolve_writes_its_log_checkpoint_and_learngene(finished_run):
    run_dir = finished_run.run_dir
    assert {p.name for p in run_dir.iterdir()} == {"generations.csv", "checkpoint.pt", "learngene.pt", "champions",
                                                   "members", ".lock"}
    assert sorted(p.name for p in (run_dir / "members" / "generation-001").iterdir()) == \
        [f"member-{i:03d}.pt" for i in range(CFG.population)]
    assert sorted(p.name for p in (run_dir / "champions").iterdir()) == \
        [f"generation-{g:03d}.pt" for g in range(finished_run.config.generations)]
    log = pd.read_csv(run_dir / "generations.csv")
    assert len(log) == CFG.population * CFG.generations
    assert log.groupby("generation")["member"].apply(sorted).tolist() == [list(range(CFG.population))] * 2
    assert (log.groupby("generation")["winner"].sum() == math.ceil(CFG.population / CFG.tournament_size)).all()
    assert (log.loc[log.generation == 0, "parent"] == -1).all()
    gen0_winners = set(log.loc[(log.generation == 0) & log.winner, "member"])
    assert set(log.loc[log.generation == 1, "parent"]) <= gen0_winners
    assert log.critic_accuracy.between(0, 1).all() and log.host_accuracy.between(0, 1).all()
    penalty = CFG.size_penalty * (log.learngene_fraction - CFG.target_fraction).abs()
    assert (log.fitness - (log.critic_accuracy - penalty)).abs().max() < 1e-9
    assert all(len(c.split()) == CFG.ways for c in log.classes)
    pd.testing.assert_frame_equal(log, finished_run.history, check_dtype=False)


@pytest.mark.slow
def test_the_best_learngene_is_saved_and_within_bounds(finished_run):
    best = finished_run.best
    saved = Learngene.load(finished_run.run_dir / "learngene.pt")
    assert saved.meta == best.meta
    assert all(torch.equal(saved.weights[k], best.weights[k]) for k in best.weights)
    assert (best.arch, best.width) == (CFG.arch, CFG.width)
    assert best.meta["config_key"] == CFG.key() and best.meta["image_size"] == 32
    assert (best.meta["cross_scale"], best.meta["closed_circuit"]) == (CFG.cross_scale, CFG.closed_circuit)
    assert len(best.meta["data_fingerprint"]) >= 10 and best.meta["gtl_version"] == gtl.__version__
    assert best.meta["fitness"] == pytest.approx(finished_run.history.fitness.max())
    groups = channel_groups(build_model(CFG.arch, width=CFG.width))
    assert best.masks.keys() == groups.keys()
    for g, n in groups.items():
        kept = int(best.masks[g].sum())
        assert max(1, round(CFG.min_channel_fraction * n)) <= kept <= max(1, round(CFG.max_channel_fraction * n))
    assert 0.05 < best.fraction < 0.6


@pytest.mark.slow
def test_a_finished_run_is_returned_from_its_folder(finished_run, monkeypatch):
    monkeypatch.setattr(evo, "live", lambda *a, **k: pytest.fail("a finished run was trained again"))
    again = evolve(CFG, finished_run.run_dir, progress=False)  # its data is only loaded to check its fingerprint
    assert again.best.meta == finished_run.best.meta
    pd.testing.assert_frame_equal(again.history, finished_run.history)


@pytest.mark.slow
def test_a_resumed_run_equals_an_uninterrupted_one(finished_run, data_root, tmp_path, monkeypatch):
    class Interrupted(Exception):
        pass

    save = evo._save_checkpoint

    def save_then_die(path, cfg, gen, *args):
        save(path, cfg, gen, *args)
        if gen == 0:
            raise Interrupted
    monkeypatch.setattr(evo, "_save_checkpoint", save_then_die)
    with pytest.raises(Interrupted):
        evolve(CFG, tmp_path, data_root=data_root, device="cpu", progress=False)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["generation"] == 0
    monkeypatch.setattr(evo, "_save_checkpoint", save)

    lives = []
    live = evo.live
    monkeypatch.setattr(evo, "live", lambda env, gen, i, *rest: lives.append(gen) or live(env, gen, i, *rest))
    resumed = evolve(CFG, tmp_path, data_root=data_root, device="cpu", progress=False)
    assert lives == [1] * CFG.population  # only the missing generation was run

    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "generations.csv"),
                                  pd.read_csv(finished_run.run_dir / "generations.csv"))
    a, b = Learngene.load(finished_run.run_dir / "learngene.pt"), Learngene.load(tmp_path / "learngene.pt")
    assert all(torch.equal(a.masks[g], b.masks[g]) for g in a.masks)
    assert a.weights.keys() == b.weights.keys()
    assert all(torch.equal(a.weights[k], b.weights[k]) for k in a.weights)
    assert resumed.best.meta["fitness"] == finished_run.best.meta["fitness"]


@pytest.mark.slow
def test_an_interrupted_generation_resumes_from_its_next_member(finished_run, data_root, tmp_path, monkeypatch):
    class Interrupted(Exception):
        pass

    save, lived = evo._save_lived, []

    def save_then_die(path, cfg, made, m):
        save(path, cfg, made, m)
        lived.append((m.generation, m.index))
        if (m.generation, m.index) == (1, 1):
            raise Interrupted
    monkeypatch.setattr(evo, "_save_lived", save_then_die)
    with pytest.raises(Interrupted):
        evolve(CFG, tmp_path, data_root=data_root, device="cpu", progress=False)
    assert sorted(p.name for p in (tmp_path / "lived" / "generation-001").iterdir()) == ["member-000.pt",
                                                                                          "member-001.pt"]
    monkeypatch.setattr(evo, "_save_lived", save)

    lives = []
    live = evo.live
    monkeypatch.setattr(evo, "live", lambda env, gen, i, *rest: lives.append((gen, i)) or live(env, gen, i, *rest))
    evolve(CFG, tmp_path, data_root=data_root, device="cpu", progress=False)
    assert lives[:CFG.population - 2] == [(1, i) for i in range(2, CFG.population)]  # the rest of generation 1
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "generations.csv"),
                                  pd.read_csv(finished_run.run_dir / "generations.csv"))
    a, b = Learngene.load(finished_run.run_dir / "learngene.pt"), Learngene.load(tmp_path / "learngene.pt")
    assert all(torch.equal(a.weights[k], b.weights[k]) for k in a.weights)
    assert not (tmp_path / "lived").exists()


def test_a_lived_member_of_other_settings_data_or_precision_lives_again(tmp_path):
    m = evo.Member(0, 3, -1, {}, Learngene("vgg11", 0.25, {}, {}, {}), {}, {}, 0.5, 0.4, 0.3, [1, 2])
    path = evo.lived_path(tmp_path, 0, 3)
    evo._save_lived(path, CFG, ("data-a", "fp32", "1"), m)
    assert evo._load_lived(path, CFG, ("data-a", "fp32", "1")).fitness == 0.3
    assert evo._load_lived(path, CFG, ("data-b", "fp32", "1")) is None
    assert evo._load_lived(path, CFG, ("data-a", "bf16", "1")) is None
    assert evo._load_lived(path, CFG, ("data-a", "fp32", "2")) is None  # another thread count: it lives again
    assert evo._load_lived(path, dataclasses.replace(CFG, seed=CFG.seed + 1), ("data-a", "fp32", "1")) is None
    path.write_bytes(path.read_bytes()[:50])
    assert evo._load_lived(path, CFG, ("data-a", "fp32")) is None


@pytest.mark.slow
def test_a_checkpoint_of_another_precision_is_refused(finished_run):
    with pytest.raises(ValueError, match="trained in fp32, this run would train in bf16") as e:
        evolve(CFG, finished_run.run_dir, progress=False, runtime=Runtime(mode="loop", cpu_bf16=True))
    assert "--fresh" in str(e.value)


@pytest.mark.slow
def test_a_checkpoint_of_another_config_is_refused(finished_run):
    other = dataclasses.replace(CFG, seed=CFG.seed + 1)
    with pytest.raises(ValueError, match="resume") as e:
        evolve(other, finished_run.run_dir, progress=False)
    assert "fresh" in str(e.value) and other.key() in str(e.value) and CFG.key() in str(e.value)


def test_a_damaged_checkpoint_is_a_clear_error_and_a_live_run_folder_is_refused(finished_run, tmp_path):
    run_dir = tmp_path / "copy"
    run_dir.mkdir()
    (run_dir / "checkpoint.pt").write_bytes((finished_run.run_dir / "checkpoint.pt").read_bytes()[:100])
    with pytest.raises(ValueError, match="truncated or damaged") as e:
        evolve(CFG, run_dir, progress=False)
    assert "fresh" in str(e.value)
    holder = os.open(run_dir / ".lock", os.O_CREAT | os.O_WRONLY)  # another evolve holds the folder
    fcntl.flock(holder, fcntl.LOCK_EX)
    with pytest.raises(evo.RunLockedError, match="another process"):
        evolve(CFG, run_dir, progress=False)
    os.close(holder)  # it ended (however it ended, the system releases its lock): the folder is free again
    with pytest.raises(ValueError, match="truncated or damaged"):
        evolve(CFG, run_dir, progress=False)
    free = os.open(run_dir / ".lock", os.O_WRONLY)  # released: anyone can take it now
    fcntl.flock(free, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(free)


@pytest.mark.slow
@pytest.mark.parametrize("runtime", [LOOP, Runtime(mode="batched")], ids=["loop", "batched"])
def test_a_closed_circuit_evolution_keeps_its_members_circuits_closed(runtime, data_root, tmp_path, monkeypatch):
    """closed_circuit=True: from generation 1 on, every member ends its lifetime with its learngene's
    cross-weights at exactly 0; generation 0 has no learngene at birth and lives open."""
    cfg = GTLConfig.smoke(closed_circuit=True, cross_scale=0.0)
    lived = []  # (generation, nonzero cross-weights after the lifetime)
    mature = evo.mature

    def counting(env, generation, index, parent, net, masks, task):
        member = mature(env, generation, index, parent, net, masks, task)
        modules = dict(net.named_modules())
        lived.append((generation, sum(int(torch.count_nonzero(modules[n].weight[c]))
                                      for n, c in cross_masks(net, member.masks).items())))
        return member
    monkeypatch.setattr(evo, "mature", counting)
    result = evolve(cfg, tmp_path, data_root=data_root, device="cpu", progress=False, runtime=runtime)
    assert sorted(g for g, _ in lived) == [0] * cfg.population + [1] * cfg.population
    assert all(n > 0 for g, n in lived if g == 0) and all(n == 0 for g, n in lived if g >= 1)
    assert result.history.fitness.notna().all() and result.best.stats


def test_a_run_folder_without_locks_is_an_error_not_a_wait(tmp_path, monkeypatch):
    """A file system without locks (some network disks) refuses flock with another error than a held
    lock: that is a ValueError naming the folder (gtl.experiments.run_evolution would otherwise wait
    for a holder that does not exist)."""
    import errno

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")
    monkeypatch.setattr(evo.fcntl, "flock", no_locks)
    with pytest.raises(ValueError, match="cannot lock .*local disk"):
        with evo._run_lock(tmp_path):
            pass


@pytest.mark.slow
def test_a_run_goes_on_only_with_the_cpu_threads_it_was_trained_with(finished_run, data_root, tmp_path,
                                                                       monkeypatch):
    class Interrupted(Exception):
        pass

    save = evo._save_checkpoint

    def save_then_die(path, cfg, gen, *args):
        save(path, cfg, gen, *args)
        raise Interrupted
    monkeypatch.setattr(evo, "_save_checkpoint", save_then_die)
    before = torch.get_num_threads()
    with pytest.raises(Interrupted):
        evolve(CFG, tmp_path, data_root=data_root, device="cpu", progress=False)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["threads"] == before
    assert evo.unfinished_threads(tmp_path, CFG) == before  # what a command not told --threads resumes with
    assert evo.unfinished_threads(finished_run.run_dir, CFG) is None
    assert evo.unfinished_threads(tmp_path / "nothing-here", CFG) is None
    monkeypatch.setattr(evo, "_save_checkpoint", save)
    torch.set_num_threads(before + 1)
    try:
        with pytest.raises(ValueError, match=f"trained with {before} CPU thread.*go on with {before + 1}"):
            evolve(CFG, tmp_path, data_root=data_root, device="cpu", progress=False)
        monkeypatch.setattr(evo, "live", lambda *a, **k: pytest.fail("a finished run was trained again"))
        again = evolve(CFG, finished_run.run_dir, data_root=data_root, device="cpu", progress=False)
        assert again.best.meta == finished_run.best.meta  # a finished run is read with any count
    finally:
        torch.set_num_threads(before)


@pytest.mark.slow
def test_a_disk_that_fills_at_the_last_generations_outputs_is_made_good_by_the_resume(finished_run, data_root,
                                                                                      tmp_path, monkeypatch):
    from gtl.paths import DiskFullError
    save = Learngene.save

    def full_at_the_end(self, path):
        if Path(path).name == "learngene.pt" and self.meta.get("generation") is not None and \
                len(list((tmp_path / "champions").glob("*.pt"))) == CFG.generations:
            raise DiskFullError(28, "no space left")
        save(self, path)
    monkeypatch.setattr(Learngene, "save", full_at_the_end)
    with pytest.raises(DiskFullError):
        evolve(CFG, tmp_path, data_root=data_root, device="cpu", progress=False)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["generation"] == CFG.generations - 2
    monkeypatch.setattr(Learngene, "save", save)
    evolve(CFG, tmp_path, data_root=data_root, device="cpu", progress=False)  # the last generation, again
    a, b = Learngene.load(finished_run.run_dir / "learngene.pt"), Learngene.load(tmp_path / "learngene.pt")
    assert a.meta["generation"] == b.meta["generation"]
    assert all(torch.equal(a.weights[k], b.weights[k]) for k in a.weights)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "generations.csv"),
                                  pd.read_csv(finished_run.run_dir / "generations.csv"))


# ------------------------------------------------ selection done more carefully (decision #20, explanation 5)


def _scored(monkeypatch, cfg: GTLConfig, accuracy: float, generation: int = 1, index: int = 0,
            parents=()) -> "evo.Member":
    """A member scored by :func:`gtl.evolution.score` with a critic accuracy of ``accuracy`` (no training);
    the seed the critics' episodes were drawn from is kept in ``seeds``."""
    seeds = []

    def fake(makers, val_set, protocol, seed, *rest, **kw):
        seeds.append(seed)
        return [[[accuracy]] for _ in makers]
    monkeypatch.setattr(evo, "episode_accuracies", fake)
    net = build_model(cfg.arch, 5, cfg.width)
    groups = channel_groups(net)
    masks = {g: torch.arange(n) < n // 2 for g, n in groups.items()}
    member = evo.Member(generation, index, 0 if parents else -1, masks, extract(net, masks), {}, {}, 0.5)
    env = type("Env", (), {"cfg": cfg, "val_set": None, "device": "cpu"})()
    evo.score(env, [member], parents=list(parents))
    member.critic_seed = seeds[0]
    return member


def test_ancestral_credit_mixes_the_parents_score_into_the_fitness(monkeypatch):
    beta = math.exp(-1)
    cfg = tiny_config(ancestral_credit=beta, size_penalty=0.0)
    parent = _scored(monkeypatch, cfg, 0.9, generation=0)
    assert parent.fitness == pytest.approx(0.9)  # generation 0 has no parent: its own fitness
    child = _scored(monkeypatch, cfg, 0.3, parents=[parent])
    assert child.fitness == pytest.approx((1 - beta) * 0.3 + beta * 0.9)
    plain = _scored(monkeypatch, tiny_config(size_penalty=0.0), 0.3, parents=[parent])
    assert plain.fitness == pytest.approx(0.3)  # off in every preset


def test_fresh_critics_meet_new_episodes_every_generation_and_plain_ones_the_same(monkeypatch):
    fresh = tiny_config(critic_fresh=True)
    seeds = [_scored(monkeypatch, fresh, 0.5, generation=g).critic_seed for g in (0, 1, 2)]
    assert len(set(seeds)) == 3
    plain = [_scored(monkeypatch, tiny_config(), 0.5, generation=g).critic_seed for g in (0, 1, 2)]
    assert plain == [tiny_config().seed] * 3


def test_ancestral_credit_of_1_would_never_look_at_a_member_and_is_refused():
    with pytest.raises(ValueError, match="ancestral_credit"):
        tiny_config(ancestral_credit=1.0)
