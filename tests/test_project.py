"""The project's files around the package: pins, pytest settings, the nbval sanitiser."""
from __future__ import annotations

import re
import tomllib

import pandas as pd
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


def _update_readme():
    """tools/update_readme.py as a module."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("update_readme", PROJECT / "tools" / "update_readme.py")
    update_readme = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(update_readme)
    return update_readme


@pytest.fixture(scope="module")
def update_readme():
    return _update_readme()


def test_readme_results_are_the_tables_the_notebooks_wrote(update_readme):
    """Every generated block of README.md and docs/*.md (the headline table, the map, the main tables, the
    plain-words results, the time of the main job, the notebooks, the choices, the reproduce check, the worked
    example, the benchmarks) is what tools/update_readme.py makes now from the committed files."""
    stale = []
    for path, blocks in update_readme.BLOCKS.items():
        text = path.read_text()
        for begin, end, write in blocks:
            assert text.count(begin) == 1 and text.count(end) == 1, f"{path.name}: one {begin} ... {end} wanted"
            if update_readme.block(text, begin, end).strip() != write().strip():
                stale.append(f"{path.relative_to(PROJECT)}: {begin}")
    assert not stale, f"generated blocks differ from figures/ and docs/decisions.md: {stale}; run " \
                      f"`python tools/update_readme.py`"


def test_every_notebook_and_output_in_the_readme_map_exists():
    """The README's map of notebooks names every numbered notebook; every notebook and figures/ file that the
    README and docs/ name exists (what `make figures` writes to figures/executed/ is not committed)."""
    readme = (PROJECT / "README.md").read_text()
    named_in_readme = set(re.findall(r"`((?:notebooks|figures)/[^`]+)`", readme))
    assert {f"notebooks/{p.name}" for p in (PROJECT / "notebooks").glob("[0-9][0-9]_*.ipynb")} <= named_in_readme
    results = (PROJECT / "docs" / "results.md").read_text()
    assert {f"notebooks/{p.name}" for p in (PROJECT / "notebooks").glob("[0-9][0-9]_*.ipynb")} - \
        {"notebooks/00_walkthrough.ipynb", "notebooks/08_explorer.ipynb"} <= set(
        re.findall(r"`(notebooks/[^`]+)`", update_readme_block(results, "MAP")))
    made_by_a_run = ("figures/executed/",)  # written by make figures / make walkthrough, not committed
    missing = []
    for md in [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]:
        for n in set(re.findall(r"`((?:notebooks|figures)/[^`\s]+)`", md.read_text())):
            if not re.search(r"[<*{]|NN_", n) and not n.startswith(made_by_a_run) \
                    and not (PROJECT / n).exists():
                missing.append(f"{md.name}: {n}")
    assert not missing, f"the README or docs name files that do not exist: {missing}"


def update_readme_block(text: str, name: str) -> str:
    return text.split(f"<!-- {name}:BEGIN -->", 1)[1].split(f"<!-- {name}:END -->", 1)[0]


def test_the_readme_map_says_which_notebooks_make_figures_computes(update_readme):
    """The map of notebooks: one row per numbered notebook; the studies (tools/notebooks.py STUDIES) are read
    by `make figures`, the paper's own notebooks computed."""
    rows = [line for line in update_readme_block((PROJECT / "README.md").read_text(), "NOTEBOOKS").splitlines()
            if line.startswith("| `notebooks/")]
    assert len(rows) == len(list((PROJECT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    for row in rows:
        name = re.search(r"`notebooks/(\d\d_[\w-]+\.ipynb)`", row).group(1)
        assert row.rstrip(" |").endswith("computes)" if name.startswith(update_readme.STUDIES) else "computes"), row


def test_the_readme_is_a_front_page():
    """README.md is at most 12 KB, and its two commands, `make figures` (the main job) and `make test` (the
    tests), are in its first command block after the install."""
    assert len((PROJECT / "README.md").read_bytes()) <= 12_000
    readme = (PROJECT / "README.md").read_text()
    headings = re.findall(r"^## (.+)$", readme, re.MULTILINE)
    assert headings[:2] == ["Install", "Five minutes: the walkthrough"], headings
    main_job = readme.split("## The main job", 1)[1].split("\n## ", 1)[0]
    commands = main_job.split("```bash", 1)[1].split("```", 1)[0]
    assert "make figures" in commands and "make test" in commands


def test_the_main_jobs_time_is_the_one_figures_reproduce_md_says():
    """The README's time for the main job is read from figures/reproduce.md, machine line included."""
    report = (PROJECT / "figures" / "reproduce.md").read_text()
    minutes = re.search(r"recomputed from an empty cache in (\d+) minutes", report).group(1)
    machine = re.search(r"^- machine: (.+)$", report, re.MULTILINE).group(1)
    block = update_readme_block((PROJECT / "README.md").read_text(), "MAINJOB")
    assert f"**{minutes} minutes**" in block and machine in block


def test_the_choices_table_is_the_headings_of_docs_decisions(update_readme):
    """The choices table is generated from docs/decisions.md's numbered headings, so the two cannot disagree:
    the committed table is what the generator makes from decisions.md now, and it lists every heading."""
    readme = (PROJECT / "README.md").read_text()
    table = update_readme_block(readme, "CHOICES")
    assert table.strip() == update_readme.choices_section().strip(), \
        "README's choices differ from docs/decisions.md's headings: run `python tools/update_readme.py`"
    headings = re.findall(r"^#{2,4} (\d+)\. (.+?)\s*$", (PROJECT / DECISIONS).read_text(), re.MULTILINE)
    listed = re.findall(r"\*\*(\d+)\*\* (.+?)(?: · |\n|$)", table)
    assert listed == [(n, title.split(" — ")[0]) for n, title in headings]


def test_pre_cut_along_the_lineage_is_never_called_clear():
    """Pre-Cut gets no extra training along the lineage budget: a negative control, never bold or clear."""
    for md in (PROJECT / "README.md", PROJECT / "docs" / "results.md"):
        for line in re.split(r"<br>|\n", md.read_text()):
            if "Pre-Cut" in line and "lineage budget" in line and "→" in line:
                part = line[line.index("Pre-Cut"):]
                assert "negative control" in part and "**" not in part and "(clear)" not in part, line


def test_ci_runs_the_readme_test_command():
    assert "make test" in (PROJECT / "README.md").read_text()
    assert "make test" in (PROJECT / ".ci" / "run").read_text()


# ------------------------------------------- the docs a user has: nothing outside the repository

# Users get the repository, not the developers' notes beside it (../shared). Only these may point there,
# for the offline development data (../shared/data): the Makefile, CI and the tests.
OUTSIDE_REFERENCES_ALLOWED_IN = ("Makefile", ".ci/", "tests/")
DECISIONS = "docs/decisions.md"
_DECISIONS_PATH = re.compile(r"[\w./-]*decisions\.md(#[\w-]+)?")
_DECISIONS_CITED = re.compile(r"decisions\.md\s*(#\d+(?:\s*[-–,]\s*#?\d+)*)")
_DECISION_HEADING = re.compile(r"^#{2,4} (\d+)\. ", re.M)


def _github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(markdown: str) -> set[str]:
    return {_github_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", markdown, re.M)}


def _cited_numbers(citation: str) -> list[int]:
    """'#2-#8' -> 2..8; '#10, #12' -> 10, 12."""
    numbers, parts = [], re.split(r"\s*([-–,])\s*", citation)
    for i in range(0, len(parts), 2):
        n = int(parts[i].lstrip("#"))
        if i >= 2 and parts[i - 1] in "-–":
            numbers += range(numbers[-1] + 1, n + 1)
        else:
            numbers.append(n)
    return numbers


def outside_references(rel: str, text: str, numbers: set[int], anchors: set[str]) -> list[str]:
    """Problems in the file ``rel`` (relative to the project) with ``text``: references to files outside
    the repository, ``decisions.md`` references that do not resolve to docs/decisions.md (from the project
    root or from the file's own folder), and cited decisions (``decisions.md #N``, ``#N-#M``, ``#N, #M``)
    or anchors that docs/decisions.md does not have."""
    problems = []
    target = (PROJECT / DECISIONS).resolve()
    for lineno, line in enumerate(text.splitlines(), 1):
        where = f"{rel} (cell text, line {lineno})" if rel.endswith(".ipynb") else f"{rel}:{lineno}"
        if "shared/docs" in line or "paper-notes" in line:
            problems.append(f"{where}: points at developer notes outside the repository: {line.strip()}")
        for m in re.finditer(r"\.\./shared\b(/[\w.-]*)?", line):
            if not (m.group(1) or "").startswith("/data"):
                problems.append(f"{where}: points outside the repository ({m.group(0)}): {line.strip()}")
        for m in _DECISIONS_PATH.finditer(line):
            path = m.group(0)[: len(m.group(0)) - len(m.group(1) or "")]
            if not any((base / path).resolve() == target for base in (PROJECT, (PROJECT / rel).parent)):
                problems.append(f"{where}: '{path}' is not {DECISIONS}: cite it as `{DECISIONS} #N`")
            if m.group(1) and m.group(1)[1:] not in anchors:
                problems.append(f"{where}: {DECISIONS} has no section {m.group(1)}")
        for m in _DECISIONS_CITED.finditer(line):
            missing = [n for n in _cited_numbers(m.group(1)) if n not in numbers]
            if missing:
                problems.append(f"{where}: cites decision(s) {missing}, which {DECISIONS} does not number")
        if rel == DECISIONS:  # its own cross-references, "(#5)"
            missing = [int(n) for n in re.findall(r"(?<![\w#&])#(\d+)\b", line) if int(n) not in numbers]
            if missing:
                problems.append(f"{where}: refers to decision(s) {missing}, which it does not number")
    return problems


def _project_text_files() -> dict[str, str]:
    """Every file a user gets (tracked, or new and not ignored by git), as text; binary files are left
    out, and a notebook is read as its cells' sources and text outputs."""
    import json
    import shutil
    import subprocess
    if shutil.which("git") is None or not (PROJECT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=PROJECT, capture_output=True, check=True).stdout.decode().split("\0")
    files = {}
    for rel in sorted(set(filter(None, listed))):
        path = PROJECT / rel
        if not path.is_file():  # deleted in the working tree
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if rel.endswith(".ipynb"):
            cells = json.loads(text)["cells"]
            text = "\n".join("".join(c.get("source", "")) for c in cells) + "\n" + "\n".join(
                "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                for c in cells for o in c.get("outputs", []))
        files[rel] = text
    return files


def _decisions() -> tuple[set[int], set[str]]:
    text = (PROJECT / DECISIONS).read_text()
    return {int(n) for n in _DECISION_HEADING.findall(text)}, _anchors(text)


def test_decisions_are_numbered_once_from_1():
    numbers = [int(n) for n in _DECISION_HEADING.findall((PROJECT / DECISIONS).read_text())]
    assert numbers == list(range(1, len(numbers) + 1)), numbers
    assert len(numbers) >= 12  # code and notebooks cite 1-12


@pytest.mark.parametrize("rel, line, broken", [
    ("README.md", "see `shared/docs/decisions.md`", True),
    ("README.md", "see shared/docs/paper-notes.md", True),
    ("gtl/x.py", "mutation (decisions.md #7)", True),
    ("gtl/x.py", "mutation (docs/decisions.md #7)", False),
    ("gtl/x.py", "mutation (docs/decisions.md #99)", True),
    ("gtl/x.py", "one generation (docs/decisions.md #2-#8)", False),
    ("gtl/x.py", "one generation (docs/decisions.md #2-#99)", True),
    ("notebooks/x.py", "the protocol (docs/decisions.md #10, #12)", False),
    ("docs/speed.md", "[the choices](decisions.md#7-mutation)", False),
    ("docs/speed.md", "[the choices](decisions.md#no-such-section)", True),
    ("README.md", "[the choices](decisions.md)", True),
    ("README.md", "else from `../shared/data` when it exists", False),
    ("README.md", "see ../shared/README.md", True),
])
def test_outside_references_are_caught(rel, line, broken):
    numbers, anchors = _decisions()
    assert bool(outside_references(rel, line, numbers, anchors)) == broken


def test_docs_refer_to_nothing_outside_the_repository():
    """What users read (README, docs/, gtl/, notebooks/, tools/, ...) cites docs/decisions.md, never the
    developers' ../shared notes, and every decision it cites exists. Allowed: OUTSIDE_REFERENCES_ALLOWED_IN."""
    numbers, anchors = _decisions()
    problems = []
    for rel, text in _project_text_files().items():
        if not rel.startswith(OUTSIDE_REFERENCES_ALLOWED_IN):
            problems += outside_references(rel, text, numbers, anchors)
    assert not problems, "\n".join(problems)


def test_markdown_links_resolve():
    """Relative links in README.md and docs/*.md point at files (and headings) that exist."""
    problems = []
    for md in [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]:
        text = md.read_text()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            file = (md.parent / path).resolve() if path else md
            if not file.exists():
                problems.append(f"{md.name}: link to missing {target}")
            elif anchor and file.suffix == ".md" and anchor not in _anchors(file.read_text()):
                problems.append(f"{md.name}: link to missing heading {target}")
    assert not problems, "\n".join(problems)


def _paired_verdict(gap, quantile: float) -> str:
    """'mean ± half' of ``gap`` with half = quantile·sd/√n, bold when the interval excludes 0 (no gtl.stats)."""
    import numpy as np
    mean, half = gap.mean(), quantile * gap.std(ddof=1) / np.sqrt(len(gap))
    verdict = f"{mean:+z.1f} ± {half:.1f}"
    return f"**{verdict}**" if abs(mean) > half else verdict


def test_the_readme_verdict_on_the_main_claim_is_recomputed_from_the_stored_episodes(update_readme):
    """The README's headline, Learngene − Scratch, recomputed here without gtl.stats: once the README shows the
    table over seeds, every row of it from notebook 15's stored episodes (per seed the mean paired difference,
    then mean ± 95% t over seeds, and the between-run SD), else 'miniImageNet, 5-way 5-shot' as the paired
    difference of notebook 02's per-episode accuracies (95% normal interval). docs/results.md's line
    'Learngene − Scratch, miniImageNet ... 5-shot' is notebook 02's."""
    from scipy.stats import t

    from gtl.profiles import numbers
    from gtl.provenance import presets_isolation
    df = pd.read_csv(PROJECT / "figures" / "table_fewshot_quick_miniimagenet_episodes.csv")
    five = df[df.setting == "5-way 5-shot"].pivot(index="episode", columns="method", values="accuracy")
    gap = 100 * (five["Learngene"] - five["Scratch"]).to_numpy()
    one_run = _paired_verdict(gap, 1.96)
    rows = {line.split("|")[1].strip(): line.split("|")[2].strip()
            for line in (PROJECT / "README.md").read_text().splitlines()
            if line.startswith(("| miniImageNet, 5-way", "| CIFAR-FS, 5-way"))}
    assert len(rows) == 4, f"the README's headline has rows {sorted(rows)}"
    if "(SD " not in rows["miniImageNet, 5-way 5-shot"]:  # the one-run table
        assert rows["miniImageNet, 5-way 5-shot"] == one_run, f"README says {rows}, the episodes say {one_run!r}"
    else:
        runs = pd.read_csv(PROJECT / "figures" / "why_headline_quick_episodes.csv")
        seeds = numbers(update_readme.PROFILE).headline_seeds
        runs = runs[(runs.isolation == presets_isolation()) & runs.seed.isin(seeds)]
        labels = update_readme.DATASETS  # the README's name of each dataset
        for (dataset, setting), part in runs.groupby(["dataset", "setting"]):
            per_seed = part.pivot_table(index=["seed", "episode"], columns="method", values="accuracy")
            seed_gaps = 100 * (per_seed["Learngene"] - per_seed["Scratch"]).groupby("seed").mean().to_numpy()
            assert len(seed_gaps) == len(seeds), f"{dataset} {setting}: {len(seed_gaps)} seeds"
            expected = (f"{_paired_verdict(seed_gaps, t.ppf(0.975, len(seed_gaps) - 1))} "
                        f"(SD {seed_gaps.std(ddof=1):.1f})")
            label = f"{labels[dataset]}, {setting}"
            assert rows.pop(label) == expected, f"README's {label!r}: the stored episodes say {expected!r}"
        assert not rows, f"README rows without stored episodes: {rows}"
    line = next(line for line in (PROJECT / "docs" / "results.md").read_text().splitlines()
                if line.startswith("- **Learngene − Scratch, miniImageNet**"))
    assert f"5-shot {one_run}" in line, f"docs/results.md says {line!r}, the stored episodes say {one_run!r}"
    assert len(gap) == 60  # the quick profile's episodes, every method on the same ones


def test_make_walkthrough_writes_its_figures_beside_its_executed_copy_not_over_the_committed_ones():
    """A newcomer's first command leaves the checkout clean: the figures folder is tracked."""
    makefile = (PROJECT / "Makefile").read_text()
    recipe = makefile.split("\nwalkthrough:", 1)[1].split("\n\n", 1)[0]
    assert "GTL_FIGURES=$(CURDIR)/figures/executed/" in recipe
    assert "figures/executed/" in (PROJECT / ".gitignore").read_text()


def test_the_headline_is_over_seeds_once_every_seed_of_both_datasets_is_committed(update_readme, tmp_path,
                                                                                    monkeypatch):
    """Until every headline seed is in notebook 15's table the README keeps the one-run table and says which
    seeds are done; then its first result is the table over seeds, each cell mean ± 95% t interval with the SD."""
    from gtl.profiles import numbers
    seeds = numbers(update_readme.PROFILE).headline_seeds
    offset = {"Scratch": lambda s: 0, "Learngene": lambda s: 0.001 * (s - 1), "Pre-Cut": lambda s: 0.02,
              "Pre-Fin": lambda s: 0.1}
    rows = [{"dataset": ds, "setting": f"5-way {k}-shot", "seed": s, "episode": e, "method": m,
             "accuracy": 0.4 + 0.01 * e + offset[m](s)}
            for ds in update_readme.DATASETS for k in (1, 5) for s in seeds for e in range(3)
            for m in ("Scratch", "Learngene", "Pre-Cut", "Pre-Fin")]
    from gtl.evolution import GTLConfig
    from gtl.protocol import isolation_of
    table = pd.DataFrame(rows).assign(isolation=isolation_of(GTLConfig.quick()))
    for name in ("table_fewshot_quick_miniimagenet_episodes.csv", "table_fewshot_quick_cifar-fs_episodes.csv"):
        (tmp_path / name).write_bytes((update_readme.FIG / name).read_bytes())
    monkeypatch.setattr(update_readme, "FIG", tmp_path)
    table[table.seed != seeds[-1]].to_csv(tmp_path / "why_headline_quick_episodes.csv", index=False)
    partial = update_readme.summary_section()
    assert "one run" in partial and f"seeds done: CIFAR-FS {', '.join(map(str, seeds[:-1]))}" in partial
    table.to_csv(tmp_path / "why_headline_quick_episodes.csv", index=False)
    full = update_readme.summary_section()
    assert f"mean over {len(seeds)} seeds" in full and "one run" not in full
    assert "| miniImageNet, 5-way 5-shot | +0.1 ± 0.2 (SD 0.2) | **+2.0 ± 0.0** (SD 0.0) |" in full
    table.assign(isolation="another").to_csv(tmp_path / "why_headline_quick_episodes.csv", index=False)
    assert "one run" in update_readme.summary_section()  # made under another isolation than the presets': not used
