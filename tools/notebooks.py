"""Run the numbered notebooks with papermill, in one profile.

    python tools/notebooks.py run --out figures/executed      # make figures: executed copies
    python tools/notebooks.py run --in-place                  # make notebooks: refresh the stored outputs
    python tools/notebooks.py run --in-place notebooks/00_walkthrough.ipynb

The profile reaches a notebook through ``$GTL_PROFILE``, which its parameters cell
reads, and not through a cell papermill would inject: a notebook run in place stays
cell for cell what its paired script (``notebooks/NN_name.py``, jupytext) says.
Figures are drawn with Jupyter's inline backend, so the stored notebooks show them.

Each notebook computes with **one CPU thread** (unless ``$OMP_NUM_THREADS`` says
otherwise): float sums then add up in the same order on any machine, so the tables
do not depend on its core count. On a CPU several notebooks run at once instead
(``--jobs``, default: up to 4, one per core), each in its own process, the longest
first; notebook 01 starts first, since it evolves the GTL run that most of the others
reuse, and only the notebooks of :data:`BESIDE_FIRST` start beside it.

Every table a notebook writes gets a row in ``figures/provenance.csv`` (:mod:`gtl.provenance`):
the notebook, commit, date, CPU type, torch, seeds and the notebook's wall time. A study
notebook that read its committed tables instead of computing them (``make figures``,
:func:`gtl.plots.computes_studies`) leaves their rows as they were.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import nbformat

from gtl import provenance
from gtl.plots import computes_studies
from gtl.profiles import check_profile

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
INLINE = "module://matplotlib_inline.backend_inline"
FIRST = "01_fig4_evolution.ipynb"  # evolves the run most notebooks reuse: started before the others
# Their first work needs no run of notebook 01's: 02 starts with CIFAR-FS, 07 with its ablations' own runs.
BESIDE_FIRST = ("02_", "07_")
# Thread-minutes each computing notebook took in the quick profile (figures/reproduce_log.txt): when in
# parallel, the longest start first. The studies (09-15) take seconds when they read their committed tables;
# 15 computes its pieces for about a day of one thread (estimated from the pieces' minutes in
# figures/provenance.csv; python -m gtl.why computes them one piece at a time).
MINUTES = {"13_": 39.7, "02_": 25.5, "07_": 17.8, "05_": 11.8, "01_": 10.8, "12_": 10.4, "10_": 5.2, "06_": 4.5,
           "11_": 4.0, "09_": 1.9, "04_": 0.9, "15_": 1400.0}
STUDIES = ("09_", "10_", "11_", "12_", "13_", "14_", "15_")  # beyond the paper: `make studies` computes them
# The studies inside two paper notebooks (01: Figure 4 on fresh episodes; 07: does selection select?), whose
# tables `make figures` reads too: `make studies` runs 01 and 07 as well.
STUDY_TABLES = ("fig4_fresh_validation_", "table_selection_")
LAST = ("14_",)  # reads the tables of others (notebook 13's): after them, when in parallel


def numbered(folder: Path = NOTEBOOKS) -> list[Path]:
    """The series, in order: ``NN_name.ipynb``."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def clean(path: Path, profile: str) -> None:
    """Drop what papermill adds to every cell (timings, empty tag lists): noise in a diff,
    and an empty tag list would show up in the paired script. Record the profile the stored
    outputs come from (``metadata.gtl.profile``; the tests check that readers get ``quick``)."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    nb.metadata["gtl"] = {"profile": profile}
    for cell in nb.cells:
        for key in ("papermill", "execution"):
            cell.metadata.pop(key, None)
        if cell.metadata.get("tags") == []:
            del cell.metadata["tags"]
    nbformat.write(nb, path)


def default_jobs(profile: str) -> int:
    """Notebooks at once: one per core, at most 4 (memory), on a CPU; one on a GPU or in the paper profile."""
    import torch
    return 1 if profile == "paper" or torch.cuda.is_available() else max(1, min(4, os.cpu_count() or 1))


def run(notebooks: list[Path], profile: str, out: Path | None = None, jobs: int = 1) -> list[Path]:
    """Execute ``notebooks`` in ``profile``: into ``out`` (a folder), or in place when ``out`` is None;
    ``jobs`` at a time (:func:`run_parallel`) when more than 1.

    Stops at the first notebook that fails (papermill says which cell) and returns the written paths.
    """
    import papermill

    os.environ["GTL_PROFILE"] = check_profile(profile)
    os.environ["MPLBACKEND"] = INLINE  # a user's MPLBACKEND=Agg would store no figure
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # the same float order on any machine
    if jobs > 1 and len(notebooks) > 1:
        return run_parallel(notebooks, profile, out, jobs)
    written = []
    for nb in notebooks:
        target = nb if out is None else out / nb.name
        target.parent.mkdir(parents=True, exist_ok=True)
        print(f"== {nb.relative_to(ROOT) if nb.is_relative_to(ROOT) else nb} ({profile})", flush=True)
        start = time.time()
        with tempfile.TemporaryDirectory() as tmp:
            os.environ[provenance.WRITTEN_ENV] = log = f"{tmp}/written"
            papermill.execute_notebook(str(nb), str(target), cwd=str(NOTEBOOKS), progress_bar=sys.stderr.isatty())
            tables = provenance.written(Path(log))
        slowest = slowest_cells(target)
        if out is None:
            clean(target, profile)
        wall = (time.time() - start) / 60
        print(f"   {nb.name}: {wall:.1f} min; slowest cells: {slowest}", flush=True)
        if tables and (not nb.name.startswith(STUDIES) or computes_studies(profile)):
            provenance.record(tables, nb.name, profile, notebook_seed(nb), wall)
        written.append(target)
    return written


def slowest_cells(executed: Path, top: int = 3) -> str:
    """Where an executed notebook spent its time: its ``top`` slowest code cells (papermill's timings), as
    "cell N `first line` M.M min"; what `make figures` is spent on, in its log."""
    cells = [(c.metadata.get("papermill", {}).get("duration") or 0.0, i, c.source.strip().splitlines()[:1])
             for i, c in enumerate(nbformat.read(executed, as_version=4).cells) if c.cell_type == "code"]
    return "; ".join(f"cell {i} `{(line or [''])[0][:50]}` {d / 60:.1f} min"
                     for d, i, line in sorted(cells, reverse=True)[:top] if d >= 6)


def notebook_seed(nb: Path) -> str:
    """The ``seed = N`` of a notebook's parameters cell (what its tables were drawn with), or "" when none."""
    for cell in nbformat.read(nb, as_version=4).cells:
        if "parameters" in cell.metadata.get("tags", []):
            found = re.search(r"^seed\s*=\s*(\d+)", cell.source, re.MULTILINE)
            return found.group(1) if found else ""
    return ""


def minutes(nb: Path, profile: str) -> float:
    """:data:`MINUTES` of ``nb``: 0 for the short ones, and for a study that reads its committed tables."""
    if nb.name.startswith(STUDIES) and not computes_studies(profile):
        return 0.0
    return next((m for prefix, m in MINUTES.items() if nb.name.startswith(prefix)), 0.0)


def run_parallel(notebooks: list[Path], profile: str, out: Path | None, jobs: int) -> list[Path]:
    """``jobs`` notebooks at a time, each in a process of its own (``python tools/notebooks.py run ...
    NOTEBOOK``): notebook 01 and those of :data:`BESIDE_FIRST` first, the others once 01 has ended, the
    longest first; those of :data:`LAST` after all. Raises after all have ended if one failed; its own
    output says which cell."""
    first = [nb for nb in notebooks if nb.name == FIRST or nb.name.startswith(BESIDE_FIRST)]
    last = [nb for nb in notebooks if nb.name.startswith(LAST)]
    rest = sorted((nb for nb in notebooks if nb not in first and nb not in last), key=lambda nb: minutes(nb, profile),
                  reverse=True)
    where = ["--in-place"] if out is None else ["--out", str(out)]

    def one(nb: Path) -> Path:
        subprocess.run([sys.executable, __file__, "run", "--jobs", "1", "--profile", profile, *where, str(nb)],
                       check=True)
        return nb if out is None else out / nb.name
    with ThreadPoolExecutor(jobs) as pool:
        started = {nb: pool.submit(one, nb) for nb in sorted(first, key=lambda nb: nb.name != FIRST)}
        if any(nb.name == FIRST for nb in first):
            wait([f for nb, f in started.items() if nb.name == FIRST])  # the others reuse its run
        started.update({nb: pool.submit(one, nb) for nb in rest})
    failed = [nb.name for nb, f in started.items() if f.exception() is not None]
    if failed:
        raise SystemExit(f"notebooks failed: {', '.join(failed)} (their output above says which cell)")
    return [f.result() for f in started.values()] + (run(last, profile, out) if last else [])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="execute notebooks")
    r.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/NN_*.ipynb")
    r.add_argument("--profile", default=os.environ.get("PROFILE") or "quick", help="smoke, quick or paper")
    r.add_argument("--jobs", type=int, help="notebooks at once (default: up to 4 on a CPU, 1 on a GPU or in paper)")
    where = r.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, help="write the executed notebooks into this folder")
    where.add_argument("--in-place", action="store_true", help="store the outputs in the notebooks themselves")
    a = p.parse_args(argv)
    run([n.resolve() for n in a.notebooks] or numbered(), a.profile, None if a.in_place else a.out,
        a.jobs or default_jobs(a.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
