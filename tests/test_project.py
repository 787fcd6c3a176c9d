"""The project's files around the package: pins, pytest settings, the nbval sanitiser."""
from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from _helpers import PROJECT


def _requirement_pins() -> dict[str, str]:
    pins = {}
    for line in (PROJECT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"requirements.txt: {line!r} is not pinned with =="
            pins[name.strip().lower()] = version.strip()
    return pins


def _environment():
    return yaml.safe_load((PROJECT / "environment.yml").read_text())


def test_environment_pip_pins_equal_requirements():
    deps = _environment()["dependencies"]
    pip_lists = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1
    env_pins = {}
    for entry in pip_lists[0]:
        name, _, version = entry.partition("==")
        assert version, f"environment.yml: {entry!r} is not pinned with =="
        env_pins[name.strip().lower()] = version.strip()
    assert env_pins == _requirement_pins()


def test_environment_uses_python_311():
    deps = _environment()["dependencies"]
    pythons = [d for d in deps if isinstance(d, str) and re.match(r"python\b", d)]
    assert len(pythons) == 1
    assert re.fullmatch(r"python\s*=?=\s*3\.11(\.\*|\.\d+)?", pythons[0]), pythons[0]
    assert "pip" in deps


def test_requirements_cover_what_gtl_imports():
    pins = _requirement_pins()
    for needed in ("torch", "numpy", "pandas", "matplotlib", "seaborn", "pillow", "tqdm", "pyyaml", "nbval",
                   "pytest"):
        assert needed in pins, needed


def test_pyproject_declares_python_311_and_the_slow_marker():
    pyproject = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == ">=3.11,<3.12"
    options = pyproject["tool"]["pytest"]["ini_options"]
    assert any(m.startswith("slow:") for m in options["markers"])
    assert "tests/nbval_sanitize.cfg" in options["addopts"]
    assert (PROJECT / "tests" / "nbval_sanitize.cfg").exists()


@pytest.fixture(scope="module")
def sanitize():
    nbval_plugin = pytest.importorskip("nbval.plugin")
    patterns = nbval_plugin.get_sanitize_patterns((PROJECT / "tests" / "nbval_sanitize.cfg").read_text())
    assert len(patterns) >= 3
    for regex, _ in patterns:
        re.compile(regex)

    def apply(text: str) -> str:
        for regex, replace in dict(patterns).items():  # nbval keeps them in a dict, in file order
            text = re.sub(regex, replace, text)
        return text
    return apply


@pytest.mark.parametrize("raw, clean", [
    ("best learngene: /work/main/runs/mini-vgg11-quick-1a2b3c/learngene.pt", "best learngene: <PATH>"),
    ("cache in /tmp/gtlcache-tests/0422eb971f5c4782.pt, data /home/user/data",
     "cache in <PATH>, data <PATH>"),
    ("'/root/.cache/gtl'", "'<PATH>'"),
    ("generation 3 took 12.3s", "generation 3 took <TIME>"),
    ("done in 45 s", "done in <TIME>"),
    ("elapsed 0:01:23", "elapsed <TIME>"),
    ("created 2025-11-23T09:27:11", "created <DATE>"),
    ("<Figure size 750x420 with 2 Axes at 0x7f3a2b9c10d0>", "<Figure size 750x420 with 2 Axes at <ADDR>>"),
    ("Learngene: 45.20 ± 1.30% (5-way 5-shot, 600 episodes, seed 0)",
     "Learngene: 45.20 ± 1.30% (5-way 5-shot, 600 episodes, seed 0)"),
    ("parameters : 115,904 of 578,453 (20.0%)", "parameters : 115,904 of 578,453 (20.0%)"),
])
def test_nbval_sanitizer(sanitize, raw, clean):
    assert sanitize(raw) == clean


def test_readme_results_are_the_tables_the_notebooks_wrote():
    """Every number in the README's results comes from a file a run wrote (tools/update_readme.py)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("update_readme", PROJECT / "tools" / "update_readme.py")
    update_readme = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(update_readme)
    readme = (PROJECT / "README.md").read_text()
    section = readme.split(update_readme.BEGIN)[1].split(update_readme.END)[0]
    assert section.strip() == update_readme.results_section().strip(), \
        "README results differ from figures/*.md: run `python tools/update_readme.py`"
    mapping = readme.split(update_readme.MAP_BEGIN)[1].split(update_readme.MAP_END)[0]
    assert mapping.strip() == update_readme.map_section().strip(), \
        "README's paper -> notebook map differs from figures/*.csv: run `python tools/update_readme.py`"
    bench = readme.split(update_readme.BENCH_BEGIN)[1].split(update_readme.BENCH_END)[0]
    assert bench.strip() == update_readme.bench_section().strip(), \
        "README's benchmark tables differ from figures/bench_*.csv: run `python tools/update_readme.py`"


def test_every_notebook_and_output_in_the_readme_map_exists():
    import re
    readme = (PROJECT / "README.md").read_text()
    named = set(re.findall(r"`((?:notebooks|figures)/[^`]+)`", readme))
    assert {f"notebooks/{p.name}" for p in (PROJECT / "notebooks").glob("[0-9][0-9]_*.ipynb")} - {"notebooks/00_walkthrough.ipynb"} <= named
    missing = [n for n in named if "<" not in n and "*" not in n and not (PROJECT / n).exists()]
    assert not missing, f"the README names files that do not exist: {missing}"


def test_every_notebook_has_a_papermill_parameters_cell_with_the_profile():
    import nbformat
    notebooks = sorted((PROJECT / "notebooks").glob("*.ipynb"))
    assert [p.name[:3] for p in notebooks][:3] == ["00_", "01_", "02_"]
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1, path.name
        for name in ("profile", "data_root", "device", "seed"):
            assert re.search(rf"^{name}\s*=", params[0].source, re.M), f"{path.name}: no {name}"
        assert re.search(r'^profile\s*=\s*"quick"', params[0].source, re.M), path.name


def test_ci_runs_the_readme_test_command():
    assert "make test" in (PROJECT / "README.md").read_text()
    assert "make test" in (PROJECT / ".ci" / "run").read_text()


@pytest.mark.parametrize("path", sorted((PROJECT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_every_notebook_cell_is_valid_python(path):
    """Caught before a long run: a notebook that cannot even be parsed."""
    import nbformat
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            compile(cell.source, f"{path.name}[{i}]", "exec")
