"""The methods a descendant is compared with, by name: one registry for tables, figures and the command line.

A :class:`Method` is what an episode needs of an initialisation: its name, a maker
(the episode's seed -> a fresh network, so every method meets the same episodes)
and the parameters it transfers. :data:`METHODS` is the registry, in the order
tables list them; :mod:`gtl.plots` colours each of its names. How each method is
built is in :mod:`gtl.baselines` (docs/decisions.md #12).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from .baselines import (from_layers, from_learngene, from_pretrained, pre_cut, pretrained_network, pretrained_params,
                        random_like, scratch)
from .data import ImageDataset
from .evaluation import EvalConfig, FewShotResult, evaluate, finetune_on_task, instinct_on_task
from .evolution import GTLConfig
from .learngene import Learngene
from .models import FewShotNet
from .population import Runtime, default_device

METHODS = ("Learngene", "Scratch", "Pre-Fin", "Pre-Cut", "Layer-LG", "Random-mask")
PRETRAINED = ("Pre-Fin", "Pre-Cut", "Layer-LG", "Random-mask")  # the methods built from a network pre-trained first
SCORES = {"finetune": finetune_on_task, "instinct": instinct_on_task}


@dataclass(frozen=True)
class Method:
    """One initialisation of a descendant: ``make(seed)`` builds a fresh network for an episode;
    ``params`` counts the parameters it transfers (0 for Scratch)."""
    name: str
    make: Callable[[int], FewShotNet]
    params: int


def check_methods(methods: tuple[str, ...]) -> None:
    """A ValueError naming every name of ``methods`` that is not in :data:`METHODS`."""
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}; choose from {METHODS}")


def method_makers(lg: Learngene, cfg: GTLConfig, eval_cfg: EvalConfig, methods: tuple[str, ...],
                  data_root=None, device: str | None = None, runtime: Runtime | None = None) -> dict[str, Method]:
    """The :class:`Method` of each name in ``methods``.

    Learngene: descendants of ``lg``; Scratch: random networks of its architecture;
    Pre-Fin: a network pre-trained on ``cfg``'s training classes (cached), all weights;
    Pre-Cut: that network cut by GTL's saliency rule to ``lg``'s channel counts;
    Layer-LG: its top layers whole, about ``lg``'s parameter count; Random-mask: its
    weights under random channel masks of ``lg``'s sizes (docs/decisions.md #12). Every
    learngene-shaped method is born the way ``cfg`` says (``cross_scale``, decision #16).
    """
    check_methods(methods)
    made = {"Learngene": Method("Learngene", from_learngene(lg, cfg.cross_scale), lg.num_params),
            "Scratch": Method("Scratch", scratch(lg.arch, lg.width), 0)}
    if set(PRETRAINED) & set(methods):
        net = pretrained_network(cfg, eval_cfg, data_root, device, runtime)
        made["Pre-Fin"] = Method("Pre-Fin", from_pretrained(net), pretrained_params(net))
        made["Layer-LG"] = Method("Layer-LG", *from_layers(net, lg.num_params))
        for name, cut in (("Pre-Cut", pre_cut(lg, net)), ("Random-mask", random_like(lg, net, cfg.seed))):
            made[name] = Method(name, from_learngene(cut, cfg.cross_scale), cut.num_params)
    return {m: made[m] for m in methods}


def evaluate_methods(lg: Learngene, cfg: GTLConfig, eval_cfg: EvalConfig, test_set: ImageDataset,
                     shots: tuple[int, ...] = (1, 5), methods: tuple[str, ...] = METHODS[:3], data_root=None,
                     device: str | None = None, progress: bool = True, score: str = "finetune",
                     runtime: Runtime | None = None) -> list[FewShotResult]:
    """Each method on the same ``test_set`` episodes, for every K in ``shots`` (shots outer, methods inner).

    ``score="instinct"`` measures the untrained networks (nearest class mean) instead of fine-tuning.
    ``runtime`` (default :class:`Runtime`: batched on CUDA) trains the episodes and any pre-training.
    """
    device = device or default_device()
    made = method_makers(lg, cfg, eval_cfg, methods, data_root, device, runtime)
    return [evaluate(made[m].make, test_set, replace(eval_cfg, shots=k), cfg.seed, m, made[m].params, device,
                     progress, SCORES[score], runtime)
            for k in shots for m in methods]
