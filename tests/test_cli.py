"""gtl.cli: ``python -m gtl`` (help, info, evolve's options, evaluate, errors)."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest
import torch

import gtl.cli
from _helpers import PROJECT, indexed_dataset
from gtl.cli import main, summary_table
from gtl.evolution import EvolutionResult, default_run_dir
from gtl.evaluation import FewShotResult
from gtl.learngene import extract, param_masks, random_channels, seeded_model
from gtl.models import build_model
from gtl.stats import summarize


def _python_m_gtl(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "gtl", *args], capture_output=True, text=True, env=env,
                          cwd=PROJECT, timeout=120)


class FakeEnvironment:
    """Stands in for a run's data where only the command line is tested."""
    fingerprint = "0123456789abcdef"

    def __init__(self, cfg, data_root, device):
        self.cfg, self.data_root, self.device = cfg, data_root, device


@pytest.fixture
def no_data(monkeypatch):
    monkeypatch.setattr(gtl.cli, "Environment", FakeEnvironment)


@pytest.fixture
def learngene_file(tmp_path):
    net = seeded_model("conv4", 5, 0.25, 0)
    lg = extract(net, random_channels(net, 0.45, 0), dataset="miniimagenet", image_size=32, generation=2,
                 seed=0, fitness=0.42)
    path = tmp_path / "learngene.pt"
    lg.save(path)
    return path, lg


def test_python_m_gtl_help():
    r = _python_m_gtl("--help")
    assert r.returncode == 0, r.stderr
    for command in ("evolve", "evaluate", "info", "download"):
        assert command in r.stdout


def test_python_m_gtl_info_on_a_missing_file_exits_2(tmp_path):
    missing = tmp_path / "no-such-learngene.pt"
    r = _python_m_gtl("info", str(missing))
    assert r.returncode == 2
    assert r.stderr.startswith("error:") and str(missing) in r.stderr
    assert "Traceback" not in r.stderr


def test_evolve_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["evolve", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for option in ("--profile", "--dataset", "--arch", "--population", "--generations", "--width",
                   "--image-size", "--run-dir", "--fresh", "--data-root", "--seed"):
        assert option in out


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main([])
    assert e.value.code == 2
    assert "usage" in capsys.readouterr().err


def test_info_describes_a_learngene(learngene_file, capsys):
    path, lg = learngene_file
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "conv4" in out and f"{lg.num_params:,}" in out
    assert "miniimagenet" in out and "0.420" in out


def test_info_on_a_garbage_file_is_a_clean_error(tmp_path, capsys):
    path = tmp_path / "garbage.pt"
    path.write_bytes(b"\x00garbage" * 20)
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and str(path) in err


def test_evolve_passes_its_options_on(tmp_path, monkeypatch, capsys, learngene_file, no_data):
    calls = []

    def fake_evolve(cfg, run_dir, data_root, device, resume, progress, env, runtime, world):
        calls.append(dict(cfg=cfg, run_dir=run_dir, data_root=data_root, device=device, resume=resume,
                          progress=progress, env=env, runtime=runtime, world=world))
        return EvolutionResult(cfg, learngene_file[1], pd.DataFrame(), run_dir)
    monkeypatch.setattr(gtl.cli, "evolve", fake_evolve)
    assert main(["evolve", "--profile", "quick", "--dataset", "cifar-fs", "--arch", "resnet12", "--population", "4",
                 "--generations", "2", "--width", "0.5", "--image-size", "40", "--seed", "3", "--run-dir",
                 str(tmp_path / "run"), "--fresh", "--quiet", "--device", "cpu", "--data-root", "/data"]) == 0
    c = calls[-1]
    cfg = c["cfg"]
    assert (cfg.dataset, cfg.arch, cfg.population, cfg.generations, cfg.width, cfg.image_size, cfg.seed) == \
        ("cifar-fs", "resnet12", 4, 2, 0.5, 40, 3)
    assert cfg.lifetime.steps == 100  # the rest is the quick profile
    assert c["run_dir"] == tmp_path / "run" and c["resume"] is False and c["progress"] is False
    assert c["device"] == "cpu" and c["data_root"] == "/data"
    assert (c["env"].cfg, c["env"].data_root, c["env"].device) == (cfg, "/data", "cpu")
    assert c["runtime"].mode == "auto" and c["world"].size == 1
    assert "learngene.pt" in capsys.readouterr().out

    monkeypatch.setenv("GTL_RUNS", str(tmp_path / "runs"))
    assert main(["evolve", "--profile", "paper", "--quiet"]) == 0
    c = calls[-1]
    assert (c["cfg"].image_size, c["cfg"].width, c["cfg"].population) == (84, 1.0, 50)
    assert c["run_dir"] == default_run_dir(c["cfg"], "paper", FakeEnvironment.fingerprint) and c["resume"] is True
    assert str(c["run_dir"]).startswith(str(tmp_path / "runs"))


def test_set_overrides_any_config_field_with_its_type(tmp_path, monkeypatch, learngene_file, no_data):
    seen = []
    monkeypatch.setattr(gtl.cli, "evolve", lambda cfg, run_dir, *a, **k: seen.append((cfg, k["runtime"])) or
                        EvolutionResult(cfg, learngene_file[1], pd.DataFrame(), run_dir))
    assert main(["evolve", "--quiet", "--run-dir", str(tmp_path), "--set", "lifetime.steps=7",
                 "--set", "mutation_rate=0.5", "--set", "critic.augment=false", "--set", "fitness=host",
                 "--runtime", "batched", "--chunk", "8", "--fp32"]) == 0
    cfg, runtime = seen[-1]
    assert (cfg.lifetime.steps, cfg.lifetime.batch_size, cfg.mutation_rate, cfg.critic.augment, cfg.fitness) == \
        (7, 25, 0.5, False, "host")
    assert (runtime.mode, runtime.chunk, runtime.bf16, runtime.cpu_bf16, runtime.compile) == \
        ("batched", 8, False, False, False)
    assert main(["evolve", "--quiet", "--run-dir", str(tmp_path), "--cpu-bf16"]) == 0
    assert seen[-1][1].precision("cpu") == "bf16"


@pytest.mark.parametrize("item, message", [("mutation_rate", "FIELD=VALUE"), ("nope=1", "no field 'nope'"),
                                           ("lifetime.nope=1", "no field 'nope'"), ("lifetime=3", "group"),
                                           ("population=many", "expected an integer"),
                                           ("lifetime.augment=maybe", "expected true or false")])
def test_bad_set_overrides_are_clean_errors(item, message, capsys, tmp_path):
    assert main(["evolve", "--quiet", "--run-dir", str(tmp_path), "--set", item]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("device, message", [("gpu", "use cpu, cuda or cuda:N"), ("cuda:x", "use cpu, cuda or cuda:N")]
                         + ([] if torch.cuda.is_available() else [("cuda", "no CUDA GPU")]))
def test_a_device_this_machine_lacks_is_a_clean_error(device, message, capsys, tmp_path):
    assert main(["evolve", "--quiet", "--run-dir", str(tmp_path), "--device", device]) == 2
    assert message in capsys.readouterr().err


def test_ctrl_c_says_how_to_resume_instead_of_a_traceback(monkeypatch, capsys, no_data):
    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(gtl.cli, "evolve", interrupted)
    assert main(["evolve", "--quiet", "--device", "cpu", "--threads", "1"]) == 130
    assert main(["evolve", "--quiet", "--device", "cpu", "--threads", "0"]) == 2
    err = capsys.readouterr().err
    assert "interrupted" in err and "resumes" in err and "Traceback" not in err


def test_evolve_without_data_is_a_clean_error(tmp_path, capsys, tmp_cache):
    empty = tmp_path / "no-data"
    empty.mkdir()
    code = main(["evolve", "--data-root", str(empty), "--run-dir", str(tmp_path / "run"), "--quiet",
                 "--device", "cpu"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: miniimagenet not found") and str(empty) in err


def test_the_paper_profile_on_a_small_subset_says_which_sizes_to_lower(data_root, tmp_path, capsys, monkeypatch):
    import gtl.evolution
    monkeypatch.setattr(gtl.evolution, "train", lambda *a, **k: pytest.fail("trained before checking the data"))
    argv = ["evolve", "--profile", "paper", "--image-size", "32", "--quiet", "--device", "cpu",
            "--run-dir", str(tmp_path / "run")]
    assert main(argv) == 2  # the shared subset has 100 images per class; the paper's tasks need 600
    err = capsys.readouterr().err
    assert "500 shots + 100 queries" in err and "--set task_shots=" in err
    assert main([*argv, "--set", "task_shots=60", "--set", "task_queries=20", "--set", "critic_queries=99"]) == 2
    assert "5 shots + 99 queries" in capsys.readouterr().err  # the critics' episodes, checked up front too


def test_bad_choices_are_usage_errors(capsys):
    for argv in (["evolve", "--arch", "alexnet"], ["evolve", "--dataset", "cub"], ["evolve", "--profile", "x"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_evaluate_passes_its_speed_options_on(learngene_file, monkeypatch, capsys):
    seen = []
    row = FewShotResult("Learngene", 0.5, 0.1, 2, 5, 1, 0, 10, [0.4, 0.6])
    monkeypatch.setattr(gtl.cli, "load_dataset", lambda *a, **k: indexed_dataset([30] * 5))
    monkeypatch.setattr(gtl.cli, "evaluate_methods", lambda *a, **k: seen.append(k["runtime"]) or [row])
    path, _ = learngene_file
    assert main(["evaluate", str(path), "--quiet", "--device", "cpu"]) == 0
    assert main(["evaluate", str(path), "--quiet", "--device", "cpu", "--runtime", "loop", "--fp32",
                 "--chunk", "8"]) == 0
    assert (seen[0].mode, seen[0].bf16) == ("auto", True)
    assert (seen[1].mode, seen[1].bf16, seen[1].chunk) == ("loop", False, 8)


def test_evaluate_births_descendants_as_the_run_recorded_unless_told(tmp_path, monkeypatch):
    net = seeded_model("conv4", 5, 0.25, 0)
    lg = extract(net, random_channels(net, 0.45, 0), dataset="miniimagenet", image_size=32, cross_scale=0.3)
    lg.save(tmp_path / "lg.pt")
    seen = []
    row = FewShotResult("Learngene", 0.5, 0.1, 2, 5, 1, 0, 10, [0.4, 0.6])
    monkeypatch.setattr(gtl.cli, "load_dataset", lambda *a, **k: indexed_dataset([30] * 5))
    monkeypatch.setattr(gtl.cli, "evaluate_methods", lambda lg, gcfg, *a, **k: seen.append(gcfg.cross_scale) or [row])
    assert main(["evaluate", str(tmp_path / "lg.pt"), "--quiet", "--device", "cpu"]) == 0
    assert main(["evaluate", str(tmp_path / "lg.pt"), "--quiet", "--device", "cpu", "--cross-scale", "1"]) == 0
    assert seen == [0.3, 1.0]


@pytest.mark.slow
def test_evaluate_prints_a_table_and_writes_csv(learngene_file, data_root, tmp_path, capsys):
    path, _ = learngene_file
    out_csv = tmp_path / "results.csv"
    code = main(["evaluate", str(path), "--shots", "1", "--episodes", "2", "--quiet", "--device", "cpu",
                 "--data-root", str(data_root), "--out", str(out_csv)])
    assert code == 0
    out = capsys.readouterr().out
    assert ("| method | setting | accuracy (%) | 95% CI (±) | vs Scratch, paired (points) | episodes "
            "| params_transferred | seed |") in out
    assert "| Learngene | 5-way 1-shot |" in out and "| Scratch | 5-way 1-shot |" in out
    df = pd.read_csv(out_csv)
    assert df.method.tolist() == ["Learngene", "Scratch"]
    assert (df.episodes == 2).all() and df["accuracy (%)"].between(0, 100).all()
    episodes = pd.read_csv(tmp_path / "results_episodes.csv")
    assert len(episodes) == 4 and set(episodes.method) == {"Learngene", "Scratch"}
    pd.testing.assert_frame_equal(df, summary_of(episodes))  # the summary is the episodes', in numbers
    learngene = episodes[episodes.method == "Learngene"].sort_values("episode").accuracy.to_numpy()
    scratch = episodes[episodes.method == "Scratch"].sort_values("episode").accuracy.to_numpy()
    row = df.set_index("method").loc["Learngene"]
    assert row["accuracy (%)"] == pytest.approx(round(100 * learngene.mean(), 2))
    assert row["vs Scratch (points)"] == pytest.approx(round(100 * (learngene - scratch).mean(), 2))


def summary_of(episodes: pd.DataFrame) -> pd.DataFrame:
    """What ``evaluate --out`` writes for these per-episode rows, read back as a CSV."""
    return pd.read_csv(io.StringIO(summary_table(summarize(episodes, ["setting"])).to_csv(index=False)))


def test_the_worked_example_summary_is_what_evaluate_out_writes_from_its_episodes():
    """figures/folder_example_cub_quick.csv (the worked example of docs/usage.md) is in the format this
    version's ``evaluate --out`` writes, and holds what its stored per-episode table gives."""
    stored = PROJECT / "figures" / "folder_example_cub_quick.csv"
    pd.testing.assert_frame_equal(pd.read_csv(stored),
                                  summary_of(pd.read_csv(stored.with_name(f"{stored.stem}_episodes.csv"))))


def test_inherit_writes_a_plain_state_dict_that_torch_loads(tmp_path, capsys):
    net = seeded_model("vgg11", 5, 0.25, 0)
    lg = extract(net, random_channels(net, 0.45, 0), dataset="miniimagenet", image_size=32, cross_scale=1.0)
    lg.save(tmp_path / "learngene.pt")
    out = tmp_path / "out" / "descendant.pt"
    assert main(["inherit", str(tmp_path / "learngene.pt"), "--out", str(out), "--seed", "3"]) == 0
    assert "inherited" in capsys.readouterr().out
    # what a user does with nothing but torch and the architecture: a fresh model, load_state_dict
    model = build_model("vgg11", num_classes=5, width=0.25)
    model.load_state_dict(torch.load(out, weights_only=True))
    params = dict(model.named_parameters())
    for name, mask in param_masks(model, lg.masks).items():
        assert torch.equal(params[name][mask], lg.weights[name]), name  # the learngene, exactly
    info = json.loads(out.with_suffix(".json").read_text())
    assert (info["arch"], info["width"], info["cross_scale"]) == ("vgg11", 0.25, 1.0)
    assert info["inherited_params"] == lg.num_params

    deeper = tmp_path / "vgg16.pt"
    assert main(["inherit", str(tmp_path / "learngene.pt"), "--arch", "vgg16", "--out", str(deeper)]) == 0
    build_model("vgg16", 5, 0.25).load_state_dict(torch.load(deeper, weights_only=True))
    assert 0 < json.loads(deeper.with_suffix(".json").read_text())["inherited_params"] <= lg.num_params


def test_inherit_into_a_network_too_narrow_for_the_learngene_says_so(tmp_path, capsys):
    net = seeded_model("vgg11", 5, 0.5, 0)
    extract(net, random_channels(net, 0.9, 0)).save(tmp_path / "lg.pt")
    assert main(["inherit", str(tmp_path / "lg.pt"), "--width", "0.25", "--out", str(tmp_path / "x.pt")]) == 2
    assert "error:" in capsys.readouterr().err and not (tmp_path / "x.pt").exists()


def test_resume_is_the_default_and_fresh_starts_over():
    from gtl.cli import build_parser
    parse = build_parser().parse_args
    assert parse(["evolve"]).fresh is False
    assert parse(["evolve", "--resume"]).fresh is False
    assert parse(["evolve", "--fresh"]).fresh is True
    with pytest.raises(SystemExit):
        parse(["evolve", "--resume", "--fresh"])


def test_bad_output_paths_and_shots_are_refused_before_any_work(learngene_file, tmp_path, monkeypatch, capsys):
    path, _ = learngene_file
    monkeypatch.setattr(gtl.cli, "evaluate_methods", lambda *a, **k: pytest.fail("worked before the check"))
    monkeypatch.setattr(gtl.cli, "Environment", lambda *a, **k: pytest.fail("read data before the check"))
    (tmp_path / "a_file").write_text("x")
    cases = [(["evaluate", str(path), "--out", str(tmp_path)], "--out .* is a folder"),
             (["evaluate", str(path), "--shots", "5", "5"], "--shots 5 5: give each K once"),
             (["evaluate", str(path), "--shots", "0"], "--shots 0: give each K once"),
             (["inherit", str(path), "--out", str(tmp_path)], "--out .* is a folder"),
             (["evolve", "--run-dir", str(tmp_path / "a_file")], "--run-dir .* is a file"),
             (["evaluate", str(path), "--out", str(tmp_path / "a_file" / "t.csv")], "cannot create its folder")]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert re.search(message, err) and err.count("\n") == 1, err  # one line
    monkeypatch.setattr(gtl.cli.os, "access", lambda *a: False)  # a read-only place (root writes anywhere)
    assert main(["inherit", str(path), "--out", str(tmp_path / "new" / "d.pt")]) == 2
    assert "cannot write there" in capsys.readouterr().err


def test_evaluate_out_creates_its_folder(learngene_file, tmp_path, monkeypatch):
    path, _ = learngene_file
    row = FewShotResult("Learngene", 0.5, 0.1, 2, 5, 1, 0, 10, [0.4, 0.6])
    monkeypatch.setattr(gtl.cli, "load_dataset", lambda *a, **k: indexed_dataset([30] * 5))
    monkeypatch.setattr(gtl.cli, "evaluate_methods", lambda *a, **k: [row])
    out = tmp_path / "new" / "deeper" / "t.csv"
    assert main(["evaluate", str(path), "--shots", "1", "--baselines", "--out", str(out)]) == 0
    assert pd.read_csv(out).method.tolist() == ["Learngene"] and out.with_name("t_episodes.csv").exists()
    assert "**" not in out.read_text() and "vs Scratch (points)" in pd.read_csv(out)  # numbers, not markdown


def test_without_threads_a_command_takes_the_free_cpus_and_a_resume_the_count_it_was_begun_with(
        monkeypatch, capsys, tmp_path, data_root):
    seen = []

    def interrupted(*a, **k):
        seen.append(torch.get_num_threads())
        raise KeyboardInterrupt
    monkeypatch.setattr(gtl.cli, "evolve", interrupted)
    monkeypatch.setattr(gtl.cli, "free_cpu_threads", lambda: 1)
    before = torch.get_num_threads()
    command = ["evolve", "--profile", "smoke", "--quiet", "--device", "cpu", "--run-dir", str(tmp_path)]
    monkeypatch.setattr(gtl.cli, "unfinished_threads", lambda run_dir, cfg: None)
    assert main(command) == 130
    monkeypatch.setattr(gtl.cli, "unfinished_threads", lambda run_dir, cfg: 3)
    assert main(command) == 130
    assert main(command + ["--threads", "2"]) == 130  # told: the resume itself refuses another count
    assert seen == [1, 3, 2] and torch.get_num_threads() == before  # main() gives its caller's count back
    assert "3 thread(s), as the run was begun" in capsys.readouterr().out


def test_evaluate_refuses_a_test_class_too_small_for_an_episode_before_any_work(tmp_path, capsys, monkeypatch):
    from _helpers import write_jpeg
    root = tmp_path / "imgs"
    for c in range(10):  # 7 images a class, and one test class with 3
        for i in range(7 if c else 3):
            write_jpeg(root / f"c{c}" / f"{i}.jpg", seed=10 * c + i)
    (root / "splits").mkdir()
    for split, classes in (("train", (1, 2, 3, 4, 5)), ("val", (6, 7)), ("test", (0, 8, 9))):
        (root / "splits" / f"{split}.txt").write_text("\n".join(f"c{c}" for c in classes))
    net = seeded_model("conv4", 5, 0.25, 0)
    lg = extract(net, random_channels(net, 0.3, 0), dataset=str(root), image_size=8)
    lg.save(tmp_path / "lg.pt")
    monkeypatch.setattr(gtl.cli, "evaluate_methods", lambda *a, **k: pytest.fail("evaluated before checking"))
    assert main(["evaluate", str(tmp_path / "lg.pt"), "--data", str(root), "--ways", "3", "--shots", "1",
                 "--quiet", "--profile", "smoke"]) == 2
    err = capsys.readouterr().err
    assert "'c0' (3)" in err and "at most 3" in err and "--shots K and --set queries=N" in err


def test_a_full_disk_during_a_run_is_one_line_and_the_same_command_resumes(data_root, tmp_path, capsys,
                                                                           monkeypatch, tmp_cache):
    from test_cache import _torch_save_on_a_full_disk
    monkeypatch.setattr(torch, "save", _torch_save_on_a_full_disk)
    run = tmp_path / "run"
    assert main(["evolve", "--profile", "smoke", "--quiet", "--device", "cpu", "--threads", "1",
                 "--run-dir", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"error: no space left on the disk of {run}" in err and "resumes once there is space" in err
    assert "Traceback" not in err and not list(run.rglob("*.tmp")) and not list(tmp_cache.rglob("*.tmp"))


def test_download_without_internet_is_one_line_saying_how_to_put_the_files_there(tmp_path, capsys, monkeypatch):
    import urllib.error

    import torchvision.datasets

    def offline(*a, **k):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(torchvision.datasets, "CIFAR100", offline)
    assert main(["download", "cifar-fs", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: could not download cifar-fs") and "needs internet" in err
    assert "cifar-100-python" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [["evolve", "--set", "width=1000"], ["evolve", "--width", "1000"]])
def test_a_network_too_wide_for_memory_is_refused_with_the_numbers_before_any_data(argv, capsys, monkeypatch,
                                                                                    tmp_path):
    monkeypatch.setattr(gtl.cli, "Environment", lambda *a, **k: pytest.fail("data read before the check"))
    assert main([*argv, "--quiet", "--device", "cpu", "--run-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "a vgg11 of width 1000 has 9,216,009,792,005 parameters" in err and "GiB available: lower the width" in err
    assert "Traceback" not in err


def test_inherit_refuses_a_network_too_wide_for_memory(learngene_file, tmp_path, capsys):
    path, _ = learngene_file
    assert main(["inherit", str(path), "--width", "1000", "--out", str(tmp_path / "d.pt")]) == 2
    assert "parameters; training it takes at least" in capsys.readouterr().err and not (tmp_path / "d.pt").exists()


@pytest.mark.parametrize("argv, message", [
    (["evaluate", "{lg}", "--episodes", "0"], "episodes must be >= 1, got 0"),
    (["evaluate", "{lg}", "--ways", "1"], "ways must be >= 2"),
    (["inherit", "{lg}", "--classes", "0", "--out", "{tmp}/d.pt"], "--classes 0: give the classes of your task")])
def test_impossible_counts_are_refused_before_any_work(argv, message, learngene_file, tmp_path, capsys,
                                                       monkeypatch):
    monkeypatch.setattr(gtl.cli, "load_dataset", lambda *a, **k: pytest.fail("data read before the check"))
    monkeypatch.setattr(gtl.cli, "build", lambda *a, **k: pytest.fail("built before the check"))
    path, _ = learngene_file
    assert main([a.format(lg=path, tmp=tmp_path) for a in argv]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "d.pt").exists()
