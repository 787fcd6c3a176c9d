"""Questions the paper leaves open, each a cached experiment behind a notebook.

* :func:`size_sweep` - how small can a learngene be? Learngenes of 2% to 60%
  of the parameters cut from one evolved network, their descendants tested.
* :func:`sensitivity_table` - how sensitive is GTL to its genetic
  hyper-parameters? One factor changed at a time around a base run.
* :data:`VIT_SETTINGS` - learngenes beyond CNNs: a small ViT evolved with the
  same loop (:class:`gtl.models.ViT` defines its units).

Every number is a mean ± 95% CI over test episodes, with its seed; every
result is cached in the runs folder like the rest of :mod:`gtl.experiments`
(keyed by settings, data and code: :mod:`gtl.cache`).
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd
import torch

from .cache import cached_table, key
from .data import ImageDataset, load_dataset
from .evolution import EvolutionResult, GTLConfig, Member
from .experiments import ABLATION_BUDGET, SCORES, compare_methods, default_device, fingerprints, run_evolution
from .fewshot import EvalConfig, ci_apart, evaluate, from_learngene, scratch
from .learngene import ChannelMasks, count_params, extract, masked_fraction, seeded_model, top_channels
from .models import FewShotNet

# Learngene sizes to test, as shares of the parameters; the paper's is ~20% (abstract).
SIZE_FRACTIONS = (0.02, 0.05, 0.10, 0.20, 0.30, 0.45, 0.60)
PAPER_SIZE = 0.20


# Fine-tuning steps of the question notebooks in the quick profile: notebook 02's learning curves show the
# learngene's head start there, and 50 steps wash it out at that scale (our choice).
QUICK_FINETUNE_STEPS = 10


def question_protocol(profile: str, dataset: str | None = None) -> EvalConfig:
    """The evaluation of the open-question notebooks: the profile's, with a short fine-tuning in quick."""
    cfg = EvalConfig.from_profile(profile, dataset)
    if profile == "quick":
        cfg = replace(cfg, finetune=replace(cfg.finetune, steps=QUICK_FINETUNE_STEPS))
    return cfg


def best_member(result: EvolutionResult) -> Member:
    """The run's best member, with its whole trained network (from the run's checkpoint)."""
    state = torch.load(result.run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)
    return Member.from_dict(state["best"])


def host_network(result: EvolutionResult) -> FewShotNet:
    """The best member's trained network: the learngene's own host."""
    member = best_member(result)
    cfg = result.config
    net = seeded_model(cfg.arch, cfg.ways, cfg.width, 0)
    net.load_state_dict(member.host_state)
    return net


def masks_for_fraction(net: FewShotNet, saliency: dict[str, torch.Tensor], fraction: float) -> ChannelMasks:
    """The most salient channels of every group, as many as give ``fraction`` of the parameters.

    One channel share for all groups, found by bisection (parameters grow
    about with its square, as a kernel slice needs both of its channels).
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    lo, hi, best = 1e-3, 1.0, None
    for _ in range(30):
        mid = (lo + hi) / 2
        masks = top_channels(saliency, mid)
        got = masked_fraction(net, masks)
        if best is None or abs(got - fraction) < abs(best[1] - fraction):
            best = (masks, got)
        lo, hi = (mid, hi) if got < fraction else (lo, mid)
    return best[0]


def size_sweep(result: EvolutionResult, eval_cfg: EvalConfig, fractions: tuple[float, ...] = SIZE_FRACTIONS,
               shots: int = 5, scores: tuple[str, ...] = ("instinct", "finetune"), data_root=None,
               device: str | None = None, progress: bool = True) -> pd.DataFrame:
    """Descendants of learngenes of every size in ``fractions``, cut from the run's best
    network by the same saliency rule GTL uses (our choice), and Scratch (size 0),
    on the same novel-class episodes. Cached in the run's folder."""
    cfg, device = result.config, device or default_device()
    test_set = load_dataset(cfg.dataset, "test", data_root, cfg.image_size)
    name = key(eval_cfg, fractions, shots, scores, cfg.key(), fingerprints(result, test_set))
    return cached_table(result.run_dir / f"sizes-{name}.csv",
                        lambda: _size_rows(result, eval_cfg, fractions, shots, scores, test_set.to(device), device,
                                           progress))


def _size_rows(result: EvolutionResult, eval_cfg: EvalConfig, fractions: tuple[float, ...], shots: int,
               scores: tuple[str, ...], test_set: ImageDataset, device: str, progress: bool) -> pd.DataFrame:
    cfg, member, net = result.config, best_member(result), host_network(result)
    protocol = replace(eval_cfg, shots=shots)
    candidates = [(0.0, scratch(cfg.arch, cfg.width), 0, "Scratch")]
    for f in fractions:
        lg = extract(net, masks_for_fraction(net, member.saliency, f))
        candidates.append((f, from_learngene(lg), lg.num_params, "Learngene"))
    total = count_params(net)
    rows = []
    for target, make, params, method in candidates:
        for score in scores:
            r = evaluate(make, test_set, protocol, cfg.seed, method, params, device, progress, SCORES[score])
            rows.append({**r.row(), "target_fraction": target, "fraction": params / total, "score": score,
                         "finetune_steps": 0 if score == "instinct" else protocol.finetune.steps,
                         "paper_size": target == PAPER_SIZE, "dataset": cfg.dataset})
    return pd.DataFrame(rows)


# One genetic hyper-parameter changed at a time around the base run (our choice of values).
SENSITIVITY = {
    "smoke": {"population": (2, 3), "tournament_size": (1, 2), "mutation_rate": (0.0, 0.3), "generations": (1, 2)},
    "quick": {"population": (3, 6), "tournament_size": (1, 2, 3), "mutation_rate": (0.0, 0.3, 0.6),
              "generations": (1, 2, 3)},  # at most the base's members and generations: the CPU budget
    "paper": {"population": (25, 50, 100), "tournament_size": (1, 2, 3, 5), "mutation_rate": (0.0, 0.3, 0.6),
              "generations": (10, 30, 50)},
}


def sensitivity_table(profile: str, dataset: str, arch: str, seed: int, eval_cfg: EvalConfig, shots: int = 5,
                      factors: dict[str, tuple] | None = None, data_root=None, device: str | None = None,
                      progress: bool = True, base: dict | None = None) -> pd.DataFrame:
    """GTL's test accuracy (descendants fine-tuned on novel classes) and best fitness (validation
    classes) as each genetic hyper-parameter moves away from the base run, one at a time.

    The base is the ablations' budget (:data:`gtl.experiments.ABLATION_BUDGET`), so
    runs shared with notebook 07 (no mutation, no tournament, one generation) are reused.
    ``base`` replaces that budget (any :class:`GTLConfig` overrides).
    """
    factors = factors or SENSITIVITY[profile]
    base = dict(ABLATION_BUDGET[profile] if base is None else base)
    base_config = GTLConfig.from_profile(profile, dataset=dataset, arch=arch, **base)
    rows = []
    for factor, values in factors.items():
        for value in values:
            settings = {**base, factor: value}
            result = run_evolution(profile, dataset, arch, seed, data_root, device, progress, **settings)
            methods = ("Learngene", "Scratch") if not rows else ("Learngene",)
            df = compare_methods(result, eval_cfg, "test", (shots,), methods, data_root, device, progress)
            for r in df.itertuples():
                if r.method == "Scratch":  # no genetic settings: only where its number comes from
                    rows.append({"factor": "Scratch", "value": "", "is_base": False, "mean": r.mean,
                                 "ci95": r.ci95, "setting": r.setting, "episodes": int(r.episodes),
                                 "seed": int(r.seed)})
                    continue
                rows.append({"factor": factor, "value": value, "is_base": value == getattr(base_config, factor),
                             "mean": r.mean,
                             "ci95": r.ci95, "best_fitness": float(result.history.fitness.max()),
                             "learngene_fraction": float(result.best.fraction), **_provenance(r, result)})
    return pd.DataFrame(rows)


def _provenance(r, result: EvolutionResult) -> dict:
    return {"setting": r.setting, "episodes": int(r.episodes), "seed": int(r.seed),
            "population": result.config.population, "generations": result.config.generations,
            "tournament_size": result.config.tournament_size, "mutation_rate": result.config.mutation_rate}


# Learngenes beyond CNNs: the ViT's settings per profile (our choice; the GA budget of the ablations).
VIT_SETTINGS = {"smoke": {"arch": "vit", "width": 0.25, **ABLATION_BUDGET["smoke"]},
                "quick": {"arch": "vit", "width": 0.5, **ABLATION_BUDGET["quick"]},
                "paper": {"arch": "vit", "width": 1.0}}


def vit_comparison(profile: str, dataset: str, seed: int, eval_cfg: EvalConfig, shots: tuple[int, ...] = (5,),
                   cnn: str = "vgg11", data_root=None, device: str | None = None, progress: bool = True,
                   settings: dict | None = None) -> tuple[pd.DataFrame, EvolutionResult]:
    """Learngene vs Scratch for the ViT and, under the same GA budget, for the CNN ``cnn``
    (fine-tuned and instincts), on the same novel-class episodes. ``settings`` replaces
    :data:`VIT_SETTINGS` (``width`` is the ViT's; the rest is the budget of both runs)."""
    settings = dict(VIT_SETTINGS[profile] if settings is None else {"arch": "vit", **settings})
    vit = run_evolution(profile, dataset, settings.pop("arch"), seed, data_root, device, progress, **settings)
    budget = {k: v for k, v in settings.items() if k != "width"}
    cnn_run = run_evolution(profile, dataset, cnn, seed, data_root, device, progress, **budget)
    tables = []
    for result in (vit, cnn_run):
        for score in ("finetune", "instinct"):
            df = compare_methods(result, eval_cfg, "test", shots, ("Learngene", "Scratch"), data_root, device,
                                 progress, score)
            tables.append(df.assign(network=f"{result.config.arch} x{result.config.width:g}",
                                    learngene_fraction=float(result.best.fraction),
                                    generations=result.config.generations, population=result.config.population))
    return pd.concat(tables, ignore_index=True), vit


def _separated(a, b) -> bool:
    return ci_apart(a["mean"], a["ci95"], b["mean"], b["ci95"])


def size_summary(df: pd.DataFrame) -> list[str]:
    """Plain sentences on a :func:`size_sweep` table: which sizes beat Scratch (CIs apart), the best one."""
    lines = []
    for score, rows in df.groupby("score", sort=False):
        sc = rows[rows.method == "Scratch"].iloc[0]
        lg = rows[rows.method == "Learngene"]
        label = "no learning (instincts)" if score == "instinct" else f"after {int(rows.finetune_steps.iloc[0])} steps"
        above = [f"{100 * r.target_fraction:g}%" for _, r in lg.iterrows() if r["mean"] > sc["mean"] and _separated(r, sc)]
        best = lg.loc[lg["mean"].idxmax()]
        paper = lg[lg.paper_size]
        lines.append(f"{label}: Scratch {100 * sc['mean']:.1f} ± {100 * sc.ci95:.1f}%; learngenes above it with the "
                     f"95% CIs apart: {', '.join(above) or 'none'}; best size {100 * best.target_fraction:g}% "
                     f"({100 * best['mean']:.1f} ± {100 * best.ci95:.1f}%)"
                     + (f"; the paper's 20%: {100 * paper['mean'].iloc[0]:.1f} ± {100 * paper.ci95.iloc[0]:.1f}%"
                        + (", CIs apart from the best" if _separated(paper.iloc[0], best) else
                           ", within the CIs of the best") if len(paper) else "") + ".")
    return lines


def sensitivity_summary(df: pd.DataFrame) -> list[str]:
    """Per hyper-parameter: which values differ from the base run with the 95% CIs apart."""
    lines = []
    for factor, rows in df[df.factor != "Scratch"].groupby("factor", sort=False):
        base = rows[rows.is_base].iloc[0]
        apart = [f"{r.value:g}" if isinstance(r.value, float) else str(r.value)
                 for _, r in rows.iterrows() if not r.is_base and _separated(r, base)]
        spread = 100 * (rows["mean"].max() - rows["mean"].min())
        lines.append(f"{factor}: accuracies span {spread:.1f} points over {len(rows)} values; "
                     + (f"CIs apart from the base ({base.value}) at {', '.join(apart)}." if apart else
                        f"every value lies within the 95% CIs of the base ({base.value}): no measurable effect "
                        f"at this budget."))
    return lines
