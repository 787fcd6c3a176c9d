"""Command line: ``python -m gtl {evolve,evaluate,info,download}``.

Examples::

    python -m gtl evolve --profile quick                 # CPU, minutes, offline data
    python -m gtl evolve --profile paper --dataset cifar-fs --arch resnet12
    python -m gtl info runs/<run>/learngene.pt
    python -m gtl evaluate runs/<run>/learngene.pt --shots 1 5 --episodes 600
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

from .data import DATASETS, DatasetError, download, load_dataset
from .evolution import GTLConfig, default_run_dir, evolve
from .experiments import METHODS, default_device, evaluate_methods
from .fewshot import EvalConfig
from .learngene import IncompatibleLearngeneError, Learngene
from .models import ARCHITECTURES
from .plots import to_markdown


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", choices=("quick", "paper"), default="quick",
                   help="quick: small networks and budgets for a CPU (minutes); paper: full settings for a GPU")
    p.add_argument("--data-root", help="folder holding the datasets (default: $GTL_DATA, then ./data)")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gtl",
        description="Genetic Transfer Learning: evolve learngenes (the core channels of a network) "
                    "and test how well descendants that inherit them learn new classes.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("evolve", help="evolve a learngene in a population of networks",
                       description="Train a population on 5-way tasks of the training classes, select by "
                                   "tournament, mutate and pass on learngenes. Writes generations.csv, a "
                                   "checkpoint per generation and the best learngene (learngene.pt) to the "
                                   "run directory; an interrupted run resumes where it stopped.")
    _common(p)
    p.add_argument("--dataset", choices=DATASETS[:2], default="miniimagenet")
    p.add_argument("--arch", choices=sorted(ARCHITECTURES), default="vgg11")
    p.add_argument("--population", type=int, help="members per generation (quick 12, paper 50)")
    p.add_argument("--generations", type=int, help="number of generations (quick 6, paper 30)")
    p.add_argument("--width", type=float, help="channel width multiplier (quick 0.25, paper 1)")
    p.add_argument("--image-size", type=int, help="side of the square input images (quick 32)")
    p.add_argument("--run-dir", help="where to write the run (default runs/<dataset>-<arch>-<profile>-<hash>)")
    resume = p.add_mutually_exclusive_group()
    resume.add_argument("--resume", dest="fresh", action="store_false",
                        help="continue the run found in the run directory (the default)")
    resume.add_argument("--fresh", dest="fresh", action="store_true",
                        help="start over, overwriting the run directory")
    p.set_defaults(fresh=False)

    p = sub.add_parser("evaluate", help="few-shot accuracy of descendants of a learngene vs baselines",
                       description="Fine-tune networks on N-way K-shot episodes of the novel (test) classes "
                                   "and print mean accuracy ± 95%% confidence interval per method.")
    _common(p)
    p.add_argument("learngene", help="a learngene file (learngene.pt of a run)")
    p.add_argument("--shots", type=int, nargs="+", default=[1, 5], help="K of K-shot (default: 1 5)")
    p.add_argument("--ways", type=int, default=5)
    p.add_argument("--episodes", type=int, help="test episodes (quick 60, paper 600)")
    p.add_argument("--split", default="test", choices=("train", "val", "test", "all"))
    p.add_argument("--baselines", nargs="*", default=["Scratch"], choices=METHODS[1:],
                   help="methods to compare with (Pre-Fin, Layer-LG and Random-mask pre-train a network first; cached)")
    p.add_argument("--out", help="also write the table to this CSV file")

    p = sub.add_parser("info", help="describe a learngene file")
    p.add_argument("learngene")

    p = sub.add_parser("download", help="fetch a dataset with its usual downloader (needs internet)")
    p.add_argument("dataset", choices=("cifar-fs", "miniimagenet"))
    p.add_argument("--data-root")
    return parser


def cmd_evolve(a: argparse.Namespace) -> None:
    overrides = {k: v for k, v in dict(population=a.population, generations=a.generations, width=a.width,
                                       image_size=a.image_size).items() if v is not None}
    cfg = GTLConfig.from_profile(a.profile, dataset=a.dataset, arch=a.arch, seed=a.seed, **overrides)
    run_dir = Path(a.run_dir) if a.run_dir else default_run_dir(cfg, a.profile)
    print(f"GTL {a.profile}: {cfg.population} x {cfg.arch} (width {cfg.width}) on {cfg.dataset} "
          f"{cfg.image_size}px, {cfg.generations} generations -> {run_dir}")
    result = evolve(cfg, run_dir, a.data_root, a.device or default_device(), resume=not a.fresh,
                    progress=not a.quiet)
    print(result.best.describe())
    print(f"best learngene: {run_dir / 'learngene.pt'}\nlog: {run_dir / 'generations.csv'}")


def cmd_evaluate(a: argparse.Namespace) -> None:
    lg = Learngene.load(a.learngene)
    device = a.device or default_device()
    dataset, size = lg.meta.get("dataset", "miniimagenet"), lg.meta.get("image_size", 84)
    eval_cfg = EvalConfig.from_profile(a.profile, dataset, ways=a.ways)
    if a.episodes:
        eval_cfg = replace(eval_cfg, episodes=a.episodes)
    # the settings Pre-Fin's pre-training needs: the learngene's architecture, width and data
    gcfg = GTLConfig.from_profile(a.profile, dataset=dataset, arch=lg.arch, width=lg.width, image_size=size,
                                  seed=a.seed)
    test_set = load_dataset(dataset, a.split, a.data_root, size).to(device)
    results = evaluate_methods(lg, gcfg, eval_cfg, test_set, tuple(a.shots), ("Learngene", *a.baselines),
                               a.data_root, device, not a.quiet)
    for r in results:
        print(r)
    df = pd.DataFrame([r.row() for r in results])
    print(to_markdown(df[["method", "ways", "shots", "mean", "ci95", "episodes", "params_transferred", "seed"]],
                      "{:.4f}"))
    if a.out:
        df.to_csv(a.out, index=False)


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    try:
        if a.command == "evolve":
            cmd_evolve(a)
        elif a.command == "evaluate":
            cmd_evaluate(a)
        elif a.command == "info":
            lg = Learngene.load(a.learngene)
            print(lg.describe())
            print("  metadata:", {k: v for k, v in lg.meta.items() if k not in ("total_params",)})
        elif a.command == "download":
            print(f"{a.dataset} is in {download(a.dataset, a.data_root)}")
    except (DatasetError, IncompatibleLearngeneError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
