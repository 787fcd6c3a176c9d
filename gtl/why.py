"""Why the paper's effect is missing here: the studies of docs/decisions.md #20, one function each.

Each explanation is decided over seeds (a seed draws its own pre-training or evolution and its own
episodes) by a rule written before its run (:func:`rule_verdict`; open adds seeds 3 and 4 once). The point of
each study at one seed:

* :func:`headline_point` - the README's first result over five seeds: Learngene, Scratch, Pre-Cut, Pre-Fin;
* :func:`isolation_point` - notebook 12's isolations at the headline's endpoint, and the BatchNorm reading;
* :func:`lineage_point` - explanation 1, the lineage's data: selection-free chains, and GTL at
  pre-training's image-steps (its pieces: :func:`lineage_pieces`);
* :func:`protocol_point` - explanation 2, five fine-tuning protocols;
* :func:`closed_point` - explanation 3, Pre-Closed: a 20% circuit closed all through pre-training;
* :func:`width_point` - explanation 4, scale: the *uniform cut* of Pre-Fin's network at each width; then
  :func:`width_gtl_point`, GTL itself at the width its rule names (:func:`then_width`);
* :func:`selection_point` - explanation 5, careful selection against GTL's.

A study runs for hours on a CPU, so it is computed a piece (one seed, one width, one lineage) at a time:
``python -m gtl.why width --seed 0 --width 1.0`` computes one point (cached in the runs folder) and merges
its rows, with the commit and CPU that made them, into the committed table that notebook 15 reads;
``python -m gtl.why todo`` lists the pieces not yet committed, and :func:`over_seeds` computes a whole study
(``make studies``).
"""
from __future__ import annotations

import argparse
import fcntl
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import pandas as pd
import torch

from .baselines import (from_learngene, from_pretrained, pre_closed, pre_cut, pretrained_network, pretrained_params,
                        scratch)
from .cache import cached_table, key
from .data import load_dataset
from .evaluation import EvalConfig, evaluate, finetune_on_task, instinct_on_task
from .budget import pretraining_curve
from .evolution import EvolutionResult, champion_path
from .experiments import (Study, fingerprints, fresh_validation, learning_curves, method_episodes,
                          run_evolution)
from .learngene import Learngene, channel_saliency, count_params, extract, param_masks
from .methods import PRETRAINED
from .models import FewShotNet
from .paths import figures_dir, runs_dir, write_atomically
from .profiles import numbers as numbers_of
from .protocol import (CURVE_STEPS, DEFAULT_ISOLATION, ISOLATIONS, NOTEBOOK_12_ISOLATION, isolation_of,
                       validation_curves)
from .provenance import commit, cpu_type, record
from .questions import PAPER_SIZE, masks_for_fraction
from .stats import seed_interval, share_over_seeds
from .tasks import derive_seed
from .train import scale_updates

UNIFORM = "Uniform-cut"
CUT_ISOLATIONS = {"born cut": 0.0, "open": 1.0}  # cross-weights at birth; born cut decides (#17, #20)
RULE_ISOLATION = "born cut"
UNIFORM_BORN_CUT = f"{UNIFORM}, {RULE_ISOLATION}"  # width_gains' column of the cut the width rule decides on
RULE_FLOOR = 2.0  # points: an upper end below this rules the explanation out (#20)


def uniform_cut(net: FewShotNet, fraction: float = PAPER_SIZE) -> Learngene:
    """``net``'s most salient channels (|BN γ|, GTL's rule), one channel share for every group, as many as
    give ``fraction`` of its parameters: a cut defined by the pre-trained network alone, so the same
    construction at every width (decision #20 says why not the learngene's per-layer counts)."""
    return extract(net, masks_for_fraction(net, channel_saliency(net), fraction), method=UNIFORM)


def width_point(study: Study, *, width: float, eval_cfg: EvalConfig, fraction: float = PAPER_SIZE,
                image_size: int | None = None) -> pd.DataFrame:
    """Explanation 4 at one width (and ``image_size``, default the profile's) and ``study.seed``: Scratch, Pre-Fin
    and the uniform cut (born cut and open) on the same test episodes. A long table (one row per episode), cached
    in ``runs/why/``."""
    cfg = study.gtl_config(width=width, **({"image_size": image_size} if image_size else {}))
    test_set = load_dataset(cfg.dataset, "test", study.data_root, cfg.image_size)
    train_set = load_dataset(cfg.dataset, "train", study.data_root, cfg.image_size)
    name = key(cfg.key(), eval_cfg, fraction, test_set.fingerprint(), train_set.fingerprint(),
               study.runtime.precision(study.device), producer="why")
    return cached_table(runs_dir() / "why" / f"width-{cfg.dataset}-{width}-{cfg.image_size}-{study.seed}-{name}.csv",
                        lambda: _width_rows(study, cfg, eval_cfg, fraction, test_set.to(study.device)))


def _width_rows(study: Study, cfg, eval_cfg: EvalConfig, fraction: float, test_set) -> pd.DataFrame:
    net = pretrained_network(cfg, eval_cfg, study.data_root, study.device, study.runtime).cpu()
    cut = uniform_cut(net, fraction)
    methods = [("Scratch", "", scratch(cfg.arch, cfg.width), 0),
               ("Pre-Fin", "", from_pretrained(net), pretrained_params(net))]
    methods += [(UNIFORM, iso, from_learngene(cut, scale), cut.num_params) for iso, scale in CUT_ISOLATIONS.items()]
    return episode_rows(study, test_set, eval_cfg, cfg.seed,
                        [(m, make, params, {"isolation": iso, "fraction": params / count_params(net)})
                         for m, iso, make, params in methods],
                        width=cfg.width, image_size=cfg.image_size, dataset=cfg.dataset, profile=study.profile)


def episode_rows(study: Study, episodes_of, eval_cfg: EvalConfig, seed: int,
                 methods: list[tuple[str, Callable[[int], FewShotNet], int, dict]], score: Callable = finetune_on_task,
                 **columns) -> pd.DataFrame:
    """Each of ``methods`` (name, maker, parameters transferred, its own columns) fine-tuned (or ``score``d) on
    the same episodes of the dataset ``episodes_of`` under ``eval_cfg`` and ``seed``: a long table, one row per
    method and episode, with ``columns``; ``seed`` is the study's (the run's), ``episodes_seed`` the episodes'."""
    rows = []
    for method, make, params, own in methods:
        r = evaluate(make, episodes_of, eval_cfg, seed, method, params, study.device, study.progress, score,
                     study.runtime)
        rows += r.long(**own, **columns)
    return pd.DataFrame(rows).assign(seed=study.seed, episodes_seed=seed)  # the run's seed, and the episodes'


def width_gains(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per seed and width, each method's mean paired gain over Scratch (points) and Pre-Fin's, one row each;
    ``method`` names the cut with its isolation (``Uniform-cut, born cut``)."""
    named = episodes.assign(method=[m if not i or pd.isna(i) else f"{m}, {i}"
                                    for m, i in zip(episodes.method, episodes.isolation)])
    return gains(named, ["seed", "width"])


def gains(episodes: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group of ``by`` (each a point of one seed), every method's mean paired gain over Scratch on the
    same episodes, in points: one row per group, one column per method."""
    wide = episodes.pivot_table(index=by + ["episode"], columns="method", values="accuracy")
    return (100 * wide.sub(wide["Scratch"], axis=0)).drop(columns="Scratch").groupby(level=by).mean().reset_index()


def above_zero(delta) -> str:
    """Decision #20's usual rule on a seed interval: *confirmed* above 0, *ruled out* when its upper end is below
    :data:`RULE_FLOOR`, else *open*. An interval above 0 whose upper end is below the floor is *confirmed*: an
    effect clear of 0 is one, however small (the interval says how small)."""
    return "confirmed" if delta.low > 0 else "ruled out" if delta.high < RULE_FLOOR else "open"


def below_floor(delta) -> str:
    """Explanation 3's rule (a cap): *confirmed* when the upper end is below :data:`RULE_FLOOR`, *ruled out* when
    the lower end is above it, else *open*."""
    return "confirmed" if delta.high < RULE_FLOOR else "ruled out" if delta.low > RULE_FLOOR else "open"


def rule_verdict(per_seed: pd.Series, seeds: tuple[int, ...], decide: Callable = above_zero,
                 extra: tuple[int, ...] = ()) -> dict:
    """Decision #20's rule on one number per seed (points, indexed by seed): ``decide`` (:func:`above_zero`) on
    its mean ± 95% t interval over ``seeds``; ``"pending"`` (with the seeds missing) until every seed has one.
    *Open* over ``seeds`` adds the ``extra`` seeds once (the profile's ``why_extra_seeds``: seeds 3 and 4): the rule
    is then applied to all of them (pending until they are in), and ``first`` keeps the open interval it began
    with."""
    done = per_seed.dropna()
    missing = sorted(set(seeds) - set(done.index))
    if missing:
        return {"verdict": "pending", "seeds": sorted(done.index), "missing": missing}
    delta = seed_interval(done.loc[list(seeds)])
    verdict = {"verdict": decide(delta), "seeds": list(seeds), "missing": [], "delta": delta}
    extra = tuple(s for s in extra if s not in seeds)
    if verdict["verdict"] != "open" or not extra:
        return verdict
    return {**rule_verdict(per_seed, tuple(seeds) + extra, decide, ()), "first": delta}


def width_verdict(episodes: pd.DataFrame, widths: tuple[float, ...], seeds: tuple[int, ...],
                  extra: tuple[int, ...] = ()) -> dict:
    """Explanation 4's rule (:func:`rule_verdict`) on Δ = the cut's gain (born cut) at the widest of ``widths``
    minus at the narrowest, per seed."""
    gains = width_gains(episodes)
    narrow, wide = min(widths), max(widths)
    ends = gains.pivot(index="seed", columns="width", values=UNIFORM_BORN_CUT)
    ends = ends.reindex(columns=[narrow, wide])
    return rule_verdict(ends[wide] - ends[narrow], seeds, extra=extra)


def over_runs(per_seed: pd.Series, name: str = "gain", pre_fin: pd.Series | None = None) -> dict:
    """One number per seed (run) as a table row: ``seeds``, its mean over seeds (``name``) ± the 95% t interval
    (``name_low``, ``name_high``), the between-run SD and ``clear`` (the interval excludes 0); with Pre-Fin's gain
    per seed (``pre_fin``), the share of it (``share``, Fieller's ``share_low``/``share_high``)."""
    iv = seed_interval(per_seed)
    row = {"seeds": iv.seeds, name: iv.mean, f"{name}_low": iv.low, f"{name}_high": iv.high, "between_run_sd": iv.sd,
           "clear": iv.clear}
    if pre_fin is not None:
        row.update(zip(("share", "share_low", "share_high"), share_over_seeds(per_seed, pre_fin)))
    return row


def width_shares(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per width and cut, the share of Pre-Fin's gain over seeds (Fieller), and each gain's interval over seeds."""
    gains = width_gains(episodes)
    return pd.DataFrame([{"width": width, "method": column, **over_runs(g[column], pre_fin=g["Pre-Fin"])}
                         for width, g in gains.groupby("width")
                         for column in [c for c in g.columns if c.startswith(UNIFORM)] + ["Pre-Fin"]])


# ------------------------------------------------------------------ explanation 4, then: GTL at the width it names

# Pre-Fin and the uniform cut are not run again: their rows come from the width table (same seed, width, episodes)
WIDTH_GTL_METHODS = ("Learngene", "Scratch", "Pre-Cut")


def then_width(width_episodes: pd.DataFrame, numbers) -> float:
    """The width at which GTL runs after explanation 4 (decision #20): the widest if its rule confirmed, else the
    one whose uniform cut (born cut) keeps the highest share of Pre-Fin's gain (the ratio of mean gains over the
    rule's seeds, as :func:`width_shares` reports it: none where Pre-Fin's own gain is not clear of 0; the
    narrower on a tie). A ValueError while the rule is pending, naming the seeds it waits for."""
    verdict = width_verdict(width_episodes, numbers.why_widths, numbers.why_seeds, numbers.why_extra_seeds)
    if verdict["verdict"] == "pending":
        raise ValueError(f"explanation 4's rule is pending (seeds {verdict['missing']} missing at some width): compute "
                         "its width pieces first (python -m gtl.why todo)")
    if verdict["verdict"] == "confirmed":
        return max(numbers.why_widths)
    shares = width_shares(width_episodes[width_episodes.seed.isin(verdict["seeds"])])
    share = shares[shares.method == UNIFORM_BORN_CUT].set_index("width").share.fillna(-math.inf)
    return float(share[share == share.max()].index.min())


def committed_then_width(profile: str, dataset: str, folder: Path | None = None) -> float:
    """:func:`then_width` from the committed width table in ``folder`` (default: the figures folder); a ValueError
    saying what to compute when there is none."""
    path = (folder or figures_dir()) / study_table("width", profile, dataset)
    if not path.exists():
        raise ValueError(f"{path.name} is not in the figures folder: compute explanation 4's width pieces first "
                         "(python -m gtl.why todo)")
    return then_width(pd.read_csv(path), numbers_of(profile))


def width_gtl_point(study: Study, *, eval_cfg: EvalConfig, width: float | None = None) -> pd.DataFrame:
    """Explanation 4's 'then' at ``study.seed``: the profile's GTL run at ``width`` (default the committed width
    rule's, :func:`committed_then_width`), then Learngene, Scratch and Pre-Cut on the width table's test episodes
    of that seed and width (the same seed and evaluation draw them; cached in the run's folder)."""
    width = committed_then_width(study.profile, study.dataset) if width is None else width
    result = run_evolution(study, width=width, **ISOLATIONS["cut at birth"])  # born cut, as the cut it meets (#20)
    return method_episodes(study, result, eval_cfg, shots=(5,), methods=WIDTH_GTL_METHODS).assign(width=width)


def then_at(episodes: pd.DataFrame) -> float:
    """The one width of a 'then' table (a ValueError if it holds several: a stale width's rows must go first)."""
    widths = sorted(episodes.width.unique())
    if len(widths) != 1:
        raise ValueError(f"the 'then' table holds widths {widths}: keep only the rows of the width the rule names")
    return float(widths[0])


def width_gtl_gaps(episodes: pd.DataFrame, width_episodes: pd.DataFrame) -> pd.DataFrame:
    """Per seed (the index), the gaps over Scratch in points of the learngene and Pre-Cut (``episodes``) and, from
    the width table at the same seed and width, Pre-Fin's and the uniform cut's (born cut; NaN where missing)."""
    then_at(episodes)
    own = gains(episodes, ["seed", "width"])
    cut = width_gains(width_episodes)[["seed", "width", "Pre-Fin", UNIFORM_BORN_CUT]]
    return own.merge(cut, on=["seed", "width"], how="left").set_index("seed")


def width_gtl_verdict(episodes: pd.DataFrame, seeds: tuple[int, ...], extra: tuple[int, ...] = ()) -> dict:
    """The 'then' rule (:func:`rule_verdict`) on the learngene's gap over Scratch at the width, per seed."""
    then_at(episodes)
    return rule_verdict(gains(episodes, ["seed"]).set_index("seed")["Learngene"], seeds, extra=extra)


def width_gtl_beside(episodes: pd.DataFrame, width_episodes: pd.DataFrame) -> dict:
    """What the 'then' reports beside its rule, deciding nothing (None before any seed has it): ``share``, the
    learngene's share of Pre-Fin's gain (Fieller: share, low, high, seeds) and ``against_uniform``, its gap minus
    the uniform cut's (:class:`gtl.stats.SeedInterval`), over the seeds the width table has too;
    ``against_pre_cut``, its gap minus Pre-Cut's, over all its seeds."""
    g = width_gtl_gaps(episodes, width_episodes)
    both = g.dropna(subset=["Pre-Fin", UNIFORM_BORN_CUT])
    return {"share": (*share_over_seeds(both.Learngene, both["Pre-Fin"]), len(both)) if len(both) else None,
            "against_uniform": seed_interval(both.Learngene - both[UNIFORM_BORN_CUT]) if len(both) else None,
            "against_pre_cut": seed_interval(g.Learngene - g["Pre-Cut"])}


# ------------------------------------------------------------------ explanation 1: the lineage's data

CHAIN = {"population": 1, "tournament_size": 1, "mutation_rate": 0.0, "fitness": "host"}  # no selection at all
LINEAGE_METHODS = ("Learngene", "Scratch", "Pre-Cut")


def chain_learngene(result: EvolutionResult) -> Learngene:
    """A selection-free chain's output: its last generation's learngene (its one member), not the best by a
    fitness that nothing selected on."""
    return Learngene.load(champion_path(result.run_dir, result.config.generations - 1))


def matching_generations(study: Study, eval_cfg: EvalConfig) -> int:
    """GTL's generations whose lineage (generations × lifetime steps × batch) sees at least as many image-steps
    as Pre-Fin's pre-training (steps × batch): the lineage given the data pre-training has."""
    cfg = study.gtl_config()
    per_generation = cfg.lifetime.steps * cfg.lifetime_batch
    return -(-eval_cfg.pretrain.steps * eval_cfg.pretrain.batch_size // per_generation)


def lineage_point(study: Study, *, kind: str, generations: int, lifetime_steps: int,
                  eval_cfg: EvalConfig) -> pd.DataFrame:
    """Explanation 1 at one lineage and ``study.seed``: a selection-free chain (``kind="chain"``: one member a
    generation, each on new tasks, no tournament, no mutation) or GTL itself (``kind="GTL"``), of
    ``generations`` × ``lifetime_steps``; then Learngene, Scratch and Pre-Cut (pre-training's network cut to
    the learngene's counts) on the same test episodes. Columns ``kind``, ``generations``, ``lifetime_steps``,
    ``image_steps`` (what the lineage trained on). Born cut, whatever the presets' isolation
    (:data:`gtl.protocol.NOTEBOOK_12_ISOLATION`: the isolation the study began under)."""
    base = study.gtl_config()
    settings = dict(CHAIN if kind == "chain" else {}, **ISOLATIONS[NOTEBOOK_12_ISOLATION], generations=generations,
                    lifetime=replace(base.lifetime, steps=lifetime_steps))
    result = run_evolution(study, **settings)
    if kind == "chain":
        result = replace(result, best=chain_learngene(result))
    rows = method_episodes(study, result, eval_cfg, shots=(5,), methods=LINEAGE_METHODS)
    return rows.assign(kind=kind, generations=generations, lifetime_steps=lifetime_steps,
                       image_steps=generations * lifetime_steps * base.lifetime_batch)


def lineage_gaps(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per seed and lineage (``kind``, ``generations``, ``lifetime_steps``, ``image_steps``, and the pre-training
    points), each method's mean paired gain over Scratch in points: one row per (lineage, method)."""
    keys = ["seed", "kind", "generations", "lifetime_steps", "pretrain_steps", "image_steps"]
    episodes = episodes.assign(**{k: float("nan") for k in keys if k not in episodes})  # pieces not yet computed
    filled = episodes.assign(**{k: episodes[k].fillna(-1) for k in keys if k != "kind"})
    wide = filled.pivot_table(index=keys + ["episode"], columns="method", values="accuracy")
    gaps = (100 * wide.sub(wide["Scratch"], axis=0)).drop(columns="Scratch").groupby(level=keys).mean()
    gaps = gaps.reset_index().melt(id_vars=keys, var_name="method", value_name="gap").dropna(subset=["gap"])
    return gaps.assign(**{k: gaps[k].where(gaps[k] != -1) for k in keys if k not in ("kind", "seed")})


def lineage_summary(episodes: pd.DataFrame) -> pd.DataFrame:
    """:func:`lineage_gaps` over seeds: per lineage (or pre-training point) and method, the mean gap over Scratch
    ± its 95% t interval over the seeds that have it, with the between-run SD."""
    keys = ["kind", "generations", "lifetime_steps", "pretrain_steps", "image_steps", "method"]
    gaps = lineage_gaps(episodes)
    rows = [{**dict(zip([k for k in keys if k in gaps], group)), **over_runs(g.gap, "gap")}
            for group, g in gaps.groupby([k for k in keys if k in gaps], sort=False, dropna=False)]
    return pd.DataFrame(rows).sort_values(["kind", "method", "image_steps"], ignore_index=True)


def chain_ends(chains: tuple[tuple[int, int], ...]) -> tuple[int, int, int, tuple[int, int]]:
    """``(lifetime steps, fewest generations, most generations, the chain of long lifetimes)`` of explanation 1's
    chains: the rule compares the fewest and the most generations at the first chain's lifetime."""
    steps = chains[0][1]
    generations = sorted(g for g, t in chains if t == steps)
    if len(set(generations)) < 2:
        raise ValueError(f"explanation 1 needs two chain lengths at {steps} lifetime steps, got chains {chains}")
    return steps, generations[0], generations[-1], max(chains, key=lambda c: c[1])


def lineage_verdict(episodes: pd.DataFrame, chains: tuple[tuple[int, int], ...], seeds: tuple[int, ...],
                    extra: tuple[int, ...] = ()) -> dict:
    """Explanation 1's rule (:func:`rule_verdict`) on Δ = the learngene's gap after the chain with the most
    generations minus after the one with the fewest, both at the first chain's lifetime, per seed."""
    steps, short, long, _ = chain_ends(chains)
    gaps = lineage_gaps(episodes)
    chain = gaps[(gaps.kind == "chain") & (gaps.method == "Learngene") & (gaps.lifetime_steps == steps)]
    ends = chain.pivot_table(index="seed", columns="generations", values="gap").reindex(columns=[short, long])
    return rule_verdict(ends[long] - ends[short], seeds, extra=extra)


def lineage_beside(episodes: pd.DataFrame, chains: tuple[tuple[int, int], ...]) -> dict:
    """What explanation 1 reports beside its rule, deciding nothing, each a :class:`gtl.stats.SeedInterval`
    over the seeds that have it (None before any): ``narrow``, the learngene's gap after the most generations
    minus after the chain of long lifetimes on few tasks (as many image-steps); ``against_pre_cut``, GTL's
    learngene gap minus Pre-Cut's on the same episodes, at pre-training's image-steps."""
    gaps = lineage_gaps(episodes)
    steps, _, most, few_tasks = chain_ends(chains)
    learngene = gaps[gaps.method == "Learngene"]

    def gap_of(rows: pd.DataFrame) -> pd.Series:
        return rows.set_index("seed").gap

    chain = learngene[learngene.kind == "chain"]
    narrow = (gap_of(chain[(chain.generations == most) & (chain.lifetime_steps == steps)])
              - gap_of(chain[(chain.generations == few_tasks[0]) & (chain.lifetime_steps == few_tasks[1])])).dropna()
    gtl = gaps[gaps.kind == "GTL"]
    against = (gap_of(gtl[gtl.method == "Learngene"]) - gap_of(gtl[gtl.method == "Pre-Cut"])).dropna()
    return {name: seed_interval(d) if len(d) else None for name, d in
            (("narrow", narrow), ("against_pre_cut", against))}


# ------------------------------------------------------------------ the headline over seeds, and the isolation

HEADLINE_METHODS = ("Learngene", "Scratch", "Pre-Cut", "Pre-Fin")


def headline_point(study: Study, *, eval_cfg: EvalConfig) -> pd.DataFrame:
    """The README's first result at ``study.seed`` and ``study.dataset``: one GTL run, then Learngene, Scratch,
    Pre-Cut and Pre-Fin on the same test episodes, 1- and 5-shot (cached in the run's folder); ``isolation`` names
    the presets' isolation it was made under (:data:`gtl.protocol.ISOLATIONS`)."""
    result = run_evolution(study)
    rows = method_episodes(study, result, eval_cfg, shots=(1, 5), methods=HEADLINE_METHODS)
    return rows.assign(isolation=isolation_of(result.config))


def headline_summary(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, setting and method, the gap over Scratch: mean over seeds ± 95% t interval over seeds,
    with the between-run SD (``clear`` when the interval excludes 0)."""
    per_seed = gains(episodes, ["seed", "dataset", "setting"])
    return pd.DataFrame([{"dataset": dataset, "setting": setting, "method": method, **over_runs(g[method], "gap")}
                         for (dataset, setting), g in per_seed.groupby(["dataset", "setting"])
                         for method in HEADLINE_METHODS if method in g])


def isolation_point(study: Study, *, eval_cfg: EvalConfig) -> pd.DataFrame:
    """Notebook 12's candidates at ``study.seed``: each isolation's own GTL run, its Learngene and Scratch on
    fresh validation episodes after 0-50 fine-tuning steps (:func:`gtl.protocol.validation_curves`; column ``bn``
    "running"), and its Learngene's curve read with BatchNorm statistics measured on the support sets (``bn``
    "support"; the same training): the BatchNorm reading of the transient (:func:`bn_verdict`)."""
    frames = [validation_curves(study, eval_cfg=eval_cfg).assign(bn="running")]
    for name, settings in ISOLATIONS.items():
        result = run_evolution(study, **settings)
        frames.append(learning_curves(study, result, eval_cfg, methods=("Learngene",), at=CURVE_STEPS, split="val",
                                      support_statistics=True).assign(isolation=name))
    curves = pd.concat(frames, ignore_index=True)
    return curves.assign(episodes_seed=curves.seed, seed=study.seed)


BN_STEP = 5  # the transient's step: where notebook 12's choice was made (#20)


def bn_verdict(curves: pd.DataFrame, seeds: tuple[int, ...], step: int = BN_STEP) -> dict:
    """The BatchNorm reading's rule (:func:`rule_verdict`) on Δ = (cut at birth − open, running statistics) −
    (cut at birth − open, support statistics) after ``step`` fine-tuning steps, per seed, in points."""
    at = curves[(curves.method == "Learngene") & (curves.step == step)]
    wide = at.pivot_table(index=["seed", "episode"], columns=["bn", "isolation"], values="accuracy")
    lead = {bn: wide[(bn, "cut at birth")] - wide[(bn, "open")] for bn in ("running", "support")
            if (bn, "cut at birth") in wide and (bn, "open") in wide}
    if len(lead) < 2:
        return rule_verdict(pd.Series(dtype=float), seeds)
    return rule_verdict(100 * (lead["running"] - lead["support"]).groupby(level="seed").mean(), seeds)


def isolation_wins(curves: pd.DataFrame, step: int) -> pd.Series:
    """Per seed, the isolation whose Learngene has the highest mean validation accuracy after ``step`` fine-tuning
    steps (the headline's endpoint), read with running BatchNorm statistics as the headline reads it: the
    isolation rule of decision #20 counts these. An exact tie at the top goes to *open*, the default."""
    running = curves.bn.fillna("running") == "running" if "bn" in curves else True  # as the headline reads them
    at = curves[(curves.method == "Learngene") & (curves.step == step) & running]
    means = at.groupby(["seed", "isolation"]).accuracy.mean().reset_index()
    means = means.sort_values(["seed", "isolation"], key=lambda c: c.ne(DEFAULT_ISOLATION) if c.name == "isolation"
                              else c, kind="stable")  # idxmax takes the first maximum: open's, on a tie
    return means.loc[means.groupby("seed").accuracy.idxmax()].set_index("seed").isolation


def isolation_verdict(curves: pd.DataFrame, step: int, seeds: tuple[int, ...], needed: int | None = None) -> dict:
    """The isolation rule: the isolation that wins at least ``needed`` of ``seeds`` (default: 4 of 5, the same
    share of other counts) is adopted, else *open* (no isolation is better). Until every seed has its curves the
    verdict is ``"pending"``, unless the seeds still missing cannot change it: when no isolation of
    :data:`gtl.protocol.ISOLATIONS` but *open* can still reach ``needed`` wins, the rule has returned *open*
    whatever they show (``decided_early``: the seeds it was decided on)."""
    needed = math.ceil(0.8 * len(seeds)) if needed is None else needed
    if not 1 <= needed <= len(seeds):
        raise ValueError(f"needed={needed}: the wins asked of an isolation must be 1 to {len(seeds)}, the seeds")
    wins = isolation_wins(curves, step)
    done = [s for s in seeds if s in wins.index]
    missing = sorted(set(seeds) - set(done))
    counts = wins.loc[done].value_counts()
    if missing:
        others = (set(ISOLATIONS) | set(curves.isolation)) - {DEFAULT_ISOLATION}
        if any(counts.get(c, 0) + len(missing) >= needed for c in others):
            return {"verdict": "pending", "seeds": done, "missing": missing, "wins": counts}
        return {"verdict": DEFAULT_ISOLATION, "seeds": list(seeds), "missing": missing, "wins": counts,
                "needed": needed, "decided_early": done}
    adopted = counts.index[0] if counts.iloc[0] >= needed else DEFAULT_ISOLATION
    return {"verdict": adopted, "seeds": list(seeds), "missing": [], "wins": counts, "needed": needed}


# ------------------------------------------------------------------ explanation 2: the descendant protocol

CURRENT = "current"
PROTOCOLS = (CURRENT, "inherited lr x0.1", "inherited frozen", "nearest class mean", "Heur-LG")
SLOWER = {"inherited lr x0.1": 0.1, "inherited frozen": 0.0}  # the inherited entries' learning-rate factor


def slowed(make: Callable[[int], FewShotNet], inherited: Callable[[FewShotNet], dict], factor: float):
    """``make``, its inherited entries (``inherited(net)``: bool masks by parameter name) trained at ``factor``
    times the learning rate (:func:`gtl.train.scale_updates`)."""
    def make_slowed(seed: int) -> FewShotNet:
        net = make(seed)
        return scale_updates(net, inherited(net), factor)
    return make_slowed


def body(net: FewShotNet) -> dict:
    """Every entry but the head's: what Pre-Fin inherits."""
    head = {f"head.{n}" for n, _ in net.head.named_parameters()}
    return {n: torch.ones_like(p, dtype=torch.bool) for n, p in net.named_parameters() if n not in head}


def protocol_point(study: Study, *, eval_cfg: EvalConfig) -> pd.DataFrame:
    """Explanation 2 at ``study.seed``: Scratch, Learngene, Pre-Cut and Pre-Fin on the same test episodes under
    each of :data:`PROTOCOLS`, and Learngene and Scratch on fresh validation episodes under each (where p* is
    chosen, among all but the current one). Columns ``protocol`` and ``split``; cached in the run's folder."""
    result = run_evolution(study)
    cfg = result.config
    test_set = load_dataset(cfg.dataset, "test", study.data_root, cfg.image_size)
    val_set = load_dataset(cfg.dataset, "val", study.data_root, cfg.image_size)
    name = key(cfg.key(), eval_cfg, fingerprints(result, test_set, PRETRAINED, study.data_root),
               val_set.fingerprint(), study.runtime.precision(study.device), producer="why")
    return cached_table(result.run_dir / f"why-protocol-{name}.csv",
                        lambda: _protocol_rows(study, result, eval_cfg, test_set.to(study.device),
                                               val_set.to(study.device)))


def _protocol_rows(study: Study, result: EvolutionResult, eval_cfg: EvalConfig, test_set, val_set) -> pd.DataFrame:
    cfg, lg = result.config, result.best
    net = pretrained_network(cfg, eval_cfg, study.data_root, study.device, study.runtime).cpu()
    cut = pre_cut(lg, net)
    inherits = {"Learngene": (from_learngene(lg, cfg.cross_scale), lg.num_params, lambda n: param_masks(n, lg.masks)),
                "Pre-Cut": (from_learngene(cut, cfg.cross_scale), cut.num_params, lambda n: param_masks(n, cut.masks)),
                "Pre-Fin": (from_pretrained(net), pretrained_params(net), body)}
    heur = EvalConfig.heur_lg(cfg.dataset, episodes=eval_cfg.episodes, queries=eval_cfg.queries,
                              pretrain=eval_cfg.pretrain)
    if study.numbers.heur_lg_steps:  # the smoke profile: seconds, for the tests
        heur = replace(heur, finetune=replace(heur.finetune, steps=study.numbers.heur_lg_steps))
    frames = []
    for split, episodes_of, seed, names in (("test", test_set, cfg.seed, HEADLINE_METHODS),
                                            ("val", val_set, derive_seed(cfg.seed, "fresh episodes", "val"),
                                             ("Learngene", "Scratch"))):
        plain = [("Scratch", scratch(cfg.arch, cfg.width), 0, {})] + [(m, *inherits[m][:2], {}) for m in names
                                                                         if m in inherits]
        current = episode_rows(study, episodes_of, eval_cfg, seed, plain)
        frames.append(current.assign(protocol=CURRENT, split=split))
        for protocol, factor in SLOWER.items():  # Scratch inherits nothing: its rows are the current protocol's
            slow = [(m, slowed(make, inherits[m][2], factor), params, {}) for m, make, params, _ in plain[1:]]
            rows = pd.concat([current[current.method == "Scratch"],
                              episode_rows(study, episodes_of, eval_cfg, seed, slow)], ignore_index=True)
            frames.append(rows.assign(protocol=protocol, split=split))
        frames.append(episode_rows(study, episodes_of, eval_cfg, seed, plain, instinct_on_task)
                      .assign(protocol="nearest class mean", split=split))
        frames.append(episode_rows(study, episodes_of, heur, seed, plain).assign(protocol="Heur-LG", split=split))
    return pd.concat(frames, ignore_index=True).assign(dataset=cfg.dataset, profile=study.profile)


def protocol_gains(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per seed, split and protocol, each method's mean paired gain over Scratch (points)."""
    return gains(episodes, ["seed", "split", "protocol"])


def protocol_verdict(episodes: pd.DataFrame, seeds: tuple[int, ...], extra: tuple[int, ...] = ()) -> dict:
    """Explanation 2's rule (:func:`rule_verdict`) on Δ = the learngene's test gap under p* (per seed, the
    protocol other than the current one with its largest validation gap) minus under the current one;
    ``chosen``: p* per seed."""
    g = protocol_gains(episodes)
    val, test = g[(g.split == "val") & (g.protocol != CURRENT)], g[g.split == "test"].set_index(["seed", "protocol"])
    test = test.Learngene
    chosen = val.loc[val.groupby("seed").Learngene.idxmax()].set_index("seed").protocol
    delta = pd.Series({seed: test.get((seed, p), float("nan")) - test.get((seed, CURRENT), float("nan"))
                       for seed, p in chosen.items()}, dtype=float)
    return {**rule_verdict(delta, seeds, extra=extra), "chosen": chosen.to_dict()}


def protocol_shares(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per protocol (test episodes), each inheriting method's gain over seeds and its share of Pre-Fin's gain
    (Fieller over seeds)."""
    g = protocol_gains(episodes)
    rows = [{"protocol": protocol, "method": method, **over_runs(part[method], pre_fin=part["Pre-Fin"])}
            for protocol, part in g[g.split == "test"].groupby("protocol", sort=False)
            for method in ("Learngene", "Pre-Cut", "Pre-Fin")]
    order = {p: i for i, p in enumerate(PROTOCOLS)}
    return pd.DataFrame(rows).sort_values("protocol", key=lambda c: c.map(order), kind="stable", ignore_index=True)


# ------------------------------------------------------------------ explanation 3: the construction (Pre-Closed)

def closed_point(study: Study, *, eval_cfg: EvalConfig) -> pd.DataFrame:
    """Explanation 3 at ``study.seed``: Scratch, Pre-Fin, Pre-Closed (:func:`gtl.baselines.pre_closed`, born cut)
    and the headline's Learngene on the same 5-shot test episodes; cached in the run's folder."""
    result = run_evolution(study)
    cfg = result.config
    test_set = load_dataset(cfg.dataset, "test", study.data_root, cfg.image_size)
    name = key(cfg.key(), eval_cfg, fingerprints(result, test_set, PRETRAINED, study.data_root),
               study.runtime.precision(study.device), producer="why")

    def compute() -> pd.DataFrame:
        net = pretrained_network(cfg, eval_cfg, study.data_root, study.device, study.runtime).cpu()
        closed = pre_closed(cfg, eval_cfg, study.data_root, study.device, study.runtime)
        methods = [("Scratch", scratch(cfg.arch, cfg.width), 0, {}),
                   ("Learngene", from_learngene(result.best, cfg.cross_scale), result.best.num_params, {}),
                   ("Pre-Fin", from_pretrained(net), pretrained_params(net), {}),
                   ("Pre-Closed", from_learngene(closed, 0.0), closed.num_params, {"fraction": closed.fraction})]
        return episode_rows(study, test_set.to(study.device), eval_cfg, cfg.seed, methods, dataset=cfg.dataset,
                            profile=study.profile)
    return cached_table(result.run_dir / f"why-closed-{name}.csv", compute)


def closed_shares(episodes: pd.DataFrame) -> pd.DataFrame:
    """Explanation 3 beside its rule: Learngene's, Pre-Closed's and Pre-Fin's gains over seeds with their shares
    of Pre-Fin's gain, and Pre-Closed − Learngene on the same episodes (``method`` "Pre-Closed − Learngene")."""
    g = gains(episodes, ["seed"])
    rows = [{"method": m, **over_runs(g[m], pre_fin=g["Pre-Fin"])} for m in ("Learngene", "Pre-Closed", "Pre-Fin")]
    return pd.DataFrame(rows + [{"method": "Pre-Closed − Learngene", **over_runs(g["Pre-Closed"] - g["Learngene"])}])


def closed_verdict(episodes: pd.DataFrame, seeds: tuple[int, ...], extra: tuple[int, ...] = ()) -> dict:
    """Explanation 3's rule (:func:`below_floor`) on G = Pre-Closed's gain over Scratch, per seed."""
    return rule_verdict(gains(episodes, ["seed"]).set_index("seed")["Pre-Closed"], seeds, below_floor, extra)


# ------------------------------------------------------------------ explanation 5: selection

CAREFUL = {"critic_tasks": 16, "critic_fresh": True, "ancestral_credit": math.exp(-1)}  # with the output below


def validated_output(study: Study, result: EvolutionResult, eval_cfg: EvalConfig) -> tuple[int, Learngene]:
    """The generation winner with the best mean on fresh validation episodes
    (:func:`gtl.experiments.fresh_validation`), not the best by fitness: (its generation, its learngene)."""
    fresh = fresh_validation(study, result, eval_cfg)
    means = fresh[fresh.method == "winner"].groupby("generation").accuracy.mean()
    best = int(means.idxmax())
    return best, Learngene.load(champion_path(result.run_dir, best))


def selection_point(study: Study, *, eval_cfg: EvalConfig) -> pd.DataFrame:
    """Explanation 5 at ``study.seed``: GTL's learngene and careful selection's (:data:`CAREFUL`, output by
    :func:`validated_output`), and Scratch, on the same 5-shot test episodes; column ``selection``."""
    gtl, careful = run_evolution(study), run_evolution(study, **CAREFUL)
    cfg = gtl.config
    test_set = load_dataset(cfg.dataset, "test", study.data_root, cfg.image_size)
    generation, chosen = validated_output(study, careful, eval_cfg)
    name = key(cfg.key(), careful.config.key(), eval_cfg, gtl.best.fingerprint(), chosen.fingerprint(),
               test_set.fingerprint(), study.runtime.precision(study.device), producer="why")
    methods = [("Scratch", scratch(cfg.arch, cfg.width), 0, {"selection": ""}),
               ("Learngene", from_learngene(gtl.best, cfg.cross_scale), gtl.best.num_params, {"selection": "GTL"}),
               ("Careful-LG", from_learngene(chosen, cfg.cross_scale), chosen.num_params,
                {"selection": "careful", "output_generation": generation})]
    return cached_table(careful.run_dir / f"why-selection-{name}.csv",
                        lambda: episode_rows(study, test_set.to(study.device), eval_cfg, cfg.seed, methods,
                                             dataset=cfg.dataset, profile=study.profile))


def selection_verdict(episodes: pd.DataFrame, seeds: tuple[int, ...], extra: tuple[int, ...] = ()) -> dict:
    """Explanation 5's rule (:func:`rule_verdict`) on Δ = careful selection's gain minus GTL's, per seed."""
    g = gains(episodes, ["seed"]).set_index("seed")
    return rule_verdict(g["Careful-LG"] - g["Learngene"], seeds, extra=extra)


# ------------------------------------------------------------------ one piece at a time, committed


def merge_piece(rows: pd.DataFrame, table: str, on: tuple[str, ...], made_at: str) -> Path:
    """Put ``rows`` (one piece of a study: its ``on`` values are one point) into ``figures/<table>``, replacing
    that point's old rows, with the commit they were computed at (``made_at``, read when the piece began) and
    this CPU: the pieces of one table may come from several sessions and machines, and each row says which."""
    path = figures_dir() / table
    rows = stamped(rows, made_at)
    with open(path.parent / f".{path.name}.lock", "w") as lock:  # pieces finish in parallel processes
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            old = pd.read_csv(path)
            point = set(tuple(v) for v in rows[list(on)].drop_duplicates().itertuples(index=False))
            keep = [tuple(v) not in point for v in old[list(on)].itertuples(index=False)]
            rows = pd.concat([old[keep], rows], ignore_index=True)
        rows = rows.sort_values([c for c in (*on, "method", "isolation", "episode") if c in rows])
        write_atomically(path, lambda tmp: rows.to_csv(tmp, index=False))
    return path


def stamped(rows: pd.DataFrame, made_at: str) -> pd.DataFrame:
    """``rows`` with the commit they were computed at and this CPU (columns ``commit``, ``cpu``, ``isa``): every row
    of a why-table says where it came from, whether a piece or ``make studies`` computed it."""
    here = cpu_type()
    return rows.assign(commit=made_at, cpu=here["cpu"], isa=here["isa"])


def study_table(name: str, profile: str, dataset: str | None = None) -> str:
    """The committed long table of the why-study ``name`` (a file name in the figures folder): one per profile
    and dataset, the headline's one per profile (both datasets)."""
    return f"why_{name}_{profile}{'' if dataset is None else '_' + dataset}_episodes.csv"


def lineage_pieces(study: Study, eval_cfg: EvalConfig) -> dict[str, Callable[[Study], pd.DataFrame]]:
    """Explanation 1's pieces by name (``chain 96x100``, ``GTL 39x100``, ``pre-training``): each computes its
    rows for a study of one seed. :func:`over_seeds` computes all of them for every seed."""
    numbers, steps = study.numbers, study.gtl_config().lifetime.steps
    pieces = {f"chain {g}x{t}": (lambda s, g=g, t=t: lineage_point(s, kind="chain", generations=g, lifetime_steps=t,
                                                                   eval_cfg=eval_cfg))
              for g, t in numbers.why_chains}
    matching = matching_generations(study, eval_cfg)
    pieces[f"GTL {matching}x{steps}"] = lambda s: lineage_point(s, kind="GTL", generations=matching,
                                                                lifetime_steps=steps, eval_cfg=eval_cfg)

    def pre_training(s: Study) -> pd.DataFrame:
        pre = pretraining_curve(s, eval_cfg=eval_cfg, pretrain_steps=numbers.pretrain_steps, shots=5,
                                **ISOLATIONS[NOTEBOOK_12_ISOLATION])
        return pre.assign(kind="pre-training", image_steps=pre.pretrain_steps * eval_cfg.pretrain.batch_size)
    pieces["pre-training"] = pre_training
    return pieces


# the studies one piece at a time: their point function and the columns that name a piece's point in its table
POINTS = {"headline": headline_point, "isolation": isolation_point, "width": width_point,
          "width_gtl": width_gtl_point, "protocol": protocol_point, "closed": closed_point,
          "selection": selection_point}
ON = {"headline": ("seed", "dataset"), "lineage": ("seed", "piece"), "width": ("seed", "width"),
      "width_large": ("seed", "width", "image_size"), "width_gtl": ("seed", "width")}
HEADLINE_DATASETS = ("miniimagenet", "cifar-fs")


def seeds_of(name: str, numbers) -> tuple[int, ...]:
    """The seeds the study ``name`` is decided over: five for the headline and the isolation, else the
    profile's why_seeds (seeds 3 and 4 join those when a rule says open)."""
    return numbers.headline_seeds if name in ("headline", "isolation") else numbers.why_seeds


def seed_rows(name: str, study: Study, eval_cfg: EvalConfig) -> pd.DataFrame:
    """Every piece of the study ``name`` at ``study.seed``: each width (``width_large``: each (width, image size)
    beyond the profile's, explanation 4 at 84 px), each lineage piece (column ``piece``), each dataset of the
    headline, or the study's one point."""
    if name == "width":
        return pd.concat([width_point(study, width=w, eval_cfg=eval_cfg) for w in study.numbers.why_widths],
                         ignore_index=True)
    if name == "width_large":
        return pd.concat([width_point(study, width=w, eval_cfg=eval_cfg, image_size=px)
                          for w, px in study.numbers.why_large], ignore_index=True)
    if name == "lineage":
        return pd.concat([make(study).assign(piece=piece) for piece, make in lineage_pieces(study, eval_cfg).items()],
                         ignore_index=True)
    if name == "headline":
        return pd.concat([headline_point(on, eval_cfg=on.eval_config()) for on in
                          (replace(study, dataset=d) for d in HEADLINE_DATASETS)], ignore_index=True)
    return POINTS[name](study, eval_cfg=eval_cfg)


def over_seeds(name: str, study: Study, eval_cfg: EvalConfig) -> pd.DataFrame:
    """The whole study ``name`` (``"lineage"`` or one of :data:`POINTS`) over its seeds, as ``make studies``
    computes it in notebook 15; an explanation whose rule says open gets seeds 3 and 4 too, as ``todo`` does."""
    made_at = commit()
    table = pd.concat([seed_rows(name, s, eval_cfg) for s in study.seeds(seeds_of(name, study.numbers))],
                      ignore_index=True)
    if name in RULES and "first" in explanation_verdict(name, table, study.profile):
        table = pd.concat([table] + [seed_rows(name, s, eval_cfg) for s in study.seeds(study.numbers.why_extra_seeds)],
                          ignore_index=True)
    return stamped(table, made_at)


EXPLANATIONS = {1: "lineage", 2: "protocol", 3: "closed", 4: "width", 5: "selection"}  # decision #20's numbers
RULES = (*EXPLANATIONS.values(), "width_gtl")  # the studies a rule decides (the 'then' of explanation 4 too)


def explanation_verdict(name: str, table: pd.DataFrame, profile: str) -> dict:
    """The rule of the study ``name`` (one of :data:`RULES`: an explanation's, or explanation 4's 'then') on its
    table."""
    numbers = numbers_of(profile)
    seeds, extra = numbers.why_seeds, numbers.why_extra_seeds
    rules = {"lineage": lambda: lineage_verdict(table, numbers.why_chains, seeds, extra),
             "protocol": lambda: protocol_verdict(table, seeds, extra),
             "closed": lambda: closed_verdict(table, seeds, extra),
             "width": lambda: width_verdict(table, numbers.why_widths, seeds, extra),
             "width_gtl": lambda: width_gtl_verdict(table, seeds, extra),
             "selection": lambda: selection_verdict(table, seeds, extra)}
    return rules[name]()


def explanation_verdicts(profile: str, dataset: str, folder: Path | None = None) -> dict[int, dict | None]:
    """Each explanation's verdict (by its number in decision #20) from its committed table in ``folder``
    (default: the figures folder); None where no piece is committed yet."""
    folder = folder or figures_dir()
    paths = {n: folder / study_table(name, profile, dataset) for n, name in EXPLANATIONS.items()}
    return {n: explanation_verdict(EXPLANATIONS[n], pd.read_csv(path), profile) if path.exists() else None
            for n, path in paths.items()}


def todo(profile: str, dataset: str, folder: Path | None = None) -> list[str]:
    """The ``python -m gtl.why`` command of every piece not yet in its committed table (in ``folder``, default the
    figures folder), in the order the CPU is spent (the issue's: explanations 4 (its widths, then GTL at the width
    its rule names, once it has decided) and 1 first, then the isolation
    and the headline, 4's point at 84 px, which decides nothing, then 2, 3 and 5); an explanation whose rule said
    open gets its extra seeds. The isolation comes before the headline while its rule is pending, because it may
    change the presets' isolation, and the headline is computed under the presets'; once it has decided, its
    remaining seeds (for the win counts and the BatchNorm reading) come after the headline."""
    numbers, folder = numbers_of(profile), folder or figures_dir()
    study = Study(profile=profile, dataset=dataset)
    verdicts = explanation_verdicts(profile, dataset, folder)

    def seeds(number: int) -> tuple[int, ...]:
        return numbers.why_seeds + (numbers.why_extra_seeds if "first" in (verdicts[number] or {}) else ())

    def done(name: str, on: tuple[str, ...]) -> set[tuple]:
        path = folder / study_table(name, profile, None if name == "headline" else dataset)
        return set(pd.read_csv(path)[list(on)].drop_duplicates().itertuples(index=False)) if path.exists() else set()
    then_table = folder / study_table("width_gtl", profile, dataset)
    then_verdict = explanation_verdict("width_gtl", pd.read_csv(then_table), profile) if then_table.exists() else {}
    try:  # explanation 4's 'then' waits for its rule
        width = committed_then_width(profile, dataset, folder)
        then = [(s, width) for s in numbers.why_seeds + (numbers.why_extra_seeds if "first" in then_verdict else ())]
    except ValueError:
        then = []
    isolation_table, endpoint = folder / study_table("isolation", profile, dataset), study.eval_config().finetune.steps
    decided = isolation_table.exists() and isolation_verdict(pd.read_csv(isolation_table), endpoint,
                                                             numbers.headline_seeds)["verdict"] != "pending"
    isolation = [("isolation", ("seed",), [(s,) for s in numbers.headline_seeds])]
    wanted = [("width", ("seed", "width"), [(s, w) for s in seeds(4) for w in numbers.why_widths]),
              ("width_gtl", ON["width_gtl"], then),
              ("lineage", ("seed", "piece"), [(s, p) for s in seeds(1) for p in lineage_pieces(study,
                                                                                             study.eval_config())]),
              *([] if decided else isolation),
              ("headline", ("seed", "dataset"), [(s, d) for s in numbers.headline_seeds for d in HEADLINE_DATASETS]),
              *(isolation if decided else []),
              ("width_large", ON["width_large"], [(s, w, px) for s in numbers.why_seeds
                                                  for w, px in numbers.why_large]),
              ("protocol", ("seed",), [(s,) for s in seeds(2)]), ("closed", ("seed",), [(s,) for s in seeds(3)]),
              ("selection", ("seed",), [(s,) for s in seeds(5)])]
    options = "" if profile == "quick" else f" --profile {profile}"
    commands = []
    for name, on, points in wanted:
        have = done(name, on)
        for point in points:
            if tuple(point) in have:
                continue
            flags = {"width": "--width {}", "piece": "--piece '{}'", "dataset": "--dataset {}",
                     "image_size": "--image-size {}"}
            rest = " ".join(flags[k].format(v) for k, v in zip(on[1:], point[1:]))
            command = "width" if name == "width_large" else name
            commands.append(f"python -m gtl.why {command} --seed {point[0]}{' ' + rest if rest else ''}{options}")
    return commands


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m gtl.why", description="Compute one piece of a why-study and merge "
                                "it into its committed table (docs/decisions.md #20).")
    p.add_argument("study", choices=[*POINTS, "lineage", "todo"], help="todo: the pieces not yet committed")
    p.add_argument("--seed", type=int)
    p.add_argument("--width", type=float, help="width: one of the profile's why_widths (or, with --image-size, of "
                                               "its why_large); width_gtl: the width explanation 4's rule names "
                                               "(the default)")
    p.add_argument("--image-size", type=int, help="width: a (width, image size) point of the profile's why_large")
    p.add_argument("--piece", help="lineage: 'chain GxT', 'GTL GxT' or 'pre-training' (python -m gtl.why lineage "
                                   "--seed 0 --piece list lists them)")
    p.add_argument("--profile", default="quick")
    p.add_argument("--dataset", default="miniimagenet", help="the headline: miniimagenet or cifar-fs")
    args = p.parse_args(argv)
    if args.study == "todo":
        if args.dataset != "miniimagenet":
            p.error(f"--dataset {args.dataset}: todo lists every study's pieces; all run on miniimagenet, the "
                    f"headline's on both datasets (decision #20)")
        print("\n".join(todo(args.profile, args.dataset)) or "every piece is committed")
        return
    if args.seed is None:
        p.error(f"{args.study} needs --seed")
    study = Study(profile=args.profile, dataset=args.dataset, seed=args.seed, progress=True)
    eval_cfg = study.eval_config()
    name = "width_large" if args.study == "width" and args.image_size else args.study
    table = study_table(name, args.profile, None if name == "headline" else args.dataset)
    what = f"seed {args.seed}"
    if name == "width_large":
        if (args.width, args.image_size) not in study.numbers.why_large:
            p.error(f"--width {args.width} --image-size {args.image_size}: the {args.profile} profile's points "
                    f"beyond its image size are {study.numbers.why_large}")
        compute = lambda: width_point(study, width=args.width, eval_cfg=eval_cfg, image_size=args.image_size)  # noqa: E731
        what = f"{what}, width {args.width} at {args.image_size} px"
    elif args.study == "width_gtl":
        if args.dataset != "miniimagenet":
            p.error(f"--dataset {args.dataset}: the width_gtl study runs on miniimagenet (decision #20)")
        try:
            width = committed_then_width(args.profile, args.dataset)
        except ValueError as e:
            p.error(str(e))
        if args.width is not None and args.width != width:
            p.error(f"--width {args.width}: explanation 4's rule names width {width:g} for GTL (decision #20)")
        compute = lambda: width_gtl_point(study, width=width, eval_cfg=eval_cfg)  # noqa: E731
        what = f"{what}, GTL at width {width:g}"
    elif args.study == "width":
        if args.width not in study.numbers.why_widths:
            p.error(f"--width {args.width}: the {args.profile} profile's widths are {study.numbers.why_widths}")
        compute, what = (lambda: width_point(study, width=args.width, eval_cfg=eval_cfg)), f"{what}, width {args.width}"
    elif args.study == "lineage":
        pieces = lineage_pieces(study, eval_cfg)
        if args.piece not in pieces:
            p.error(f"--piece {args.piece}: the {args.profile} profile's pieces are {list(pieces)}")
        compute, what = (lambda: pieces[args.piece](study).assign(piece=args.piece)), f"{what}, {args.piece}"
    else:
        if args.study != "headline" and args.dataset != "miniimagenet":
            p.error(f"--dataset {args.dataset}: the {args.study} study runs on miniimagenet (decision #20)")
        compute = lambda: POINTS[args.study](study, eval_cfg=eval_cfg)  # noqa: E731
    start, made_at, on = time.time(), commit(), ON.get(name, ("seed",))
    rows = compute()
    minutes = (time.time() - start) / 60
    path = merge_piece(rows.assign(piece_minutes=round(minutes, 1)), table, on=on, made_at=made_at)
    record_pieces(path, on, args.profile)
    print(f"{path}: {args.study}, {what} in {minutes:.1f} min")


def record_pieces(path: Path, on: tuple[str, ...], profile: str) -> None:
    """The provenance row of a table computed a piece at a time: its seeds, the commit its pieces were computed
    at ("per row: ..." when several; each row keeps its own) and the minutes of all its pieces (those that
    recorded them). No presets' isolation: each study sets its own (the headline's rows name theirs)."""
    table = pd.read_csv(path)
    pieces = table.drop_duplicates(list(on))
    minutes = float(pieces.piece_minutes.sum(min_count=1)) if "piece_minutes" in pieces else float("nan")
    commits = list(dict.fromkeys(table.commit.astype(str)))
    seeds = ",".join(str(s) for s in sorted(table.seed.unique()))
    record([path.name], "15_why.ipynb (python -m gtl.why, a piece at a time)", profile, seeds, minutes,
           made_at=commits[0] if len(commits) == 1 else f"per row: {' '.join(commits)}", isolation="")


if __name__ == "__main__":
    main()
