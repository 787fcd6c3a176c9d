"""Where things live: the data root, the run cache and the figures folder.

Notebooks run with ``notebooks/`` as their working directory, so relative
defaults are taken from the project root (the source checkout ``gtl`` was
imported from, when it was), not from the current directory.
"""
from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Callable


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


class DiskFullError(OSError):
    """No space left where a file was being written: one line saying where, instead of torch's C++ trace."""


def write_atomically(path: str | os.PathLike, write: Callable[[Path], object]) -> None:
    """``write(tmp)``, then ``tmp`` renamed onto ``path``: a reader never meets half a file, and a run
    interrupted while writing keeps the previous one. If writing fails the partial file is removed, and a
    full disk (which ``torch.save`` reports as a C++ "enforce fail ... unexpected pos") is a
    :class:`DiskFullError` naming the folder."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # processes of one torchrun may race here
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if _disk_full(e, path.parent):
            raise DiskFullError(errno.ENOSPC, f"no space left on the disk of {path.parent} while writing {path.name}: "
                                              f"free some space there, or write elsewhere ($GTL_RUNS, --run-dir, "
                                              f"$GTL_CACHE)") from None
        raise


def _disk_full(error: BaseException, folder: Path) -> bool:
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(error, RuntimeError) and ("unexpected pos" in str(error) or "write failed" in str(error)):
        try:  # torch's writer loses the errno: tell a full disk by its free space
            return shutil.disk_usage(folder).free < 64 * 2 ** 20 or "unexpected pos" in str(error)
        except OSError:
            return True
    return False
