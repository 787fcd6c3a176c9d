"""Why the paper's effect is missing here: the studies of docs/decisions.md #20, one function each.

Each explanation is decided over seeds (a seed draws its own pre-training or evolution and its own
episodes) by a rule written before its run. So far:

* :func:`width_point` - explanation 4, scale: at one width and seed, pre-train, then Scratch, Pre-Fin and
  the *uniform cut* (the pre-trained network's most salient channels, 20% of its parameters) on the same
  test episodes; :func:`width_study` gathers the points, :func:`width_verdict` applies the rule.

A study runs for hours on a CPU, so it is computed a piece (one seed, one width) at a time:
``python -m gtl.why width --seed 0 --width 1.0`` computes one point (cached in the runs folder) and merges
its rows, with the commit and CPU that made them, into the committed table that notebook 15 reads.
"""
from __future__ import annotations

import argparse
import fcntl
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import pandas as pd

from .baselines import from_learngene, from_pretrained, pretrained_network, pretrained_params, scratch
from .cache import cached_table, key
from .data import load_dataset
from .evaluation import EvalConfig, evaluate
from .budget import pretraining_curve
from .evolution import EvolutionResult, champion_path
from .experiments import Study, method_episodes, run_evolution
from .learngene import Learngene, channel_saliency, count_params, extract
from .models import FewShotNet
from .paths import figures_dir, runs_dir, write_atomically
from .provenance import commit, cpu_type, record
from .questions import PAPER_SIZE, masks_for_fraction
from .stats import seed_interval, share_over_seeds

UNIFORM = "Uniform-cut"
CUT_ISOLATIONS = {"born cut": 0.0, "open": 1.0}  # cross-weights at birth; born cut decides (#17, #20)
RULE_ISOLATION = "born cut"
RULE_FLOOR = 2.0  # points: an upper end below this rules the explanation out (#20)


def uniform_cut(net: FewShotNet, fraction: float = PAPER_SIZE) -> Learngene:
    """``net``'s most salient channels (|BN γ|, GTL's rule), one channel share for every group, as many as
    give ``fraction`` of its parameters: a cut defined by the pre-trained network alone, so the same
    construction at every width (decision #20 says why not the learngene's per-layer counts)."""
    return extract(net, masks_for_fraction(net, channel_saliency(net), fraction), method=UNIFORM)


def width_point(study: Study, *, width: float, eval_cfg: EvalConfig, fraction: float = PAPER_SIZE) -> pd.DataFrame:
    """Explanation 4 at one width and ``study.seed``: Scratch, Pre-Fin and the uniform cut (born cut and
    open) on the same test episodes. A long table (one row per episode), cached in ``runs/why/``."""
    cfg = study.gtl_config(width=width)
    test_set = load_dataset(cfg.dataset, "test", study.data_root, cfg.image_size)
    train_set = load_dataset(cfg.dataset, "train", study.data_root, cfg.image_size)
    name = key(cfg.key(), eval_cfg, fraction, test_set.fingerprint(), train_set.fingerprint(),
               study.runtime.precision(study.device), producer="why")
    return cached_table(runs_dir() / "why" / f"width-{cfg.dataset}-{width}-{study.seed}-{name}.csv",
                        lambda: _width_rows(study, cfg, eval_cfg, fraction, test_set.to(study.device)))


def _width_rows(study: Study, cfg, eval_cfg: EvalConfig, fraction: float, test_set) -> pd.DataFrame:
    net = pretrained_network(cfg, eval_cfg, study.data_root, study.device, study.runtime).cpu()
    cut = uniform_cut(net, fraction)
    methods = [("Scratch", "", scratch(cfg.arch, cfg.width), 0),
               ("Pre-Fin", "", from_pretrained(net), pretrained_params(net))]
    methods += [(UNIFORM, iso, from_learngene(cut, scale), cut.num_params) for iso, scale in CUT_ISOLATIONS.items()]
    rows = []
    for method, isolation, make, params in methods:
        r = evaluate(make, test_set, eval_cfg, cfg.seed, method, params, study.device, study.progress,
                     runtime=study.runtime)
        rows += r.long(isolation=isolation, width=cfg.width, fraction=params / count_params(net),
                       dataset=cfg.dataset, profile=study.profile)
    return pd.DataFrame(rows)


def width_study(study: Study, *, eval_cfg: EvalConfig) -> pd.DataFrame:
    """:func:`width_point` for every seed and width of the profile (:attr:`gtl.profiles.Profile.why_widths`,
    ``why_seeds``): the whole of explanation 4."""
    numbers = study.numbers
    return pd.concat([width_point(s, width=w, eval_cfg=eval_cfg) for s in study.seeds(numbers.why_seeds)
                      for w in numbers.why_widths], ignore_index=True)


def width_gains(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per seed and width, each method's mean paired gain over Scratch (points) and Pre-Fin's, one row each;
    ``method`` names the cut with its isolation (``Uniform-cut, born cut``)."""
    named = episodes.assign(method=[m if not i or pd.isna(i) else f"{m}, {i}"
                                    for m, i in zip(episodes.method, episodes.isolation)])
    wide = named.pivot_table(index=["seed", "width", "episode"], columns="method", values="accuracy")
    gains = (100 * wide.sub(wide["Scratch"], axis=0)).drop(columns="Scratch").groupby(level=["seed", "width"]).mean()
    return gains.reset_index()


def rule_verdict(per_seed: pd.Series, seeds: tuple[int, ...]) -> dict:
    """Decision #20's rule on one difference per seed (points, indexed by seed): its mean ± 95% t interval over
    ``seeds`` is *confirmed* above 0, *ruled out* when its upper end is below :data:`RULE_FLOOR`, else *open*;
    ``"pending"`` (with the seeds missing) until every seed has one. An interval above 0 whose upper end is
    below the floor is *confirmed*: an effect clear of 0 is one, however small (the interval says how small)."""
    done = per_seed.dropna()
    missing = sorted(set(seeds) - set(done.index))
    if missing:
        return {"verdict": "pending", "seeds": sorted(done.index), "missing": missing}
    delta = seed_interval(done.loc[list(seeds)])
    verdict = "confirmed" if delta.low > 0 else "ruled out" if delta.high < RULE_FLOOR else "open"
    return {"verdict": verdict, "seeds": list(seeds), "missing": [], "delta": delta}


def width_verdict(episodes: pd.DataFrame, widths: tuple[float, ...], seeds: tuple[int, ...]) -> dict:
    """Explanation 4's rule (:func:`rule_verdict`) on Δ = the cut's gain (born cut) at the widest of ``widths``
    minus at the narrowest, per seed."""
    gains = width_gains(episodes)
    narrow, wide = min(widths), max(widths)
    ends = gains.pivot(index="seed", columns="width", values=f"{UNIFORM}, {RULE_ISOLATION}")
    ends = ends.reindex(columns=[narrow, wide])
    return rule_verdict(ends[wide] - ends[narrow], seeds)


def width_shares(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per width and cut, the share of Pre-Fin's gain over seeds (Fieller), and each gain's interval over seeds."""
    gains = width_gains(episodes)
    rows = []
    for width, g in gains.groupby("width"):
        for column in [c for c in g.columns if c.startswith(UNIFORM)] + ["Pre-Fin"]:
            interval = seed_interval(g[column])
            share = share_over_seeds(g[column], g["Pre-Fin"])
            rows.append({"width": width, "method": column, "seeds": len(g), "gain": interval.mean,
                         "gain_low": interval.low, "gain_high": interval.high, "between_run_sd": interval.sd,
                         "share": share[0], "share_low": share[1], "share_high": share[2]})
    return pd.DataFrame(rows)


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
    ``image_steps`` (what the lineage trained on)."""
    base = study.gtl_config()
    settings = dict(CHAIN if kind == "chain" else {}, generations=generations,
                    lifetime=replace(base.lifetime, steps=lifetime_steps))
    result = run_evolution(study, **settings)
    if kind == "chain":
        result = replace(result, best=chain_learngene(result))
    rows = method_episodes(study, result, eval_cfg, shots=(5,), methods=LINEAGE_METHODS)
    return rows.assign(kind=kind, generations=generations, lifetime_steps=lifetime_steps,
                       image_steps=generations * lifetime_steps * base.lifetime_batch)


def lineage_study(study: Study, *, eval_cfg: EvalConfig) -> pd.DataFrame:
    """Explanation 1 for every seed of the profile: each piece of :func:`lineage_pieces` (its chains, GTL at
    :func:`matching_generations`, Pre-Fin and Pre-Cut against pre-training image-steps), named in ``piece``."""
    pieces = lineage_pieces(study, eval_cfg)
    return pd.concat([make(s).assign(piece=name) for s in study.seeds(study.numbers.why_seeds)
                      for name, make in pieces.items()], ignore_index=True)


def lineage_gaps(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per seed and lineage (``kind``, ``generations``, ``lifetime_steps``, ``image_steps``, and the pre-training
    points), each method's mean paired gain over Scratch in points: one row per (lineage, method)."""
    keys = ["seed", "kind", "generations", "lifetime_steps", "pretrain_steps", "image_steps"]
    keys = [k for k in keys if k in episodes]
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
    rows = []
    for group, g in gaps.groupby([k for k in keys if k in gaps], sort=False, dropna=False):
        interval = seed_interval(g.gap)
        rows.append({**dict(zip([k for k in keys if k in gaps], group)), "seeds": len(g), "gap": interval.mean,
                     "gap_low": interval.low, "gap_high": interval.high, "between_run_sd": interval.sd})
    return pd.DataFrame(rows).sort_values(["kind", "method", "image_steps"], ignore_index=True)


def chain_ends(chains: tuple[tuple[int, int], ...]) -> tuple[int, int, int, tuple[int, int]]:
    """``(lifetime steps, fewest generations, most generations, the chain of long lifetimes)`` of explanation 1's
    chains: the rule compares the fewest and the most generations at the first chain's lifetime."""
    steps = chains[0][1]
    generations = sorted(g for g, t in chains if t == steps)
    if len(set(generations)) < 2:
        raise ValueError(f"explanation 1 needs two chain lengths at {steps} lifetime steps, got chains {chains}")
    return steps, generations[0], generations[-1], max(chains, key=lambda c: c[1])


def lineage_verdict(episodes: pd.DataFrame, chains: tuple[tuple[int, int], ...], seeds: tuple[int, ...]) -> dict:
    """Explanation 1's rule (:func:`rule_verdict`) on Δ = the learngene's gap after the chain with the most
    generations minus after the one with the fewest, both at the first chain's lifetime, per seed."""
    steps, short, long, _ = chain_ends(chains)
    gaps = lineage_gaps(episodes)
    chain = gaps[(gaps.kind == "chain") & (gaps.method == "Learngene") & (gaps.lifetime_steps == steps)]
    ends = chain.pivot_table(index="seed", columns="generations", values="gap").reindex(columns=[short, long])
    return rule_verdict(ends[long] - ends[short], seeds)


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


# ------------------------------------------------------------------ one piece at a time, committed


def merge_piece(rows: pd.DataFrame, table: str, on: tuple[str, ...], made_at: str) -> Path:
    """Put ``rows`` (one piece of a study: its ``on`` values are one point) into ``figures/<table>``, replacing
    that point's old rows, with the commit they were computed at (``made_at``, read when the piece began) and
    this CPU: the pieces of one table may come from several sessions and machines, and each row says which."""
    path = figures_dir() / table
    here = cpu_type()
    rows = rows.assign(commit=made_at, cpu=here["cpu"], isa=here["isa"])
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


def width_table(profile: str, dataset: str) -> str:
    """The committed long table of explanation 4 (a file name in the figures folder)."""
    return f"why_width_{profile}_{dataset}_episodes.csv"


def lineage_table(profile: str, dataset: str) -> str:
    """The committed long table of explanation 1 (a file name in the figures folder)."""
    return f"why_lineage_{profile}_{dataset}_episodes.csv"


def lineage_pieces(study: Study, eval_cfg: EvalConfig) -> dict[str, Callable[[Study], pd.DataFrame]]:
    """Explanation 1's pieces by name (``chain 96x100``, ``GTL 39x100``, ``pre-training``): each computes its
    rows for a study of one seed. :func:`lineage_study` is all of them for every seed."""
    numbers, steps = study.numbers, study.gtl_config().lifetime.steps
    pieces = {f"chain {g}x{t}": (lambda s, g=g, t=t: lineage_point(s, kind="chain", generations=g, lifetime_steps=t,
                                                                   eval_cfg=eval_cfg))
              for g, t in numbers.why_chains}
    matching = matching_generations(study, eval_cfg)
    pieces[f"GTL {matching}x{steps}"] = lambda s: lineage_point(s, kind="GTL", generations=matching,
                                                                lifetime_steps=steps, eval_cfg=eval_cfg)

    def pre_training(s: Study) -> pd.DataFrame:
        pre = pretraining_curve(s, eval_cfg=eval_cfg, pretrain_steps=numbers.pretrain_steps, shots=5)
        return pre.assign(kind="pre-training", image_steps=pre.pretrain_steps * eval_cfg.pretrain.batch_size)
    pieces["pre-training"] = pre_training
    return pieces


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m gtl.why", description="Compute one piece of a why-study and merge "
                                "it into its committed table (docs/decisions.md #20).")
    p.add_argument("study", choices=["width", "lineage"])
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--width", type=float, help="width: one of the profile's why_widths")
    p.add_argument("--piece", help="lineage: 'chain GxT', 'GTL GxT' or 'pre-training' (python -m gtl.why lineage "
                                   "--seed 0 --piece list lists them)")
    p.add_argument("--profile", default="quick")
    p.add_argument("--dataset", default="miniimagenet")
    args = p.parse_args(argv)
    study = Study(profile=args.profile, dataset=args.dataset, seed=args.seed, progress=True)
    eval_cfg = study.eval_config()
    if args.study == "width":
        if args.width not in study.numbers.why_widths:
            p.error(f"--width {args.width}: the {args.profile} profile's widths are {study.numbers.why_widths}")
        compute, table, on = (lambda: width_point(study, width=args.width, eval_cfg=eval_cfg),
                              width_table(args.profile, args.dataset), ("seed", "width"))
        what = f"width {args.width}"
    else:
        pieces = lineage_pieces(study, eval_cfg)
        if args.piece not in pieces:
            p.error(f"--piece {args.piece}: the {args.profile} profile's pieces are {list(pieces)}")
        compute, table, on = (lambda: pieces[args.piece](study).assign(piece=args.piece),
                              lineage_table(args.profile, args.dataset), ("seed", "piece"))
        what = args.piece
    start, made_at = time.time(), commit()
    path = merge_piece(compute(), table, on=on, made_at=made_at)
    minutes = (time.time() - start) / 60
    seeds = ",".join(str(s) for s in sorted(pd.read_csv(path).seed.unique()))
    record([path.name], "15_why.ipynb (python -m gtl.why, a piece at a time)", args.profile, seeds, minutes)
    print(f"{path}: seed {args.seed}, {what} in {minutes:.1f} min")


if __name__ == "__main__":
    main()
