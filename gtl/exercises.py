"""The walkthrough's exercises: each answer is checked against the real objects of the run.

    >>> from gtl.exercises import ask, check
    >>> ask("winners")                                   # prints the question
    >>> check("winners", 4, population=12, tournament_size=3)
    ✓ right: ...

An exercise knows how to compute its own answer from the objects the
notebook holds (a network, a learngene, a config), so the checks stay true
whatever run the notebook used.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from .learngene import kernel_masks
from .models import INPUT_GROUP


@dataclass(frozen=True)
class Exercise:
    question: str
    solve: Callable[..., Any]   # the right answer, from the notebook's objects
    hint: str
    tolerance: float = 0.0      # for numbers: how far an answer may be off


def _slices(net, lg, conv: str) -> int:
    return int(kernel_masks(net, lg.masks)[conv].sum())


def _conv_weights(net, lg, conv: str) -> float:
    return _slices(net, lg, conv) / kernel_masks(net, lg.masks)[conv].numel()


def _first_conv_channels(net, lg) -> int:
    spec = net.conv_specs()[0]
    assert spec.in_group == INPUT_GROUP
    return int(lg.masks[spec.out_group].sum())


EXERCISES: dict[str, Exercise] = {
    "slices": Exercise(
        "The learngene keeps kernel slices W[out, in] of a conv only when BOTH channels are in it. "
        "How many (out, in) kernel slices of the second conv layer does it keep? "
        "(Count the kept channels of its input and output groups.)",
        lambda net, lg: _slices(net, lg, net.conv_specs()[1].conv),
        "kept output channels × kept input channels of that conv (lg.masks[group].sum())"),
    "share": Exercise(
        "If a learngene keeps a share c of the channels of every group, about what share of a conv's "
        "kernel slices does it keep? Answer for c = 0.45, as a number between 0 and 1.",
        lambda c=0.45: c * c,
        "a slice needs its output channel (probability c) and its input channel (probability c)",
        tolerance=0.01),
    "first_layer": Exercise(
        "The RGB input channels are always part of the learngene. How many of the first conv layer's "
        "output channels are in this learngene?",
        _first_conv_channels,
        "look at lg.masks for the first conv's output group"),
    "winners": Exercise(
        "A tournament shuffles the population and cuts it into groups of `tournament_size`; each group's "
        "best wins. How many winners does a generation of `population` members have?",
        lambda population, tournament_size: math.ceil(population / tournament_size),
        "the last group may be smaller than the others, and it has a winner too"),
    "mutation": Exercise(
        "A mutation adds or drops max(1, round(mutation_step × C)) channels of a group of C channels. "
        "How many channels does one mutation move in a group of `channels` channels?",
        lambda channels, mutation_step: max(1, round(mutation_step * channels)),
        "multiply, round, and never less than one"),
    "not_inherited": Exercise(
        "Which of these does a descendant NOT inherit from the learngene? Answer a set of letters: "
        "a) the classifier head, b) the kernel slices between two learngene channels, "
        "c) the kernel slices by which a learngene channel reads a channel outside the learngene, "
        "d) the BN scale, shift and running statistics of learngene channels, "
        "e) the weights of channels outside the learngene",
        lambda: {"a", "c", "e"},
        "a learngene holds only what lies between learngene channels: both ends of a connection must be in it"),
}


def ask(name: str) -> None:
    """Print an exercise's question."""
    print(f"Exercise '{name}': {_get(name).question}")


def check(name: str, answer, **objects) -> bool:
    """Compare ``answer`` with the exercise's own solution on ``objects``; say why if it is wrong."""
    ex = _get(name)
    truth = ex.solve(**objects)
    if answer is None:
        print(f"… write your answer in `answer` and run the cell again "
              f"(stuck? solution('{name}', ...) gives it away).")
        return False
    if isinstance(truth, set):
        items = answer.replace(",", " ").split() if isinstance(answer, str) else answer
        given = {str(a).strip().lower().rstrip(")") for a in items}
        right = given == truth
    elif isinstance(truth, float) or ex.tolerance:
        right = answer is not None and abs(float(answer) - truth) <= ex.tolerance + 1e-9
    else:
        right = answer == truth
    if right:
        print(f"✓ right: {truth if not isinstance(truth, set) else sorted(truth)}")
    else:
        print(f"✗ not quite ({answer!r}). Hint: {ex.hint}. Try again, or call solution('{name}', ...).")
    return right


def solution(name: str, **objects):
    """The exercise's answer, computed from ``objects``."""
    return _get(name).solve(**objects)


def _get(name: str) -> Exercise:
    if name not in EXERCISES:
        raise KeyError(f"no exercise {name!r}; there are {', '.join(EXERCISES)}")
    return EXERCISES[name]
