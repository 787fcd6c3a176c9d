"""Command line: ``python -m gtl {evolve,evaluate,info,download}``.

Examples::

    python -m gtl evolve --profile quick                 # CPU, minutes, offline data
    python -m gtl evolve --profile paper --dataset cifar-fs --arch resnet12
    python -m gtl info runs/<run>/learngene.pt
    python -m gtl evaluate runs/<run>/learngene.pt --shots 1 5 --episodes 600
    python -m gtl evolve --set lifetime.steps=200 --set mutation_rate=0.5   # any GTLConfig field
    torchrun --nproc-per-node 4 -m gtl evolve --profile paper           # the population over 4 GPUs
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

from .data import DATASETS, DatasetError, download, load_dataset
from .distributed import init_from_env, shutdown
from .evolution import Environment, GTLConfig, default_run_dir, evolve
from .experiments import METHODS, default_device, evaluate_methods
from .fewshot import EvalConfig
from .learngene import IncompatibleLearngeneError, Learngene
from .models import ARCHITECTURES
from .plots import percent_table, to_markdown
from .population import Runtime
from .profiles import PROFILES
from .stats import PAIRED, summarize


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", choices=PROFILES, default="quick",
                   help="quick: small networks and budgets for a CPU (minutes); paper: full settings for a GPU; "
                        "smoke: seconds, to check that everything runs (its numbers mean nothing)")
    p.add_argument("--data-root", help="folder holding the datasets (default: $GTL_DATA, then ./data)")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _runtime_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("speed (results agree to float rounding; see gtl.population)")
    g.add_argument("--runtime", choices=("auto", "loop", "batched"), default="auto",
                   help="train members one by one (loop) or as one stacked network (batched); "
                        "auto: batched on CUDA, loop on a CPU")
    g.add_argument("--chunk", type=int, default=64, help="most networks in one stacked network (default 64)")
    g.add_argument("--fp32", action="store_true", help="no bf16 autocast on CUDA")
    g.add_argument("--compile", action="store_true", help="torch.compile the stacked network (CUDA)")


def runtime_from_args(a: argparse.Namespace) -> Runtime:
    return Runtime(mode=a.runtime, chunk=a.chunk, bf16=not a.fp32, compile=a.compile)


def parse_overrides(items: list[str]) -> dict:
    """``["lifetime.steps=200", "mutation_rate=0.5"]`` -> GTLConfig keyword overrides, typed by the field."""
    base = GTLConfig()
    flat: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set expects FIELD=VALUE, got {item!r}")
        outer, _, inner = key.strip().partition(".")
        fields = {f.name: f for f in dataclasses.fields(base)}
        if outer not in fields:
            raise ValueError(f"--set: GTLConfig has no field {outer!r}; fields: {', '.join(fields)}")
        default = getattr(base, outer)
        if inner:
            if not dataclasses.is_dataclass(default) or inner not in {f.name for f in dataclasses.fields(default)}:
                raise ValueError(f"--set: {outer!r} has no field {inner!r}")
            flat.setdefault(outer, {})[inner] = _typed(getattr(default, inner), value, key)
        else:
            if dataclasses.is_dataclass(default):
                raise ValueError(f"--set: {outer!r} is a group: set its fields, e.g. {outer}.steps=100")
            flat[outer] = _typed(default, value, key)
    return flat


def _typed(default, value: str, key: str):
    try:
        if isinstance(default, bool):
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return value.lower() in ("true", "1")
        return type(default)(value)
    except ValueError:
        raise ValueError(f"--set {key}={value}: expected a {type(default).__name__}") from None


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
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                   help="override any GTLConfig field, e.g. --set mutation_rate=0.5 --set lifetime.steps=200 "
                        "(repeatable; see gtl.evolution.GTLConfig)")
    _runtime_options(p)
    resume = p.add_mutually_exclusive_group()
    resume.add_argument("--resume", dest="fresh", action="store_false",
                        help="continue the run found in the run directory (the default)")
    resume.add_argument("--fresh", dest="fresh", action="store_true",
                        help="start over, overwriting the run directory")
    p.set_defaults(fresh=False)

    p = sub.add_parser("evaluate", help="few-shot accuracy of descendants of a learngene vs baselines",
                       description="Fine-tune networks on N-way K-shot episodes of the novel (test) classes "
                                   "and print each method's accuracy (mean ± 95% confidence interval over "
                                   "episodes) and its paired difference with Scratch on the same episodes.")
    _common(p)
    p.add_argument("learngene", help="a learngene file (learngene.pt of a run)")
    p.add_argument("--shots", type=int, nargs="+", default=[1, 5], help="K of K-shot (default: 1 5)")
    p.add_argument("--ways", type=int, default=5)
    p.add_argument("--episodes", type=int, help="test episodes (quick 60, paper 600)")
    p.add_argument("--split", default="test", choices=("train", "val", "test", "all"))
    p.add_argument("--baselines", nargs="*", default=["Scratch"], choices=METHODS[1:],
                   help="methods to compare with (Pre-Fin, Layer-LG and Random-mask pre-train a network first; cached)")
    p.add_argument("--cross-scale", type=float,
                   help="scale of the cross-weights at a descendant's birth, 0 to 1 (default: the preset's, "
                        "chosen on validation classes; docs/decisions.md #16)")
    p.add_argument("--out", help="also write the table to this CSV file, and the per-episode accuracies "
                                 "next to it (<name>_episodes.csv)")
    _runtime_options(p)

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
    nested = parse_overrides(a.overrides)
    cfg = replace(cfg, **{k: replace(getattr(cfg, k), **v) if isinstance(v, dict) else v for k, v in nested.items()})
    world, device = init_from_env(a.device or default_device())
    say = print if world.is_main else (lambda *_, **__: None)
    share = f", {world.size} processes" if world.size > 1 else ""
    try:
        env = Environment(cfg, a.data_root, device)  # the default run folder is named after its data too
        run_dir = Path(a.run_dir) if a.run_dir else default_run_dir(cfg, a.profile, env.fingerprint)
        say(f"GTL {a.profile}: {cfg.population} x {cfg.arch} (width {cfg.width}) on {cfg.dataset} "
            f"{cfg.image_size}px, {cfg.generations} generations on {device}{share} -> {run_dir}")
        result = evolve(cfg, run_dir, a.data_root, device, resume=not a.fresh, progress=not a.quiet, env=env,
                        runtime=runtime_from_args(a), world=world)
    finally:
        shutdown()
    say(result.best.describe())
    say(f"best learngene: {run_dir / 'learngene.pt'}\nlog: {run_dir / 'generations.csv'}")


def cmd_evaluate(a: argparse.Namespace) -> None:
    lg = Learngene.load(a.learngene)
    device = a.device or default_device()
    dataset, size = lg.meta.get("dataset", "miniimagenet"), lg.meta.get("image_size", 84)
    eval_cfg = EvalConfig.from_profile(a.profile, dataset, ways=a.ways)
    if a.episodes:
        eval_cfg = replace(eval_cfg, episodes=a.episodes)
    # the settings Pre-Fin's pre-training needs: the learngene's architecture, width and data
    birth = {} if a.cross_scale is None else {"cross_scale": a.cross_scale}
    gcfg = GTLConfig.from_profile(a.profile, dataset=dataset, arch=lg.arch, width=lg.width, image_size=size,
                                  seed=a.seed, **birth)
    test_set = load_dataset(dataset, a.split, a.data_root, size).to(device)
    results = evaluate_methods(lg, gcfg, eval_cfg, test_set, tuple(a.shots), ("Learngene", *a.baselines),
                               a.data_root, device, not a.quiet, runtime=runtime_from_args(a))
    episodes = pd.DataFrame([row for r in results for row in r.long()])
    table = percent_table(summarize(episodes, ["setting"]), ["method", "setting", "accuracy (%)", "95% CI (±)",
                                                             PAIRED, "episodes", "params_transferred", "seed"])
    print(to_markdown(table))
    if a.out:
        table.to_csv(a.out, index=False)
        episodes.to_csv(Path(a.out).with_name(f"{Path(a.out).stem}_episodes.csv"), index=False)


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
