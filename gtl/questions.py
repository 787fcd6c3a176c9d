"""Questions the paper leaves open, each a cached experiment behind a notebook.

* :func:`size_sweep` - how small can a learngene be? Learngenes of 2% to 60%
  of the parameters cut from one evolved network, their descendants tested.
* :func:`sensitivity_table` - how sensitive is GTL to its genetic
  hyper-parameters? One factor changed at a time around a base run.
* :func:`vit_comparison` - learngenes beyond CNNs: a small ViT evolved with the
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
from .evolution import EvolutionResult, Member
from .experiments import Study, fingerprints, method_episodes, run_evolution
from .methods import SCORES
from .baselines import from_learngene, scratch
from .evaluation import EvalConfig, evaluate
from .learngene import ChannelMasks, count_params, extract, masked_fraction, seeded_model, top_channels
from .models import FewShotNet

# Learngene sizes to test, as shares of the parameters; the paper's is ~20% (abstract).
SIZE_FRACTIONS = (0.02, 0.05, 0.10, 0.20, 0.30, 0.45, 0.60)
PAPER_SIZE = 0.20
SIZE_PAIR_ON = ("score", "setting")


def question_protocol(study: Study) -> EvalConfig:
    """The evaluation of the open-question notebooks: the profile's, with the fine-tuning steps of its
    :attr:`gtl.profiles.Profile.question_steps` (in quick: chosen on validation classes by notebook 12)."""
    cfg, steps = study.eval_config(), study.numbers.question_steps
    return cfg if steps is None else replace(cfg, finetune=replace(cfg.finetune, steps=steps))


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


def size_sweep(study: Study, result: EvolutionResult, eval_cfg: EvalConfig, *,
               fractions: tuple[float, ...] = SIZE_FRACTIONS, shots: int = 5,
               scores: tuple[str, ...] = ("instinct", "finetune")) -> pd.DataFrame:
    """Descendants of learngenes of every size in ``fractions``, cut from the run's best
    network by the same saliency rule GTL uses (our choice), and Scratch (size 0),
    on the same novel-class episodes. A long table (one row per episode), cached in the
    run's folder; :data:`SIZE_PAIR_ON` pairs its rows."""
    cfg, device = result.config, study.device
    test_set = load_dataset(cfg.dataset, "test", study.data_root, cfg.image_size)
    name = key(eval_cfg, fractions, shots, scores, cfg.key(), fingerprints(result, test_set), producer="questions")
    return cached_table(result.run_dir / f"sizes-{name}.csv",
                        lambda: _size_rows(result, eval_cfg, fractions, shots, scores, test_set.to(device), device,
                                           study.progress))


def _size_rows(result: EvolutionResult, eval_cfg: EvalConfig, fractions: tuple[float, ...], shots: int,
               scores: tuple[str, ...], test_set: ImageDataset, device: str, progress: bool) -> pd.DataFrame:
    cfg, member, net = result.config, best_member(result), host_network(result)
    protocol = replace(eval_cfg, shots=shots)
    candidates = [(0.0, scratch(cfg.arch, cfg.width), 0, "Scratch")]
    for f in fractions:
        lg = extract(net, masks_for_fraction(net, member.saliency, f))
        candidates.append((f, from_learngene(lg, cfg.cross_scale), lg.num_params, "Learngene"))
    total = count_params(net)
    rows = []
    for target, make, params, method in candidates:
        for score in scores:
            r = evaluate(make, test_set, protocol, cfg.seed, method, params, device, progress, SCORES[score])
            rows += r.long(target_fraction=target, fraction=params / total, score=score,
                           finetune_steps=0 if score == "instinct" else protocol.finetune.steps,
                           paper_size=target == PAPER_SIZE, dataset=cfg.dataset)
    return pd.DataFrame(rows)


def sensitivity_table(study: Study, *, eval_cfg: EvalConfig, shots: int = 5, factors: dict[str, tuple] | None = None,
                      base: dict | None = None) -> pd.DataFrame:
    """GTL's test accuracy (descendants fine-tuned on novel classes) and best fitness (validation
    classes) as each genetic hyper-parameter moves away from the base run, one at a time.

    The base is the ablations' budget (:attr:`gtl.profiles.Profile.ablation_budget`), so runs shared
    with notebook 07 (no mutation, no tournament, one generation) are reused; the values tried are
    the profile's :attr:`~gtl.profiles.Profile.sensitivity` grid. ``factors`` and ``base`` (any
    :class:`GTLConfig` overrides) replace them. A long table (one row per episode; Scratch's rows
    have factor "Scratch").
    """
    factors = factors or study.numbers.grid
    base = dict(study.numbers.ablation if base is None else base)
    base_config = study.gtl_config(**base)
    rows = []
    for factor, values in factors.items():
        for value in values:
            settings = {**base, factor: value}
            result = run_evolution(study, **settings)
            methods = ("Learngene", "Scratch") if not rows else ("Learngene",)
            df = method_episodes(study, result, eval_cfg, shots=(shots,), methods=methods)
            rows.append(df[df.method == "Learngene"].assign(
                factor=factor, value=value, is_base=value == getattr(base_config, factor),
                best_fitness=float(result.history.fitness.max()), learngene_fraction=float(result.best.fraction),
                population=result.config.population, generations=result.config.generations,
                tournament_size=result.config.tournament_size, mutation_rate=result.config.mutation_rate))
            scratch_rows = df[df.method == "Scratch"]  # no genetic settings: only where its number comes from
            if len(scratch_rows):
                rows.append(scratch_rows.assign(factor="Scratch", value="", is_base=False))
    return pd.concat(rows, ignore_index=True)[_SENSITIVITY_COLUMNS]


_SENSITIVITY_COLUMNS = ["factor", "value", "is_base", "method", "best_fitness", "learngene_fraction", "setting",
                        "seed", "population", "generations", "tournament_size", "mutation_rate", "episode",
                        "accuracy"]


VIT_PAIR_ON = ("network", "score", "setting")


def vit_settings(study: Study) -> dict:
    """The ViT's run in notebook 11 (our choice): the profile's ViT width, at the ablations' GA budget."""
    return {"arch": "vit", "width": study.numbers.vit_width, **study.numbers.ablation}


def vit_comparison(study: Study, *, eval_cfg: EvalConfig, shots: tuple[int, ...] = (5,),
                   settings: dict | None = None) -> tuple[pd.DataFrame, EvolutionResult]:
    """Learngene vs Scratch for the ViT and, under the same GA budget, for the study's CNN
    (fine-tuned and instincts), on the same novel-class episodes: a long table (one row per
    episode; :data:`VIT_PAIR_ON` pairs it). ``settings`` replaces :func:`vit_settings`
    (``width`` is the ViT's; the rest is the budget of both runs)."""
    settings = dict(vit_settings(study) if settings is None else {"arch": "vit", **settings})
    vit = run_evolution(study, **settings)
    budget = {k: v for k, v in settings.items() if k not in ("width", "arch")}
    cnn_run = run_evolution(study, **budget)
    tables = []
    for result in (vit, cnn_run):
        for score in ("finetune", "instinct"):
            df = method_episodes(study, result, eval_cfg, shots=shots, methods=("Learngene", "Scratch"),
                                 score=score)
            tables.append(df.assign(network=f"{result.config.arch} x{result.config.width:g}",
                                    learngene_fraction=float(result.best.fraction),
                                    generations=result.config.generations, population=result.config.population))
    return pd.concat(tables, ignore_index=True), vit


