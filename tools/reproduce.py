"""`make reproduce`: rerun every notebook from an empty run cache and check the numbers against the committed ones.

    python tools/reproduce.py                        # quick profile, exact comparison
    python tools/reproduce.py --atol 0.02            # a stated band (floats: |new - old| <= 0.02)
    python tools/reproduce.py --compare SNAPSHOT     # compare again, without rerunning

1. Every ``figures/*.csv`` present now (in a clean checkout: the committed tables) is copied to a snapshot.
2. The notebooks run in place in the profile (``tools/notebooks.py``) with ``$GTL_RUNS``
   pointing at an empty folder, so every evolution, pre-training and table is recomputed.
3. Each table the run wrote again is compared with its snapshot, cell by cell: text and
   integers exactly, floats within ``--atol``/``--rtol`` (default 0: exact, which holds when
   the run is deterministic on one machine; a CPU with other kernels or another thread
   count changes float order, and then only a band can hold).

The report (tables checked, largest drift, where, the tolerance, when and on what machine) is
written to ``figures/reproduce.md`` and ``figures/reproduce.csv``; the README quotes it. The exit
code is 1 when a table drifted, a notebook's table was not written again, or nothing was compared. Run it before committing new outputs: the
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
from gtl.provenance import cpu_info  # noqa: E402
from gtl.paths import figures_dir  # noqa: E402
from gtl.plots import to_markdown  # noqa: E402

FIGURES = figures_dir()
# Tables that `make figures` does not write again, not rerun here: benchmarks, this report, the long budgets
# (`make budget-long`, hours) and the README's worked example on class folders (the command line, by hand).
NOT_FROM_NOTEBOOKS = ("bench_", "flops_per_step", "cpu_bf16_", "reproduce", "budget_long_", "folder_example_")


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


def compare(snapshot: Path, figures: Path, rtol: float, atol: float, since: float | None = None) -> pd.DataFrame:
    """One row per snapshot table: rewritten by the run (newer than ``since``) and within tolerance?"""
    rows = []
    for before in sorted(snapshot.glob("*.csv")):
        after = figures / before.name
        if before.name.startswith(NOT_FROM_NOTEBOOKS):
            rows.append({"table": before.name, "status": "not rewritten by make figures", "cells": 0,
                         "max_drift": float("nan"), "where": ""})
            continue
        if not after.exists() or (since is not None and after.stat().st_mtime < since):
            rows.append({"table": before.name, "status": "NOT WRITTEN", "cells": 0, "max_drift": float("nan"),
                         "where": "the run did not write it again"})
            continue
        d = drift(pd.read_csv(before), pd.read_csv(after), rtol, atol)
        rows.append({"table": before.name, "status": "ok" if d["ok"] else "DRIFT", **{k: d[k] for k in
                     ("cells", "max_drift", "largest_at", "where")}})
    return pd.DataFrame(rows)


def report(table: pd.DataFrame, profile: str, rtol: float, atol: float, minutes: float | None,
           snapshot: Path | None = None) -> str:
    """The report's Markdown: when, on what, with which tolerance, and the table by table comparison.
    ``minutes`` is the rerun's duration; None means a comparison only (``--compare``, against ``snapshot``)."""
    import torch

    checked = table[table.status != "not rewritten by make figures"]
    drifted = checked[checked.status != "ok"]
    tol = "exact" if rtol == atol == 0 else f"|new - old| <= {atol:g} + {rtol:g}·|old| for floats, exact otherwise"
    drifts = checked.max_drift.dropna()
    worst = checked.loc[drifts.idxmax()] if len(drifts) and drifts.max() > 0 else None
    lines = [f"# `make reproduce`: last run {datetime.date.today().isoformat()}", "",
             (f"- profile **{profile}**, every run recomputed from an empty cache in {minutes:.0f} minutes; "
              f"data: `{os.environ.get('GTL_DATA', 'data/')}`" if minutes is not None else
              f"- a comparison only, no rerun: `figures/` against the snapshot `{snapshot}`"),
             f"- machine: {platform.machine()}, {os.cpu_count()} cores, {_cpu()}; torch {torch.__version__}",
             f"- tolerance: {tol}",
             f"- tables checked: {len(checked)}; drifted or not rewritten: {len(drifted)}"
             + (f"; largest float drift {worst.max_drift:.4g} ({worst['table']}: {worst['largest_at']}); the "
                f"column `where` names each table's first difference" if worst is not None
                else "; every cell identical" if len(checked) and not len(drifted) else ""), "",
             to_markdown(table, "{:.4g}")]
    return "\n".join(lines)


def _cpu() -> str:
    return cpu_info("model name") or platform.processor() or "unknown CPU"


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
    bad = table[table.status.isin(["DRIFT", "NOT WRITTEN"])]
    return 1 if len(bad) or not (table.status == "ok").any() else 0


if __name__ == "__main__":
    sys.exit(main())
