"""gtl.questions (learngene size, GA sensitivity, ViT), gtl.explorer and gtl.exercises on a tiny run."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch

import gtl.questions as q
from gtl.experiments import Study
from gtl.profiles import numbers
from _helpers import tiny_config
from gtl import evolution as evo
from gtl import report
from gtl import explorer as ex
from gtl.exercises import EXERCISES, ask, check, solution
from gtl.evaluation import EvalConfig
from gtl.learngene import channel_saliency, extract, kernel_masks, random_channels, seeded_model
from gtl.stats import PAIRED, long_rows, summarize
from gtl.train import TrainConfig

EVAL = EvalConfig(ways=5, shots=1, queries=2, episodes=2, finetune=TrainConfig(steps=2, batch_size=5))
TINY = dict(population=3, generations=2, tournament_size=2, task_shots=5, task_queries=3, width=0.25,
            lifetime=TrainConfig(steps=3, batch_size=10), critic_tasks=1, critic_shots=1, critic_queries=3,
            critic=TrainConfig(steps=2, batch_size=5), image_size=32)


@pytest.fixture(scope="module")
def tiny_run(data_root, tmp_path_factory):
    return evo.evolve(tiny_config(arch="vgg11", population=4), tmp_path_factory.mktemp("run"), data_root, "cpu",
                      progress=False)


@pytest.mark.parametrize("fraction", [0.05, 0.2, 0.45])
def test_masks_for_fraction_hit_the_asked_share(fraction):
    net = seeded_model("vgg11", 5, 0.25, 0)
    sal = {g: torch.rand(len(s), generator=torch.Generator().manual_seed(1)) for g, s in channel_saliency(net).items()}
    assert extract(net, q.masks_for_fraction(net, sal, fraction)).fraction == pytest.approx(fraction, abs=0.02)
    with pytest.raises(ValueError, match="fraction"):
        q.masks_for_fraction(net, sal, 0)


@pytest.mark.slow
def test_size_sweep_tests_every_size_and_scratch_and_caches(tiny_run, data_root, monkeypatch):
    study = Study("quick", "miniimagenet", "conv4", 3, data_root, "cpu")
    episodes = q.size_sweep(study, tiny_run, EVAL, fractions=(0.05, 0.2), shots=1)
    assert len(episodes) == 6 * EVAL.episodes
    df = summarize(episodes, q.SIZE_PAIR_ON)
    assert df.target_fraction.tolist() == [0.0, 0.0, 0.05, 0.05, 0.2, 0.2]
    assert df.score.tolist() == ["instinct", "finetune"] * 3 and df.method.tolist()[:2] == ["Scratch"] * 2
    assert df[df.method == "Learngene"].fraction.tolist() == pytest.approx([0.05, 0.05, 0.2, 0.2], abs=0.02)
    assert df.paper_size.tolist() == [False] * 4 + [True] * 2 and df["mean"].between(0, 1).all()
    monkeypatch.setattr(q, "evaluate", lambda *a, **k: pytest.fail("evaluated again despite the cache"))
    pd.testing.assert_frame_equal(q.size_sweep(study, tiny_run, EVAL, fractions=(0.05, 0.2), shots=1), episodes)


@pytest.mark.slow
def test_sensitivity_moves_one_factor_at_a_time(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("GTL_RUNS", str(tmp_path))
    base = {**TINY, "critic_tasks": 1}
    df = q.sensitivity_table(Study("quick", "miniimagenet", "conv4", 3, data_root, "cpu"), eval_cfg=EVAL, shots=1,
                             base=base, factors={"mutation_rate": (0.0, 0.3), "generations": (1, 2)})
    df = summarize(df, ["setting"])
    assert df.factor.tolist() == ["mutation_rate", "Scratch", "mutation_rate", "generations", "generations"]
    rows = df[df.factor != "Scratch"]
    assert rows.is_base.tolist() == [False, True, False, True]  # base: mutation 0.3 (default), 2 generations
    assert rows[rows.factor == "generations"].generations.tolist() == [1, 2]
    assert df["mean"].between(0, 1).all() and rows.best_fitness.notna().all()


@pytest.mark.slow
def test_vit_comparison_pairs_the_vit_with_a_cnn_of_the_same_budget(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("GTL_RUNS", str(tmp_path))
    episodes, vit = q.vit_comparison(Study("quick", "miniimagenet", "vgg11", 3, data_root, "cpu"), eval_cfg=EVAL,
                                     shots=(1,), settings=TINY)
    df = summarize(episodes, q.VIT_PAIR_ON)
    assert vit.best.arch == "vit" and vit.config.population == 3
    assert df.network.unique().tolist() == ["vit x0.25", "vgg11 x0.25"]
    assert set(df.score) == {"finetune", "instinct"} and set(df.method) == {"Learngene", "Scratch"}
    assert len(df) == 8 and df["mean"].between(0, 1).all()


# ------------------------------------------------------------- explorer


@pytest.mark.slow
def test_every_generation_keeps_its_champion(tiny_run):
    for g in range(tiny_run.config.generations):
        lg = ex.champion(tiny_run, g)
        winners = tiny_run.history[(tiny_run.history.generation == g) & tiny_run.history.winner]
        assert lg.meta["generation"] == g and lg.meta["member"] in winners.member.tolist()
        assert lg.meta["fitness"] == pytest.approx(winners.fitness.max())
    with pytest.raises(FileNotFoundError, match="evolve again"):
        ex.champion(tiny_run, 99)


@pytest.mark.slow
def test_explorer_pieces(tiny_run, mini_test):
    table = ex.generation_table(tiny_run.history, 1)
    assert table.fitness.is_monotonic_decreasing and table.winner.sum() == 2 and len(table) == 4
    with pytest.raises(ValueError, match="no generation 7"):
        ex.generation_table(tiny_run.history, 7)
    assert isinstance(ex.plot_generation(tiny_run.history, 0), plt.Figure)
    fig = ex.plot_masks(tiny_run.best)
    assert len(fig.axes[0].get_yticklabels()) == len(tiny_run.best.masks)
    race = ex.race(tiny_run.best, mini_test, shots=1, queries=2, steps=4, at=(0, 2, 4))
    assert race.method.tolist() == ["Learngene"] * 3 + ["Scratch"] * 3 and race.accuracy.between(0, 1).all()
    assert isinstance(ex.plot_race(race), plt.Figure)


@pytest.mark.slow
def test_the_explorer_widget_reacts_to_its_controls(tiny_run, mini_test, capsys):
    box = ex.explorer(tiny_run, mini_test, shots=1, steps=2)
    controls = box.children[0].children
    assert box.state["generation"] == 1   # the last generation first
    controls[0].value = 0                  # the generation slider redraws
    assert box.state["generation"] == 0
    controls[2].click()                    # the button races generation 0's learngene against scratch
    race = box.state["race"]
    assert set(race.method) == {"Learngene", "Scratch"} and race.step.max() == 2


# ------------------------------------------------------------ exercises


def test_every_exercise_is_checked_against_its_own_solution(capsys):
    net = seeded_model("vgg11", 5, 0.25, 0)
    lg = extract(net, random_channels(net, 0.5, 1))
    second = net.conv_specs()[1]
    expected = {"slices": int(lg.masks[second.out_group].sum()) * int(lg.masks[second.in_group].sum()),
                "first_layer": int(lg.masks[net.conv_specs()[0].out_group].sum())}
    assert expected["slices"] == int(kernel_masks(net, lg.masks)[second.conv].sum())
    for name, truth in expected.items():
        assert solution(name, net=net, lg=lg) == truth
        assert check(name, truth, net=net, lg=lg) and not check(name, truth + 1, net=net, lg=lg)
    assert check("share", 0.2, c=0.45) and not check("share", 0.45, c=0.45)
    assert check("winners", 4, population=12, tournament_size=3) and check("winners", 5, population=13,
                                                                             tournament_size=3)
    assert check("mutation", 3, channels=64, mutation_step=0.05) and not check("mutation", 0, channels=4,
                                                                                mutation_step=0.05)
    assert check("not_inherited", "a, c e") and check("not_inherited", {"a", "c", "e"})
    assert not check("not_inherited", "a c") and not check("winners", None, population=3, tournament_size=3)
    out = capsys.readouterr().out
    assert "✓ right" in out and "Hint:" in out and "write your answer" in out
    ask("winners")
    assert "tournament" in capsys.readouterr().out
    with pytest.raises(KeyError, match="no exercise"):
        check("nope", 1)
    assert math.isclose(EXERCISES["share"].solve(), 0.2025)


# ------------------------------------------------------- tables, plots and summaries


SCRATCH = [0.2, 0.4, 0.3, 0.5, 0.35, 0.25]  # wide per-method CIs: only pairing tells the sizes apart


def _sweep():
    """A size sweep's long table: 5% is Scratch +1 point on every other episode only (not clear), 20% and
    60% are +6 and +10 points on every episode (clear), in both scores."""
    rows = []
    for s in ("instinct", "finetune"):
        steps = 0 if s == "instinct" else 10
        rows += long_rows(SCRATCH, method="Scratch", target_fraction=0.0, fraction=0.0, score=s, setting="5-shot",
                          finetune_steps=steps, paper_size=False)
        for f, shifts in ((0.05, [0.01, -0.01] * 3), (0.2, [0.06] * 6), (0.6, [0.1, 0.09] * 3)):
            rows += long_rows([a + d for a, d in zip(SCRATCH, shifts)], method="Learngene", target_fraction=f,
                              fraction=f + 0.001, score=s, setting="5-shot", finetune_steps=steps,
                              paper_size=f == 0.2)
    return pd.DataFrame(rows)


def test_question_protocol_is_short_in_quick_only():
    assert q.question_protocol(Study("quick")).finetune.steps == numbers("quick").question_steps
    assert q.question_protocol(Study("quick", "cifar-fs")).queries == 6
    assert q.question_protocol(Study("paper")).finetune.steps == EvalConfig.paper().finetune.steps


def test_size_summary_says_which_sizes_beat_scratch():
    lines = report.size_summary(_sweep())
    assert len(lines) == 2 and lines[0].startswith("no learning") and lines[1].startswith("after 10 steps")
    assert "clearly above it (paired): 20%, 60%;" in lines[0] and "best size 60%" in lines[0]
    assert "the paper's 20%: 39.3 ± 8.6%, -3.5 ± 0.4 points from the best (clear)" in lines[0]
    fig = __import__("gtl.plots", fromlist=["plot_size_sweep"]).plot_size_sweep(summarize(_sweep(), q.SIZE_PAIR_ON))
    assert len(fig.axes) == 2


def test_sensitivity_summary_and_plot():
    from gtl.plots import plot_sensitivity
    rows = long_rows(SCRATCH, factor="Scratch", value="", is_base=False, method="Scratch", setting="5-shot")
    for factor, value, is_base, shifts in (("mutation_rate", 0.0, False, [0.05, 0.05, 0.05, 0.06, 0.05, 0.05]),
                                           ("mutation_rate", 0.3, True, [0.06, 0.05, 0.06, 0.05, 0.06, 0.05]),
                                           ("population", 3, False, [0.0, 0.01, 0.0, 0.0, 0.01, 0.0]),
                                           ("population", 6, True, [0.06] * 6)):
        rows += long_rows([a + d for a, d in zip(SCRATCH, shifts)], factor=factor, value=value, is_base=is_base,
                          method="Learngene", setting="5-shot")
    episodes = pd.DataFrame(rows)
    lines = report.sensitivity_summary(episodes)
    assert lines[0].startswith("mutation_rate: accuracies span 0.3 points") and "no measurable effect" in lines[0]
    assert "clearly different from the base (6), paired: 3" in lines[1]
    assert len(plot_sensitivity(summarize(episodes, ["setting"])).axes) == 2


def test_percent_table():
    from gtl.plots import percent_table
    t = percent_table(pd.DataFrame({"method": ["a"], "mean": [0.1234], "ci95": [0.0211]}))
    assert t.columns.tolist() == ["method", "accuracy (%)", "95% CI (±)"] and t.iloc[0, 1:].tolist() == [12.34, 2.11]
    paired = percent_table(pd.DataFrame({"method": ["a"], "mean": [0.5], "ci95": [0.02], "diff": [0.031],
                                         "diff_ci95": [0.01], "clear": [True]}))
    assert paired.columns.tolist() == ["method", "accuracy (%)", "95% CI (±)", PAIRED]
    assert paired[PAIRED].iloc[0] == "**+3.1 ± 1.0**"
    table = percent_table(pd.DataFrame({"method": ["a"], "mean": [0.1], "ci95": [0.0]}), ["accuracy (%)"])
    assert table.shape == (1, 1)
