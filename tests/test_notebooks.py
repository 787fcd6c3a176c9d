"""The notebooks as files: paired with their scripts, parameterised by profile, showing their figures.

nbval (pytest's ``notebooks`` path) runs them top to bottom in the smoke profile; this
file checks what a reader meets without running anything, and the maintainers' tools
(``tools/notebooks.py``, ``tools/reproduce.py``).
"""
from __future__ import annotations

import importlib.util
import os
import re
import time

import nbformat
import pandas as pd
import pytest

from _helpers import PROJECT



def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, PROJECT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NOTEBOOKS = _tool("notebooks").numbered()
IDS = [p.name for p in NOTEBOOKS]


def _cells(nb) -> list[tuple[str, str, list[str]]]:
    return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in nb.cells]


def test_the_series_is_numbered_and_every_notebook_has_its_script():
    assert IDS[:3] == ["00_walkthrough.ipynb", "01_fig4_evolution.ipynb", "02_fewshot_table.ipynb"]
    scripts = sorted(p.with_suffix(".ipynb").name for p in (PROJECT / "notebooks").glob("[0-9][0-9]_*.py"))
    assert scripts == IDS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_and_script_are_in_sync(path):
    """Edit either one, then `make sync`: the two must say the same, cell for cell (tags included)."""
    jupytext = pytest.importorskip("jupytext")
    script = jupytext.read(path.with_suffix(".py"))
    notebook = nbformat.read(path, as_version=4)
    assert _cells(script) == _cells(notebook), f"{path.name} and its .py differ: run `make sync`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_parameters_cell_takes_the_profile_from_the_environment(path):
    nb = nbformat.read(path, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "papermill needs exactly one cell tagged 'parameters'"
    for name in ("profile", "data_root", "device", "seed"):
        assert re.search(rf"^{name}\s*=", params[0].source, re.M), f"no {name} in the parameters cell"
    assert re.search(r"^profile\s*=\s*default_profile\(\)", params[0].source, re.M)
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells), \
        "a cell papermill injected was stored: run notebooks through tools/notebooks.py"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_cell_that_shows_a_figure_stores_it(path):
    """A reader on GitHub, in Jupyter or in the book sees the figure without running anything."""
    nb = nbformat.read(path, as_version=4)
    showing = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "plt.show()" in c.source]
    assert showing, "a figure notebook that shows no figure"
    for i in showing:
        outputs = nb.cells[i].get("outputs", [])
        assert any("image/png" in o.get("data", {}) for o in outputs), \
            f"cell {i} calls plt.show() but stores no image: re-run it with Jupyter's inline backend (make notebooks)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_code_cell_is_valid_python(path):
    """Caught before a long run: a notebook that cannot even be parsed."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            compile(cell.source, f"{path.name}[{i}]", "exec")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_stored_output_is_a_warning(path):
    """A warning in a document reads like a fault; the code it points at is fixed instead."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            assert "Warning" not in str(out.get("text", "")), f"cell {i} stored a warning: {str(out.get('text'))[:200]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stored_outputs_are_the_quick_profile(path):
    """Readers see the quick profile's numbers, never a smoke run's."""
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("gtl", {}).get("profile") == "quick", \
        "the stored outputs are not from a quick-profile run: refresh with `make notebooks`"
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            text = str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", ""))
            assert "smoke" not in text, f"cell {i} stored a smoke-profile output: refresh with `make notebooks`"


def test_clean_drops_what_papermill_adds(tmp_path):
    nb = nbformat.v4.new_notebook(metadata={"papermill": {"duration": 1.0}})
    nb.cells = [nbformat.v4.new_code_cell("1", metadata={"tags": [], "papermill": {"duration": 0.1},
                                                         "execution": {}}),
                nbformat.v4.new_code_cell("2", metadata={"tags": ["parameters"]})]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    _tool("notebooks").clean(path, "quick")
    back = nbformat.read(path, as_version=4)
    assert "papermill" not in back.metadata and back.metadata["gtl"] == {"profile": "quick"}
    assert dict(back.cells[0].metadata) == {} and back.cells[1].metadata["tags"] == ["parameters"]


def test_parallel_runs_notebook_01_first_then_the_longest_each_in_a_process_then_the_readers(monkeypatch, tmp_path):
    tool = _tool("notebooks")
    calls = []
    monkeypatch.setattr(tool, "run", lambda nbs, profile, out, jobs=1: calls.append(("here", [n.name for n in nbs]))
                        or list(nbs))
    monkeypatch.setattr(tool.subprocess, "run", lambda cmd, check: calls.append(("process", cmd[-1].split("/")[-1])))
    names = ["00_walkthrough.ipynb", "01_fig4_evolution.ipynb", "02_fewshot_table.ipynb", "03_fig1_3_framework.ipynb",
             "05_scalability.ipynb", "07_ablations.ipynb", "14_budget_long.ipynb"]
    written = tool.run_parallel([tmp_path / n for n in names], "smoke", None, jobs=1)
    assert calls == [("process", "01_fig4_evolution.ipynb"),
                     ("process", "02_fewshot_table.ipynb"), ("process", "07_ablations.ipynb"),  # beside 01
                     ("process", "05_scalability.ipynb"),  # the longest first
                     ("process", "00_walkthrough.ipynb"), ("process", "03_fig1_3_framework.ipynb"),
                     ("here", ["14_budget_long.ipynb"])]  # it reads notebook 13's tables: after the others
    assert sorted(p.name for p in written) == sorted(names)
    monkeypatch.setattr(tool.subprocess, "run", lambda cmd, check: (_ for _ in ()).throw(RuntimeError("cell 3")))
    with pytest.raises(SystemExit, match="notebooks failed: 01_fig4_evolution.ipynb, 02_fewshot_table.ipynb"):
        tool.run_parallel([tmp_path / n for n in names[1:3]], "smoke", None, jobs=2)


def test_in_parallel_only_the_notebooks_beside_01_start_before_it_ends(monkeypatch, tmp_path):
    tool = _tool("notebooks")
    events = []

    def fake(cmd, check):
        name = cmd[-1].split("/")[-1][:2]
        events.append(f"start {name}")
        time.sleep(0.3 if name == "01" else 0.01)
        events.append(f"end {name}")
    monkeypatch.setattr(tool.subprocess, "run", fake)
    names = ["01_fig4_evolution.ipynb", "02_fewshot_table.ipynb", "05_scalability.ipynb", "07_ablations.ipynb"]
    tool.run_parallel([tmp_path / n for n in names], "smoke", None, jobs=3)
    assert events.index("start 07") < events.index("end 01") < events.index("start 05")
    assert events.index("start 02") < events.index("end 01")


def test_notebook_seed_is_read_from_the_parameters_cell():
    tool = _tool("notebooks")
    assert tool.notebook_seed(PROJECT / "notebooks" / "02_fewshot_table.ipynb") == "0"


def test_reproduce_compares_tables_exactly_or_within_a_band():
    drift = _tool("reproduce").drift
    old = pd.DataFrame({"method": ["A", "B"], "mean": [0.5, 0.25], "episodes": [60, 60]})
    assert drift(old, old.copy(), 0, 0)["ok"]
    moved = old.assign(mean=[0.5, 0.26])
    d = drift(old, moved, 0, 0)
    assert not d["ok"] and d["max_drift"] == pytest.approx(0.01) and d["where"] == "mean, row 1"
    assert drift(old, moved, 0, 0.02)["ok"]
    assert not drift(old, old.assign(episodes=[60, 61]), 0, 1.0)["ok"]   # integers: exact
    assert not drift(old, old.assign(method=["A", "C"]), 0, 1.0)["ok"]   # text: exact
    assert not drift(old, old.iloc[:1], 0, 1.0)["ok"]                    # a row lost
    both = drift(old, moved.assign(method=["A", "C"]), 0, 0.02)        # a float within the band, a text not
    assert not both["ok"] and both["where"].startswith("method, row 1")  # the first difference
    assert both["largest_at"] == "mean, row 1" and both["max_drift"] == pytest.approx(0.01)  # the largest float one


def test_reproduce_reports_tables_not_rewritten_and_drift(tmp_path):
    from gtl import provenance
    reproduce = _tool("reproduce")
    snap, figs = tmp_path / "snap", tmp_path / "figs"
    snap.mkdir(), figs.mkdir()
    table = pd.DataFrame({"method": ["A"], "mean": [0.5]})
    for name in ("kept.csv", "bench_cpu.csv", "lost.csv", "stale.csv", "study.csv", "table_selection_x.csv"):
        table.to_csv(snap / name, index=False)
    provenance.record(["kept.csv", "lost.csv", "stale.csv"], "02_fewshot_table.ipynb", "quick", "0", 1.0, snap)
    provenance.record(["study.csv"], "13_budget_curve.ipynb", "quick", "0", 1.0, snap)
    table.to_csv(figs / "stale.csv", index=False)  # an old file, from before the run
    since = time.time() + 1
    table.assign(mean=0.6).to_csv(figs / "kept.csv", index=False)
    os.utime(figs / "kept.csv", (since + 1, since + 1))
    report = reproduce.compare(snap, figs, 0, 0, since)
    assert dict(zip(report.table, report.status)) == {
        "bench_cpu.csv": "not rewritten by make figures", "kept.csv": "DRIFT", "lost.csv": "NOT WRITTEN",
        "stale.csv": "NOT WRITTEN", "study.csv": "read, not recomputed (make studies)",
        "table_selection_x.csv": "read, not recomputed (make studies)"}  # a study inside notebook 07
    assert dict(zip(report.table, report.level))["kept.csv"] == "exact"  # made on this CPU type
    text = reproduce.report(report, "quick", 0, 0, None, snap)
    assert "tolerance: exact" in text and "failed: 3" in text and "a comparison only" in text
    assert "1 at the exact level" in text and "read, not recomputed (the studies; `make studies`): 2" in text


def _episodes(shift: float, scratch: float = 0.0) -> pd.DataFrame:
    rows = [{"method": m, "setting": "5-shot", "episode": e, "accuracy": a}
            for m, base in (("Learngene", 0.5 + shift), ("Scratch", 0.4 + scratch), ("Pre-Fin", 0.6))
            for e, a in enumerate([base, base + 0.1, base - 0.05])]
    return pd.DataFrame(rows)


def test_reproduce_on_another_cpu_type_checks_the_conclusions(tmp_path):
    from gtl import provenance
    reproduce = _tool("reproduce")
    snap, figs = tmp_path / "snap", tmp_path / "figs"
    snap.mkdir(), figs.mkdir()
    name = "t_episodes.csv"
    _episodes(0.0).to_csv(snap / name, index=False)
    provenance.record([name], "02_fewshot_table.ipynb", "quick", "0", 1.0, snap)
    provenance.read(snap).assign(isa="another").to_csv(snap / provenance.FILE, index=False)

    def status(new: pd.DataFrame) -> tuple[str, str]:
        new.to_csv(figs / name, index=False)
        row = reproduce.compare(snap, figs, 0, 0).set_index("table").loc[name]
        return row.level, row.status
    assert status(_episodes(0.0)) == ("conclusions", "ok")
    assert status(_episodes(0.02, scratch=0.01)) == ("conclusions", "ok")  # within the band, same verdicts
    assert status(_episodes(0.0, scratch=0.03)) == ("conclusions", "CHANGED")  # Scratch beyond the band
    assert status(_episodes(-0.2)) == ("conclusions", "CHANGED")  # Learngene's verdict flipped
    c = reproduce.conclusions(_episodes(0.0), _episodes(-0.2))
    assert c["flipped"] == 1 and c["where"].startswith("Learngene")


def test_the_log_names_the_slowest_cells(tmp_path):
    tool = _tool("notebooks")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1\ny = 2"), nbformat.v4.new_code_cell("z")])
    nb.cells[0].metadata["papermill"] = {"duration": 120.0}
    nb.cells[1].metadata["papermill"] = {"duration": 1.0}  # seconds: not worth a line
    nbformat.write(nb, tmp_path / "n.ipynb")
    assert tool.slowest_cells(tmp_path / "n.ipynb") == "cell 0 `x = 1` 2.0 min"
