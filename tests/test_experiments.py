"""gtl.experiments: the cached experiments behind the notebooks, on tiny settings."""
from __future__ import annotations

import pandas as pd
import pytest

import gtl.experiments as ex
import gtl.methods as methods
from _helpers import tiny_config
from gtl.evolution import EvolutionResult
from gtl.evaluation import EvalConfig
from gtl.learngene import extract, random_channels, seeded_model
from gtl.paths import runs_dir
from gtl.stats import paired_difference, summarize
from gtl.train import TrainConfig

EVAL = EvalConfig(ways=5, shots=1, queries=2, episodes=2, finetune=TrainConfig(steps=2, batch_size=5),
                  pretrain=TrainConfig(steps=2, batch_size=32))


def study(data_root=None, **fields) -> ex.Study:
    """The tiny config's study, on the CPU, without progress bars."""
    return ex.Study(**{"profile": "quick", "arch": "conv4", "seed": 3, "data_root": data_root, "device": "cpu",
                       **fields})


@pytest.fixture
def result(tmp_path, monkeypatch):
    """A finished run without running it: a learngene of the tiny config's network."""
    monkeypatch.setenv("GTL_RUNS", str(tmp_path / "runs"))
    cfg = tiny_config()
    net = seeded_model(cfg.arch, cfg.ways, cfg.width, 0)
    lg = extract(net, random_channels(net, 0.45, 0), dataset=cfg.dataset, image_size=cfg.image_size)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    return EvolutionResult(cfg, lg, pd.DataFrame(), run_dir)


def test_unknown_methods_are_refused(result):
    with pytest.raises(ValueError, match="unknown methods"):
        ex.compare_methods(study(), result, EVAL, methods=("Learngene", "MAML"))


@pytest.mark.slow
def test_compare_methods_tabulates_and_caches(result, data_root, monkeypatch):
    df = ex.compare_methods(study(data_root), result, EVAL, split="test", shots=(1, 2))
    assert list(zip(df.method, df.shots)) == [(m, k) for k in (1, 2) for m in ("Learngene", "Scratch", "Pre-Fin")]
    assert df.setting.tolist()[:3] == ["5-way 1-shot"] * 3 and (df.episodes == 2).all()
    assert df["mean"].between(0, 1).all()
    params = dict(zip(df.method, df.params_transferred))
    assert params["Scratch"] == 0 and params["Learngene"] == result.best.num_params
    assert params["Learngene"] < params["Pre-Fin"]  # Pre-Fin transfers the whole body
    assert (df.params_fraction == df.params_transferred / result.best.meta["total_params"]).all()
    lg = df[(df.method == "Learngene") & (df.shots == 1)].iloc[0]
    episodes = ex.method_episodes(study(data_root), result, EVAL, split="test", shots=(1, 2))
    acc = {m: r.sort_values("episode").accuracy.tolist() for m, r in episodes[episodes.shots == 1].groupby("method")}
    assert (lg["diff"], lg.diff_ci95) == pytest.approx(paired_difference(acc["Learngene"], acc["Scratch"]),
                                                       nan_ok=True)
    cached = list(result.run_dir.glob("episodes-test-*.csv"))
    assert len(cached) == 1
    pre = list((runs_dir() / "pretrained").glob("miniimagenet-conv4-*.pt"))
    assert len(pre) == 1  # the Pre-Fin ancestor is cached under $GTL_RUNS

    monkeypatch.setattr(methods, "evaluate", lambda *a, **k: pytest.fail("evaluated again despite the cache"))
    again = ex.compare_methods(study(data_root), result, EVAL, split="test", shots=(1, 2))
    pd.testing.assert_frame_equal(again, df, check_dtype=False)


@pytest.mark.slow
def test_reference_lines_use_the_critic_protocol(result, data_root, monkeypatch):
    seen = []
    evaluate = methods.evaluate

    def spy(make, test_set, cfg, *args, **kwargs):
        seen.append((test_set.name, cfg))
        return evaluate(make, test_set, cfg, *args, **kwargs)
    monkeypatch.setattr(methods, "evaluate", spy)
    lines = ex.reference_lines(study(data_root), result, EVAL)
    assert [line["label"] for line in lines] == ["Scratch", "Pre-Fin"]
    assert all(0 <= line["accuracy"] <= 1 for line in lines)
    cfg = result.config
    for name, protocol in seen:
        assert name == "miniimagenet/val"
        assert (protocol.shots, protocol.queries, protocol.episodes) == \
            (cfg.critic_shots, cfg.critic_queries, cfg.critic_tasks)
        assert protocol.finetune == cfg.critic and protocol.pretrain == EVAL.pretrain


@pytest.mark.slow
def test_run_evolution_is_cached_per_settings(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("GTL_RUNS", str(tmp_path))
    small = dict(width=0.25, population=2, generations=1, tournament_size=2, task_shots=3,
                 task_queries=2, lifetime=TrainConfig(steps=2, batch_size=8), critic_tasks=1, critic_shots=1,
                 critic_queries=2, critic=TrainConfig(steps=1, batch_size=5))
    first = ex.run_evolution(study(data_root, seed=1), **small)
    assert first.run_dir.parent == tmp_path and first.run_dir.name.startswith("miniimagenet-conv4-quick-")
    assert first.config.image_size == 32  # the rest comes from the quick profile
    monkeypatch.setattr("gtl.evolution.live", lambda *a, **k: pytest.fail("a cached run was trained again"))
    again = ex.run_evolution(study(data_root, seed=1), **small)
    assert again.run_dir == first.run_dir and again.best.meta == first.best.meta


@pytest.mark.slow
def test_all_baselines_instincts_and_another_dataset(result, data_root):
    df = ex.compare_methods(study(data_root), result, EVAL, shots=(1,), methods=ex.METHODS, score="instinct",
                            dataset="cub")
    assert df.method.tolist() == list(ex.METHODS)
    assert (df.dataset == "cub").all() and (df.score == "instinct").all()
    params = dict(zip(df.method, df.params_transferred))
    assert params["Random-mask"] == params["Pre-Cut"] == params["Learngene"] == result.best.num_params
    assert 0 < params["Layer-LG"] < params["Pre-Fin"]
    other = ex.compare_methods(study(data_root), result, EVAL, shots=(1,), methods=ex.METHODS, score="finetune",
                               dataset="cub")
    assert len(list(result.run_dir.glob("episodes-test-*.csv"))) == 2  # instincts and fine-tuning cached apart
    assert other["mean"].between(0, 1).all()


@pytest.mark.slow
def test_transfer_table_compares_each_descendant_with_its_own_scratch(result, data_root):
    episodes = ex.transfer_table(study(data_root), result, EVAL, targets=[("conv4", 0.5), ("resnet12", 0.25)],
                                 shots=(1,))
    assert len(episodes) == 4 * EVAL.episodes
    df = summarize(episodes, ["descendant", "setting"])
    assert df[df.method == "Learngene"]["diff"].notna().all()
    assert list(zip(df.descendant, df.method)) == [("conv4 x0.5", "Learngene"), ("conv4 x0.5", "Scratch"),
                                                  ("resnet12 x0.25", "Learngene"), ("resnet12 x0.25", "Scratch")]
    learngene = df[df.method == "Learngene"]
    assert (learngene.params_transferred > 0).all() and (df[df.method == "Scratch"].params_transferred == 0).all()
    assert (df.params_fraction < 1).all()
    assert len(list(result.run_dir.glob("transfer-*.csv"))) == 1


def test_scalability_targets_go_deeper_wider_and_across():
    quick = ex.scalability_targets(study(), arch="vgg11", width=0.25)
    assert ("vgg16", 0.25) in quick and ("vgg11", 0.375) in quick and ("resnet12", 0.25) in quick
    paper = ex.scalability_targets(study(profile="paper"), arch="resnet12", width=1.0)
    assert ("vgg16", 1.0) in paper and ("vgg19", 1.0) in paper and ("resnet12", 2.0) in paper
    assert all(t != ("vgg11", 0.25) for t in quick)  # never the ancestor itself


@pytest.mark.slow
def test_learning_curves_are_cached_per_method_and_step(result, data_root, monkeypatch):
    df = ex.learning_curves(study(data_root), result, EVAL, methods=("Learngene", "Scratch"), shots=1, at=(0, 1, 2))
    curves = summarize(df, ["step"])
    assert list(zip(curves.method, curves.step)) == [(m, k) for m in ("Learngene", "Scratch") for k in (0, 1, 2)]
    assert curves["mean"].between(0, 1).all() and (curves.episodes == EVAL.episodes).all()
    val = ex.learning_curves(study(data_root), result, EVAL, methods=("Learngene", "Scratch"), shots=1, at=(0, 1, 2),
                             split="val")
    assert (val.split == "val").all() and (val.seed != df.seed.iloc[0]).all()  # fresh episodes, not the critics'
    monkeypatch.setattr(ex, "episode_accuracies", lambda *a, **k: pytest.fail("not cached"))
    again = ex.learning_curves(study(data_root), result, EVAL, methods=("Learngene", "Scratch"), shots=1, at=(0, 1, 2))
    pd.testing.assert_frame_equal(again, df, check_dtype=False)


@pytest.fixture(scope="module")
def evolved(data_root, tmp_path_factory):
    """A real tiny run: 4 members, 2 generations, every member's learngene kept."""
    from gtl.evolution import evolve
    return evolve(tiny_config(arch="conv4", population=4, generations=2), tmp_path_factory.mktemp("evolved"),
                  data_root, "cpu", progress=False)


@pytest.mark.slow
def test_fresh_validation_tests_every_generations_winner_on_unseen_episodes(evolved, data_root):
    df = ex.fresh_validation(study(data_root), evolved, EVAL)
    assert sorted(df.generation.unique()) == [-1, 0, 1] and set(df.method) == {"winner", "Scratch"}
    assert (df.split == "val").all() and (df.seed != evolved.config.seed).all()  # not the critics' episodes
    assert df.groupby("generation").size().eq(EVAL.episodes).all()
    summary = summarize(df, ["setting"])
    assert summary[summary.method == "winner"]["diff"].notna().all()


@pytest.mark.slow
def test_selection_validity_scores_every_member_of_a_generation(evolved, data_root):
    df = ex.selection_validity(study(data_root), evolved, EVAL, episodes=2)
    cfg = evolved.config
    assert sorted(df.member.unique()) == list(range(cfg.population)) and (df.generation == 1).all()
    last = evolved.history[evolved.history.generation == 1].set_index("member")
    assert df.groupby("member").fitness.first().tolist() == pytest.approx(last.fitness.tolist())
    first = ex.selection_validity(study(data_root), evolved, EVAL, generation=0, episodes=2)
    assert (first.generation == 0).all() and len(first) == cfg.population * 2


def test_a_study_is_one_draw_with_its_profiles_numbers():
    s = ex.Study("smoke", "cifar-fs", "conv4", 7, device="cpu")
    assert s.gtl_config().seed == 7 and s.gtl_config().dataset == "cifar-fs" and s.gtl_config().arch == "conv4"
    assert s.gtl_config(population=5).population == 5 and s.eval_config() == EvalConfig.smoke("cifar-fs")
    assert [t.seed for t in s.seeds(range(3))] == [0, 1, 2] and s.seeds([1])[0].dataset == "cifar-fs"
    assert s.numbers.ablation == {"population": 3, "generations": 2}
    assert ex.Study().device in ("cpu", "cuda")  # resolved when built
    with pytest.raises(ValueError, match="profile must be one of"):
        ex.Study("huge")
