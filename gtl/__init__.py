"""gtl: a reproducible companion to "Transferring Core Knowledge via Learngenes"
(Feng, Wang, Geng; arXiv 2401.08139).

Modules, one idea each: ``data`` (datasets as uint8 tensors), ``tasks``
(seeded N-way tasks via learn2learn), ``models`` (Conv4, VGG11-19, ResNet12),
``learngene`` (channel masks, extraction, inheritance), ``inherit`` (descendants
of other depth, width and architecture: PIM layers), ``train`` (the one
training loop), ``evolution`` (GTL), ``evaluation`` (few-shot episodes, instincts),
``baselines`` (Scratch, Pre-Fin, ...: what descendants are compared with), ``stats``
(paired differences over episodes, long tables),
``experiments`` (cached runs for notebooks), ``cache`` (what every cached result
is keyed by: settings, data fingerprints, code version), ``plots``, ``cli``.
"""
__version__ = "0.1.0"

from .data import ImageDataset, load_dataset  # noqa: F401
from .evaluation import EvalConfig, evaluate  # noqa: F401
from .evolution import GTLConfig, evolve  # noqa: F401
from .learngene import Learngene, extract  # noqa: F401
from .models import build_model  # noqa: F401
from .stats import clear_difference, mean_ci95, paired_difference  # noqa: F401
