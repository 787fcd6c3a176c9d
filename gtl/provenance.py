"""Where every committed table came from: one file, ``figures/provenance.csv``.

A number in the README or a notebook must say what made it. Float rounding differs
between CPU types (oneDNN picks other kernels on AVX2, AVX-512 or AMX), and SGD
amplifies it like a seed would, so "which machine" is part of a result's identity,
beside the commit, the torch version, the seeds and the profile. ``tools/notebooks.py``
records a row for every table a notebook writes; ``tools/reproduce.py`` reads the CPU
type to know whether an exact comparison can hold; the README generator and the study
notebooks print the rows.
"""
from __future__ import annotations

import datetime
import fcntl
import os
import platform
import subprocess
from pathlib import Path

import pandas as pd

from .paths import figures_dir, project_root, write_atomically

FILE = "provenance.csv"
COLUMNS = ("table", "notebook", "profile", "seeds", "commit", "date", "cpu", "isa", "torch", "wall_min",
           "isolation")
# ``isolation``: the presets' isolation (docs/decisions.md #16, #20) in the code that made the table, so that a table
# made before the presets changed says so where it is read; empty where the table sets its own (the why-studies).
# The instruction sets that decide which float kernels run (and so the rounding of every sum).
ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def cpu_info(field: str) -> str:
    """The first ``field`` line of /proc/cpuinfo (``"model name"``, ``"flags"``, ...), or "" where there is none."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return ""
    return next((line.split(":", 1)[1].strip() for line in lines if line.split(":")[0].strip() == field), "")


def cpu_type() -> dict:
    """This machine's CPU as far as float results are concerned: model name and the kernel-relevant ISA flags."""
    flags = set(cpu_info("flags").split())
    return {"cpu": cpu_info("model name") or platform.processor() or platform.machine(),
            "isa": " ".join(f for f in ISA_FLAGS if f in flags) or "none"}


def commit() -> str:
    """The checkout's commit (short), ``+dirty`` when its tracked code differs from it (the notebooks' stored
    outputs and the figures, which a run rewrites, do not count), or "unknown"."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=project_root(), capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        head = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!figures", ":!notebooks/*.ipynb")
        return head + ("+dirty" if changed else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


WRITTEN_ENV = "GTL_WRITTEN"  # set by tools/notebooks.py: a file listing the tables a notebook wrote


def note_written(path: Path) -> None:
    """Add a table just written to ``$GTL_WRITTEN`` (when set), so that the notebook runner records
    its provenance: modification times cannot tell apart notebooks that run at the same time."""
    log = os.environ.get(WRITTEN_ENV)
    if log:
        with open(log, "a") as f:
            f.write(f"{path.name}\n")


def note_read(path: Path) -> None:
    """Add a committed table a notebook read instead of computing it to ``$GTL_WRITTEN`` (when set): the
    runner then leaves the provenance of what the notebook derived from it as it was."""
    note_written(Path(f"read:{path.name}"))


def written(log: Path) -> list[str]:
    """The tables listed in ``log`` by :func:`note_written`, each once, less those computed from a table the
    notebook only read (:func:`note_read`; ``X.csv`` is computed from ``X_episodes.csv``): their provenance is
    the read table's."""
    names = set(log.read_text().split()) if log.exists() else set()
    read = {n.removeprefix("read:") for n in names if n.startswith("read:")}
    return sorted(n for n in names if not n.startswith("read:") and n.replace(".csv", "_episodes.csv") not in read)


def read(folder: Path | None = None) -> pd.DataFrame:
    """Every recorded row (an empty table when nothing was recorded yet)."""
    path = (folder or figures_dir()) / FILE
    if not path.exists():
        return pd.DataFrame(columns=list(COLUMNS), dtype=str)
    return pd.read_csv(path, dtype=str, keep_default_na=False).reindex(columns=list(COLUMNS), fill_value="")


def presets_isolation() -> str:
    """The name (:data:`gtl.protocol.ISOLATIONS`) of the isolation the presets use now."""
    from .evolution import GTLConfig
    from .protocol import isolation_of
    return isolation_of(GTLConfig.quick())


def record(tables: list[str], notebook: str, profile: str, seeds: str, wall_min: float,
           folder: Path | None = None, made_at: str | None = None, isolation: str | None = None) -> None:
    """Replace the rows of ``tables`` (file names in the figures folder) with this machine, commit and run.

    ``made_at``: the commit(s) the tables were computed at, where that is not the checkout's (a table computed
    a piece at a time). ``isolation``: the presets' isolation it was made under (default: the checkout's,
    :func:`presets_isolation`; "" for a table that sets its own). Notebooks run in parallel processes, so the
    read-modify-write holds a lock on the file.
    """
    import torch

    folder = folder or figures_dir()
    now = {"notebook": notebook, "profile": profile, "seeds": seeds, "commit": made_at or commit(),
           "date": datetime.date.today().isoformat(), **cpu_type(), "torch": torch.__version__,
           "wall_min": "" if wall_min != wall_min else f"{wall_min:.1f}",  # NaN: unrecorded
           "isolation": presets_isolation() if isolation is None else isolation}
    with open(folder / f".{FILE}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = read(folder)
        rows = pd.concat([old[~old.table.isin(tables)], pd.DataFrame([{"table": t, **now} for t in tables])])
        write_atomically(folder / FILE, lambda tmp: rows.sort_values("table").to_csv(tmp, index=False,
                                                                                    columns=list(COLUMNS)))


def describe(table: str, folder: Path | None = None) -> str:
    """One line on where ``table`` came from, for a notebook that reads it instead of computing it."""
    rows = read(folder)
    row = rows[rows.table == table]
    if row.empty:
        return f"{table}: no provenance recorded"
    r = row.iloc[0]
    return (f"{table}: notebook {r.notebook}, {r.profile} profile, seed(s) {r.seeds}; commit {r.commit}, "
            f"{r.date}, {r.cpu} ({r.isa}), torch {r.torch}, " + (f"{r.wall_min} min" if r.wall_min else
                                                                  "wall time unrecorded")
            + (f"; presets' isolation {r.isolation}" if r.isolation else ""))


def made_under_other_presets(table: str, folder: Path | None = None) -> str:
    """A warning when ``table`` was made under another isolation than the presets use now (its GTL runs were born
    otherwise than a rerun's would be), else ""."""
    rows = read(folder)
    row = rows[rows.table == table]
    made, now = (row.iloc[0].isolation if not row.empty else ""), presets_isolation()
    if not made or made == now:
        return ""
    return (f"{table} was made under the presets' isolation then, {made}; the presets now use {now} "
            f"(docs/decisions.md #20), so its GTL runs are not what a rerun would evolve: `make studies` recomputes it")


def same_cpu_type(table: str, folder: Path | None = None) -> bool:
    """Whether ``table`` was made on a CPU of this machine's type (model and ISA flags): only then can a
    rerun reproduce it bit for bit."""
    rows = read(folder)
    row = rows[rows.table == table]
    here = cpu_type()
    return not row.empty and row.iloc[0].cpu == here["cpu"] and row.iloc[0].isa == here["isa"]
