"""Where things live: the data root, the run cache and the figures folder.

Notebooks run with ``notebooks/`` as their working directory, so relative
defaults are taken from the project root (the source checkout ``gtl`` was
imported from, when it was), not from the current directory.
"""
from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The checkout holding ``gtl`` (has ``pyproject.toml``), else the working directory."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root`` if given, else ``$GTL_DATA``, else ``<project>/data``."""
    return Path(root or os.environ.get("GTL_DATA") or project_root() / "data").expanduser()


def runs_dir() -> Path:
    """Evolved learngenes and trained baselines: ``$GTL_RUNS``, else ``<project>/runs``."""
    return Path(os.environ.get("GTL_RUNS") or project_root() / "runs")


def figures_dir() -> Path:
    """What the notebooks write: ``$GTL_FIGURES``, else ``<project>/figures``."""
    path = Path(os.environ.get("GTL_FIGURES") or project_root() / "figures")
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Decoded images: ``$GTL_CACHE``, else ``~/.cache/gtl``."""
    return Path(os.environ.get("GTL_CACHE") or Path.home() / ".cache" / "gtl")
