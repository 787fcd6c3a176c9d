"""Where committed tables came from (gtl.provenance), and study notebooks that read them (gtl.plots)."""
from __future__ import annotations

import pandas as pd
import pytest

from gtl import provenance
from gtl.plots import computes_studies, save_table, study_episodes


def test_record_replaces_the_rows_of_the_tables_it_names(tmp_path):
    provenance.record(["a.csv", "b.csv"], "01_x.ipynb", "quick", "0", 1.25, tmp_path)
    provenance.record(["b.csv"], "02_y.ipynb", "quick", "1", 3.0, tmp_path)
    rows = provenance.read(tmp_path).set_index("table")
    assert list(rows.index) == ["a.csv", "b.csv"] and list(rows.columns) == list(provenance.COLUMNS[1:])
    assert rows.loc["a.csv", "notebook"] == "01_x.ipynb" and rows.loc["a.csv", "wall_min"] == "1.2"
    assert rows.loc["b.csv", "notebook"] == "02_y.ipynb" and rows.loc["b.csv", "seeds"] == "1"
    assert rows.loc["b.csv", "cpu"] == provenance.cpu_type()["cpu"]
    assert provenance.same_cpu_type("b.csv", tmp_path) and not provenance.same_cpu_type("c.csv", tmp_path)
    text = provenance.describe("b.csv", tmp_path)
    assert "02_y.ipynb" in text and "seed(s) 1" in text and "3.0 min" in text
    assert provenance.describe("c.csv", tmp_path) == "c.csv: no provenance recorded"


def test_a_table_says_which_presets_isolation_made_it_and_a_reader_is_told_when_the_presets_changed(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GTL_FIGURES", str(tmp_path))
    monkeypatch.delenv("GTL_STUDIES", raising=False)
    now = provenance.presets_isolation()
    other = next(name for name in ("open", "cut at birth") if name != now)
    pd.DataFrame({"method": ["A"], "episode": [0], "accuracy": [0.5]}).to_csv(tmp_path / "s_episodes.csv")
    provenance.record(["s_episodes.csv"], "01_x.ipynb", "quick", "0", 1.0, tmp_path)
    provenance.record(["t.csv"], "15_why.ipynb", "quick", "0", 1.0, tmp_path, isolation="")
    assert provenance.read(tmp_path).set_index("table").isolation.to_dict() == {"s_episodes.csv": now, "t.csv": ""}
    assert f"presets' isolation {now}" in provenance.describe("s_episodes.csv", tmp_path)
    assert provenance.made_under_other_presets("s_episodes.csv", tmp_path) == ""
    assert provenance.made_under_other_presets("t.csv", tmp_path) == ""  # a study that sets its own
    provenance.read(tmp_path).assign(isolation=other).to_csv(tmp_path / provenance.FILE, index=False)
    assert f"then, {other}; the presets now use {now}" in provenance.made_under_other_presets("s_episodes.csv",
                                                                                             tmp_path)
    study_episodes("s", "quick", lambda: pytest.fail("computed"))
    assert "note: s_episodes.csv was made under" in capsys.readouterr().out
    study_episodes("s", "quick", lambda: pytest.fail("computed"), own_isolation=True)
    assert "note:" not in capsys.readouterr().out


def test_a_provenance_file_without_the_isolation_column_reads_with_it_empty(tmp_path):
    pd.DataFrame([{"table": "a.csv", "commit": "abc"}]).to_csv(tmp_path / provenance.FILE, index=False)
    rows = provenance.read(tmp_path)
    assert list(rows.columns) == list(provenance.COLUMNS) and rows.isolation.tolist() == [""]


def test_another_cpu_type_is_not_the_same(tmp_path):
    provenance.record(["a.csv"], "01_x.ipynb", "quick", "0", 1.0, tmp_path)
    rows = provenance.read(tmp_path).assign(isa="none of them")
    rows.to_csv(tmp_path / provenance.FILE, index=False)
    assert not provenance.same_cpu_type("a.csv", tmp_path)


def test_tables_written_are_listed_for_the_runner(tmp_path, monkeypatch):
    log = tmp_path / "written"
    monkeypatch.setenv(provenance.WRITTEN_ENV, str(log))
    monkeypatch.setenv("GTL_FIGURES", str(tmp_path / "figures"))
    save_table(pd.DataFrame({"x": [1]}), "t1")
    save_table(pd.DataFrame({"x": [2]}), "t1")
    assert provenance.written(log) == ["t1.csv"]


def test_tables_computed_from_a_table_only_read_keep_its_provenance(tmp_path, monkeypatch):
    log = tmp_path / "written"
    monkeypatch.setenv(provenance.WRITTEN_ENV, str(log))
    monkeypatch.setenv("GTL_FIGURES", str(tmp_path / "figures"))
    monkeypatch.delenv("GTL_STUDIES", raising=False)
    study_episodes("s", "smoke", lambda: pd.DataFrame({"method": ["A"], "episode": [0], "accuracy": [0.5]}))
    save_table(pd.DataFrame({"x": [1]}), "s")
    assert provenance.written(log) == ["s.csv", "s_episodes.csv"]  # computed here
    log.unlink()
    study_episodes("s", "quick", lambda: pytest.fail("computed"))
    save_table(pd.DataFrame({"x": [1]}), "s")  # derived from the table read: not this run's
    save_table(pd.DataFrame({"x": [1]}), "other")
    assert provenance.written(log) == ["other.csv"]


def test_studies_compute_in_smoke_and_paper_and_under_make_studies(monkeypatch):
    monkeypatch.delenv("GTL_STUDIES", raising=False)
    assert computes_studies("smoke") and computes_studies("paper") and not computes_studies("quick")
    monkeypatch.setenv("GTL_STUDIES", "compute")
    assert computes_studies("quick")


def test_a_study_reads_its_committed_table_or_says_what_computes_it(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GTL_STUDIES", raising=False)
    monkeypatch.setenv("GTL_FIGURES", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="make studies"):
        study_episodes("s", "quick", lambda: pytest.fail("computed"))
    table = pd.DataFrame({"method": ["A"], "episode": [0], "accuracy": [0.5], "value": [3]})
    computed = study_episodes("s", "smoke", lambda: table)
    read = study_episodes("s", "quick", lambda: pytest.fail("computed"))
    assert "no provenance recorded" in capsys.readouterr().out
    pd.testing.assert_frame_equal(computed, read)  # derived tables agree whether computed or read
