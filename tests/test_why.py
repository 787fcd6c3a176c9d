"""gtl.why: the explanations' studies, their rules and the pieces they are computed in."""
from __future__ import annotations

import pandas as pd
import pytest

from gtl import report, why
from gtl.experiments import Study
from gtl.report import verdict_cells as report_cells
from gtl.report import width_verdict_text

WIDTHS = (0.25, 0.5, 1.0)


def _episodes(gains: dict[tuple[int, float], float], prefin: float = 0.10, episodes: int = 4) -> pd.DataFrame:
    """A long table where, at (seed, width), the born-cut cut is ``gains[...]`` above Scratch in every
    episode, the open cut half that, and Pre-Fin ``prefin``; Scratch at 0.4 with some spread."""
    rows = []
    for (seed, width), gain in gains.items():
        for e in range(episodes):
            base = 0.4 + 0.01 * e
            for method, isolation, acc in (("Scratch", "", base), ("Pre-Fin", "", base + prefin),
                                           (why.UNIFORM, "born cut", base + gain),
                                           (why.UNIFORM, "open", base + gain / 2)):
                rows.append({"method": method, "isolation": isolation, "seed": seed, "width": width,
                             "episode": e, "accuracy": acc})
    return pd.DataFrame(rows)


def test_gains_are_per_seed_and_width_in_points_for_each_cut_and_pre_fin():
    gains = why.width_gains(_episodes({(0, 0.25): 0.02, (0, 1.0): 0.08}))
    row = gains[(gains.seed == 0) & (gains.width == 1.0)].iloc[0]
    assert row["Uniform-cut, born cut"] == pytest.approx(8.0) and row["Uniform-cut, open"] == pytest.approx(4.0)
    assert row["Pre-Fin"] == pytest.approx(10.0) and len(gains) == 2


@pytest.mark.parametrize("wide, verdict", [((0.08, 0.09, 0.085), "confirmed"),     # +6..+7 points, tight
                                           ((0.02, 0.025, 0.03), "ruled out"),    # +0..+1: upper end below +2
                                           ((0.01, 0.09, 0.03, 0.05, 0.06), "open")])  # too spread to say
def test_the_rule_of_decision_20_on_three_seeds(wide, verdict):
    gains = {(s, 0.25): 0.02 for s in range(len(wide))} | {(s, 1.0): g for s, g in enumerate(wide)}
    result = why.width_verdict(_episodes(gains), WIDTHS, (0, 1, 2), extra=(3, 4))
    assert result["verdict"] == verdict and result["delta"].seeds == (5 if verdict == "open" else 3)
    assert width_verdict_text(result, WIDTHS).startswith(f"{verdict}: the 20% cut's gain (born cut) at width 1 minus")


def test_open_over_three_seeds_adds_seeds_3_and_4_once_and_decides_over_all_five():
    spread = {0: 1.0, 1: 9.0, 2: 3.0}  # open over three seeds
    result = why.rule_verdict(pd.Series(spread), (0, 1, 2), extra=(3, 4))
    assert result["verdict"] == "pending" and result["missing"] == [3, 4] and result["first"].seeds == 3
    assert report_cells(result)[1] == "pending (3, 4 to come)" and report_cells(result)[0].startswith("open over 3")
    assert why.rule_verdict(pd.Series({**spread, 3: 6.0, 4: 5.0}), (0, 1, 2), extra=(3, 4))["verdict"] == "confirmed"
    assert why.rule_verdict(pd.Series({**spread, 3: -9.0, 4: 9.0}), (0, 1, 2), extra=(3, 4))["verdict"] == "open"
    assert why.rule_verdict(pd.Series(spread), (0, 1, 2))["verdict"] == "open"  # a profile without extra seeds


def test_the_rule_waits_for_every_seed_to_have_both_ends():
    gains = {(0, 0.25): 0.02, (0, 1.0): 0.08, (1, 0.25): 0.02, (1, 0.5): 0.05, (2, 1.0): 0.07}
    result = why.width_verdict(_episodes(gains), WIDTHS, (0, 1, 2))
    assert result == {"verdict": "pending", "seeds": [0], "missing": [1, 2]}
    assert width_verdict_text(result, WIDTHS) == "pending: seed 0 done; 1, 2 to come"


def test_shares_are_over_seeds_with_the_between_run_sd():
    gains = {(s, w): 0.05 + 0.01 * s for s in range(3) for w in (0.25, 1.0)}
    shares = why.width_shares(_episodes(gains))
    born = shares[(shares.width == 1.0) & (shares.method == "Uniform-cut, born cut")].iloc[0]
    assert born.seeds == 3 and born.gain == pytest.approx(6.0) and born.between_run_sd == pytest.approx(1.0)
    assert born.share == pytest.approx(0.6) and born.share_low < 0.6 < born.share_high


def test_a_piece_replaces_its_own_rows_and_keeps_the_others(tmp_path, monkeypatch):
    monkeypatch.setenv("GTL_FIGURES", str(tmp_path))
    first = _episodes({(0, 0.25): 0.02, (1, 0.25): 0.03})
    why.merge_piece(first, "t.csv", on=("seed", "width"), made_at="abc1234")
    again = _episodes({(0, 0.25): 0.05})
    why.merge_piece(again, "t.csv", on=("seed", "width"), made_at="def5678")
    table = pd.read_csv(tmp_path / "t.csv")
    assert len(table) == len(first) and not list(tmp_path.glob("*.tmp"))
    assert set(table[table.seed == 0].commit) == {"def5678"} and set(table[table.seed == 1].commit) == {"abc1234"}
    assert why.width_gains(table).set_index("seed").loc[0, "Uniform-cut, born cut"] == pytest.approx(5.0)


def test_the_uniform_cut_holds_the_papers_share_of_the_parameters_at_every_width():
    from gtl.learngene import seeded_model
    for width in (0.125, 0.25):
        cut = why.uniform_cut(seeded_model("vgg11", 64, width, 0))
        assert cut.fraction == pytest.approx(0.20, abs=0.02) and cut.meta["method"] == why.UNIFORM


def test_a_piece_at_a_width_the_profile_does_not_study_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        why.main(["width", "--seed", "0", "--width", "0.3", "--profile", "smoke"])
    assert "the smoke profile's widths are (0.125, 0.25)" in capsys.readouterr().err


@pytest.mark.slow
def test_a_width_point_pairs_every_method_on_the_same_episodes(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("GTL_RUNS", str(tmp_path))
    study = Study(profile="smoke", data_root=str(data_root), device="cpu")
    rows = why.width_point(study, width=0.125, eval_cfg=study.eval_config())
    cells = rows.groupby(["method", "isolation"]).episode.apply(tuple)
    assert len(cells) == 4 and cells.nunique() == 1  # Scratch, Pre-Fin, two cuts; the same episodes
    assert (rows.width == 0.125).all() and set(rows.seed) == {0}


def _lineage_episodes(gaps: dict[tuple[int, int, int], float], episodes: int = 4) -> pd.DataFrame:
    """Chains: at (seed, generations, lifetime steps) the learngene is ``gaps[...]`` above Scratch, Pre-Cut 0.03."""
    rows = []
    for (seed, generations, steps), gap in gaps.items():
        for e in range(episodes):
            base = 0.4 + 0.01 * e
            for method, acc in (("Scratch", base), ("Learngene", base + gap), ("Pre-Cut", base + 0.03)):
                rows.append({"method": method, "seed": seed, "kind": "chain", "generations": generations,
                             "lifetime_steps": steps, "image_steps": generations * steps * 25, "episode": e,
                             "accuracy": acc})
    pre = [{"method": m, "seed": 0, "kind": "pre-training", "pretrain_steps": 375, "image_steps": 375 * 64,
            "episode": e, "accuracy": 0.4 + 0.01 * e + g} for e in range(episodes)
           for m, g in (("Scratch", 0), ("Pre-Fin", 0.1), ("Pre-Cut", 0.02))]
    return pd.DataFrame(rows + pre)


CHAINS = ((6, 100), (36, 100), (96, 100), (6, 1600))


def test_lineage_gaps_per_seed_and_lineage_with_the_pre_training_points_beside():
    gaps = why.lineage_gaps(_lineage_episodes({(0, 6, 100): 0.01, (0, 96, 100): 0.05}))
    chain = gaps[(gaps.kind == "chain") & (gaps.method == "Learngene")].set_index("generations").gap
    assert chain.loc[6] == pytest.approx(1.0) and chain.loc[96] == pytest.approx(5.0)
    pre = gaps[gaps.kind == "pre-training"].set_index("method").gap
    assert pre["Pre-Fin"] == pytest.approx(10.0) and pre["Pre-Cut"] == pytest.approx(2.0)


@pytest.mark.parametrize("long, verdict", [((0.07, 0.08, 0.075), "confirmed"), ((0.01, 0.015, 0.02), "ruled out")])
def test_the_rule_of_explanation_1_compares_the_fewest_and_the_most_generations(long, verdict):
    gaps = {(s, 6, 100): 0.01 for s in range(3)} | {(s, 96, 100): g for s, g in enumerate(long)}
    gaps |= {(s, 6, 1600): 0.5 for s in range(3)}  # the few-tasks chain decides nothing
    result = why.lineage_verdict(_lineage_episodes(gaps), CHAINS, (0, 1, 2))
    assert result["verdict"] == verdict
    from gtl.report import lineage_verdict_text
    assert "chain of 96 generations minus after 6 (× 100 lifetime steps)" in lineage_verdict_text(result, CHAINS)


def test_gtl_gets_the_generations_that_see_as_many_images_as_pre_training():
    study = Study(profile="quick")
    eval_cfg = study.eval_config()
    generations = why.matching_generations(study, eval_cfg)
    cfg = study.gtl_config()
    per_generation = cfg.lifetime.steps * cfg.lifetime.batch_size
    assert (generations - 1) * per_generation < eval_cfg.pretrain.steps * eval_cfg.pretrain.batch_size
    assert generations * per_generation >= eval_cfg.pretrain.steps * eval_cfg.pretrain.batch_size


@pytest.mark.slow
def test_a_chain_is_one_member_a_generation_and_gives_its_last_learngene(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("GTL_RUNS", str(tmp_path))
    study = Study(profile="smoke", data_root=str(data_root), device="cpu")
    rows = why.lineage_point(study, kind="chain", generations=2, lifetime_steps=2, eval_cfg=study.eval_config())
    assert set(rows.method) == {"Learngene", "Scratch", "Pre-Cut"} and set(rows.kind) == {"chain"}
    run = next(p for p in tmp_path.iterdir() if p.name.startswith("miniimagenet-vgg11-smoke"))
    history = pd.read_csv(run / "generations.csv")
    assert len(history) == 2 and (history.member == 0).all()  # one member a generation
    assert (rows.image_steps == 2 * 2 * 10).all()


def test_beside_the_rule_narrow_data_and_gtl_against_pre_cut_decide_nothing_but_are_reported():
    from gtl.report import lineage_beside_text
    gaps = {(s, 96, 100): 0.05 for s in range(3)} | {(s, 6, 1600): 0.01 + 0.01 * s for s in range(3)}
    episodes = _lineage_episodes(gaps)
    gtl = _lineage_episodes({(s, 39, 100): 0.01 for s in range(3)})
    both = pd.concat([episodes, gtl[gtl.kind == "chain"].assign(kind="GTL")], ignore_index=True)
    beside = why.lineage_beside(both, CHAINS)
    assert beside["narrow"].mean == pytest.approx(3.0) and beside["narrow"].seeds == 3
    assert beside["against_pre_cut"].mean == pytest.approx(-2.0)  # learngene +1, Pre-Cut +3 on GTL's episodes
    lines = lineage_beside_text(beside, CHAINS)
    assert "after 96 × 100 minus after 6 × 1600" in lines[0] and "GTL's learngene is behind Pre-Cut" in lines[1]
    summary = why.lineage_summary(both)
    assert summary[summary.kind == "pre-training"].generations.isna().all()  # no placeholder shows
    assert set(summary[summary.kind == "chain"].generations) == {96, 6}


def test_the_lineage_plot_says_when_gtls_point_has_fewer_seeds_than_the_chains():
    import matplotlib
    matplotlib.use("Agg")
    from gtl.plots import plot_lineage_gaps
    chains = _lineage_episodes({(s, g, 100): 0.01 * g / 6 for s in range(3) for g in (6, 96)})
    gtl = _lineage_episodes({(s, 39, 100): 0.02 for s in range(2)})
    gtl = gtl[gtl.kind == "chain"].assign(kind="GTL")

    def labels(episodes: pd.DataFrame) -> list[str]:
        return [t.get_text() for t in plot_lineage_gaps(why.lineage_summary(episodes)).axes[0].get_legend().texts]
    assert "Learngene, GTL (2 of 3 seeds so far)" in labels(pd.concat([chains, gtl], ignore_index=True))
    third = _lineage_episodes({(2, 39, 100): 0.02}).query("kind == 'chain'").assign(kind="GTL")
    assert "Learngene, GTL" in labels(pd.concat([chains, gtl, third], ignore_index=True))


def test_an_interval_clear_of_0_is_confirmed_even_below_the_floor():
    per_seed = pd.Series({0: 0.9, 1: 1.0, 2: 1.1})  # +1.0 ± 0.25: above 0, and below +2
    assert why.rule_verdict(per_seed, (0, 1, 2))["verdict"] == "confirmed"


def test_explanation_1_needs_two_chain_lengths_at_one_lifetime():
    assert why.chain_ends(CHAINS) == (100, 6, 96, (6, 1600))
    with pytest.raises(ValueError, match="two chain lengths at 100 lifetime steps"):
        why.chain_ends(((6, 100), (6, 1600)))


# ------------------------------------------------------------------ the headline, the isolation, explanations 2, 3, 5

def _paired(gaps: dict, by: dict | None = None, episodes: int = 4) -> pd.DataFrame:
    """A long table: for each seed in ``gaps``, each method ``gaps[seed][method]`` above Scratch in every episode
    (Scratch at 0.4 with some spread); ``by`` adds columns to every row."""
    rows = []
    for seed, methods in gaps.items():
        for e in range(episodes):
            base = 0.4 + 0.01 * e
            for method, gap in {"Scratch": 0.0, **methods}.items():
                rows.append({"method": method, "seed": seed, "episode": e, "accuracy": base + gap, **(by or {})})
    return pd.DataFrame(rows)


def test_the_headline_is_a_gap_over_seeds_per_dataset_and_setting():
    episodes = pd.concat([_paired({s: {"Learngene": 0.01 * (s - 1), "Pre-Fin": 0.1} for s in range(5)},
                                  {"dataset": d, "setting": "5-way 5-shot"}) for d in ("miniimagenet", "cifar-fs")])
    table = why.headline_summary(episodes).set_index(["dataset", "method"])
    assert table.loc[("cifar-fs", "Learngene"), "gap"] == pytest.approx(1.0)  # mean of -1, 0, 1, 2, 3 points
    assert table.loc[("cifar-fs", "Learngene"), "seeds"] == 5
    assert table.loc[("miniimagenet", "Learngene"), "between_run_sd"] == pytest.approx(pd.Series(range(5)).std())
    assert table.loc[("miniimagenet", "Pre-Fin"), "clear"] and not table.loc[("miniimagenet", "Learngene"), "clear"]


def _curves(winners: list[str], endpoint: int = 50) -> pd.DataFrame:
    """Validation curves where, at seed i, ``winners[i]``'s Learngene is best after ``endpoint`` steps (and another
    at 5), read with running BatchNorm statistics; read with support statistics, "closed circuit" would win by far."""
    rows = []
    for seed, winner in enumerate(winners):
        for isolation in ("open", "cut at birth", "closed circuit"):
            for step in (5, endpoint):
                best = isolation == winner if step == endpoint else isolation == "closed circuit"
                rows += [{"method": "Learngene", "isolation": isolation, "step": step, "seed": seed, "episode": e,
                          "accuracy": 0.5 + 0.1 * best, "bn": "running"} for e in range(3)]
                rows += [{"method": "Learngene", "isolation": isolation, "step": step, "seed": seed, "episode": e,
                          "accuracy": 0.9 if isolation == "closed circuit" else 0.1, "bn": "support"} for e in range(3)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("winners, adopted", [(["cut at birth"] * 4 + ["open"], "cut at birth"),
                                              (["cut at birth"] * 3 + ["open"] * 2, "open"),
                                              (["closed circuit"] * 3 + ["cut at birth"] * 2, "open")])
def test_an_isolation_is_adopted_only_if_it_wins_four_seeds_of_five_at_the_endpoint(winners, adopted):
    result = why.isolation_verdict(_curves(winners), step=50, seeds=(0, 1, 2, 3, 4))
    assert result["verdict"] == adopted
    assert why.isolation_verdict(_curves(winners[:3]), step=50, seeds=(0, 1, 2, 3, 4))["verdict"] == "pending"


@pytest.mark.parametrize("winners, verdict", [(["open", "open"], "open"), (["open", "cut at birth"], "pending"),
                                              (["open", "closed circuit"], "pending"),
                                              (["cut at birth", "cut at birth"], "pending")])
def test_the_isolation_rule_is_decided_once_the_missing_seeds_cannot_change_it(winners, verdict):
    """Two seeds of five, 4 wins needed: once no isolation but open can reach 4 with the three seeds to come, the
    rule has returned open whatever they show; while one can, it waits."""
    result = why.isolation_verdict(_curves(winners), step=50, seeds=(0, 1, 2, 3, 4))
    assert result["verdict"] == verdict
    if verdict == "open":
        assert result["decided_early"] == [0, 1] and result["missing"] == [2, 3, 4]
        assert "no other isolation can reach 4 wins" in report.isolation_verdict_text(result, 50)


def test_an_exact_tie_at_the_top_goes_to_open_and_an_impossible_count_is_refused():
    curves = _curves(["cut at birth"])
    tied = curves.isolation.isin(["open", "cut at birth"]) & (curves.step == 50) & (curves.bn == "running")
    curves.loc[tied, "accuracy"] = 0.6
    assert why.isolation_wins(curves, 50).tolist() == ["open"]
    for needed in (0, 6):
        with pytest.raises(ValueError, match=f"needed={needed}"):
            why.isolation_verdict(curves, 50, seeds=(0, 1, 2, 3, 4), needed=needed)


def _protocols(val_best: str, test_gain: float, seeds=(0, 1, 2)) -> pd.DataFrame:
    """Explanation 2's table: on validation ``val_best`` has the learngene's largest gap (the current protocol a
    larger one still, which must not count); on test the learngene gains ``test_gain`` under ``val_best`` and
    0 under every other protocol."""
    frames = []
    for protocol in why.PROTOCOLS:
        val = 0.05 if protocol == val_best else 0.10 if protocol == why.CURRENT else 0.0
        test = test_gain if protocol == val_best else 0.0
        frames.append(_paired({s: {"Learngene": val} for s in seeds}, {"protocol": protocol, "split": "val"}))
        frames.append(_paired({s: {"Learngene": test + 0.001 * s, "Pre-Cut": 0.02, "Pre-Fin": 0.1} for s in seeds},
                              {"protocol": protocol, "split": "test"}))
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("test_gain, verdict", [(0.06, "confirmed"), (0.0, "ruled out")])
def test_explanation_2_chooses_its_protocol_on_validation_and_is_decided_on_test(test_gain, verdict):
    result = why.protocol_verdict(_protocols("inherited frozen", test_gain), (0, 1, 2))
    assert result["chosen"] == {0: "inherited frozen", 1: "inherited frozen", 2: "inherited frozen"}
    assert result["verdict"] == verdict
    shares = why.protocol_shares(_protocols("Heur-LG", 0.05)).set_index(["protocol", "method"])
    assert shares.loc[("Heur-LG", "Learngene"), "share"] == pytest.approx(0.5, abs=0.02)
    assert list(dict.fromkeys(shares.index.get_level_values(0))) == list(why.PROTOCOLS)


@pytest.mark.parametrize("gain, verdict", [(0.005, "confirmed"), (0.06, "ruled out"), (0.02, "open")])
def test_explanation_3_is_a_cap_confirmed_below_the_floor_and_ruled_out_above_it(gain, verdict):
    episodes = _paired({s: {"Pre-Closed": gain + 0.002 * (s % 3), "Pre-Fin": 0.1} for s in range(5)})
    assert why.closed_verdict(episodes, (0, 1, 2))["verdict"] == verdict


def test_explanation_5_compares_careful_selection_with_gtl_on_the_same_episodes():
    episodes = _paired({s: {"Learngene": 0.01, "Careful-LG": 0.06 + 0.002 * s} for s in range(3)})
    result = why.selection_verdict(episodes, (0, 1, 2))
    assert result["verdict"] == "confirmed" and result["delta"].mean == pytest.approx(5.2)
    assert why.selection_verdict(episodes[episodes.seed < 2], (0, 1, 2))["verdict"] == "pending"


def test_pre_closed_keeps_its_circuit_closed_through_pre_training_and_is_a_fifth_of_the_network(mini_train):
    from gtl.baselines import pretrain
    from gtl.learngene import cross_masks, masked_fraction, random_channels, seeded_model
    from gtl.train import TrainConfig
    net = seeded_model("vgg11", len(mini_train.classes), 0.125, 0)
    circuit = random_channels(net, 0.45, 1)
    trained = pretrain("vgg11", 0.125, mini_train, TrainConfig(steps=3, batch_size=16), 0, circuit=circuit)
    for name, cross in cross_masks(trained, circuit).items():
        assert (trained.get_submodule(name).weight[cross] == 0).all(), name
    assert 0.15 < masked_fraction(trained, circuit) < 0.25


@pytest.mark.slow
def test_the_protocol_point_pairs_every_method_and_protocol_on_the_same_episodes(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("GTL_RUNS", str(tmp_path))
    study = Study(profile="smoke", data_root=str(data_root), device="cpu")
    rows = why.protocol_point(study, eval_cfg=study.eval_config())
    assert set(rows.protocol) == set(why.PROTOCOLS) and set(rows.seed) == {0}
    cells = rows.groupby(["split", "protocol", "method"]).episode.apply(tuple)
    assert cells.groupby(level=0).nunique().eq(1).all()  # within a split, every cell the same episodes
    test = rows[rows.split == "test"]
    assert set(test.method) == set(why.HEADLINE_METHODS) and set(rows[rows.split == "val"].method) == {
        "Learngene", "Scratch"}
    scratch = test[test.method == "Scratch"].pivot_table(index="episode", columns="protocol", values="accuracy")
    assert scratch[why.CURRENT].equals(scratch["inherited frozen"])  # Scratch inherits nothing
    assert (test[test.protocol == "Heur-LG"].shots == 20).all()


def test_each_explanations_verdict_comes_from_its_committed_table_or_is_none(tmp_path):
    _episodes({(s, w): 0.01 for s in (0, 1) for w in (0.125, 0.25)}).to_csv(
        tmp_path / why.study_table("width", "smoke", "miniimagenet"), index=False)
    found = why.explanation_verdicts("smoke", "miniimagenet", tmp_path)
    assert found[4]["verdict"] == "ruled out"  # no gain with width, over the smoke profile's two seeds
    assert [found[n] for n in (1, 2, 3, 5)] == [None] * 4


def test_explanation_1_is_pending_while_only_its_pre_training_piece_is_committed():
    pre = _lineage_episodes({})
    assert why.lineage_verdict(pre, CHAINS, (0, 1, 2))["verdict"] == "pending"
    assert why.lineage_beside(pre, CHAINS) == {"narrow": None, "against_pre_cut": None}
    assert set(why.lineage_summary(pre).kind) == {"pre-training"}


def test_todo_lists_the_pieces_not_yet_committed_in_the_order_the_cpu_is_spent(tmp_path):
    _episodes({(0, 0.125): 0.01, (0, 0.25): 0.02}).to_csv(tmp_path / why.study_table("width", "smoke", "miniimagenet"),
                                                           index=False)
    commands = why.todo("smoke", "miniimagenet", tmp_path)
    assert commands[:2] == ["python -m gtl.why width --seed 1 --width 0.125 --profile smoke",
                            "python -m gtl.why width --seed 1 --width 0.25 --profile smoke"]
    assert commands[2].startswith("python -m gtl.why lineage --seed 0 --piece 'chain 1x2'")
    assert "python -m gtl.why headline --seed 1 --dataset cifar-fs --profile smoke" in commands
    first = {name: next(i for i, c in enumerate(commands) if c.startswith(f"python -m gtl.why {name} "))
             for name in ("isolation", "headline")}
    assert first["isolation"] < first["headline"]  # the isolation rule may change the headline's presets
    assert commands[-1] == "python -m gtl.why selection --seed 1 --profile smoke"
    assert not any(c.startswith("python -m gtl.why width --seed 0 ") and "--image-size" not in c for c in commands)
    assert "python -m gtl.why width --seed 0 --width 0.125 --image-size 40 --profile smoke" in commands
    # seed 0 of 2 won by open: no other isolation can reach the 2 wins needed, the rule has decided, and the
    # isolation's last seed waits until after the headline
    _curves(["open"], endpoint=Study("smoke").eval_config().finetune.steps).to_csv(
        tmp_path / why.study_table("isolation", "smoke", "miniimagenet"), index=False)
    commands = why.todo("smoke", "miniimagenet", tmp_path)
    isolation = commands.index("python -m gtl.why isolation --seed 1 --profile smoke")
    assert isolation > max(i for i, c in enumerate(commands) if c.startswith("python -m gtl.why headline "))
    assert "python -m gtl.why isolation --seed 0 --profile smoke" not in commands


def test_todo_lists_the_pieces_of_miniimagenet_only(capsys):
    with pytest.raises(SystemExit):
        why.main(["todo", "--dataset", "cifar-fs"])
    assert "all run on miniimagenet" in capsys.readouterr().err


def test_a_piece_needs_its_seed_and_a_study_on_another_dataset_is_refused(capsys):
    with pytest.raises(SystemExit):
        why.main(["headline"])
    assert "headline needs --seed" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        why.main(["closed", "--seed", "0", "--dataset", "cifar-fs"])
    assert "runs on miniimagenet" in capsys.readouterr().err


@pytest.mark.parametrize("support_lead, verdict", [(0.0, "confirmed"), (0.06, "ruled out")])
def test_the_bn_reading_compares_cut_and_open_with_running_and_with_support_statistics(support_lead, verdict):
    """Cut at birth leads open by 6 points after 5 steps with running statistics; with support statistics by
    ``support_lead``: all of the lead is BatchNorm's (confirmed), or none of it (ruled out)."""
    rows = []
    for seed in range(5):
        for bn, lead in (("running", 0.06), ("support", support_lead)):
            for isolation, acc in (("open", 0.4), ("cut at birth", 0.4 + lead + 0.002 * seed)):
                rows += [{"method": "Learngene", "step": 5, "bn": bn, "isolation": isolation, "seed": seed,
                          "episode": e, "accuracy": acc + 0.01 * e} for e in range(3)]
    result = why.bn_verdict(pd.DataFrame(rows), (0, 1, 2, 3, 4))
    assert result["verdict"] == verdict and result["delta"].seeds == 5
    assert why.bn_verdict(pd.DataFrame(rows).query("bn == 'running'"), (0, 1, 2, 3, 4))["verdict"] == "pending"


def test_a_table_of_pieces_records_every_commit_and_the_minutes_of_all_its_pieces(tmp_path, monkeypatch):
    from gtl import provenance
    monkeypatch.setenv("GTL_FIGURES", str(tmp_path))
    rows = _episodes({(0, 0.25): 0.01})
    why.merge_piece(rows.assign(piece_minutes=2.5), "t.csv", on=("seed", "width"), made_at="aaa")
    why.merge_piece(_episodes({(1, 0.25): 0.02}).assign(piece_minutes=4.0), "t.csv", on=("seed", "width"),
                    made_at="bbb")
    why.record_pieces(tmp_path / "t.csv", ("seed", "width"), "quick")
    row = provenance.read(tmp_path).set_index("table").loc["t.csv"]
    assert row.commit == "per row: aaa bbb" and float(row.wall_min) == 6.5 and str(row.seeds) == "0,1"


def test_make_studies_adds_the_extra_seeds_where_the_rule_says_open(monkeypatch):
    """over_seeds (notebook 15 under make studies) computes seeds 3 and 4 after an open verdict, as todo lists them."""
    spread = {0: 0.01, 1: 0.09, 2: 0.03, 3: 0.06, 4: 0.05}  # open over the first three seeds
    computed = []

    def rows(name, study, eval_cfg):
        computed.append(study.seed)
        return _paired({study.seed: {"Careful-LG": spread[study.seed], "Learngene": 0.0}})
    monkeypatch.setattr(why, "seed_rows", rows)
    study = Study(profile="quick", device="cpu")
    table = why.over_seeds("selection", study, study.eval_config())
    assert computed == [0, 1, 2, 3, 4] and sorted(table.seed.unique()) == [0, 1, 2, 3, 4]
    computed.clear()
    spread.update({1: 0.011, 2: 0.012})  # tight: confirmed over three seeds, nothing added
    why.over_seeds("selection", study, study.eval_config())
    assert computed == [0, 1, 2]


def test_a_point_beyond_the_profiles_image_size_must_be_one_it_studies(capsys):
    with pytest.raises(SystemExit):
        why.main(["width", "--seed", "0", "--width", "0.25", "--image-size", "84", "--profile", "smoke"])
    assert "points beyond its image size are ((0.125, 40),)" in capsys.readouterr().err


# ------------------------------------------------------------------ explanation 4, then: GTL at the width it names

def test_then_width_is_the_widest_when_the_rule_confirms_else_the_best_share_and_waits_while_pending():
    numbers = Study(profile="quick").numbers
    confirmed = {(s, 0.25): 0.02 for s in range(3)} | {(s, 0.5): 0.05 for s in range(3)} | \
        {(s, 1.0): g for s, g in enumerate((0.08, 0.09, 0.085))}
    assert why.then_width(_episodes(confirmed), numbers) == 1.0
    middle = {**confirmed, **{(s, 0.5): 0.12 for s in range(3)}}  # confirmed, though 0.5 keeps the highest share
    assert why.then_width(_episodes(middle), numbers) == 1.0
    flat = {(s, w): g + 0.001 * s for s in range(3) for w, g in ((0.25, 0.02), (0.5, 0.03), (1.0, 0.015))}
    assert why.then_width(_episodes(flat), numbers) == 0.5  # ruled out: the highest share of Pre-Fin's gain
    tie = {(s, w): 0.02 + 0.001 * s for s in range(3) for w in WIDTHS}
    assert why.then_width(_episodes(tie), numbers) == 0.25  # the narrower on a tie
    with pytest.raises(ValueError, match=r"pending \(seeds \[2\] missing"):
        why.then_width(_episodes({k: v for k, v in confirmed.items() if k[0] < 2}), numbers)


def _then_episodes(learngene: dict[int, float], pre_cut: float = 0.03, width: float = 1.0) -> pd.DataFrame:
    """The 'then' table: at each seed the learngene ``learngene[seed]`` above Scratch, Pre-Cut ``pre_cut``, on the
    width table's episodes (Scratch as in :func:`_episodes`)."""
    return pd.DataFrame([{"method": m, "seed": s, "width": width, "episode": e, "accuracy": 0.4 + 0.01 * e + gain}
                         for s, g in learngene.items() for e in range(4)
                         for m, gain in (("Scratch", 0.0), ("Learngene", g), ("Pre-Cut", pre_cut))])


def test_gtl_at_the_width_is_decided_on_its_gap_and_placed_against_the_cut_and_pre_fin():
    from gtl.report import width_gtl_beside_text, width_gtl_verdict_text
    width = _episodes({(s, 1.0): 0.06 for s in range(3)}, prefin=0.12)  # the uniform cut +6, Pre-Fin +12
    then = _then_episodes({0: 0.05, 1: 0.055, 2: 0.06})
    result = why.width_gtl_verdict(then, (0, 1, 2), extra=(3, 4))
    assert result["verdict"] == "confirmed" and result["delta"].mean == pytest.approx(5.5)
    assert width_gtl_verdict_text(result, 1.0).startswith("confirmed: GTL's learngene gap over Scratch at width 1 =")
    beside = why.width_gtl_beside(then, width)
    assert beside["share"][0] == pytest.approx(5.5 / 12) and beside["share"][3] == 3
    assert beside["against_uniform"].mean == pytest.approx(-0.5)
    assert beside["against_pre_cut"].mean == pytest.approx(2.5)
    lines = width_gtl_beside_text(beside, 1.0)
    assert "level with the uniform 20% cut" in lines[1] and "ahead of Pre-Cut" in lines[2]
    elsewhere = why.width_gtl_beside(then, width.assign(width=0.5))  # the width table has no row at this width
    assert elsewhere["share"] is None and elsewhere["against_uniform"] is None
    assert elsewhere["against_pre_cut"].seeds == 3  # needs nothing from the width table
    with pytest.raises(ValueError, match="holds widths"):
        why.width_gtl_verdict(pd.concat([then, then.assign(width=0.5)]), (0, 1, 2))


def test_gtl_at_the_width_waits_for_the_width_rule_and_refuses_another_width(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GTL_FIGURES", str(tmp_path))
    with pytest.raises(SystemExit):
        why.main(["width_gtl", "--seed", "0", "--profile", "smoke"])
    assert "compute explanation 4's width pieces first" in capsys.readouterr().err
    gains = {(s, w): 0.02 + 0.05 * (w == 0.25) + 0.001 * s for s in (0, 1) for w in (0.125, 0.25)}
    _episodes(gains).to_csv(tmp_path / why.study_table("width", "smoke", "miniimagenet"), index=False)
    with pytest.raises(SystemExit):
        why.main(["width_gtl", "--seed", "0", "--width", "0.125", "--profile", "smoke"])
    assert "explanation 4's rule names width 0.25 for GTL" in capsys.readouterr().err
    commands = why.todo("smoke", "miniimagenet", tmp_path)
    assert commands[:2] == ["python -m gtl.why width_gtl --seed 0 --width 0.25 --profile smoke",
                            "python -m gtl.why width_gtl --seed 1 --width 0.25 --profile smoke"]
    with pytest.raises(SystemExit):
        why.main(["width_gtl", "--seed", "0", "--dataset", "cifar-fs", "--profile", "smoke"])
    assert "runs on miniimagenet" in capsys.readouterr().err


def test_gtl_at_the_width_adds_seeds_3_and_4_to_todo_when_its_rule_says_open(tmp_path):
    """The quick profile: the width rule confirmed (width 1.0); the 'then' open over seeds 0-2."""
    gains = {(s, 0.25): 0.02 for s in range(3)} | {(s, 0.5): 0.05 for s in range(3)} | \
        {(s, 1.0): g for s, g in enumerate((0.08, 0.09, 0.085))}
    _episodes(gains).to_csv(tmp_path / why.study_table("width", "quick", "miniimagenet"), index=False)
    commands = why.todo("quick", "miniimagenet", tmp_path)
    assert [c for c in commands if "width_gtl" in c] == [f"python -m gtl.why width_gtl --seed {s} --width 1.0"
                                                        for s in (0, 1, 2)]
    _then_episodes({0: 0.01, 1: 0.09, 2: 0.03}).to_csv(tmp_path / why.study_table("width_gtl", "quick",
                                                                                "miniimagenet"), index=False)
    assert [c for c in why.todo("quick", "miniimagenet", tmp_path) if "width_gtl" in c] == [
        f"python -m gtl.why width_gtl --seed {s} --width 1.0" for s in (3, 4)]


@pytest.mark.slow
def test_gtl_at_the_width_meets_the_width_tables_episodes(data_root, tmp_path, monkeypatch):
    """Parity: the 'then' compares its learngene with the width table's cut and Pre-Fin, so its Scratch must be
    the width table's Scratch, episode for episode."""
    monkeypatch.setenv("GTL_RUNS", str(tmp_path))
    study = Study(profile="smoke", data_root=str(data_root), device="cpu")
    eval_cfg = study.eval_config()
    width = why.width_point(study, width=0.125, eval_cfg=eval_cfg)
    then = why.width_gtl_point(study, width=0.125, eval_cfg=eval_cfg)
    assert set(then.method) == set(why.WIDTH_GTL_METHODS) and (then.width == 0.125).all()
    scratch = [t[t.method == "Scratch"].set_index("episode").accuracy for t in (width, then)]
    assert scratch[0].equals(scratch[1])
