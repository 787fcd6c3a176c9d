"""gtl.cache: results are reused only for the same settings, data and code (synthetic data, seconds)."""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
import torch

import gtl.baselines as baselines
import gtl.cache as cache
import gtl.evolution as evo
import gtl.experiments as ex
import gtl.methods as methods
from _helpers import indexed_dataset, make_fake_mini, tiny_config, write_jpeg
from gtl.evolution import EvolutionResult, evolve
from gtl.evaluation import EvalConfig
from gtl.learngene import extract, random_channels, seeded_model
from gtl.train import TrainConfig

CFG = tiny_config()
EVAL = EvalConfig(ways=5, shots=1, queries=2, episodes=2, finetune=TrainConfig(steps=2, batch_size=5),
                  pretrain=TrainConfig(steps=2, batch_size=16))


# ------------------------------------------------------------ fingerprints


def test_a_fingerprint_follows_the_content_not_the_object():
    a, b = indexed_dataset([3, 3]), indexed_dataset([3, 3])
    assert a.fingerprint() == b.fingerprint() and len(a.fingerprint()) == 16
    pixel = indexed_dataset([3, 3])
    pixel.images[4, 2, 5, 5] += 1
    label = indexed_dataset([3, 3])
    label.labels[0] = 1
    named = indexed_dataset([3, 3])
    named.classes = ["cat", "dog"]
    assert len({a.fingerprint(), pixel.fingerprint(), label.fingerprint(), named.fingerprint()}) == 4


def test_a_fingerprint_is_computed_once_and_moves_with_the_dataset(monkeypatch):
    ds = indexed_dataset([3, 3])
    expected = ds.fingerprint()
    monkeypatch.setattr("gtl.data.digest", lambda *a: pytest.fail("fingerprint computed again"))
    assert ds.fingerprint() == expected and ds.to("cpu").fingerprint() == expected


def test_fingerprinting_10k_small_images_takes_milliseconds():
    ds = indexed_dataset([1000] * 10, size=32)
    start = time.perf_counter()
    ds.fingerprint()
    assert time.perf_counter() - start < 0.5  # about 20 ms; generous for a busy machine


def test_a_learngene_fingerprint_follows_its_weights_not_its_meta():
    net = seeded_model("conv4", 5, 0.25, 0)
    lg = extract(net, random_channels(net, 0.45, 0), generation=1)
    same = extract(net, random_channels(net, 0.45, 0), generation=2)
    assert lg.fingerprint() == same.fingerprint()
    other = extract(seeded_model("conv4", 5, 0.25, 1), random_channels(net, 0.45, 0))
    assert other.fingerprint() != lg.fingerprint()
    same.stats = {k: v + 1 for k, v in same.stats.items()}  # other BN statistics, same weights
    assert same.fingerprint() != lg.fingerprint()


# ------------------------------------------------------------ code version

SOURCE = '''
"""A module."""
def f(x):
    """Doubles."""
    return 2 * x  # twice
'''
SAME_CODE = '''
"""Another docstring, longer
over two lines."""

# a new comment
def f(x):
    return (2 *
            x)
'''


def test_docstrings_comments_and_formatting_do_not_change_the_code_digest():
    assert cache.source_digest(SOURCE) == cache.source_digest(SAME_CODE)
    assert cache.source_digest(SOURCE) != cache.source_digest(SOURCE.replace("2 * x", "3 * x"))
    assert cache.source_digest(SOURCE) != cache.source_digest(SOURCE.replace("return", "y = 1\n    return"))
    assert cache.source_digest(SOURCE) != cache.source_digest(SOURCE + 'NAME = "a string, not a docstring"\n')


def _clear():
    for f in (cache._source, cache.result_modules, cache._modules_digest):
        f.cache_clear()


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """``code_version`` reading the modules of a package of our own in ``tmp_path``: ``evolution`` imports
    ``train`` (and, for annotations only, ``experiments``), ``experiments`` imports ``evolution`` and
    ``report``, ``report`` imports ``experiments``."""
    (tmp_path / "train.py").write_text(SOURCE)
    (tmp_path / "evolution.py").write_text("from typing import TYPE_CHECKING\nfrom .train import f\n"
                                           "if TYPE_CHECKING:\n    from .experiments import g\n")
    (tmp_path / "experiments.py").write_text("from . import evolution\nfrom .report import h\n" + SOURCE)
    (tmp_path / "report.py").write_text("from .experiments import f\n" + SOURCE)
    monkeypatch.setattr(cache, "__file__", str(tmp_path / "cache.py"))
    _clear()
    yield tmp_path
    _clear()


def _versions_after(package: Path, module: str, source: str) -> tuple[str, str]:
    """The code versions of what ``evolution`` and ``experiments`` compute once ``module`` reads ``source``."""
    (package / module).write_text(source)
    _clear()
    return cache.code_version("evolution"), cache.code_version("experiments")


def test_a_producer_is_keyed_by_the_code_it_imports_less_the_words(fake_package):
    assert cache.result_modules("evolution") == ("evolution", "train")  # not what it names for annotations
    assert cache.result_modules("experiments") == ("evolution", "experiments", "train")  # not report
    run, table = _versions_after(fake_package, "train.py", SOURCE)
    assert _versions_after(fake_package, "train.py", SAME_CODE) == (run, table)  # docstrings and comments
    assert _versions_after(fake_package, "report.py", SOURCE.replace("2 * x", "3 * x")) == (run, table)  # rewording
    new_run, new_table = _versions_after(fake_package, "experiments.py", "from . import evolution\ndef f(x):\n    "
                                                                         "return 3 * x\n")
    assert new_run == run and new_table != table  # a study table's code: its tables re-run, no evolution
    new_run, new_table = _versions_after(fake_package, "train.py", SOURCE.replace("2 * x", "3 * x"))
    assert new_run != run and new_table != table  # training: everything that trains re-runs
    with pytest.raises(ValueError, match="no module gtl.nothing"):
        cache.result_modules("nothing")


def test_the_real_producers_leave_out_words_plots_and_the_command_line():
    _clear()
    for producer in ("evolution", "baselines", "experiments", "questions"):
        modules = cache.result_modules(producer)
        assert producer in modules and not set(modules) & {"report", "plots", "cli", "paths", "provenance"}
    assert "experiments" not in cache.result_modules("evolution")  # a study's code never re-runs an evolution
    assert "evaluation" not in cache.result_modules("baselines")  # nor fine-tuning a pre-training


def test_a_bumped_cache_version_changes_every_key(monkeypatch):
    version, k = cache.code_version("evolution"), cache.key("settings", 1, producer="evolution")
    assert cache.key("settings", 1, producer="evolution") == k and cache.key("settings", 2, producer="evolution") != k
    monkeypatch.setattr(cache, "CACHE_VERSION", cache.CACHE_VERSION + 1)
    _clear()
    assert cache.code_version("evolution") != version and cache.key("settings", 1, producer="evolution") != k


def test_keys_read_dataclasses_by_their_fields():
    assert cache.key(EVAL, producer="experiments") == cache.key(EVAL, producer="experiments")
    assert cache.key(EVAL, producer="experiments") != cache.key(EvalConfig(
        ways=5, shots=2, queries=2, episodes=2, finetune=EVAL.finetune, pretrain=EVAL.pretrain), producer="experiments")


# ------------------------------------------------------------ cached files


class Counter:
    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        return self.value


TABLE = pd.DataFrame({"method": ["Learngene", "Scratch"], "mean": [0.5, 0.25]})


def test_a_table_is_computed_once_then_read_back(tmp_path):
    compute, path = Counter(TABLE), tmp_path / "t.csv"
    first = cache.cached_table(path, compute)
    again = cache.cached_table(path, compute)
    assert compute.calls == 1
    pd.testing.assert_frame_equal(first, again)
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # no temporary file left behind


@pytest.mark.parametrize("damage", [lambda b: b[: len(b) // 2], lambda b: b[:-1], lambda b: b"method,mean\n",
                                    lambda b: b""])
def test_a_damaged_table_is_recomputed(tmp_path, damage):
    compute, path = Counter(TABLE), tmp_path / "t.csv"
    cache.cached_table(path, compute)
    path.write_bytes(damage(path.read_bytes()))
    pd.testing.assert_frame_equal(cache.cached_table(path, compute), TABLE)
    assert compute.calls == 2
    pd.testing.assert_frame_equal(pd.read_csv(path), TABLE)  # and the file is whole again


def test_a_damaged_torch_file_is_recomputed(tmp_path):
    state = {"w": torch.arange(1000.0)}
    compute, path = Counter(state), tmp_path / "net.pt"
    cache.cached_state(path, compute)
    assert torch.equal(cache.cached_state(path, compute)["w"], state["w"]) and compute.calls == 1
    path.write_bytes(path.read_bytes()[:200])
    assert torch.equal(cache.cached_state(path, compute)["w"], state["w"]) and compute.calls == 2


def test_an_interrupted_write_leaves_nothing_to_serve(tmp_path):
    path = tmp_path / "t.csv"

    def half_then_die(df, p):
        Path(p).write_text("method,mean\nLearngene,0.5\n")
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        cache.cached(path, lambda: TABLE, half_then_die, pd.read_csv)
    assert not path.exists()
    compute = Counter(TABLE)
    cache.cached_table(path, compute)
    assert compute.calls == 1


# ------------------------------------------------------ through the experiments

CLASSES = dict(classes=[f"n{i:03d}" for i in range(5)], per_class=8, val=[f"v{i:03d}" for i in range(5)],
               test=[f"t{i:03d}" for i in range(5)])


def fake_root(tmp_path: Path, name: str, changed: str | None = None) -> Path:
    """A miniImageNet of 5 classes per split; ``changed`` (a file name) gets other pixels.
    Two roots made alike hold the same images (their fingerprints agree)."""
    root = tmp_path / name
    make_fake_mini(root, **CLASSES)
    if changed:
        write_jpeg(root / "miniimagenet" / "images" / changed, seed=999)
    return root


@pytest.fixture
def runs(tmp_path, monkeypatch, tmp_cache) -> Path:
    monkeypatch.setenv("GTL_RUNS", str(tmp_path / "runs"))
    return tmp_path / "runs"


def _run(root: Path):
    settings = {k: getattr(CFG, k) for k in ("width", "population", "generations", "tournament_size", "task_shots",
                                             "task_queries", "lifetime", "critic_tasks", "critic_shots",
                                             "critic_queries", "critic")}
    return ex.run_evolution(ex.Study("quick", "miniimagenet", CFG.arch, CFG.seed, root, "cpu"), **settings)


def test_other_images_get_a_run_of_their_own(tmp_path, runs, monkeypatch):
    first = _run(fake_root(tmp_path, "a"))
    assert first.run_dir.parent == runs and first.run_dir.name.startswith("miniimagenet-conv4-quick-")
    other = _run(fake_root(tmp_path, "b", changed="n00000000000.jpg"))  # one training image differs
    assert other.run_dir != first.run_dir and (other.run_dir / "learngene.pt").exists()

    monkeypatch.setattr(evo, "live", lambda *a, **k: pytest.fail("a cached run was trained again"))
    again = _run(fake_root(tmp_path, "c"))  # the same images in another folder: the same run
    assert again.run_dir == first.run_dir and again.best.meta == first.best.meta


def test_other_code_gets_a_run_of_its_own(monkeypatch):
    before = evo.default_run_dir(CFG, "quick", "data")
    monkeypatch.setattr(cache, "CACHE_VERSION", cache.CACHE_VERSION + 1)
    assert evo.default_run_dir(CFG, "quick", "data") != before


def test_a_checkpoint_from_other_data_is_refused(tmp_path, tmp_cache):
    run_dir = tmp_path / "run"
    evolve(CFG, run_dir, fake_root(tmp_path, "a"), "cpu", progress=False)
    other = fake_root(tmp_path, "b", changed="v00000000000.jpg")  # one validation image differs
    with pytest.raises(ValueError, match="other data") as e:
        evolve(CFG, run_dir, other, "cpu", progress=False)
    assert "fresh" in str(e.value) and "resume=False" in str(e.value)
    again = evolve(CFG, run_dir, other, "cpu", resume=False, progress=False)
    assert len(again.history) == CFG.population * CFG.generations


@pytest.fixture
def result(tmp_path) -> EvolutionResult:
    """A finished run without running it: a learngene of the tiny config's network."""
    net = seeded_model(CFG.arch, CFG.ways, CFG.width, 0)
    lg = extract(net, random_channels(net, 0.45, 0), dataset=CFG.dataset, image_size=CFG.image_size)
    (tmp_path / "run").mkdir()
    return EvolutionResult(CFG, lg, pd.DataFrame(), tmp_path / "run")


def _spy(monkeypatch) -> list:
    calls, evaluate = [], methods.evaluate
    monkeypatch.setattr(methods, "evaluate", lambda *a, **k: calls.append(a[1].name) or evaluate(*a, **k))
    return calls


def _compare(result, root, **kwargs) -> pd.DataFrame:
    return ex.compare_methods(ex.Study("quick", "miniimagenet", CFG.arch, CFG.seed, root, "cpu"), result, EVAL,
                              shots=(1,), methods=("Learngene", "Scratch"), **kwargs)


def test_a_table_is_recomputed_for_other_test_images_or_code(result, tmp_path, runs, monkeypatch):
    calls, root = _spy(monkeypatch), fake_root(tmp_path, "a")
    first = _compare(result, root)
    assert len(calls) == 2
    pd.testing.assert_frame_equal(_compare(result, fake_root(tmp_path, "same")), first, check_dtype=False)
    assert len(calls) == 2  # same images elsewhere: read back
    _compare(result, fake_root(tmp_path, "b", changed="t00000000000.jpg"))
    assert len(calls) == 4  # one test image differs: computed again
    monkeypatch.setattr(cache, "CACHE_VERSION", cache.CACHE_VERSION + 1)
    _compare(result, root)
    assert len(calls) == 6  # other code: computed again
    assert len(list(result.run_dir.glob("episodes-test-*.csv"))) == 3


def test_a_truncated_table_is_recomputed(result, tmp_path, runs, monkeypatch):
    root = fake_root(tmp_path, "a")
    first = _compare(result, root)
    (path,) = result.run_dir.glob("episodes-test-*.csv")
    path.write_bytes(path.read_bytes()[:-20])
    calls = _spy(monkeypatch)
    pd.testing.assert_frame_equal(_compare(result, root), first, check_dtype=False)
    assert len(calls) == 2


def test_the_pretrained_network_is_cached_per_training_images(tmp_path, runs, monkeypatch):
    trained, pretrain = [], baselines.pretrain
    monkeypatch.setattr(baselines, "pretrain", lambda *a, **k: trained.append(a[2].name) or pretrain(*a, **k))
    a = baselines.pretrained_network(CFG, EVAL, fake_root(tmp_path, "a"), "cpu")
    again = baselines.pretrained_network(CFG, EVAL, fake_root(tmp_path, "same"), "cpu")
    assert len(trained) == 1 and all(torch.equal(a.state_dict()[k], v) for k, v in again.state_dict().items())
    baselines.pretrained_network(CFG, EVAL, fake_root(tmp_path, "b", changed="n00400000007.jpg"), "cpu")
    assert len(trained) == 2 and len(list((runs / "pretrained").glob("*.pt"))) == 2


def _torch_save_on_a_full_disk(obj, path):
    """What torch.save does when the disk fills: part of the file, then a C++ error without an errno."""
    Path(path).write_bytes(b"x" * 1000)
    raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 1000 vs 934")


def test_a_full_disk_is_one_error_naming_the_folder_and_leaves_no_partial_file(tmp_path):
    from gtl.paths import DiskFullError, write_atomically
    target = tmp_path / "checkpoint.pt"
    target.write_bytes(b"the previous checkpoint")
    with pytest.raises(DiskFullError, match=f"no space left on the disk of {tmp_path}.*checkpoint.pt"):
        write_atomically(target, lambda tmp: _torch_save_on_a_full_disk({}, tmp))
    assert target.read_bytes() == b"the previous checkpoint" and not list(tmp_path.glob("*.tmp"))
    with pytest.raises(ZeroDivisionError):  # any other failure is itself, and leaves no partial file either
        write_atomically(target, lambda tmp: (tmp.write_text("half"), 1 / 0))
    assert not list(tmp_path.glob("*.tmp"))


def test_a_full_decode_cache_costs_decoding_again_not_the_run(fake_mini_root, tmp_cache, monkeypatch, capsys):
    from gtl.data import load_dataset
    monkeypatch.setattr(torch, "save", _torch_save_on_a_full_disk)
    ds = load_dataset("miniimagenet", "train", fake_mini_root, image_size=8)
    assert len(ds) > 0 and not list(tmp_cache.rglob("*.tmp")) and not list(tmp_cache.rglob("*.pt"))
    assert "decoded images not cached (no space left" in capsys.readouterr().err
