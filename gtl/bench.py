"""Benchmark: a population trained one network at a time (loop) vs as one stacked network.

    python -m gtl.bench                      # CUDA: VGG11 + ResNet12 at paper size; CPU: quick size
    python -m gtl.bench --size quick         # the quick profile's networks (width 0.25, 32 px), on any device
    python -m gtl.bench --arch vgg11 --populations 1 8 32 --steps 20 --compile
    python -m gtl.bench --flops              # no timing: FLOPs per member-step at both sizes
    python -m gtl.bench --threads            # no population: steps/s at 1 thread, torch's default, every CPU

For each architecture and population size it trains every member for
``--steps`` lifetime steps with each runtime, in the same run, and reports
member-steps per second (members x steps / wall time, set-up included), the
batched/loop ratio, peak memory (CUDA: the allocator's peak; CPU: the peak
resident memory of a fresh process per measurement, above what it held before) and achieved TFLOP/s: the
FLOPs of one member's forward + backward counted by
``torch.utils.flop_counter``, against the GPU's dense bf16 (or TF32) peak.
Both runtimes train at the same precision (bf16 autocast on CUDA unless
``--fp32``). Results go to ``figures/bench_<device>.csv`` and a plot beside it.

Batching can only fill a GPU the loop leaves idle: a small network's step is
launch overhead, a paper-size one is already arithmetic. ``--flops`` writes
``figures/flops_per_step.csv``: the counted FLOPs of a member-step at each
profile's size and the least time 32 of them take at an H100's peak.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing
import os
import platform
import re
import resource
import shlex
import sys
import time
from pathlib import Path
from dataclasses import asdict, dataclass, replace

import pandas as pd
import torch
import torch.nn.functional as F

from .data import DatasetError
from .provenance import cpu_info
from .report import points
from .learngene import seeded_model
from .population import Runtime, train_population
from .stats import paired_difference
from .train import TrainConfig, train

# Dense tensor-core peaks in TFLOP/s, (bf16, tf32), from the vendors' data sheets.
GPU_PEAKS = {"H200": (989.4, 494.7), "H100 PCIe": (756.0, 378.0), "H100": (989.4, 494.7),
             "A100": (312.0, 156.0), "L40S": (362.1, 183.0), "L4": (121.0, 60.0), "A10": (125.0, 62.5),
             "RTX 4090": (165.2, 82.6), "V100": (125.0, float("nan")), "T4": (65.0, float("nan"))}


@dataclass
class BenchCase:
    """One measurement: ``population`` networks trained for ``steps`` steps with ``mode``."""

    arch: str
    width: float
    image_size: int
    batch_size: int
    steps: int
    population: int
    mode: str
    device: str
    bf16: bool = True
    compile: bool = False
    chunk: int = 64


def gpu_peak_tflops(name: str, bf16: bool) -> float:
    """The GPU's dense peak for the precision used; NaN when the GPU is not in the table."""
    for key, peaks in GPU_PEAKS.items():  # "H100 PCIe" before "H100": the dict keeps that order
        if key.lower() in name.lower():
            return peaks[0 if bf16 else 1]
    return float("nan")


def device_name(device: str) -> str:
    if torch.device(device).type == "cuda":
        return torch.cuda.get_device_name(torch.device(device))
    return f"CPU {platform.processor() or platform.machine()} ({torch.get_num_threads()} threads)"


def slug(name: str) -> str:
    """``"NVIDIA H100 80GB HBM3"`` -> ``"nvidia-h100-80gb-hbm3"``; any CPU -> ``"cpu"``."""
    return "cpu" if name.startswith("CPU") else re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def member_flops(case: BenchCase) -> int:
    """FLOPs of one member's training step (forward + backward of one batch)."""
    from torch.utils.flop_counter import FlopCounterMode
    net = seeded_model(case.arch, 5, case.width, 0).to(case.device)
    x = torch.randn(case.batch_size, 3, case.image_size, case.image_size, device=case.device)
    y = torch.zeros(case.batch_size, dtype=torch.long, device=case.device)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(net(x), y).backward()
    return counter.get_total_flops()


def profile_sizes() -> dict[str, tuple[float, int, int]]:
    """``{"quick": (width, image size, lifetime batch), "paper": (...)}`` from the GTL presets."""
    from .evolution import GTLConfig
    presets = {p: GTLConfig.from_profile(p) for p in ("quick", "paper")}
    return {p: (c.width, c.image_size, c.lifetime.batch_size) for p, c in presets.items()}


def flops_table(archs=("vgg11", "resnet12"), population: int = 32, gpu: str = "H100") -> pd.DataFrame:
    """Counted FLOPs of one member-step at each profile's size (no timing), and the least time one
    step of ``population`` members can take at ``gpu``'s dense bf16 peak: a bound, not a measurement."""
    peak = GPU_PEAKS[gpu][0]
    rows = []
    for size, (width, side, batch) in profile_sizes().items():
        for arch in archs:
            flops = member_flops(BenchCase(arch, width, side, batch, 1, 1, "loop", "cpu"))
            rows.append({"arch": arch, "size": size, "width": width, "image_size": side, "batch_size": batch,
                         "gflop_per_member_step": flops / 1e9, "population": population, "gpu": gpu,
                         "peak_tflops": peak, "ms_per_population_step_at_peak": population * flops / peak / 1e9,
                         "torch": torch.__version__})
    return pd.DataFrame(rows)


# A training image-step costs about 3 forward passes: the forward, and a backward that computes the gradients of
# both the activations and the weights (member_flops counts 6.0 GFLOP per image for a 2.0 GFLOP VGG11 forward).
TRAIN_PASSES = 3
ESTIMATE_GPU, ESTIMATE_UTILISATION = "A100", 0.30  # what `gtl info` converts a GPU profile's FLOPs to hours at


def forward_flops(arch: str, width: float, image_size: int) -> int:
    """FLOPs of one image's forward pass through a 5-way ``arch`` network: 2 x the multiply-adds of its
    convs and linear layers, counted by ``torch.utils.flop_counter`` as :func:`member_flops` counts a
    step (norms, activations and pooling are left out: a rounding error beside the convs, and not
    what a GPU's peak measures). The unit of :func:`run_cost`."""
    from torch.utils.flop_counter import FlopCounterMode
    net = seeded_model(arch, 5, width, 0).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(torch.zeros(1, 3, image_size, image_size))
    return counter.get_total_flops()


def saved_activation_bytes(arch: str, width: float, image_size: int) -> float:
    """Bytes one more image adds to what a training forward pass keeps for the backward (bf16
    autocast, as on CUDA), measured on the CPU with saved-tensor hooks as the difference between
    batches of 4 and 2 images (so the bf16 copies of the weights, kept once per step, cancel out):
    what a batched step's memory grows by per image. An estimate of a GPU's, whose kernels may
    keep other buffers besides."""
    def saved(batch: int) -> int:
        net, seen = seeded_model(arch, 5, width, 0).train(), {}

        def keep(t: torch.Tensor) -> torch.Tensor:
            seen[t.data_ptr()] = t.numel() * t.element_size()  # a tensor saved twice is stored once
            return t
        with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t), \
                torch.autocast("cpu", dtype=torch.bfloat16):
            net(torch.randn(batch, 3, image_size, image_size))  # >1 image: BatchNorm needs 2 values per channel
        return sum(seen.values())
    return (saved(4) - saved(2)) / 2


def run_cost(cfg, eval_cfg, shots: tuple[int, ...] = (1, 5), methods: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Images and FLOPs of one run: ``evolve`` with ``cfg`` (a GTLConfig), then ``evaluate`` of ``methods``
    (default: all of :data:`gtl.experiments.METHODS`) at each K in ``shots`` under ``eval_cfg``.

    One row per part: ``image_steps`` (images through the network), ``passes`` (3 for a training
    step, :data:`TRAIN_PASSES`; 1 for scoring queries) and ``tflop`` (image_steps x passes x
    :func:`forward_flops`). A step trains on ``min(batch_size, task images)`` images, as
    :func:`gtl.train.batch_plan` draws them. Critics run whatever the fitness (a host fitness still
    records them); Pre-Fin's pre-training is counted once (cached, shared by Pre-Cut, Layer-LG and
    Random-mask), at full batches (the benchmarks' training splits hold far more than a batch).
    """
    from .experiments import METHODS, PRETRAINED
    methods = METHODS if methods is None else methods
    lives, e = cfg.population * cfg.generations, eval_cfg
    lifetime_batch = cfg.lifetime_batch
    critic_batch = min(cfg.critic.batch_size, cfg.ways * cfg.critic_shots)
    finetune = sum(e.finetune.steps * min(e.finetune.batch_size, e.ways * k) for k in shots)
    pretrain = e.pretrain.steps * e.pretrain.batch_size if set(PRETRAINED) & set(methods) else 0
    rows = [
        (f"lifetimes: {cfg.population} members x {cfg.generations} generations x {cfg.lifetime.steps} steps x "
         f"{lifetime_batch} images", lives * cfg.lifetime.steps * lifetime_batch, TRAIN_PASSES),
        (f"critics: {lives} lives x {cfg.critic_tasks} tasks x {cfg.critic.steps} steps x {critic_batch} images",
         lives * cfg.critic_tasks * cfg.critic.steps * critic_batch, TRAIN_PASSES),
        (f"Pre-Fin pre-training: {e.pretrain.steps} steps x {e.pretrain.batch_size} images", pretrain, TRAIN_PASSES),
        (f"evaluation: {e.episodes} episodes x {len(methods)} methods x {e.finetune.steps} steps x "
         f"({' + '.join(str(min(e.finetune.batch_size, e.ways * k)) for k in shots)}) images for "
         f"{'/'.join(map(str, shots))} shots", e.episodes * len(methods) * finetune, TRAIN_PASSES),
        ("query scoring (forward only): hosts, critics, evaluation episodes",
         lives * cfg.ways * (cfg.task_queries + cfg.critic_tasks * cfg.critic_queries)
         + e.episodes * len(methods) * len(shots) * e.ways * e.queries, 1)]
    flops = forward_flops(cfg.arch, cfg.width, cfg.image_size)
    df = pd.DataFrame(rows, columns=["part", "image_steps", "passes"])
    return df.assign(tflop=df.image_steps * df.passes * flops / 1e12, forward_gflop=flops / 1e9)


def measured_cpu_tflops(arch: str, width: float, image_size: int, batch_size: int, seconds: float = 1.0) -> float:
    """This CPU's rate in :func:`run_cost`'s units (counted forward FLOPs x 3 per image-step), measured on
    lifetime steps of this network (after one warm-up step) for about ``seconds``, at the threads and
    precision a run would use here. Small batches of small networks run far below any peak, so a
    measured rate, not a data sheet, is what turns a CPU profile's FLOPs into hours."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (batch_size, 3, image_size, image_size), dtype=torch.uint8, generator=g)
    labels = torch.arange(batch_size) % 5
    net, bf16 = seeded_model(arch, 5, width, 0), Runtime().bf16_on("cpu")
    train(net, images, labels, TrainConfig(steps=1, batch_size=batch_size), 0, bf16=bf16)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        train(net, images, labels, TrainConfig(steps=1, batch_size=batch_size), steps, bf16=bf16)
        steps += 1
    elapsed = time.perf_counter() - start
    return steps * batch_size * TRAIN_PASSES * forward_flops(arch, width, image_size) / elapsed / 1e12


def cpu_precision(arch: str = "vgg11", rounds: int = 12, steps: int = 10) -> pd.DataFrame:
    """bf16 autocast against fp32 on this CPU, in one run: a quick-size network's lifetime steps
    (forward, backward, SGD step; channels-last), in rounds that alternate the two precisions so
    that both see the same machine load. One row per round with the bf16/fp32 speed ratio.

    Whether bf16 pays on a CPU depends on its matrix units (AMX tiles on recent Xeons, or
    AVX512-BF16), which this measures instead of guessing.
    """
    width, side, batch = profile_sizes()["quick"]
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (2 * batch, 3, side, side), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 5, (2 * batch,), generator=g)
    cfg = TrainConfig(steps=steps, batch_size=batch)

    def seconds(bf16: bool) -> float:
        net = seeded_model(arch, 5, width, 0)
        start = time.perf_counter()
        train(net, images, labels, cfg, 0, bf16=bf16)
        return time.perf_counter() - start

    seconds(False), seconds(True)  # warm-up: oneDNN picks its kernels on first use
    rows = []
    for r in range(rounds):
        fp32, bf16 = (seconds(False), seconds(True)) if r % 2 == 0 else reversed((seconds(True), seconds(False)))
        rows.append({"round": r, "arch": arch, "width": width, "image_size": side, "batch_size": batch,
                     "steps": steps, "fp32_steps_per_s": steps / fp32, "bf16_steps_per_s": steps / bf16,
                     "bf16_over_fp32": fp32 / bf16})
    return pd.DataFrame(rows).assign(device_name=device_name("cpu"), cpu_flags=cpu_matrix_units(),
                                     torch=torch.__version__, date=time.strftime("%Y-%m-%d"))


def cpu_precision_accuracy(episodes: int = 60, data_root=None) -> pd.DataFrame:
    """How close bf16 autocast stays to fp32 on this CPU where it matters: Scratch fine-tuned on the
    quick profile's miniImageNet test episodes in each precision (the same episodes and seeds), one
    row per episode: the quick profile's evaluation, in both. (Its speed is :func:`cpu_precision`'s.)"""
    from .baselines import scratch
    from .data import load_dataset
    from .evaluation import EvalConfig, episode_accuracies
    from .evolution import GTLConfig
    cfg, protocol = GTLConfig.quick(), EvalConfig.quick("miniimagenet", episodes=episodes)
    test = load_dataset("miniimagenet", "test", data_root, cfg.image_size)
    out = {}
    for name, bf16 in (("fp32", False), ("bf16", True)):
        runtime = Runtime(mode="loop", cpu_bf16=bf16)  # the precision named, whatever $GTL_CPU_BF16 says
        accs = episode_accuracies([scratch(cfg.arch, cfg.width)], test, protocol, cfg.seed, runtime=runtime)[0]
        out[name] = [a[-1] for a in accs]
    return pd.DataFrame({"episode": range(episodes), "method": "Scratch", "fp32": out["fp32"], "bf16": out["bf16"]}
                        ).assign(arch=cfg.arch, width=cfg.width, image_size=cfg.image_size, ways=protocol.ways,
                                 shots=protocol.shots, finetune_steps=protocol.finetune.steps, seed=cfg.seed,
                                 device_name=device_name("cpu"), cpu_flags=cpu_matrix_units(),
                                 torch=torch.__version__, date=time.strftime("%Y-%m-%d"))


def _lifetime_steps(threads: int | None, seconds: float) -> tuple[int, float]:
    """In a fresh process: quick-size lifetime steps for about ``seconds`` at ``threads`` (None: torch's
    default there); returns (threads used, steps per second)."""
    if threads is not None:
        torch.set_num_threads(threads)
    width, side, batch = profile_sizes()["quick"]
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (batch, 3, side, side), dtype=torch.uint8, generator=g)
    labels = torch.arange(batch) % 5
    net, cfg = seeded_model("vgg11", 5, width, 0), TrainConfig(steps=5, batch_size=batch)
    train(net, images, labels, cfg, 0)  # warm-up: oneDNN picks its kernels on first use
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        train(net, images, labels, cfg, steps)
        steps += cfg.steps
    return torch.get_num_threads(), steps / (time.perf_counter() - start)


def _busy(stop) -> None:
    """Another job on this machine: one thread training the same network until ``stop`` is set."""
    while not stop.is_set():
        _lifetime_steps(1, 1.0)


def cpu_threads(seconds: float = 8.0, rounds: int = 3) -> pd.DataFrame:
    """Lifetime steps per second at each thread choice, alone and beside another busy process, in one run.

    The choices: 1 thread, torch's default (what a run gets when nothing sets it; the environment's
    ``OMP_NUM_THREADS`` is left out of the measurement) and every CPU this process may use. Each
    measurement runs in a fresh process, the choices alternate within a round, and the busy process is
    one thread training the same network. ``ratio`` is the speed against 1 thread alone.
    """
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.pop(var, None)  # the children inherit this: torch's default must be its own
    ctx = multiprocessing.get_context("spawn")
    choices = {"1 thread": 1, "torch's default": None, "every CPU": len(os.sched_getaffinity(0))}
    rows = []
    for condition in ("alone", "beside a busy process"):
        stop = ctx.Event()
        busy = ctx.Process(target=_busy, args=(stop,)) if condition != "alone" else None
        if busy:
            busy.start()
            time.sleep(2)
        for r in range(rounds):
            for choice, threads in choices.items():
                used, rate = in_fresh_process(_lifetime_steps, threads, seconds)
                rows.append({"condition": condition, "choice": choice, "threads": used, "round": r,
                             "steps_per_s": rate})
        if busy:
            stop.set()
            busy.join()
    df = pd.DataFrame(rows)
    alone_one = df[(df.condition == "alone") & (df.choice == "1 thread")].steps_per_s.median()
    return df.assign(ratio=df.steps_per_s / alone_one, device_name=device_name("cpu"), cpus=os.cpu_count(),
                     torch=torch.__version__, date=time.strftime("%Y-%m-%d"))


def cpu_matrix_units() -> str:
    """The CPU's bf16 matrix units, from /proc/cpuinfo: ``"amx_bf16"``, ``"avx512_bf16"``, both or ``"none"``."""
    flags = set(cpu_info("flags").split())
    return " ".join(f for f in ("amx_bf16", "avx512_bf16") if f in flags) or "none"


def _population(case: BenchCase):
    g = torch.Generator().manual_seed(0)
    n = 2 * case.batch_size  # a few passes over small tasks, as in lifetimes
    shape = (n, 3, case.image_size, case.image_size)
    models = [seeded_model(case.arch, 5, case.width, s).to(case.device) for s in range(case.population)]
    images = [torch.randint(0, 256, shape, dtype=torch.uint8, generator=g).to(case.device)
              for _ in range(case.population)]
    labels = [torch.randint(0, 5, (n,), generator=g).to(case.device) for _ in range(case.population)]
    return models, images, labels


def measure(case: BenchCase) -> dict:
    """Train the population once briefly (warm-up: cuDNN choices, compilation), then time it."""
    cuda = torch.device(case.device).type == "cuda"
    baseline = _current_rss_mib()
    runtime = Runtime(mode=case.mode, chunk=case.chunk, bf16=case.bf16, cpu_bf16=False, compile=case.compile)
    models, images, labels = _population(case)
    seeds = list(range(case.population))
    cfg = TrainConfig(steps=case.steps, batch_size=case.batch_size)
    train_population(models, images, labels, replace(cfg, steps=2), seeds, runtime)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    train_population(models, images, labels, cfg, seeds, runtime)
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    if cuda:
        peak, kind = torch.cuda.max_memory_allocated() / 2 ** 20, "CUDA peak allocated"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - baseline
        kind = "peak RSS above the process's RSS before the case"
    return {**asdict(case), "seconds": seconds, "member_steps_per_s": case.population * case.steps / seconds,
            "peak_memory_mib": peak, "memory": kind}


def _current_rss_mib() -> float:
    """Resident memory now (Linux /proc; 0 where it cannot be read)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2 ** 20
    except OSError:
        return 0.0


def in_fresh_process(fn, *args):
    """``fn(*args)`` in a fresh process: its peak memory and its thread settings are its own."""
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        return pool.submit(fn, *args).result()


def _measure_isolated(case: BenchCase) -> dict:
    """On a CPU, each measurement in a fresh process, so its peak memory is its own."""
    return in_fresh_process(_measure_in_child, case, torch.get_num_threads())


def _measure_in_child(case: BenchCase, threads: int) -> dict:
    torch.set_num_threads(threads)
    return measure(case)


def run(archs, populations, steps: int, device: str, width: float, image_size: int, batch_size: int,
        bf16: bool = True, compile: bool = False, chunk: int = 64, isolate: bool | None = None,
        progress=print) -> pd.DataFrame:
    """Every (architecture, population, runtime) case; one row each, with the batched/loop ratio."""
    cuda = torch.device(device).type == "cuda"
    isolate = (not cuda) if isolate is None else isolate
    name = device_name(device)
    rows = []
    for arch in archs:
        flops = member_flops(BenchCase(arch, width, image_size, batch_size, 1, 1, "loop", device))
        for p in populations:
            for mode in ("loop", "batched"):
                case = BenchCase(arch, width, image_size, batch_size, steps, p, mode, device, bf16, compile, chunk)
                row = _measure_isolated(case) if isolate else measure(case)
                tflops = flops * row["member_steps_per_s"] / 1e12
                peak = gpu_peak_tflops(name, bf16) if cuda else float("nan")
                row.update(device_name=name, flops_per_member_step=flops, tflops=tflops, peak_tflops=peak,
                           utilisation=tflops / peak, precision="bf16 autocast" if cuda and bf16 else "fp32")
                rows.append(row)
                progress(f"{arch:9s} population {p:4d} {mode:8s} {row['member_steps_per_s']:9.1f} member-steps/s "
                         f"{row['peak_memory_mib']:9.0f} MiB {tflops:7.2f} TFLOP/s")
    df = pd.DataFrame(rows)
    loop = df[df["mode"] == "loop"].set_index(["arch", "population"])["member_steps_per_s"]
    df["speedup"] = [r.member_steps_per_s / loop[(r.arch, r.population)] for r in df.itertuples()]
    df["torch"] = torch.__version__
    df["date"] = time.strftime("%Y-%m-%d")
    return df


def plot(df: pd.DataFrame):
    """Member-steps/s against population size (left) and the batched/loop ratio (right)."""
    import matplotlib.pyplot as plt
    fig, (ax, ax_ratio) = plt.subplots(1, 2, figsize=(10, 3.8))
    colors = dict(zip(df.arch.unique(), ["#1b7837", "#2166ac", "#d6604d", "#762a83"]))
    for (arch, mode), g in df.groupby(["arch", "mode"], sort=False):
        ax.plot(g.population, g.member_steps_per_s, "o-" if mode == "batched" else "s--", color=colors[arch],
                label=f"{arch} {mode}")
    for arch, g in df[df["mode"] == "batched"].groupby("arch", sort=False):
        ax_ratio.plot(g.population, g.speedup, "o-", color=colors[arch], label=arch)
    ax_ratio.axhline(1, color="#878787", lw=1, ls=":")
    for a in (ax, ax_ratio):
        a.set_xscale("log", base=2)
        a.set_xticks(sorted(df.population.unique()), [str(p) for p in sorted(df.population.unique())])
        a.set_xlabel("population (networks trained together)")
        a.legend(fontsize=8, frameon=False)
    ax.set_yscale("log")
    ax.set_ylabel("member-steps per second")
    ax_ratio.set_ylabel("batched / loop")
    first = df.iloc[0]
    fig.suptitle(f"{first.device_name}: {first.image_size} px, batch {first.batch_size}, width {first.width}, "
                 f"{first.precision}", fontsize=10)
    fig.tight_layout()
    return fig


def main(argv: list[str] | None = None) -> int:
    from .paths import figures_dir
    from .plots import save_figure, save_table
    cuda = torch.cuda.is_available()
    p = argparse.ArgumentParser(prog="python -m gtl.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", nargs="+", default=["vgg11", "resnet12"])
    p.add_argument("--populations", type=int, nargs="+", default=[1, 8, 32, 128])
    p.add_argument("--steps", type=int, help="timed steps per member (default: 20 on CUDA, 5 on a CPU)")
    p.add_argument("--device", default="cuda" if cuda else "cpu")
    p.add_argument("--size", choices=("quick", "paper"),
                   help="networks and batches of this profile's lifetimes (default: paper on CUDA, quick on a CPU)")
    p.add_argument("--width", type=float, help="width multiplier (default: the size's, 1 or 0.25)")
    p.add_argument("--image-size", type=int, help="default: the size's, 84 or 32")
    p.add_argument("--batch-size", type=int, help="default: the size's lifetime batch, 64 or 25")
    p.add_argument("--chunk", type=int, default=64, help="most members in one stacked network")
    p.add_argument("--fp32", action="store_true", help="no bf16 autocast on CUDA")
    p.add_argument("--compile", action="store_true", help="torch.compile the stacked network")
    p.add_argument("--same-process", action="store_true",
                   help="on a CPU, measure every case in this process (faster; peak memory is then shared)")
    p.add_argument("--name", help="output name (default bench_<device>)")
    p.add_argument("--replot", metavar="CSV", help="only redraw the plot of a benchmark CSV written before")
    p.add_argument("--cpu-bf16", action="store_true",
                   help="only bf16 autocast against fp32 on this CPU: a lifetime step's speed, rounds "
                        "alternating (figures/cpu_bf16_ratio.csv), and Scratch's accuracy on the quick profile's "
                        "miniImageNet test episodes in each (figures/cpu_bf16_accuracy.csv)")
    p.add_argument("--threads", action="store_true",
                   help="only lifetime steps per second at 1 thread, torch's default and every CPU, alone and "
                        "beside another busy process (figures/cpu_threads.csv)")
    p.add_argument("--flops", action="store_true",
                   help="only count FLOPs per member-step at both sizes (figures/flops_per_step.csv; no timing)")
    a = p.parse_args(argv)
    if a.replot:
        print(save_figure(plot(pd.read_csv(a.replot)), Path(a.replot).stem)[0])
        return 0
    if a.cpu_bf16:
        df = cpu_precision(a.arch[0], steps=a.steps or 10).assign(command="python -m gtl.bench --cpu-bf16")
        print(df[["round", "fp32_steps_per_s", "bf16_steps_per_s", "bf16_over_fp32"]].to_string(index=False))
        print(f"bf16 / fp32 on {df.device_name.iloc[0]} ({df.cpu_flags.iloc[0]}): median "
              f"{df.bf16_over_fp32.median():.2f}x, rounds {df.bf16_over_fp32.min():.2f}-{df.bf16_over_fp32.max():.2f}x")
        print(f"wrote {save_table(df, 'cpu_bf16_ratio')[0]}")
        try:
            acc = cpu_precision_accuracy().assign(command="python -m gtl.bench --cpu-bf16")
        except DatasetError as e:
            print(f"no accuracy check ({e})")
            return 0
        diff, ci = paired_difference(acc.bf16, acc.fp32)
        print(f"Scratch on {len(acc)} quick miniImageNet test episodes: fp32 {100 * acc.fp32.mean():.1f}%, "
              f"bf16 {100 * acc.bf16.mean():.1f}%, bf16 - fp32 {points(100 * diff, 100 * ci)} points, paired")
        print(f"wrote {save_table(acc, 'cpu_bf16_accuracy')[0]}")
        return 0
    if a.threads:
        df = cpu_threads().assign(command="python -m gtl.bench --threads")
        summary = df.groupby(["condition", "choice"], sort=False)[["threads", "steps_per_s", "ratio"]].median()
        print(summary.to_string(float_format=lambda v: f"{v:.2f}"))
        print(f"wrote {save_table(df, 'cpu_threads')[0]}")
        return 0
    if a.flops:
        df = flops_table(a.arch).assign(command="python -m gtl.bench --flops")
        print(df.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(f"wrote {save_table(df, 'flops_per_step')[0]}")
        return 0
    on_cuda = a.device.startswith("cuda")
    width, side, batch = profile_sizes()[a.size or ("paper" if on_cuda else "quick")]
    df = run(a.arch, a.populations, a.steps or (20 if on_cuda else 5), a.device, a.width or width,
             a.image_size or side, a.batch_size or batch, bf16=not a.fp32, compile=a.compile, chunk=a.chunk,
             isolate=False if a.same_process else None)
    df["command"] = ("python -m gtl.bench " + shlex.join(sys.argv[1:] if argv is None else argv)).strip()
    name = a.name or f"bench_{slug(df.device_name.iloc[0])}"
    columns = ["arch", "population", "mode", "member_steps_per_s", "speedup", "peak_memory_mib", "tflops",
               "utilisation"]
    print(df[columns].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    save_table(df, name)
    save_figure(plot(df), name)
    print(f"wrote {figures_dir() / name}.csv/.md/.png/.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
