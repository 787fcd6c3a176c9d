"""Write the generated blocks of README.md and docs/*.md from committed files.

Each block sits between ``<!-- NAME:BEGIN -->`` and ``<!-- NAME:END -->``; everything outside the
markers is written by hand. Every number in a block is read from a file a run wrote (``figures/``)
or computed here from one; every sentence that turns numbers into words comes from :mod:`gtl.report`.

- README.md: MAINJOB (the time of the main job, from ``figures/reproduce.md``), SUMMARY (the
  headline table, from the per-episode CSVs), NOTEBOOKS (the notebooks' titles, and whether
  ``make figures`` computes or reads them: ``tools/notebooks.py``), CHOICES (the headings of
  ``docs/decisions.md``).
- docs/results.md: HEADLINE (the results in plain words), MAP (paper item -> notebook -> output, with
  our numbers), RESULTS (the main tables, verbatim), REPRODUCE (the last ``make reproduce``).
- docs/usage.md: FOLDER (the worked example on class folders).
- docs/speed.md: BENCH (the benchmarks).
"""
import importlib.util
import re
from pathlib import Path

import pandas as pd

from gtl import provenance
from gtl.report import (
    PAPER_CLAIMS,
    answer,
    paired_text,
    points,
    sensitivity_summary,
    size_summary,
    verdict,
    verdict_cells,
    verdicts,
)
from gtl.stats import PAIRED, by_episode, clear_difference, mean_ci95, paired_difference
from gtl.why import HEADLINE_DATASETS

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str):
    """``tools/<name>.py`` as a module (under a name of its own: ``notebooks`` is also a folder here)."""
    spec = importlib.util.spec_from_file_location(f"gtl_tools_{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


STUDIES = _tool("notebooks").STUDIES  # the notebooks whose tables `make figures` reads (`make studies` computes)

FIG = ROOT / "figures"
README = ROOT / "README.md"
RESULTS = ROOT / "docs" / "results.md"  # the long results
USAGE = ROOT / "docs" / "usage.md"  # the worked example on class folders
SPEED = ROOT / "docs" / "speed.md"  # the benchmark tables
DECISIONS = ROOT / "docs/decisions.md"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:BEGIN -->", f"<!-- {name}:END -->"


BEGIN, END = markers("RESULTS")
MAP_BEGIN, MAP_END = markers("MAP")
BENCH_BEGIN, BENCH_END = markers("BENCH")
REPRODUCE_BEGIN, REPRODUCE_END = markers("REPRODUCE")
HEADLINE_BEGIN, HEADLINE_END = markers("HEADLINE")
FOLDER_BEGIN, FOLDER_END = markers("FOLDER")
MAINJOB_BEGIN, MAINJOB_END = markers("MAINJOB")
SUMMARY_BEGIN, SUMMARY_END = markers("SUMMARY")
NOTEBOOKS_BEGIN, NOTEBOOKS_END = markers("NOTEBOOKS")
CHOICES_BEGIN, CHOICES_END = markers("CHOICES")
WHY_BEGIN, WHY_END = markers("WHY")

PROFILE, DATASET = "quick", "miniimagenet"
TAG = f"{PROFILE}_{DATASET}"
LABELS = {"miniimagenet": "miniImageNet", "cifar-fs": "CIFAR-FS"}
DATASETS = {ds: LABELS[ds] for ds in HEADLINE_DATASETS}  # the headline's datasets (notebooks 02 and 15), named

TABLES = [
    ("Strong learning ability on novel classes, miniImageNet (`notebooks/02_fewshot_table.ipynb`)",
     f"figures/table_fewshot_{PROFILE}_miniimagenet.md"),
    ("Strong learning ability on novel classes, CIFAR-FS (`notebooks/02_fewshot_table.ipynb`)",
     f"figures/table_fewshot_{PROFILE}_cifar-fs.md"),
    ("Figure 4 per generation: population accuracy on validation-class episodes and learngene size "
     "(`notebooks/01_fig4_evolution.ipynb`)", f"figures/fig4_evolution_{TAG}.md"),
]


# ------------------------------------------------------------------ reading the stored episodes

def _episodes(name: str, **where) -> pd.DataFrame:
    """``figures/<name>_episodes.csv``, the rows where every ``where`` column has its value."""
    df = pd.read_csv(FIG / f"{name}_episodes.csv")
    for column, value in where.items():
        df = df[df[column] == value]
    return df


def _diff(name: str, a: str, b: str = "Scratch", **where) -> str:
    """``a − b`` paired on the episodes of ``name`` (:func:`gtl.report.paired_text`: bold when clear)."""
    acc = by_episode(_episodes(name, **where))
    return paired_text(*paired_difference(acc[a], acc[b]), clear_difference(acc[a], acc[b]))


def _versus(name: str, by: str | list[str], a: str = "Learngene", b: str = "Scratch") -> str:
    """:func:`gtl.report.verdicts` of ``a`` against ``b`` for every group of ``by`` in ``name``'s episodes."""
    return " ".join(verdicts(_episodes(name), by, (b,), a))


def _provenance(table: str) -> str:
    """Where a committed table came from (:func:`gtl.provenance.describe` of ``figures/provenance.csv``)."""
    return provenance.describe(table, FIG)


# ------------------------------------------------------------------ the map's and headline's parts

def _fig4_fresh() -> str:
    fresh = _episodes(f"fig4_fresh_validation_{TAG}")
    df = pd.read_csv(FIG / f"fig4_evolution_{TAG}.csv")
    best = int(df.generation[df.fitness_max.idxmax()])
    acc = by_episode(fresh, "generation")  # generation -1: Scratch
    last = max(acc)
    better = clear_difference(acc[last], acc[0]) and paired_difference(acc[last], acc[0])[0] > 0
    return (f"{verdict(acc[best], acc[-1], f'the best learngene (generation {best})', 'Scratch')} The generations' "
            f"winners {'improve clearly' if better else 'do not clearly improve'} there: "
            f"{verdict(acc[last], acc[0], f'winner {last}', 'winner 0')}")


def _fig4() -> str:
    df = pd.read_csv(FIG / f"fig4_evolution_{TAG}.csv")
    first, last = df.iloc[0], df.iloc[-1]
    return (f"population accuracy on the critics' episodes (fitted by selection) {100 * first.accuracy_mean:.1f}% → "
            f"{100 * last.accuracy_mean:.1f}% over {len(df)} generations; learngene "
            f"{100 * first.learngene_fraction_mean:.1f}% → {100 * last.learngene_fraction_mean:.1f}% of the "
            f"parameters. On fresh validation episodes: {_fig4_fresh()}")


def _fewshot(ds: str) -> str:
    name = f"table_fewshot_{PROFILE}_{ds}"
    df = pd.read_csv(FIG / f"{name}.csv")
    lg = df[df.method == "Learngene"].iloc[0]
    return (f"with {lg['share of params (%)']:.1f}% of the parameters: {_versus(name, 'setting')} "
            f"{_versus(name, 'setting', 'Pre-Cut')}")


def _ablations() -> str:
    df = pd.read_csv(FIG / f"table_ablations_{TAG}.csv").fillna("")
    return "; ".join(f"{r.variant} {r['accuracy (%)']:.1f} ± {r['95% CI (±)']:.1f}"
                     + (f" ({r[PAIRED]} vs Scratch, paired)" if r[PAIRED] else "") for _, r in df.iterrows())


def _sizes() -> str:
    episodes = _episodes(f"table_learngene_size_{TAG}")
    return " ".join(size_summary(episodes[episodes.score == "finetune"]))


def _sensitivity() -> str:
    return " ".join(sensitivity_summary(_episodes(f"table_ga_sensitivity_{TAG}")))


def _shares() -> str:
    """The learngene's and Pre-Cut's share of Pre-Fin's gain, where Pre-Fin's own gain is clear (else the
    ratio means nothing, and the line says so)."""
    df = pd.read_csv(FIG / f"table_gain_shares_{PROFILE}.csv")
    df = df[(df.dataset == DATASET) & df.method.isin(["Learngene", "Pre-Cut"])]
    parts = []
    for r in df[["method", "setting", "share of Pre-Fin's gain (%)", "95% CI low", "95% CI high"]].itertuples(
            index=False):
        label = f"{r.method} {r.setting.replace('5-way ', '')}"
        parts.append(f"{label}: {r[2]:.0f}% [{r[3]:.0f}, {r[4]:.0f}]" if not pd.isna(r[2])
                     else f"{label}: undefined (Pre-Fin's own gain is not clear)")
    return "; ".join(parts)


def _selection() -> str:
    df = pd.read_csv(FIG / f"table_selection_{TAG}.csv")
    return "; ".join(f"generation {int(r.generation)}: rho {r.rho:+.2f} [{r.rho_low:+.2f}, {r.rho_high:+.2f}] over "
                     f"{int(r.members)} members" for r in df.itertuples())


def _choice() -> pd.Series:
    return pd.read_csv(FIG / f"protocol_choice_{TAG}.csv").set_index("value").chosen


def _protocol() -> str:
    choice = _choice()
    iso = pd.read_csv(FIG / f"protocol_isolation_{TAG}.csv")
    gaps = "; ".join(f"{r[0]} {points(r[1], r[2])}" for r in iso[["isolation", "gap (points)", "95% CI (±)"]]
                     .itertuples(index=False))
    return (f"Learngene − Scratch gap on fresh validation episodes, averaged over 5–50 fine-tuning steps: {gaps}; "
            f"chosen: isolation **{choice['isolation']}**, question notebooks fine-tune "
            f"**{choice['question finetune steps']}** steps")


def _budget_lines() -> list[str]:
    """Notebook 13's answer over the quick budgets (:func:`gtl.report.answer`: Pre-Cut along the lineage is a
    negative control, never called clear)."""
    return answer(_episodes(f"budget_lineage_{TAG}"), _episodes(f"budget_pretraining_{TAG}"))


def _budget_long_lines() -> list[str]:
    """Notebook 14's answer: from the quick profile's own lineage to the long one."""
    if not (FIG / f"budget_long_lineage_{TAG}_episodes.csv").exists():
        return ["not run yet (`make budget-long`)"]
    own = _episodes(f"budget_lineage_{TAG}")  # notebook 13's budgets, the profile's own lineage the largest
    lineage = pd.concat([own, _episodes(f"budget_long_lineage_{TAG}")])
    return answer(lineage[lineage.lineage_steps >= own.lineage_steps.max()])


# ------------------------------------------------------------------ README.md

def _reproduce_lines() -> list[str]:
    return (FIG / "reproduce.md").read_text().splitlines()


def _log_minutes() -> dict[str, float]:
    """Each notebook's minutes in the last ``make reproduce`` (``figures/reproduce_log.txt``)."""
    log = FIG / "reproduce_log.txt"
    if not log.exists():
        return {}
    return {m[1]: float(m[2]) for m in re.finditer(r"^\s+(\d\d_[\w-]+\.ipynb): ([\d.]+) min\b", log.read_text(),
                                                  re.MULTILINE)}


def _studies_computed() -> list[str]:
    """The studies' per-episode tables (their notebook in ``STUDIES``, by ``figures/provenance.csv``) that the
    last ``make reproduce`` wrote again, i.e. computed (``figures/reproduce.csv``); the tables a study derives
    from them are written again whether it computed or read them."""
    csv = FIG / "reproduce.csv"
    if not csv.exists():
        return []
    rows = provenance.read(FIG)
    studies = set(rows[rows.notebook.str.startswith(STUDIES)].table)
    report = pd.read_csv(csv)
    computed = report.table.isin(studies) & report.table.str.endswith("_episodes.csv")
    return sorted(report[computed & report.status.isin(["ok", "DRIFT"])].table)


def main_job_section() -> str:
    """How long the main job took, from the last ``make reproduce`` (``figures/reproduce.md``): what that file
    says, with its machine line, and whether that run computed the studies too."""
    if not (FIG / "reproduce.md").exists():
        return "The time of `make figures` from an empty cache has not been measured yet (`make reproduce`).\n"
    lines = _reproduce_lines()
    date = re.search(r"last run (\S+)", lines[0])
    timing = next((line for line in lines if "recomputed from an empty cache in" in line), None)
    machine = next((line[len("- machine: "):] for line in lines if line.startswith("- machine: ")), "not recorded")
    if timing is None:
        return "The last `make reproduce` compared tables only; it did not time a rerun (`figures/reproduce.md`).\n"
    minutes = re.search(r"in (\d+) minutes", timing).group(1)
    when = date.group(1) if date else "an unrecorded date"
    text = (f"**How long.** From an empty cache, `make reproduce` (it runs what `make figures` runs, then compares "
            f"every table with the committed one) took **{minutes} minutes** on {when} "
            f"(machine: {machine}). Each notebook's time is in `figures/reproduce_log.txt`.")
    computed = _studies_computed()
    if computed:
        times = _log_minutes()
        studies = sum(v for k, v in times.items() if k.startswith(STUDIES))
        text += (f" That run still computed the studies (notebooks {STUDIES[0][:2]}–{STUDIES[-1][:2]}), which "
                 f"`make figures` now reads instead: they took {studies:.0f} of its {sum(times.values()):.0f} "
                 f"notebook-minutes, with two notebooks running at once.")
    else:
        times = sorted(_log_minutes().items(), key=lambda kv: -kv[1])
        spent = ", ".join(f"{name[:2]} {m:.1f}" for name, m in times if m >= 1)
        text += (f" The notebooks' minutes, two running at once: {spent} ({sum(m for _, m in times):.0f} in all); "
                 f"the log names each one's slowest cells. "
                 + (f"The target of {TARGET_MINUTES} minutes is not met on this machine."
                    if int(minutes) > TARGET_MINUTES else f"Within the target of {TARGET_MINUTES} minutes."))
    return text + "\n"


TARGET_MINUTES = 30  # the main job's time budget on 2 cores (the project's issue tracker)


# The last `make reproduce` that recomputed the studies too, on another CPU type than the one that made them:
# where the drift of notebook 12's gaps was measured, should a later report no longer compare them.
DRIFT_MEASURED_AT = "4db62b3"


def _committed(rel: str, commit: str | None) -> str | None:
    """The text of ``rel`` (relative to the project) in the working tree (``commit`` None) or at ``commit``
    (``git show``); None where there is none (no such file, or not a git checkout)."""
    import subprocess
    if commit is None:
        path = ROOT / rel
        return path.read_text() if path.exists() else None
    try:
        return subprocess.run(["git", "show", f"{commit}:{rel}"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def _cpu_drift() -> str:
    """How far another CPU type moved one of notebook 12's paired gaps, against that gap's own 95% CI:
    ``figures/reproduce.csv`` against the table it compared, from the last ``make reproduce`` or, where that
    did not compare them, from the one at :data:`DRIFT_MEASURED_AT`; "" where neither did."""
    import io
    table = f"protocol_isolation_{TAG}.csv"
    for commit in (None, DRIFT_MEASURED_AT):
        csv, md, committed = (_committed(f"figures/{name}", commit) for name in ("reproduce.csv", "reproduce.md",
                                                                                    table))
        if csv is None or md is None or committed is None:
            continue
        report = pd.read_csv(io.StringIO(csv))
        row = report[(report.table == table) & (report.status == "DRIFT")]
        if row.empty or not isinstance(row.largest_at.iloc[0], str) or ", row " not in row.largest_at.iloc[0]:
            continue
        column, _, at = row.largest_at.iloc[0].rpartition(", row ")
        before = pd.read_csv(io.StringIO(committed))
        columns = list(before.columns)
        after = columns[columns.index(column) + 1:] if column in columns else []
        ci = next((c for c in after if "95% CI" in c), None)
        if ci is None:
            continue
        r = before.iloc[int(at)]
        machine = next((line.split(", ")[2].split(";")[0] for line in md.splitlines()
                        if line.startswith("- machine: ")), "another CPU")
        date = re.search(r"last run (\S+)", md.splitlines()[0])
        same = committed == _committed(f"figures/{table}", None)
        made = provenance.read(FIG).set_index("table").cpu.get(table) if same else None
        return (f"a `make reproduce` of {date.group(1) if date else 'an unrecorded date'} ({machine}"
                + (f"; the committed table: {made}" if made else "")
                + (f", `figures/reproduce.csv` at commit {commit}" if commit else "")
                + f") moved the paired gap of notebook 12's `{table}` in column \"{column}\", row *{r.isolation}*, by "
                  f"{row.max_drift.iloc[0]:.1f} points, against its 95% CI of ±{r[ci]:.1f}")
    return ""


HEADLINE_HEADER = ("| test classes, after fine-tuning | Learngene − Scratch | Pre-Cut − Scratch | Pre-Fin − Scratch "
                   "| the paper: Learngene − Scratch |", "|---|---|---|---|---|")


def summary_section() -> str:
    """The headline table: Learngene, Pre-Cut and Pre-Fin against Scratch after fine-tuning on the test
    classes, beside the paper's claim: over the seeds of notebook 15's headline once every seed is committed,
    until then paired on the same episodes of one run."""
    from gtl.profiles import numbers
    from gtl.why import study_table
    seeds, path = numbers(PROFILE).headline_seeds, FIG / study_table("headline", PROFILE)
    over_seeds, isolation = (pd.read_csv(path) if path.exists() else None), provenance.presets_isolation()
    if over_seeds is not None:  # only what was made under the presets' isolation (decision #20 recomputes it)
        over_seeds = over_seeds[over_seeds.isolation == isolation]
    if over_seeds is not None and all(set(seeds) <= set(over_seeds[over_seeds.dataset == ds].seed) for ds in DATASETS):
        return _seed_summary(over_seeds[over_seeds.seed.isin(seeds)], path.name, isolation)
    done = ("none" if over_seeds is None else
            "; ".join(f"{DATASETS[ds]} {', '.join(map(str, sorted(g.seed.unique())))}"
                      for ds, g in over_seeds.groupby("dataset")))
    lines, sources = list(HEADLINE_HEADER), []
    for ds, label in DATASETS.items():
        name = f"table_fewshot_{PROFILE}_{ds}"
        claim = PAPER_CLAIMS["improvement_over_scratch"][ds]
        for k in (1, 5):
            setting = f"5-way {k}-shot"
            lines.append(f"| {label}, {setting} | " + " | ".join(_diff(name, m, setting=setting) for m in
                                                                  ("Learngene", "Pre-Cut", "Pre-Fin"))
                         + f" | +{claim:g} |")
        sources.append(f"{name}_episodes.csv")
    episodes = _episodes(f"table_fewshot_{PROFILE}_{DATASET}")
    drift = _cpu_drift()
    lines += ["", f"Differences in points, each **paired** over the same {episodes.episode.nunique()} test episodes "
              f"(novel classes) of **one run** (seed {', '.join(map(str, sorted(episodes.seed.unique())))}, "
              f"{PROFILE} profile): mean ± 95% CI, **bold** when the CI excludes 0. The paper's numbers are its "
              f"abstract's.",
              "The interval counts the episodes of one run, not runs, so it leaves out what another seed or another "
              "CPU type moves" + (f": {drift}." if drift else ".") + f" The same over {len(seeds)} seeds (runs), "
              f"notebook 15: seeds done: {done}.",
              f"Where the tables came from (`figures/provenance.csv`): {_sources(sources)}."]
    return "\n".join(lines) + "\n"


def _seed_summary(episodes: pd.DataFrame, table: str, isolation: str) -> str:
    """:func:`summary_section` over seeds: each gap's mean over seeds ± its 95% t interval over seeds (``episodes``
    made under the presets' ``isolation``)."""
    from gtl.why import headline_summary
    summary = headline_summary(episodes).set_index(["dataset", "setting", "method"])
    lines = list(HEADLINE_HEADER)
    for ds, label in DATASETS.items():
        for k in (1, 5):
            setting, cells = f"5-way {k}-shot", []
            for method in ("Learngene", "Pre-Cut", "Pre-Fin"):
                r = summary.loc[(ds, setting, method)]
                cell = points(r.gap, r.gap_high - r.gap)
                cells.append((f"**{cell}**" if r.clear else cell) + f" (SD {r.between_run_sd:.1f})")
            claim = PAPER_CLAIMS["improvement_over_scratch"][ds]
            lines.append(f"| {label}, {setting} | " + " | ".join(cells) + f" | +{claim:g} |")
    seeds = sorted(episodes.seed.unique())
    lines += ["", f"Differences in points. Per seed (one GTL run, one pre-training, its own "
              f"{episodes.episode.nunique()} test episodes of novel classes) the mean **paired** difference with "
              f"Scratch; then the mean over {len(seeds)} seeds ({', '.join(map(str, seeds))}; {PROFILE} profile) ± the "
              f"95% t interval over seeds, **bold** when it excludes 0, and the between-run SD. Presets' isolation: "
              f"{isolation}. The paper's numbers are its abstract's.",
              f"Where the table came from (`figures/provenance.csv`): {_sources([table])}."]
    return "\n".join(lines) + "\n"


# Notebook 15's tables of one dataset, in the order it reads them (the headline's spans both datasets).
WHY_STUDIES = ("isolation", "width", "width_gtl", "lineage", "protocol", "closed", "selection")

# The explanations of decision #20 by number: (name, test, what each seed gives the rule).
EXPLANATIONS = {
    1: ("Too little data", "chains of 6, 36, 96 generations on new tasks, no selection", "gap at 96 − at 6"),
    2: ("The protocol", "4 other protocols, one chosen on validation", "gap under it − under ours"),
    3: ("The construction", "pre-train with a 20% circuit closed, cut it", "Pre-Closed − Scratch (a cap)"),
    4: ("Scale", "a 20% cut of Pre-Fin at widths 0.25, 0.5, 1", "cut's gain at 1 − at 0.25"),
    5: ("Selection", "more, fresh critics; ancestral credit; output on fresh episodes", "careful − GTL's gap"),
}


def why_section() -> str:
    """The explanations' table: each one's test, rule, result with its interval over seeds and verdict, from the
    committed tables of notebook 15 (``docs/decisions.md #20``)."""
    from gtl.why import RULE_FLOOR, explanation_verdicts
    found = explanation_verdicts(PROFILE, DATASET, FIG)
    lines = ["| explanation | test | per seed (points) | result, 95% over seeds | verdict |", "|---|---|---|---|---|"]
    then = _then_row()
    for number, (name, test, rule) in EXPLANATIONS.items():
        lines.append(f"| {number}. {name} | {test} | {rule} | " + " | ".join(verdict_cells(found[number])) + " |")
        lines += [then] if number == 4 and then else []
    return "\n".join(lines) + (f"\n\nConfirmed when the interval lies above 0, ruled out when its upper end is below "
                               f"+{RULE_FLOOR:g} (3, a cap: confirmed below +{RULE_FLOOR:g}, ruled out above), else "
                               f"open: `docs/decisions.md #20`, notebook 15. {_winners_trend()}\n")


def _then_row() -> str:
    """Explanation 4's 'then' as a row under 4's, once a piece of it is committed: GTL's learngene against Scratch
    at the width the rule named ("" before)."""
    from gtl.why import explanation_verdict, then_at
    path = FIG / f"why_width_gtl_{TAG}_episodes.csv"
    if not path.exists():
        return ""
    table = pd.read_csv(path)
    result, verdict = verdict_cells(explanation_verdict("width_gtl", table, PROFILE))
    return (f"| 4, then | GTL at width {then_at(table):g}, the width the rule of 4 names | Learngene − Scratch | "
            f"{result} | {verdict} |")


def _winners_trend() -> str:
    """Selection's trace on episodes it never fitted: the last generation's winner against the first's, paired
    on fresh validation episodes (notebook 01's check), one run."""
    acc = by_episode(_episodes(f"fig4_fresh_validation_{TAG}"), "generation")
    last = max(acc)
    diff = paired_difference(acc[last], acc[0])
    clear = clear_difference(acc[last], acc[0])
    trace = "leaves a trace" if clear and diff[0] > 0 else "leaves no clear trace"
    return (f"Selection {trace} on fresh validation episodes: the last winner − the first "
            f"{paired_text(*diff, clear)} points (one run, notebook 01).")


def _sources(tables: list[str]) -> str:
    """:func:`_provenance` of each table, tables with the same origin named together."""
    origins: dict[str, list[str]] = {}
    for table in tables:
        name, _, origin = _provenance(table).partition(": ")
        origins.setdefault(origin, []).append(f"`{name}`")
    return "; ".join(f"{' and '.join(names)}: {origin}" for origin, names in origins.items())


def _title(script: Path) -> str:
    """A notebook's title: the first heading of its jupytext script, without its number."""
    heading = next(line for line in script.read_text().splitlines() if line.startswith("# # "))
    return re.sub(r"^\d\d\s*·\s*", "", heading[4:]).strip()


def notebooks_section() -> str:
    """One line per numbered notebook: its title, and whether `make figures` computes or reads its tables."""
    lines = ["| notebook | what it shows | `make figures` |", "|---|---|---|"]
    for script in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        how = "reads (`make studies` computes)" if script.name.startswith(STUDIES) else "computes"
        lines.append(f"| `notebooks/{script.stem}.ipynb` | {_title(script)} | {how} |")
    return "\n".join(lines) + "\n"


def choices_section() -> str:
    """The numbered headings of docs/decisions.md (``### N. Choice``, optionally ``### N. Choice — in short``)
    as one list, so that the list and the file cannot disagree (the file is linked once: anchors of headings
    this long would take a tenth of the README)."""
    headings = re.findall(r"^#{2,4} (\d+)\. (.+?)\s*$", DECISIONS.read_text(), re.MULTILINE)
    return " · ".join(f"**{n}** {title.split(' — ')[0]}" for n, title in headings) + "\n"


# ------------------------------------------------------------------ docs/results.md

def headline_section() -> str:
    """The results in plain words, every number computed here from the files the notebooks wrote:
    paired differences on the same episodes (mean ± 95% CI; bold when the CI excludes 0)."""
    from gtl.evaluation import EvalConfig
    from gtl.profiles import CHOSEN_QUESTION_STEPS, numbers
    from gtl.why import isolation_verdict, study_table
    choice, presets = _choice(), provenance.presets_isolation()
    curves = pd.read_csv(FIG / study_table("isolation", PROFILE, DATASET))
    endpoint = EvalConfig.from_profile(PROFILE, DATASET).finetune.steps
    rule = isolation_verdict(curves, endpoint, numbers(PROFILE).headline_seeds)
    made = {provenance.read(FIG).set_index("table").isolation.get(f"table_fewshot_{PROFILE}_{ds}_episodes.csv")
            for ds in DATASETS} - {presets}
    lines = [f"- **The presets' construction**: isolation **{presets}**, by decision #20's rule at the headline's "
             f"endpoint (its verdict after seeds {', '.join(map(str, rule.get('decided_early', rule['seeds'])))}: "
             f"{rule['verdict']}; notebook 12 had chosen **{choice['isolation']}** on one seed); the question "
             f"notebooks fine-tune {CHOSEN_QUESTION_STEPS} steps."
             + (f" The one-run results below were made under **{', '.join(sorted(made))}**, the presets then."
                if made else "")]
    for ds, label in DATASETS.items():
        name = f"table_fewshot_{PROFILE}_{ds}"
        claim = PAPER_CLAIMS["improvement_over_scratch"][ds]
        five = {"setting": "5-way 5-shot"}
        lines.append(f"- **Learngene − Scratch, {label}** (test classes, after fine-tuning; the paper: +{claim:g}): "
                     + "; ".join(f"{k}-shot {_diff(name, 'Learngene', setting=f'5-way {k}-shot')}" for k in (1, 5))
                     + ".")
        lines.append(f"  Pre-Cut (the pre-trained network cut to the learngene's size by the same rule) − Scratch: "
                     f"5-shot {_diff(name, 'Pre-Cut', **five)}; Learngene − Pre-Cut: 5-shot "
                     f"{_diff(name, 'Learngene', 'Pre-Cut', **five)}; Pre-Fin − Scratch: 5-shot "
                     f"{_diff(name, 'Pre-Fin', **five)}.")
    lines.append(f"- **Share of Pre-Fin's gain** (miniImageNet): {_shares()}.")
    name = f"table_instincts_{PROFILE}_miniimagenet"
    lines.append(f"- **Instincts** (no learning, miniImageNet 5-shot): Learngene − Scratch "
                 f"{_diff(name, 'Learngene', setting='5-way 5-shot')}; Pre-Cut − Scratch "
                 f"{_diff(name, 'Pre-Cut', setting='5-way 5-shot')}.")
    lines.append("- **Learning speed** (miniImageNet 5-shot, Learngene − Scratch after N fine-tuning steps): "
                 + "; ".join(f"{n}: {_diff(f'curves_fewshot_{PROFILE}_miniimagenet', 'Learngene', step=n)}"
                             for n in (10, 50)) + ".")
    lines.append(f"- **Figure 4 on fresh validation episodes**: {_fig4_fresh()}")
    lines.append("- **The gap's budget curve** (notebook 13; gap over Scratch, paired, 5-shot test episodes):")
    lines += [f"  - {line}" for line in _budget_lines()]
    lines.append("- **Ten times the quick lineage** (notebook 14, `make budget-long`):")
    lines += [f"  - {line}" for line in _budget_long_lines()]
    lines.append(f"- **Does selection select?** Members' fitness against their descendants' test accuracy, "
                 f"Spearman's rho with 95% CI: {_selection()}.")
    return "\n".join(lines) + "\n"


def map_rows() -> list[tuple[str, str, str, str, str]]:
    """(paper item, notebook, outputs, ours (quick), paper) for every figure and table we know of."""
    nb = lambda n: f"`notebooks/{n}.ipynb`"
    out = lambda *names: "<br>".join(f"`figures/{n}`" for n in names)
    return [
        ("Fig. 1, Fig. 3: the idea, the GTL framework", nb("03_fig1_3_framework"),
         out(f"fig1_3_framework_{TAG}.png"), "drawn from code", "drawings"),
        ("Fig. 2: learngene = channels within kernels", nb("03_fig1_3_framework"),
         out(f"fig2_learngene_circuit_{TAG}.png", f"fig2_learngene_channels_{TAG}.csv"),
         "the evolved learngene, channel by channel", "drawing; ~20% of the parameters"),
        ("Fig. 4: learngene size and population accuracy over generations", nb("01_fig4_evolution"),
         out(f"fig4_evolution_{TAG}.png", f"fig4_evolution_{TAG}.csv"), _fig4(), "curves; numbers not known"),
        ("Fig. 5 + instincts table: untrained descendants", nb("04_fig5_instincts"),
         out(f"fig5_instincts_{TAG}.png", f"table_instincts_{PROFILE}_miniimagenet.csv",
             f"table_instincts_{PROFILE}_cifar-fs.csv"),
         "no learning, miniImageNet: " + _versus(f"table_instincts_{PROFILE}_miniimagenet", "setting"),
         "instincts claimed; numbers not known"),
        ("Strong learning ability table, miniImageNet", nb("02_fewshot_table"),
         out(f"table_fewshot_{PROFILE}_miniimagenet.csv"), _fewshot("miniimagenet"),
         "+16 points vs Scratch with ~20% of the parameters"),
        ("Transfer as a share of pre-training's gain (miniImageNet)", nb("02_fewshot_table"),
         out(f"table_gain_shares_{PROFILE}.csv"), "(method − Scratch) / (Pre-Fin − Scratch), paired bootstrap: "
         + _shares(), "not reported"),
        ("Strong learning ability: learning speed (curves)", nb("02_fewshot_table"),
         out(f"curves_fewshot_{PROFILE}_miniimagenet.png", f"curves_fewshot_{PROFILE}_miniimagenet.csv"),
         "5-shot, after N fine-tuning steps: " + _versus(f"curves_fewshot_{PROFILE}_miniimagenet", "step"),
         "learns faster claimed; numbers not known"),
        ("Strong learning ability table, CIFAR-FS", nb("02_fewshot_table"),
         out(f"table_fewshot_{PROFILE}_cifar-fs.csv"), _fewshot("cifar-fs"),
         "+12 points vs Scratch with ~20% of the parameters"),
        ("Scalability: deeper (PIM), wider, other architecture", nb("05_scalability"),
         out(f"table_scalability_{TAG}.csv"),
         "5-shot, against Scratch of the same descendant: " + _versus(f"table_scalability_{TAG}", "descendant"),
         "scalable; numbers not known"),
        ("Adaptability: other (fine-grained) datasets", nb("06_adaptability"),
         out(f"table_adaptability_{TAG}_to_cub.csv"),
         "miniImageNet learngene on CUB: " + _versus(f"table_adaptability_{TAG}_to_cub", "setting"),
         "adaptable; datasets and numbers not known"),
        ("Ablations", nb("07_ablations"), out(f"table_ablations_{TAG}.csv"),
         "5-shot accuracy (%): " + _ablations(), "reported; content not known"),
        ("Does selection select? Fitness vs descendants' test accuracy", nb("07_ablations"),
         out(f"fig_selection_{TAG}.png", f"table_selection_{TAG}.csv"), "Spearman's rho, 95% CI: " + _selection(),
         "not addressed"),
        ("Protocol values chosen on validation classes (isolation, fine-tuning steps)", nb("12_protocol_choice"),
         out(f"protocol_choice_{TAG}.png", f"protocol_choice_{TAG}.csv"), _protocol(), "not stated"),
        ("The gap's budget curve: lineage budget, isolation, Pre-Cut's pre-training", nb("13_budget_curve"),
         out(f"budget_curve_{TAG}.png", f"budget_lineage_{TAG}.csv", f"budget_pretraining_{TAG}.csv"),
         "<br>".join(_budget_lines()),
         "not addressed"),
        ("The budget curve at ten times the quick lineage (`make budget-long`)", nb("14_budget_long"),
         out(f"budget_curve_long_{TAG}.png", f"budget_all_lineage_{TAG}.csv"),
         "<br>".join(_budget_long_lines()), "not addressed"),
        ("Teaching: the walkthrough, with six checked exercises", nb("00_walkthrough"),
         out(f"walkthrough_evolved_learngene_{TAG}.png"), "one generation step by step, an evolved learngene",
         "—"),
        ("Teaching: the explorer (ipywidgets)", nb("08_explorer"),
         out(f"explorer_generation_{TAG}.png", f"explorer_race_{TAG}.png"),
         "a generation's fitness, its learngene, a live descendant", "—"),
        ("Open question: how small can a learngene be?", nb("09_learngene_size"),
         out(f"fig_learngene_size_{TAG}.png", f"table_learngene_size_{TAG}.csv"), _sizes(),
         "not addressed; ~20% used"),
        ("Open question: sensitivity to the genetic hyper-parameters", nb("10_ga_sensitivity"),
         out(f"fig_ga_sensitivity_{TAG}.png", f"table_ga_sensitivity_{TAG}.csv"), _sensitivity(),
         "not addressed"),
        ("Open question: learngenes beyond CNNs (a small ViT)", nb("11_vit_learngenes"),
         out(f"table_vit_learngenes_{TAG}.csv", f"fig_vit_learngene_{TAG}.png"),
         "5-shot: " + _versus(f"table_vit_learngenes_{TAG}", ["network", "score"]), "not addressed"),
        ("Why the effect is missing: explanations decided over seeds (`docs/decisions.md #20`)", nb("15_why"),
         out(*[n for tag, study in [(PROFILE, "headline")] + [(TAG, s) for s in WHY_STUDIES]
                for n in (f"why_{study}_{tag}.png", f"why_{study}_{tag}_episodes.csv") if (FIG / n).exists()])
         or "being computed",
         "the table under the headline in the README", "not addressed"),
    ]


def map_section() -> str:
    lines = ["| paper | notebook | output | ours (quick profile, seed 0) | paper |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in map_rows()]
    return "\n".join(lines) + "\n"


def results_section() -> str:
    parts = []
    for title, path in TABLES:
        parts.append(f"**{title}** — from `{path}`:\n\n{(ROOT / path).read_text().strip()}\n")
    return "\n".join(parts)


def reproduce_section() -> str:
    """The summary of the last ``make reproduce`` (``figures/reproduce.md``, written by ``tools/reproduce.py``),
    each notebook's time (``figures/reproduce_log.txt``) and what another CPU type moved."""
    if not (FIG / "reproduce.md").exists():
        return "`make reproduce` has not been run yet.\n"
    lines = _reproduce_lines()
    summary = "\n".join(line for line in lines if line.startswith("- "))
    text = f"{lines[0].lstrip('# ')} (the table by table report: `figures/reproduce.md`):\n\n{summary}\n"
    times = _log_minutes()
    if times:
        text += ("- minutes per notebook (`figures/reproduce_log.txt`), longest first: " + ", ".join(
            f"{k[:2]}: {v:.1f}" for k, v in sorted(times.items(), key=lambda kv: -kv[1])) + "\n")
    report = pd.read_csv(FIG / "reproduce.csv") if (FIG / "reproduce.csv").exists() else pd.DataFrame()
    choice = report[report.table == f"protocol_choice_{TAG}.csv"] if len(report) else report
    if len(choice) and isinstance(choice["where"].iloc[0], str) and choice["where"].iloc[0].startswith("chosen"):
        text += (f"- notebook 12's choice on validation classes changed there: {choice['where'].iloc[0]} "
                 f"(`protocol_choice_{TAG}.csv`)\n")
    drift = _cpu_drift()
    if drift:
        text += f"- {drift}\n"
    return text


# ------------------------------------------------------------------ docs/usage.md, docs/speed.md

def folder_section() -> str:
    """What the worked example's commands gave on 50 CUB bird classes as someone's class folders
    (``figures/folder_example_cub_quick*``: ``gtl evaluate --out`` and the run's log)."""
    episodes = FIG / "folder_example_cub_quick_episodes.csv"
    if not episodes.exists():
        return "The worked example has not been run yet.\n"
    rows = pd.read_csv(episodes)
    lines = [f"{rows.episode.nunique()} test episodes per setting, seed {rows.seed.iloc[0]}:", "",
             "| setting | method | accuracy (%) | − Scratch, paired (points) | − Pre-Cut, paired (points) |",
             "|---|---|---|---|---|"]
    for setting, part in rows.groupby("setting", sort=False):
        acc = by_episode(part)
        for method, values in acc.items():
            mean, ci = mean_ci95(values)
            versus = [paired_text(*paired_difference(values, acc[base]), clear_difference(values, acc[base]))
                      if base in acc and method in wanted else "" for base, wanted in
                      (("Scratch", set(acc) - {"Scratch"}), ("Pre-Cut", {"Learngene"}))]
            lines.append(f"| {setting} | {method} | {100 * mean:.1f} ± {100 * ci:.1f} | {versus[0]} | {versus[1]} |")
    said = verdicts(rows, "setting", ("Scratch", "Pre-Cut"))
    if said:
        lines += [""] + [f"- {line}" for line in said]
    return "\n".join(lines) + "\n"


def bench_section() -> str:
    """One table per ``figures/bench_<device>.csv`` (``python -m gtl.bench``), with its device and command."""
    parts = []
    for csv in sorted(FIG.glob("bench_*.csv")):
        df = pd.read_csv(csv)
        first = df.iloc[0]
        lines = [f"**{first.device_name}** — {first.arch if df.arch.nunique() == 1 else ', '.join(df.arch.unique())}"
                 f" at width {first.width:g}, {first.image_size} px, batch {first.batch_size}, {first.steps} timed "
                 f"steps, {first.precision}, torch {first.torch}, {first.date}; `{first.command.strip()}` → "
                 f"`figures/{csv.name}`, `figures/{csv.stem}.png`:", "",
                 "| network | population | loop (member-steps/s) | batched (member-steps/s) | batched / loop "
                 "| peak memory loop / batched (MiB) | batched TFLOP/s (share of peak) |",
                 "|---|---|---|---|---|---|---|"]
        for (arch, pop), g in df.groupby(["arch", "population"], sort=False):
            r = g.set_index("mode")
            loop, batched = r.loc["loop"], r.loc["batched"]
            share = "" if pd.isna(batched.utilisation) else f" ({100 * batched.utilisation:.1f}%)"
            lines.append(f"| {arch} | {pop} | {loop.member_steps_per_s:.1f} | {batched.member_steps_per_s:.1f} "
                         f"| {batched.speedup:.2f}× | {loop.peak_memory_mib:.0f} / {batched.peak_memory_mib:.0f} "
                         f"| {batched.tflops:.2f}{share} |")
        parts.append("\n".join(lines) + "\n")
    measured = "\n".join(parts) if parts else "No benchmark has been run yet: `python -m gtl.bench`.\n"
    return measured + flops_section() + cpu_bf16_section() + cpu_threads_section()


def cpu_bf16_section() -> str:
    """bf16 autocast against fp32 on a CPU (``python -m gtl.bench --cpu-bf16``), if measured:
    the speed of a lifetime step, and Scratch's accuracy on the same episodes in each."""
    csv = FIG / "cpu_bf16_ratio.csv"
    if not csv.exists():
        return ""
    df = pd.read_csv(csv)
    first = df.iloc[0]
    text = (f"\n**bf16 on a CPU** — {first.arch} at width {first.width:g}, {first.image_size} px, batch "
            f"{first.batch_size}: a lifetime step under bf16 autocast ran {df.bf16_over_fp32.median():.2f}× as fast "
            f"as in fp32 (median of {len(df)} rounds alternating the two, {df.bf16_over_fp32.min():.2f}–"
            f"{df.bf16_over_fp32.max():.2f}×) on {first.device_name}, bf16 units: {first.cpu_flags}; torch "
            f"{first.torch}, {first.date}; `{first.command}` → `figures/{csv.name}`.")
    acc_csv = FIG / "cpu_bf16_accuracy.csv"
    if acc_csv.exists():
        acc = pd.read_csv(acc_csv)
        a = acc.iloc[0]
        text += (f" Fine-tuning Scratch ({a.arch} ×{a.width:g}, {a.finetune_steps} steps) on the quick profile's "
                 f"{len(acc)} miniImageNet {a.ways}-way {a.shots}-shot test episodes (seed {a.seed}) in each "
                 f"precision ({a.cpu_flags}, {a.date}; `figures/{acc_csv.name}`): "
                 f"{verdict(acc.bf16, acc.fp32, 'bf16', 'fp32')}")
    return text + (" A CPU trains in fp32 unless asked (`--cpu-bf16`, `GTL_CPU_BF16=1`): "
                   "docs/decisions.md #19 says why.\n")


def cpu_threads_section() -> str:
    """Lifetime steps per second at each thread choice, alone and beside a busy process
    (``python -m gtl.bench --threads``), if measured: why a command's default leaves busy CPUs alone."""
    csv = FIG / "cpu_threads.csv"
    if not csv.exists():
        return ""
    df = pd.read_csv(csv)
    first = df.iloc[0]
    median = df.groupby(["condition", "choice"], sort=False)[["threads", "ratio"]].median()
    lines = [f"\n**Threads on a CPU** — lifetime steps of the quick profile's network per second, against 1 thread "
             f"alone (median of {df['round'].nunique()} rounds, each measurement in a fresh process; the busy process "
             f"trains the same network on one thread) on {first.device_name}, {first.cpus} CPUs, torch "
             f"{first.torch}, {first.date}; `{first.command}` → `figures/{csv.name}`:", "",
             "| choice | threads | alone | beside a busy process |", "|---|---|---|---|"]
    for choice in df.choice.unique():
        alone, busy = median.loc[("alone", choice)], median.loc[("beside a busy process", choice)]
        lines.append(f"| {choice} | {alone.threads:.0f} | {alone.ratio:.2f}× | {busy.ratio:.2f}× |")
    return "\n".join(lines) + ("\n\nSo a command not told `--threads` takes the CPUs other processes leave free "
                               "(`gtl.population.free_cpu_threads`), and an unfinished run resumes with the count it "
                               "was begun with.\n")


def flops_section() -> str:
    """The counted FLOPs per member-step (``python -m gtl.bench --flops``): what batching can gain."""
    csv = FIG / "flops_per_step.csv"
    if not csv.exists():
        return ""
    df = pd.read_csv(csv)
    first = df.iloc[0]
    lines = [(f"**Counted, not timed** — FLOPs of one member's training step (forward + backward, "
              f"`torch.utils.flop_counter`, torch {first.torch}) at each profile's lifetime size, and the least "
              f"time one step of {first.population} members can take at the {first.gpu}'s dense bf16 peak "
              f"({first.peak_tflops:g} TFLOP/s); `{first.command}` → `figures/{csv.name}`:"), "",
             ("| network | size | width, image, batch | GFLOP per member-step "
              f"| {first.population} members' step at peak (ms) |"), "|---|---|---|---|---|"]
    for r in df.itertuples():
        lines.append(f"| {r.arch} | {r.size} | {r.width:g}, {r.image_size} px, {r.batch_size} "
                     f"| {r.gflop_per_member_step:.1f} | {r.ms_per_population_step_at_peak:.2f} |")
    return "\n" + "\n".join(lines) + "\n"


# ------------------------------------------------------------------ writing

# file -> its blocks: (begin, end, what writes the body)
BLOCKS = {
    README: [(MAINJOB_BEGIN, MAINJOB_END, main_job_section), (SUMMARY_BEGIN, SUMMARY_END, summary_section),
             (NOTEBOOKS_BEGIN, NOTEBOOKS_END, notebooks_section), (CHOICES_BEGIN, CHOICES_END, choices_section),
             (WHY_BEGIN, WHY_END, why_section)],
    RESULTS: [(HEADLINE_BEGIN, HEADLINE_END, headline_section), (MAP_BEGIN, MAP_END, map_section),
              (BEGIN, END, results_section), (REPRODUCE_BEGIN, REPRODUCE_END, reproduce_section)],
    USAGE: [(FOLDER_BEGIN, FOLDER_END, folder_section)],
    SPEED: [(BENCH_BEGIN, BENCH_END, bench_section)],
}


def block(text: str, begin: str, end: str) -> str:
    """What stands between ``begin`` and ``end`` in ``text``."""
    return text.split(begin, 1)[1].split(end, 1)[0]


def _replace(text: str, begin: str, end: str, body: str) -> str:
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    return f"{head}{begin}\n{body}{end}{tail}"


def main() -> None:
    for path, blocks in BLOCKS.items():
        text = path.read_text()
        for begin, end, write in blocks:
            text = _replace(text, begin, end, write())
        path.write_text(text)
        print(f"{path.relative_to(ROOT)}: {', '.join(b[5:].split(':')[0] for b, _, _ in blocks)} updated from "
              f"committed files")


if __name__ == "__main__":
    main()
