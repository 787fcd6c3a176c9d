"""Moved: ``gtl.fewshot`` is now :mod:`gtl.evaluation` (episodes, fine-tuning, instincts) and
:mod:`gtl.baselines` (Scratch, Learngene, Pre-Fin, Pre-Cut, Layer-LG, Random-mask).

Old imports still work and say where each name went; this module goes in a later version.
"""
from __future__ import annotations

import importlib
import warnings


def __getattr__(name: str):
    for module in ("evaluation", "baselines"):
        where = importlib.import_module(f"gtl.{module}")
        if not name.startswith("_") and getattr(vars(where).get(name), "__module__", None) == where.__name__:
            warnings.warn(f"gtl.fewshot.{name} is now gtl.{module}.{name} (gtl.fewshot goes in a later version)",
                          FutureWarning, stacklevel=2)
            return getattr(where, name)
    if name == "learning_curve":
        raise AttributeError("gtl.fewshot.learning_curve is gone: gtl.evaluation.episode_accuracies(..., at=steps) "
                             "reads the accuracies at several fine-tuning steps")
    raise AttributeError(f"module 'gtl.fewshot' has no attribute {name!r}")
