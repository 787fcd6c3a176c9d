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
from pathlib import Path

import pandas as pd

from .baselines import from_learngene, from_pretrained, pretrained_network, pretrained_params, scratch
from .cache import cached_table, key
from .data import load_dataset
from .evaluation import EvalConfig, evaluate
from .experiments import Study
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


def width_verdict(episodes: pd.DataFrame, widths: tuple[float, ...], seeds: tuple[int, ...]) -> dict:
    """Decision #20's rule for explanation 4: Δ = the cut's gain (born cut) at the widest of ``widths`` minus
    at the narrowest, its interval over ``seeds``, and the verdict; ``"pending"`` (with the seeds missing)
    until every seed has both ends."""
    gains = width_gains(episodes)
    narrow, wide = min(widths), max(widths)
    column = f"{UNIFORM}, {RULE_ISOLATION}"
    ends = gains[gains.width.isin([narrow, wide])].pivot(index="seed", columns="width", values=column)
    done = ends.reindex(columns=[narrow, wide]).dropna()
    if not set(seeds) <= set(done.index):
        return {"verdict": "pending", "seeds": sorted(done.index), "missing": sorted(set(seeds) - set(done.index))}
    done = done.loc[list(seeds)]
    delta = seed_interval(done[wide] - done[narrow])
    verdict = ("confirmed" if delta.low > 0 else "ruled out" if delta.high < RULE_FLOOR else "open")
    return {"verdict": verdict, "seeds": sorted(done.index), "missing": [], "delta": delta}


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
        rows = rows.sort_values(list(on) + ["method", "isolation", "episode"])
        write_atomically(path, lambda tmp: rows.to_csv(tmp, index=False))
    return path


def width_table(profile: str, dataset: str) -> str:
    """The committed long table of explanation 4 (a file name in the figures folder)."""
    return f"why_width_{profile}_{dataset}_episodes.csv"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m gtl.why", description="Compute one piece of a why-study and merge "
                                "it into its committed table (docs/decisions.md #20).")
    p.add_argument("study", choices=["width"])
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--width", type=float, required=True, help="one of the profile's why_widths")
    p.add_argument("--profile", default="quick")
    p.add_argument("--dataset", default="miniimagenet")
    args = p.parse_args(argv)
    study = Study(profile=args.profile, dataset=args.dataset, seed=args.seed, progress=True)
    if args.width not in study.numbers.why_widths:
        p.error(f"--width {args.width}: the {args.profile} profile's widths are {study.numbers.why_widths}")
    start, made_at = time.time(), commit()
    rows = width_point(study, width=args.width, eval_cfg=study.eval_config())
    path = merge_piece(rows, width_table(args.profile, args.dataset), on=("seed", "width"), made_at=made_at)
    minutes = (time.time() - start) / 60
    seeds = ",".join(str(s) for s in sorted(pd.read_csv(path).seed.unique()))
    record([path.name], "15_why.ipynb (python -m gtl.why, a piece at a time)", args.profile, seeds, minutes)
    print(f"{path}: seed {args.seed}, width {args.width} in {minutes:.1f} min")


if __name__ == "__main__":
    main()
