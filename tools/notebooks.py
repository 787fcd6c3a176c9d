"""Run the numbered notebooks with papermill, in one profile.

    python tools/notebooks.py run --out figures/executed      # make figures: executed copies
    python tools/notebooks.py run --in-place                  # make notebooks: refresh the stored outputs
    python tools/notebooks.py run --in-place notebooks/00_walkthrough.ipynb

The profile reaches a notebook through ``$GTL_PROFILE``, which its parameters cell
reads, and not through a cell papermill would inject: a notebook run in place stays
cell for cell what its paired script (``notebooks/NN_name.py``, jupytext) says.
Figures are drawn with Jupyter's inline backend, so the stored notebooks show them.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat

from gtl.profiles import check_profile

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
INLINE = "module://matplotlib_inline.backend_inline"


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


def run(notebooks: list[Path], profile: str, out: Path | None = None) -> list[Path]:
    """Execute ``notebooks`` in ``profile``: into ``out`` (a folder), or in place when ``out`` is None.

    Stops at the first notebook that fails (papermill says which cell) and returns the written paths.
    """
    import papermill

    os.environ["GTL_PROFILE"] = check_profile(profile)
    os.environ["MPLBACKEND"] = INLINE  # a user's MPLBACKEND=Agg would store no figure
    written = []
    for nb in notebooks:
        target = nb if out is None else out / nb.name
        target.parent.mkdir(parents=True, exist_ok=True)
        print(f"== {nb.relative_to(ROOT) if nb.is_relative_to(ROOT) else nb} ({profile})", flush=True)
        start = time.time()
        papermill.execute_notebook(str(nb), str(target), cwd=str(NOTEBOOKS), progress_bar=sys.stderr.isatty())
        if out is None:
            clean(target, profile)
        print(f"   {nb.name}: {(time.time() - start) / 60:.1f} min", flush=True)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="execute notebooks")
    r.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/NN_*.ipynb")
    r.add_argument("--profile", default=os.environ.get("PROFILE") or "quick", help="smoke, quick or paper")
    where = r.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, help="write the executed notebooks into this folder")
    where.add_argument("--in-place", action="store_true", help="store the outputs in the notebooks themselves")
    a = p.parse_args(argv)
    run([n.resolve() for n in a.notebooks] or numbered(), a.profile, None if a.in_place else a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
