"""`make reproduce`: rerun every notebook from an empty run cache and check the numbers against the committed ones.

    python tools/reproduce.py                        # quick profile, exact comparison
    python tools/reproduce.py --atol 0.02            # a stated band (floats: |new - old| <= 0.02)
    python tools/reproduce.py --compare SNAPSHOT     # compare again, without rerunning

1. Every ``figures/*.csv`` present now (in a clean checkout: the committed tables) is copied to a snapshot.
2. The notebooks run in place in the profile (``tools/notebooks.py``) with ``$GTL_RUNS``
   pointing at an empty folder, so every evolution, pre-training and table is recomputed.
3. Each table the run wrote again is compared with its snapshot, at the level this machine can check
   (:func:`level`):

   * **exact**, where ``figures/provenance.csv`` says the committed table was made on a CPU of this
     type (model and kernel-relevant ISA flags): text and integers exactly, floats within
     ``--atol``/``--rtol`` (default 0);
   * **conclusions**, on another CPU type, whose other kernels round floats otherwise (SGD then
     drifts like another seed): for every per-episode table, (a) Scratch's and Pre-Fin's cell means
     within :data:`BAND` of the committed ones (nothing evolved is in them), and (c) every verdict
     against Scratch (the paired difference's sign, clear or not) unchanged. (b), every evolved
     number inside the prediction band of several seeds, needs multi-seed runs that do not exist yet:
     the report says so.

   The studies beyond the paper (notebooks 09-15) are read, not recomputed, by ``make figures``:
   their per-episode tables are listed as such (``make studies`` recomputes them).

The report (tables checked, largest drift, where, the tolerance, when and on what machine) is
written to ``figures/reproduce.md`` and ``figures/reproduce.csv``; the README quotes it. The exit
code is 1 when a table drifted or changed its conclusions, a notebook's table was not written again, or nothing
was compared. Run it before committing new outputs: the
refreshed notebooks and figures are left in the working tree for ``git diff``.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notebooks  # noqa: E402  (tools/notebooks.py)
from gtl import provenance  # noqa: E402
from gtl.stats import by_episode, clear_difference, paired_difference  # noqa: E402
from gtl.paths import figures_dir  # noqa: E402
from gtl.plots import to_markdown  # noqa: E402

FIGURES = figures_dir()
# Tables that `make figures` does not write again, not rerun here: benchmarks, this report, the long budgets
# (`make budget-long`, hours) and the README's worked example on class folders (the command line, by hand).
NOT_FROM_NOTEBOOKS = ("bench_", "flops_per_step", "cpu_bf16_", "reproduce", "budget_long_", "folder_example_")
BAND = 0.02  # conclusions level: Scratch's and Pre-Fin's cell means may move this much (2 points) on another CPU
# Columns that name a comparison's cell in the project's long tables: rows equal in these met the same episodes.
PAIR_COLUMNS = ("dataset", "split", "score", "setting", "step", "isolation", "lineage_steps", "pretrain_steps",
                "network", "descendant", "generation", "target_fraction", "factor", "value")


def drift(old: pd.DataFrame, new: pd.DataFrame, rtol: float, atol: float) -> dict:
    """How far ``new`` is from ``old``: the largest float difference (and where), and whether
    anything differs beyond the tolerance (shape, columns, text or integers: at all)."""
    if list(old.columns) != list(new.columns) or len(old) != len(new):
        return {"ok": False, "max_drift": float("nan"), "largest_at": "", "where": f"shape {old.shape} -> "
                f"{new.shape} or columns differ", "cells": old.size}
    worst, where, ok, failed_at = 0.0, "", True, ""
    for col in old.columns:
        a, b = old[col], new[col]
        if pd.api.types.is_float_dtype(a) or pd.api.types.is_float_dtype(b):
            x, y = a.to_numpy(float), b.to_numpy(float)
            diff = np.abs(x - y)
            diff[np.isnan(x) & np.isnan(y)] = 0.0
            diff[np.isnan(x) ^ np.isnan(y)] = np.inf
            if len(diff) and diff.max() > worst:
                worst, where = float(diff.max()), f"{col}, row {int(diff.argmax())}"
            beyond = diff > atol + rtol * np.nan_to_num(np.abs(x))
            if beyond.any():
                ok, failed_at = False, failed_at or f"{col}, row {int(beyond.argmax())}"
        elif not a.astype(str).equals(b.astype(str)):
            row = int(np.argmax(a.astype(str).to_numpy() != b.astype(str).to_numpy()))
            ok, failed_at = False, failed_at or f"{col}, row {row}: {a.iloc[row]!r} -> {b.iloc[row]!r}"
    return {"ok": ok, "max_drift": worst, "largest_at": where, "where": failed_at or where, "cells": old.size}


def verdicts(episodes: pd.DataFrame) -> dict:
    """Every verdict of a long table against Scratch: ``{(cell, method): (sign, clear)}`` of the paired
    difference, cells named by the table's :data:`PAIR_COLUMNS`; and every Scratch and Pre-Fin cell mean,
    ``{(cell, method): mean}``. Groups that cannot be paired (no Scratch) give nothing."""
    pair_on = [c for c in PAIR_COLUMNS if c in episodes.columns]
    signs, means = {}, {}
    for cell, rows in (episodes.groupby(pair_on, sort=False, dropna=False) if pair_on else [((), episodes)]):
        acc = by_episode(rows)
        for method, values in acc.items():
            if method in ("Scratch", "Pre-Fin"):
                means[(cell, method)] = sum(values) / len(values)
            if method != "Scratch" and "Scratch" in acc:
                d, _ = paired_difference(values, acc["Scratch"])
                signs[(cell, method)] = (d > 0, clear_difference(values, acc["Scratch"]))
    return {"signs": signs, "means": means}


def conclusions(old: pd.DataFrame, new: pd.DataFrame) -> dict:
    """The conclusions level for one long table: (a) Scratch's and Pre-Fin's cell means within :data:`BAND`,
    (c) every verdict's sign and clearness unchanged. ``where`` names the first failure."""
    before, after = verdicts(old), verdicts(new)
    moved = {k: abs(after["means"].get(k, float("nan")) - m) for k, m in before["means"].items()}
    beyond = [k for k, v in moved.items() if not v <= BAND]
    flipped = [k for k, v in before["signs"].items() if after["signs"].get(k) != v]
    where = (f"{beyond[0][1]} {beyond[0][0]} moved {100 * moved[beyond[0]]:.1f} points" if beyond else
             f"{flipped[0][1]} {flipped[0][0]}: {before['signs'][flipped[0]]} -> {after['signs'].get(flipped[0])}"
             if flipped else "")
    return {"ok": not beyond and not flipped, "cells": len(before["signs"]) + len(before["means"]),
            "max_drift": max(moved.values(), default=0.0), "largest_at": "Scratch/Pre-Fin cell mean",
            "where": where, "verdicts": len(before["signs"]), "flipped": len(flipped)}


def level(table: str, snapshot: Path) -> str:
    """``exact`` where the committed ``table`` was made on a CPU of this machine's type, else ``conclusions``."""
    return "exact" if provenance.same_cpu_type(table, snapshot) else "conclusions"


def compare(snapshot: Path, figures: Path, rtol: float, atol: float, since: float | None = None) -> pd.DataFrame:
    """One row per snapshot table: rewritten by the run (newer than ``since``), and within what its
    :func:`level` checks? Tables the run only read (the studies') are listed as read."""
    made_by = provenance.read(snapshot).set_index("table").notebook.to_dict()
    rows = []
    for before in sorted(p for p in snapshot.glob("*.csv") if p.name != provenance.FILE):
        after, name = figures / before.name, before.name
        row = {"table": name, "level": "", "cells": 0, "max_drift": float("nan"), "where": ""}
        rewritten = after.exists() and (since is None or after.stat().st_mtime >= since)
        if name.startswith(NOT_FROM_NOTEBOOKS):
            rows.append({**row, "status": "not rewritten by make figures"})
        elif not rewritten and (made_by.get(name, "").startswith(notebooks.STUDIES)
                                or name.startswith(notebooks.STUDY_TABLES)):
            rows.append({**row, "status": "read, not recomputed (make studies)"})
        elif not rewritten:
            rows.append({**row, "status": "NOT WRITTEN", "where": "the run did not write it again"})
        elif (exact := level(name, snapshot) == "exact") or not name.endswith("_episodes.csv"):
            d = drift(pd.read_csv(before), pd.read_csv(after), rtol, atol)
            episodes = (snapshot / name.replace(".csv", "_episodes.csv")).exists()
            status = ("ok" if d["ok"] else "DRIFT" if exact else "derived: checked through its episodes" if episodes
                      else "not checked: needs (b)")
            rows.append({**row, "level": "exact" if exact else "conclusions", "status": status,
                         **{k: d[k] for k in ("cells", "max_drift", "largest_at", "where")}})
        else:
            c = conclusions(pd.read_csv(before), pd.read_csv(after))
            rows.append({**row, "level": "conclusions", "status": "ok" if c["ok"] else "CHANGED",
                         **{k: c[k] for k in ("cells", "max_drift", "largest_at", "where")}})
    return pd.DataFrame(rows)


BAD = ("DRIFT", "NOT WRITTEN", "CHANGED")  # statuses that fail `make reproduce`


def report(table: pd.DataFrame, profile: str, rtol: float, atol: float, minutes: float | None,
           snapshot: Path | None = None) -> str:
    """The report's Markdown: when, on what, at which level with which tolerance, and the table by table
    comparison. ``minutes`` is the rerun's duration; None means a comparison only (``--compare``)."""
    import torch

    checked = table[table.level != ""]
    bad = table[table.status.isin(BAD)]
    levels = ", ".join(f"{n} at the {lv} level" for lv, n in checked.level.value_counts().items()) or "none"
    tol = "exact" if rtol == atol == 0 else f"|new - old| <= {atol:g} + {rtol:g}·|old| for floats, exact otherwise"
    exact, here = checked[checked.level == "exact"], provenance.cpu_type()
    drifts = exact.max_drift.dropna()
    worst = exact.loc[drifts.idxmax()] if len(drifts) and drifts.max() > 0 else None
    lines = [f"# `make reproduce`: last run {datetime.date.today().isoformat()}", "",
             (f"- profile **{profile}**, every run recomputed from an empty cache in {minutes:.0f} minutes; "
              f"data: `{os.environ.get('GTL_DATA', 'data/')}`" if minutes is not None else
              f"- a comparison only, no rerun: `figures/` against the snapshot `{snapshot}`"),
             f"- machine: {platform.machine()}, {os.cpu_count()} cores, {here['cpu']} ({here['isa']}); "
             f"torch {torch.__version__}",
             f"- levels: **exact** where `figures/provenance.csv` says the committed table was made on this CPU "
             f"type (tolerance: {tol}); **conclusions** elsewhere: (a) Scratch's and Pre-Fin's cell means within "
             f"{100 * BAND:g} points, (c) every verdict against Scratch (sign; clear or not) unchanged, and (b), "
             f"every evolved number inside a multi-seed prediction band, not checkable until runs over several "
             f"seeds exist",
             f"- tables checked: {len(checked)} ({levels}); failed: {len(bad)}"
             + (f"; largest float drift at the exact level {worst.max_drift:.4g} ({worst['table']}: "
                f"{worst['largest_at']})" if worst is not None else
                "; every exact table identical" if len(exact) and not len(bad) else ""),
             f"- read, not recomputed (the studies; `make studies`): "
             f"{(table.status == 'read, not recomputed (make studies)').sum()}", "",
             to_markdown(table, "{:.4g}")]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="quick")
    p.add_argument("--atol", type=float, default=0.0, help="absolute tolerance on float cells (default 0)")
    p.add_argument("--rtol", type=float, default=0.0, help="relative tolerance on float cells (default 0)")
    p.add_argument("--compare", type=Path, metavar="SNAPSHOT", help="only compare figures/ with this snapshot")
    a = p.parse_args(argv)
    minutes, since = None, None
    if a.compare:
        snapshot = a.compare
    else:
        work = Path(tempfile.mkdtemp(prefix="gtl-reproduce-"))
        snapshot = work / "snapshot"
        snapshot.mkdir()
        for csv in FIGURES.glob("*.csv"):
            if not csv.name.startswith("reproduce"):
                shutil.copy2(csv, snapshot / csv.name)
        print(f"snapshot of {len(list(snapshot.glob('*.csv')))} tables: {snapshot}", flush=True)
        os.environ["GTL_RUNS"] = str(work / "runs")  # an empty cache: everything is recomputed
        since = datetime.datetime.now().timestamp()
        notebooks.run(notebooks.numbered(), a.profile, jobs=notebooks.default_jobs(a.profile))
        minutes = (datetime.datetime.now().timestamp() - since) / 60
    table = compare(snapshot, FIGURES, a.rtol, a.atol, since)
    text = report(table, a.profile, a.rtol, a.atol, minutes, snapshot)
    (FIGURES / "reproduce.md").write_text(text)
    table.to_csv(FIGURES / "reproduce.csv", index=False)
    print(text)
    print(f"snapshot kept in {snapshot} (compare again: python tools/reproduce.py --compare {snapshot})")
    return 1 if table.status.isin(BAD).any() or not (table.status == "ok").any() else 0


if __name__ == "__main__":
    sys.exit(main())
