"""Command line: ``python -m gtl {evolve,evaluate,inherit,info,download}``.

Examples::

    python -m gtl evolve --profile quick                 # CPU, minutes, offline data
    python -m gtl evolve --profile paper --dataset cifar-fs --arch resnet12
    python -m gtl info runs/<run>/learngene.pt
    python -m gtl evaluate runs/<run>/learngene.pt --shots 1 5 --episodes 600
    python -m gtl inherit runs/<run>/learngene.pt --arch vgg16 --out descendant.pt   # a plain state_dict
    python -m gtl evolve --set lifetime.steps=200 --set mutation_rate=0.5   # any GTLConfig field
    torchrun --nproc-per-node 4 -m gtl evolve --profile paper           # the population over 4 GPUs
"""
from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch
from PIL import Image

from . import __version__
from .data import (DATASETS, DatasetError, benchmark_layout, class_counts, class_folders, class_split, download,
                   is_folder_dataset, load_dataset)
from .distributed import init_from_env, shutdown
from .evolution import (CRITIC_OPTIONS, TASK_OPTIONS, Environment, GTLConfig, RunLockedError, chosen_isolation,
                        default_run_dir, evolve, unfinished_threads)
from .methods import METHODS, evaluate_methods
from .evaluation import EvalConfig
from .inherit import build, inherited_params, mapping_table
from .learngene import IncompatibleLearngeneError, Learngene, count_params
from .models import ARCHITECTURES, build_model
from .plots import percent_table, to_markdown
from .population import Runtime, default_device, free_cpu_threads
from .profiles import PROFILES
from .stats import PAIRED, summarize
from .tasks import check_task_size, task_size_problem

EVAL_OPTIONS = " (test classes, episodes: evaluate --ways N, --shots K and --set queries=N)"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", choices=PROFILES, default="quick",
                   help="quick: small networks and budgets for a CPU (minutes); paper: full settings for a GPU; "
                        "smoke: seconds, to check that everything runs (its numbers mean nothing)")
    p.add_argument("--data-root", help="folder holding the datasets (default: $GTL_DATA, then ./data)")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: the CPUs other processes leave free, "
                                               "at least 1; an unfinished run resumes with its own count)")


def _runtime_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("speed (results agree to float rounding; see gtl.population)")
    g.add_argument("--runtime", choices=("auto", "loop", "batched"), default="auto",
                   help="train members one by one (loop) or as one stacked network (batched); "
                        "auto: batched on CUDA, loop on a CPU")
    g.add_argument("--chunk", type=int, default=64, help="most networks in one stacked network (default 64)")
    g.add_argument("--fp32", action="store_true", help="no bf16 autocast anywhere (on CUDA; overrides --cpu-bf16)")
    g.add_argument("--cpu-bf16", action="store_true",
                   help="bf16 autocast on a CPU too: other numbers than fp32, faster on some CPUs (python -m "
                        "gtl.bench --cpu-bf16 measures it; default: $GTL_CPU_BF16=1, else off; docs/decisions.md #19)")
    g.add_argument("--compile", action="store_true", help="torch.compile the stacked network (CUDA)")


def birth_scale(lg: Learngene, given: float | None) -> float:
    """The cross-weights' scale at a descendant's birth: ``given`` (``--cross-scale``), else the one
    the learngene's own run used (recorded in it), else the value chosen on validation classes."""
    if given is not None:
        return given
    return lg.meta.get("cross_scale", chosen_isolation({"arch": lg.arch}).get("cross_scale", 1.0))


def runtime_from_args(a: argparse.Namespace) -> Runtime:
    return Runtime(mode=a.runtime, chunk=a.chunk, bf16=not a.fp32, cpu_bf16=a.cpu_bf16 or Runtime().cpu_bf16,
                   compile=a.compile)


def parse_overrides(items: list[str], base=None) -> dict:
    """``["lifetime.steps=200", "mutation_rate=0.5"]`` -> keyword overrides of ``base``'s fields (a config
    dataclass, default a GTLConfig), typed by the field; a group's fields come as a dict."""
    base = GTLConfig() if base is None else base
    name = type(base).__name__
    flat: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set expects FIELD=VALUE, got {item!r}")
        outer, _, inner = key.strip().partition(".")
        fields = {f.name: f for f in dataclasses.fields(base)}
        if outer not in fields:
            raise ValueError(f"--set: {name} has no field {outer!r}; fields: {', '.join(fields)}")
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


def with_overrides(cfg, items: list[str]):
    """``cfg`` (a GTLConfig or EvalConfig) with the ``--set FIELD=VALUE`` items applied; the config checks
    its values as it is rebuilt, so a bad one is an error before anything runs."""
    nested = parse_overrides(items, cfg)
    return replace(cfg, **{k: replace(getattr(cfg, k), **v) if isinstance(v, dict) else v for k, v in nested.items()})


def _typed(default, value: str, key: str):
    try:
        if isinstance(default, bool):
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return value.lower() in ("true", "1")
        return type(default)(value)
    except ValueError:
        kind = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a word"}
        raise ValueError(f"--set {key}={value}: expected {kind.get(type(default).__name__, 'a value')}") from None


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
    data = p.add_mutually_exclusive_group()
    data.add_argument("--dataset", choices=DATASETS[:2], default="miniimagenet", help="a benchmark (default "
                                                                                   "miniimagenet)")
    data.add_argument("--data", metavar="DIR", help="your own images instead: DIR/<class>/<image> (see "
                                                    "`python -m gtl info --data DIR` first)")
    p.add_argument("--strict", action="store_true", help="stop at an unreadable image instead of skipping it")
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
                   help="scale of the cross-weights at a descendant's birth, 0 to 1 (default: the run's that "
                        "evolved the learngene, else the preset's; docs/decisions.md #16)")
    p.add_argument("--out", help="also write the table to this CSV file, and the per-episode accuracies "
                                 "next to it (<name>_episodes.csv)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                   help="override any EvalConfig field but shots (--shots), e.g. --set finetune.steps=50 --set "
                        "queries=5 --set pretrain.steps=1000 (repeatable; see gtl.evaluation.EvalConfig)")
    p.add_argument("--data", metavar="DIR", help="the class folder a learngene evolved on your images lives in "
                                                 "now (default: where it was)")
    p.add_argument("--strict", action="store_true", help="stop at an unreadable image instead of skipping it")
    _runtime_options(p)

    p = sub.add_parser("inherit", help="initialise a network from a learngene and save its plain state_dict",
                       description="Build a descendant (any architecture and width gtl knows: the learngene is "
                                   "mapped into deeper, wider and other networks, docs/decisions.md #9) and "
                                   "save its state_dict with torch.save, plus a JSON of what was inherited. "
                                   "Load it with gtl.models.build_model(ARCH, num_classes, WIDTH)"
                                   ".load_state_dict(torch.load(OUT)).")
    p.add_argument("learngene", help="a learngene file (learngene.pt of a run)")
    p.add_argument("--arch", choices=sorted(ARCHITECTURES), help="the descendant's architecture (default: the "
                                                                   "learngene's)")
    p.add_argument("--width", type=float, help="its channel width multiplier (default: the learngene's)")
    p.add_argument("--classes", type=int, default=5, help="outputs of its (random) head (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random, non-learngene weights (default 0)")
    p.add_argument("--cross-scale", type=float,
                   help="scale of the cross-weights at birth, 0 to 1 (default: the learngene's run's)")
    p.add_argument("--out", required=True, help="where to write the state_dict (e.g. descendant.pt); the "
                                                "JSON goes next to it (descendant.json)")

    p = sub.add_parser("info", help="describe a learngene file, a folder of your images before a run, or "
                                    "(with neither) what a profile's run costs",
                       description="With a learngene file or --data DIR, describe them. With neither, estimate "
                                   "the cost of one run of --profile: FLOPs counted from the network, per part "
                                   "(lifetimes, critics, Pre-Fin's pre-training, evaluation), and the hours they "
                                   "take at a stated rate.")
    p.add_argument("learngene", nargs="?", help="a learngene file")
    p.add_argument("--data", metavar="DIR", help="a class-folder dataset (DIR/<class>/<image>): its classes, "
                                                 "images, sizes, split, and whether --profile's tasks fit")
    p.add_argument("--profile", choices=PROFILES, default="quick")
    p.add_argument("--dataset", choices=DATASETS[:2], default="miniimagenet", help="the cost estimate's benchmark")
    p.add_argument("--arch", choices=sorted(ARCHITECTURES), default="vgg11", help="the cost estimate's network")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                   help="the cost estimate of a run with this GTLConfig field changed, as for evolve")

    p = sub.add_parser("download", help="fetch a dataset with its usual downloader (needs internet)")
    p.add_argument("dataset", choices=("cifar-fs", "miniimagenet"))
    p.add_argument("--data-root")
    return parser


def cmd_evolve(a: argparse.Namespace) -> None:
    overrides = {k: v for k, v in dict(population=a.population, generations=a.generations, width=a.width,
                                       image_size=a.image_size).items() if v is not None}
    dataset = a.dataset if a.data is None else _folder_dataset(a.data)
    cfg = with_overrides(GTLConfig.from_profile(a.profile, dataset=dataset, arch=a.arch, seed=a.seed, **overrides),
                         a.overrides)
    given = output_folder(a.run_dir, "--run-dir") if a.run_dir else None  # before the data is read
    world, device = init_from_env(a.device or default_device())
    width_from = "--width" if a.width is not None else "--set width" if any(
        item.partition("=")[0].strip() == "width" for item in a.overrides) else f"the {a.profile} profile's width"
    say = print if world.is_main else (lambda *_, **__: None)
    share = f", {world.size} processes" if world.size > 1 else ""
    try:  # a refusal ends the process group too
        check_network_fits(cfg.arch, cfg.width, device, width_from)
        env = Environment(cfg, a.data_root, device)  # the default run folder is named after its data too
        runtime = runtime_from_args(a)
        run_dir = given or default_run_dir(cfg, a.profile, env.fingerprint, runtime.precision(device))
        made = None if a.threads or a.fresh else unfinished_threads(run_dir, cfg)
        if made:  # the count changes the numbers: one run, one count
            torch.set_num_threads(made)
        threads = f" ({torch.get_num_threads()} thread(s){', as the run was begun' if made else ''}; --threads N)"
        say(f"GTL {a.profile}: {cfg.population} x {cfg.arch} (width {cfg.width}) on {cfg.dataset} "
            f"{cfg.image_size}px, {cfg.generations} generations on {device}{threads if device == 'cpu' else ''}"
            f"{share} -> {run_dir}")
        if getattr(env, "split", None) and world.is_main:  # your classes it trains on (train, val), leaves for test
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "split.json").write_text(json.dumps(env.split, indent=1))
        result = evolve(cfg, run_dir, a.data_root, device, resume=not a.fresh, progress=not a.quiet, env=env,
                        runtime=runtime, world=world)
    finally:
        shutdown()
    say(result.best.describe())
    say(f"best learngene: {run_dir / 'learngene.pt'}\nlog: {run_dir / 'generations.csv'}")


def evaluation_data(lg: Learngene, data: str | None) -> str:
    """The dataset to evaluate ``lg`` on: ``--data`` (a class folder), else the one it was evolved on.
    A class folder must still split as it did then, or its "test" classes may be ones the
    learngene was trained on."""
    dataset = _folder_dataset(data) if data else lg.meta.get("dataset", "miniimagenet")
    if dataset not in DATASETS and not is_folder_dataset(dataset):
        raise DatasetError(f"this learngene was evolved on {dataset}, which is not a folder here: give its images "
                           f"with --data DIR")
    then = lg.meta.get("class_split")
    if then and is_folder_dataset(dataset) and class_split(dataset) != then:
        raise DatasetError(f"{dataset} no longer splits into the classes this learngene was evolved with (classes "
                           f"were added or removed): write its split into {Path(dataset) / 'splits'}/train.txt, "
                           f"val.txt and test.txt (the learngene's metadata has it: python -m gtl info LEARNGENE)")
    return dataset


def cmd_evaluate(a: argparse.Namespace) -> None:
    shots, out = check_shots(a.shots), a.out and output_file(a.out, "--out")  # before minutes of work
    lg = Learngene.load(a.learngene)
    device = a.device or default_device()
    dataset, size = evaluation_data(lg, a.data), lg.meta.get("image_size", 84)
    if any(item.partition("=")[0].strip() == "shots" for item in a.overrides):
        raise ValueError("--set shots: give K with --shots (evaluate runs every K listed there)")
    eval_cfg = with_overrides(EvalConfig.from_profile(a.profile, dataset, ways=a.ways), a.overrides)
    if a.episodes is not None:
        eval_cfg = replace(eval_cfg, episodes=a.episodes)
    # the settings Pre-Fin's pre-training needs: the learngene's architecture, width and data; descendants
    # are born as in the run that evolved the learngene unless --cross-scale says otherwise
    gcfg = GTLConfig.from_profile(a.profile, dataset=dataset, arch=lg.arch, width=lg.width, image_size=size,
                                  seed=a.seed, cross_scale=birth_scale(lg, a.cross_scale))
    test_set = load_dataset(dataset, a.split, a.data_root, size).to(device)
    for k in shots:  # before Pre-Fin's pre-training and the first episode
        check_task_size(test_set, eval_cfg.ways, k, eval_cfg.queries, EVAL_OPTIONS)
    results = evaluate_methods(lg, gcfg, eval_cfg, test_set, shots, ("Learngene", *a.baselines),
                               a.data_root, device, not a.quiet, runtime=runtime_from_args(a))
    episodes = pd.DataFrame([row for r in results for row in r.long()])
    summary = summarize(episodes, ["setting"])
    print(to_markdown(percent_table(summary, ["method", "setting", "accuracy (%)", "95% CI (±)", PAIRED, "episodes",
                                              "params_transferred", "seed"])))
    if out:
        summary_table(summary).to_csv(out, index=False)
        episodes.to_csv(out.with_name(f"{out.stem}_episodes.csv"), index=False)


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """What ``evaluate --out`` writes: numbers in their own columns, for a spreadsheet or pandas (the bold of
    the printed table is not data). ``summary`` is :func:`gtl.stats.summarize` of the per-episode table."""
    in_numbers = summary.assign(**{"vs Scratch (points)": (100 * summary["diff"]).round(2),
                                   "vs Scratch 95% CI (±)": (100 * summary.diff_ci95).round(2)})
    return percent_table(in_numbers.drop(columns=["diff", "diff_ci95"]),
                         ["method", "setting", "accuracy (%)", "95% CI (±)", "vs Scratch (points)",
                          "vs Scratch 95% CI (±)", "clear", "episodes", "params_transferred", "seed"])


def cmd_inherit(a: argparse.Namespace) -> None:
    """A descendant as a plain state_dict: usable with nothing but torch and the architecture's code."""
    if a.classes < 2:
        raise ValueError(f"--classes {a.classes}: give the classes of your task, 2 or more (a classifier tells "
                         f"classes apart)")
    out = output_file(a.out, "--out")
    lg = Learngene.load(a.learngene)
    arch, width = a.arch or lg.arch, lg.width if a.width is None else a.width
    check_network_fits(arch, width, "cpu", "--width")
    cross_scale = birth_scale(lg, a.cross_scale)
    model = build(lg, arch, width, a.classes, a.seed, cross_scale)
    same = arch == lg.arch and abs(width - lg.width) < 1e-9  # channels kept in place: nothing to map
    info = {"learngene": str(a.learngene), "arch": arch, "width": width, "num_classes": a.classes, "seed": a.seed,
            "cross_scale": cross_scale, "inherited_params": inherited_params(lg, model),
            "total_params": count_params(model), "learngene_meta": lg.meta,
            "mapping": [] if same else mapping_table(lg, arch, width), "load_with": f"gtl.models.build_model("
            f"{arch!r}, {a.classes}, {width}).load_state_dict(torch.load({out.name!r}))", "gtl_version": __version__}
    out.with_suffix(".json").write_text(json.dumps(info, indent=2, default=str))
    torch.save(model.state_dict(), out)
    print(f"{arch} x{width:g}: {info['inherited_params']:,} of {info['total_params']:,} parameters inherited "
          f"(cross-weights x{cross_scale:g}) -> {out} (+ {out.with_suffix('.json').name})")


def _folder_dataset(path: str) -> str:
    """The absolute path of a class-folder dataset, or an error saying what was expected."""
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise DatasetError(f"--data {path}: no such folder; give a folder of class folders (<folder>/<class>/<image>)")
    if not benchmark_layout(folder):
        class_folders(folder)  # says what is wrong with its layout, if anything
    return str(folder)


def cmd_info(a: argparse.Namespace) -> None:
    if (a.learngene or a.data) and a.overrides:
        raise ValueError("info --set changes the cost estimate, which info prints without a learngene file "
                         "or --data")
    if a.learngene:
        lg = Learngene.load(a.learngene)
        print(lg.describe())
        print("  metadata:", {k: v for k, v in lg.meta.items() if k not in ("total_params",)})
    if a.data:
        print(describe_folder(_folder_dataset(a.data), a.profile))
    if not (a.learngene or a.data):
        cfg = with_overrides(GTLConfig.from_profile(a.profile, dataset=a.dataset, arch=a.arch), a.overrides)
        print(describe_cost(a.profile, cfg, EvalConfig.from_profile(a.profile, a.dataset)))


def describe_cost(profile: str, cfg: GTLConfig, eval_cfg: EvalConfig, shots: tuple[int, ...] = (1, 5)) -> str:
    """What one run of ``profile`` costs (:func:`gtl.bench.run_cost`: FLOPs counted from the network), and
    the hours that implies, before anyone spends them. The paper profile is for a GPU: hours at a stated
    share of a named GPU's data-sheet peak, and the memory a batched lifetime step needs. The CPU
    profiles: hours at the rate measured here on lifetime steps of the same network."""
    from . import bench
    table = bench.run_cost(cfg, eval_cfg, shots)
    rate, where, column = estimate_rate(profile, cfg)
    total = pd.DataFrame([{"part": "total", "image_steps": table.image_steps.sum(), "tflop": table.tflop.sum()}])
    rows = pd.concat([table, total], ignore_index=True)
    rows = pd.DataFrame({"part": rows.part, "image-steps": [f"{n:,}" for n in rows.image_steps],
                         "TFLOP": [f"{t:,.1f}" for t in rows.tflop],
                         column: [f"{t / rate / 3600:,.2f}" for t in rows.tflop]})
    lines = [f"Cost of one {profile} run: evolve {cfg.arch} (width {cfg.width:g}) at {cfg.image_size} px on "
             f"{cfg.dataset}, then evaluate all {len(METHODS)} methods at {' and '.join(map(str, shots))} shots "
             f"(`make figures` runs several evaluations besides)",
             f"  forward pass of one image: {table.forward_gflop.iloc[0]:.3f} GFLOP (conv and linear multiply-adds "
             f"x 2, counted by torch.utils.flop_counter); a training image-step counts {bench.TRAIN_PASSES} forward "
             f"passes (forward + backward), a scored query 1",
             f"  hours = TFLOP / {rate:.4g} TFLOP/s / 3600, at {where}", "", to_markdown(rows)]
    if profile == "paper":
        lines.append(describe_memory(cfg))
    return "\n".join(lines)


def estimate_rate(profile: str, cfg: GTLConfig) -> tuple[float, str, str]:
    """``(TFLOP/s, where it comes from, the hours column's name)`` for :func:`describe_cost`. The paper
    profile runs on a GPU: an assumed share of a named GPU's data-sheet peak, said as such. The others
    run on a CPU, whose small-batch rate no data sheet gives: measured here, on lifetime steps."""
    from . import bench
    if profile == "paper":
        gpu, share = bench.ESTIMATE_GPU, bench.ESTIMATE_UTILISATION
        peak = bench.GPU_PEAKS[gpu][0]
        return (share * peak, f"{share:.0%} of an NVIDIA {gpu}'s {peak:g} TFLOP/s (dense bf16, data sheet): an "
                              f"assumed utilisation, not a measurement", f"hours at {share:.0%} of {gpu}")
    batch, threads = cfg.lifetime_batch, torch.get_num_threads()
    rate = bench.measured_cpu_tflops(cfg.arch, cfg.width, cfg.image_size, batch)
    return (rate, f"the rate measured just now on lifetime steps of this network, {threads} thread"
                  f"{'s' if threads > 1 else ''} of this CPU (fine-tuning's smaller batches may run slower)",
            "hours on this CPU")


TRAIN_BYTES_PER_PARAM = 16  # fp32 weights, gradients, SGD momentum and a parent's copy


def available_memory(device: str) -> int:
    """Bytes a new network can take now: the GPU's free memory, or the machine's available memory."""
    if str(device).startswith("cuda"):
        return torch.cuda.mem_get_info(torch.device(device))[0]
    try:
        line = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemAvailable:"))
        return int(line.split()[1]) * 1024
    except (OSError, StopIteration, ValueError):
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_network_fits(arch: str, width: float, device: str, option: str) -> None:
    """Refuse, before any data is read, a network whose training cannot fit in memory: its parameters are
    counted on torch's meta device (nothing allocated), times :data:`TRAIN_BYTES_PER_PARAM`. A lower
    bound (activations come on top), so what it refuses cannot run."""
    with torch.device("meta"):
        params = sum(p.numel() for p in build_model(arch, 5, width).parameters())
    need, have = TRAIN_BYTES_PER_PARAM * params, available_memory(device)
    if need > have:
        raise ValueError(f"{option}: a {arch} of width {width:g} has {params:,} parameters; training it takes at least "
                         f"{need / 2 ** 30:,.1f} GiB (weights, gradients, momentum and a parent's copy), and "
                         f"{device} has {have / 2 ** 30:,.1f} GiB available: lower the width")


def describe_memory(cfg: GTLConfig, chunk: int = Runtime().chunk) -> str:
    """The memory a GPU user meets in the first minute: a batched lifetime step (the default runtime on
    CUDA) stacks ``min(population, --chunk)`` members, each with its batch's saved activations."""
    from .bench import saved_activation_bytes
    members, batch = min(cfg.population, chunk), cfg.lifetime_batch
    per_member = saved_activation_bytes(cfg.arch, cfg.width, cfg.image_size) * batch / 2 ** 30
    return (f"memory: a batched lifetime step stacks {members} members x {batch} images; their saved activations "
            f"alone take about {members * per_member:.0f} GiB on the GPU ({per_member:.2f} GiB per member, bf16, "
            f"measured on the CPU; weights, optimiser state and data come on top). On a smaller GPU pass "
            f"--chunk K to stack K members at a time (same results).")


def _image_sizes(files: dict[str, list[Path]]) -> str:
    """The commonest sizes and modes of a sample of every class's images (headers only: fast on any folder)."""
    sizes = {}
    for paths in files.values():
        for path in paths[:5]:
            try:
                with Image.open(path) as im:
                    sizes[(im.size, im.mode)] = sizes.get((im.size, im.mode), 0) + 1
            except Exception:
                sizes[("unreadable", "")] = sizes.get(("unreadable", ""), 0) + 1
    return ", ".join(f"{s[0][0]}x{s[0][1]} {s[1]}" if s[0] != "unreadable" else "unreadable" for s, _ in
                     sorted(sizes.items(), key=lambda kv: -kv[1])[:4])


def describe_folder(folder: str, profile: str) -> str:
    """What a user wants to know about their images before a long run, and whether ``profile`` fits."""
    layout, per_class, split = benchmark_layout(folder), class_counts(folder), class_split(folder)
    counts = sorted(per_class.values())
    origin = ("the benchmark's" if layout else "your split files in splits/"
              if list(Path(folder).glob("splits/*.txt")) else "seeded, 64/16/20%")
    cfg, ev = GTLConfig.from_profile(profile, dataset=folder), EvalConfig.from_profile(profile, folder)
    lines = [f"{folder}: {len(per_class)} classes, {sum(counts)} images; per class min {counts[0]}, median "
             f"{counts[len(counts) // 2]}, max {counts[-1]}",
             f"  layout: {layout}'s own files, read with its own class split; every image becomes "
             f"{cfg.image_size}x{cfg.image_size} RGB" if layout else
             f"  sizes and modes (a sample): {_image_sizes(class_folders(Path(folder)))}; every image becomes "
             f"{cfg.image_size}x{cfg.image_size} RGB (EXIF rotation, transparency on white, centre crop)",
             f"  split: {', '.join(f'{s} {len(c)} classes' for s, c in split.items())} "
             f"({origin})"]
    needs = {"train": (cfg.ways, cfg.task_shots, cfg.task_queries, TASK_OPTIONS),
             "val": (cfg.ways, cfg.critic_shots, cfg.critic_queries, CRITIC_OPTIONS),
             "test": (ev.ways, max(ev.shots, 5), ev.queries, EVAL_OPTIONS)}
    for s, (ways, shots, queries, options) in needs.items():
        problem = task_size_problem({c: per_class[c] for c in split[s]}, ways, shots, queries)
        lines.append(f"  {s}: {len(split[s])} classes for {ways}-way tasks of {shots + queries} images per class: "
                     f"{'fits' if problem is None else f'does not fit: {problem}{options}'}")
    return "\n".join(lines)


def output_file(path: str, option: str) -> Path:
    """``path`` as a file a command can write when it ends, checked before it starts working: its folder is
    created, and a folder given as the file, or a folder this user cannot write in, is a ValueError naming
    the option, so no finished work is lost to a bad path."""
    out = Path(path).expanduser()
    if out.is_dir():
        raise ValueError(f"{option} {path} is a folder: give a file name in it, e.g. {out / 'table.csv'}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"{option} {path}: cannot create its folder {out.parent} ({e.strerror})") from None
    if not os.access(out.parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise ValueError(f"{option} {path}: this user cannot write there (read-only?); give another path")
    return out


def output_folder(path: str, option: str) -> Path:
    """``path`` as a folder a run can write in, checked (and created) before it starts: a file given as the
    folder, or a place this user cannot write in, is a ValueError naming the option."""
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{option} {path} is a file: give a folder for the run")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"{option} {path}: cannot create it ({e.strerror}); give another folder") from None
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{option} {path}: this user cannot write there (read-only?); give another folder")
    return folder


def check_shots(shots: list[int]) -> tuple[int, ...]:
    """``--shots`` as K values an episode can have, each once, or a ValueError saying what to give."""
    if any(k < 1 for k in shots) or len(set(shots)) != len(shots):
        raise ValueError(f"--shots {' '.join(map(str, shots))}: give each K once, every K 1 or more "
                         f"(e.g. --shots 1 5)")
    return tuple(shots)


def check_device(device: str | None) -> None:
    """``cpu``, ``mps``, or ``cuda`` / ``cuda:N`` that this machine has, else a ValueError saying what to use."""
    if device is None:
        return
    if device not in ("cpu", "mps") and not (device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit())):
        raise ValueError(f"--device {device}: use cpu, cuda or cuda:N")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"--device {device}: this machine has no CUDA GPU that torch can use; use --device cpu "
                             f"(or leave --device out)")
        if ":" in device and int(device[5:]) >= torch.cuda.device_count():
            raise ValueError(f"--device {device}: this machine has {torch.cuda.device_count()} GPU(s), "
                             f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    if getattr(a, "strict", False):
        os.environ["GTL_STRICT_IMAGES"] = "1"
    if getattr(a, "quiet", False):
        os.environ["TQDM_DISABLE"] = "1"  # the bars of phases that take no progress flag (pre-training)
    threads_before = torch.get_num_threads()  # restored at the end: main() may run inside another program
    try:
        if getattr(a, "threads", None) is not None:
            if a.threads < 1:
                raise ValueError(f"--threads {a.threads}: give 1 or more")
            torch.set_num_threads(a.threads)
        elif hasattr(a, "threads"):
            torch.set_num_threads(free_cpu_threads())
        check_device(getattr(a, "device", None))
        if a.command == "evolve":
            cmd_evolve(a)
        elif a.command == "evaluate":
            cmd_evaluate(a)
        elif a.command == "inherit":
            cmd_inherit(a)
        elif a.command == "info":
            cmd_info(a)
        elif a.command == "download":
            print(f"{a.dataset} is in {download(a.dataset, a.data_root)}")
    except (DatasetError, IncompatibleLearngeneError, FileNotFoundError, ValueError, RunLockedError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a full disk: what was finished stays (every file is written whole or not at all)
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        print(f"error: {e.strerror}{f' ({e.filename})' if e.filename else ''}; the same command resumes once "
              f"there is space", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        where = (": the run folder keeps every finished generation, and the same command resumes it (--fresh starts "
                 "over)") if a.command == "evolve" else ""
        print(f"\ninterrupted{where}", file=sys.stderr)
        return 130
    finally:
        torch.set_num_threads(threads_before)
    return 0
