"""The paper profile starts: its own networks (full width, 84 px) through evolve, evaluate and inherit,
at token step counts; and ``python -m gtl info`` says what a whole run of it costs.

No GPU has run the paper profile yet, so these are the checks a CPU can make that ``make figures
PROFILE=paper`` survives its first minute: every code path at the paper's sizes (the batched runtime a
GPU uses included), with every size that sets the cost cut to a handful of images and steps.
"""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest

import gtl.cli
from _helpers import indexed_dataset
from gtl.bench import forward_flops, run_cost
from gtl.cli import main
from gtl.evaluation import EvalConfig, FewShotResult
from gtl.evolution import GTLConfig
from gtl.methods import METHODS
from gtl.learngene import Learngene, extract, random_channels, seeded_model
from gtl.train import TrainConfig

# 2 members x 1 generation x 2 lifetime steps, 1 critic task of 2 steps, 1-shot tasks of 1 query per class and
# batches of 2 images: what keeps full-width networks at 84 px to seconds on one CPU thread
TOKEN_RUN = ["population=2", "generations=1", "tournament_size=2", "lifetime.steps=2", "lifetime.batch_size=2",
             "task_shots=1", "task_queries=1", "critic_tasks=1", "critic.steps=2", "critic.batch_size=2",
             "critic_shots=1", "critic_queries=1"]
TOKEN_EVALUATION = ["finetune.steps=1", "finetune.batch_size=2", "pretrain.steps=2", "pretrain.batch_size=2",
                    "queries=1"]


def _sets(items: list[str]) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


@pytest.fixture(scope="module")
def decoded_images(tmp_path_factory):
    """One private decode cache for the module: both architectures read the same 84 px images."""
    with pytest.MonkeyPatch.context() as m:
        m.setenv("GTL_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.mark.slow
@pytest.mark.parametrize("arch, descendant, width", [("vgg11", "vgg16", 1.0), ("resnet12", "resnet12", 1.0)])
def test_the_paper_profile_evolves_evaluates_and_inherits(arch, descendant, width, data_root, decoded_images,
                                                          tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GTL_RUNS", str(tmp_path / "runs"))
    run = tmp_path / "run"
    common = ["--profile", "paper", "--quiet", "--device", "cpu", "--data-root", str(data_root), "--runtime",
              "batched"]  # the runtime a GPU runs by default: stacked networks at the paper's sizes
    assert main(["evolve", "--arch", arch, "--run-dir", str(run), *common, *_sets(TOKEN_RUN)]) == 0
    lg = Learngene.load(run / "learngene.pt")
    paper = GTLConfig.paper()
    assert (lg.arch, lg.width, lg.meta["image_size"]) == (arch, paper.width, paper.image_size) == (arch, 1.0, 84)
    assert len(pd.read_csv(run / "generations.csv")) == 2
    capsys.readouterr()

    assert main(["evaluate", str(run / "learngene.pt"), "--episodes", "1", "--shots", "1", "--baselines",
                 *METHODS[1:], *common, *_sets(TOKEN_EVALUATION)]) == 0
    out = capsys.readouterr().out
    for method in METHODS:
        assert f"| {method} | 5-way 1-shot |" in out, method

    out_file = tmp_path / "descendant.pt"
    assert main(["inherit", str(run / "learngene.pt"), "--arch", descendant, "--width", str(width),
                 "--out", str(out_file)]) == 0
    info = json.loads(out_file.with_suffix(".json").read_text())
    assert (info["arch"], info["width"]) == (descendant, width) and 0 < info["inherited_params"] <= lg.num_params
    assert list(tmp_path.glob("runs/pretrained/*.pt"))  # Pre-Fin's network went to the private $GTL_RUNS


def test_evaluate_set_overrides_the_evaluation_config(tmp_path, monkeypatch, capsys):
    """Whatever the paper's evaluation needs cut (pre-training, fine-tuning, queries) is one --set away."""
    net = seeded_model("conv4", 5, 0.25, 0)
    extract(net, random_channels(net, 0.45, 0), dataset="miniimagenet", image_size=32).save(tmp_path / "lg.pt")
    seen = []
    row = FewShotResult("Learngene", 0.5, 0.1, 2, 5, 1, 0, 10, [0.4, 0.6])
    monkeypatch.setattr(gtl.cli, "load_dataset", lambda *a, **k: indexed_dataset([30] * 5))
    monkeypatch.setattr(gtl.cli, "evaluate_methods", lambda lg, gcfg, eval_cfg, *a, **k: seen.append(eval_cfg) or [row])
    argv = ["evaluate", str(tmp_path / "lg.pt"), "--profile", "paper", "--quiet", "--device", "cpu"]
    assert main([*argv, "--episodes", "3", *_sets(TOKEN_EVALUATION)]) == 0
    assert seen[-1] == EvalConfig.paper(episodes=3, queries=1, finetune=TrainConfig(steps=1, batch_size=2),
                                        pretrain=TrainConfig(steps=2, batch_size=2))
    assert main([*argv, "--set", "shots=5"]) == 2
    assert "--shots" in capsys.readouterr().err
    assert main([*argv, "--set", "pretrain.steps=-1"]) == 2
    assert "steps must be >= 0" in capsys.readouterr().err


# ------------------------------------------------------------ cost estimate


def _table(out: str) -> pd.DataFrame:
    """The Markdown table ``info`` prints, numbers as numbers."""
    lines = [line for line in out.splitlines() if line.startswith("|") and not line.startswith("|---")]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    df = pd.DataFrame(cells[1:], columns=cells[0])
    for column in df.columns[1:]:
        df[column] = df[column].str.replace(",", "").astype(float)
    return df.set_index(df.part.str.split(":").str[0])


def test_info_estimates_what_a_paper_run_costs_and_it_scales(capsys):
    assert main(["info", "--profile", "paper"]) == 0
    out = capsys.readouterr().out
    assert "NVIDIA A100's 312 TFLOP/s" in out and "30%" in out and "GiB" in out
    table = _table(out)
    assert list(table.index) == ["lifetimes", "critics", "Pre-Fin pre-training", "evaluation",
                                 "query scoring (forward only)", "total"]
    assert table.loc["lifetimes", "image-steps"] == 50 * 30 * 500 * 64  # the paper preset's lives, batches whole
    total = table.loc["total"]
    assert total["TFLOP"] > 0 and total["hours at 30% of A100"] > 0
    assert total["TFLOP"] == pytest.approx(table.TFLOP.iloc[:-1].sum(), rel=1e-3)
    assert total["hours at 30% of A100"] == pytest.approx(total["TFLOP"] / (0.3 * 312) / 3600, rel=1e-2)

    assert main(["info", "--profile", "paper", "--set", "generations=60"]) == 0
    doubled = _table(capsys.readouterr().out)
    for part in ("lifetimes", "critics"):  # what lives per generation doubles, the rest stays
        assert doubled.loc[part, "TFLOP"] == pytest.approx(2 * table.loc[part, "TFLOP"], rel=1e-3)
    for part in ("Pre-Fin pre-training", "evaluation"):
        assert doubled.loc[part, "TFLOP"] == table.loc[part, "TFLOP"]


def test_run_cost_counts_images_per_part_from_the_configs():
    cfg = GTLConfig.smoke(arch="conv4")
    eval_cfg = EvalConfig.smoke()
    cost = run_cost(cfg, eval_cfg, shots=(1, 5)).set_index("part")
    rows = dict(zip(cost.index.str.split(":").str[0], cost.image_steps))
    lives = cfg.population * cfg.generations
    assert rows["lifetimes"] == lives * cfg.lifetime.steps * min(cfg.lifetime.batch_size, cfg.ways * cfg.task_shots)
    assert rows["critics"] == lives * cfg.critic_tasks * cfg.critic.steps * min(cfg.critic.batch_size,
                                                                                cfg.ways * cfg.critic_shots)
    assert rows["Pre-Fin pre-training"] == eval_cfg.pretrain.steps * eval_cfg.pretrain.batch_size
    assert rows["evaluation"] == eval_cfg.episodes * len(METHODS) * eval_cfg.finetune.steps * (5 + 10)  # 1 and 5 shots
    flops = forward_flops(cfg.arch, cfg.width, cfg.image_size)
    assert list(cost.tflop) == pytest.approx(list(cost.image_steps * cost.passes * flops / 1e12))
    no_pretraining = run_cost(cfg, eval_cfg, methods=("Learngene", "Scratch")).set_index("part")
    assert no_pretraining.image_steps.iloc[2] == 0


def test_info_for_a_cpu_profile_gives_hours_at_a_measured_rate(capsys):
    assert main(["info", "--profile", "smoke", "--arch", "conv4"]) == 0
    out = capsys.readouterr().out
    assert "measured just now" in out and re.search(r"hours = TFLOP / [0-9.e-]+ TFLOP/s", out)
    assert _table(out).loc["total", "hours on this CPU"] >= 0
    assert main(["info", "--profile", "smoke", "--data", "x", "--set", "generations=2"]) == 2
    assert "cost estimate" in capsys.readouterr().err
