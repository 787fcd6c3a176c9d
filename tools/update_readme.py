"""Write the README's results from the files the notebooks wrote (figures/*.csv, *.md).

Four sections, each between markers: the map paper item -> notebook -> output
files with our quick-profile numbers beside the paper's, the main result
tables copied verbatim and the summary of the last `make reproduce`
(figures/reproduce.md; all three in README.md), and the benchmarks
(figures/bench_*.csv, in docs/speed.md). Every number in them is read from a file a run wrote.
"""
from pathlib import Path

import pandas as pd

from gtl.fewshot import ci_apart

ROOT = Path(__file__).resolve().parents[1]
FIG = ROOT / "figures"
BEGIN, END = "<!-- RESULTS:BEGIN -->", "<!-- RESULTS:END -->"
MAP_BEGIN, MAP_END = "<!-- MAP:BEGIN -->", "<!-- MAP:END -->"
BENCH_BEGIN, BENCH_END = "<!-- BENCH:BEGIN -->", "<!-- BENCH:END -->"
REPRODUCE_BEGIN, REPRODUCE_END = "<!-- REPRODUCE:BEGIN -->", "<!-- REPRODUCE:END -->"
SPEED = ROOT / "docs" / "speed.md"  # where the benchmark tables go
PROFILE, DATASET = "quick", "miniimagenet"
TAG = f"{PROFILE}_{DATASET}"

TABLES = [
    ("Strong learning ability on novel classes, miniImageNet (`notebooks/02_fewshot_table.ipynb`)",
     f"figures/table_fewshot_{PROFILE}_miniimagenet.md"),
    ("Strong learning ability on novel classes, CIFAR-FS (`notebooks/02_fewshot_table.ipynb`)",
     f"figures/table_fewshot_{PROFILE}_cifar-fs.md"),
    ("Figure 4 per generation: population accuracy on validation-class episodes and learngene size "
     "(`notebooks/01_fig4_evolution.ipynb`)", f"figures/fig4_evolution_{TAG}.md"),
]


def _versus(csv: str, by: str, a: str = "Learngene", b: str = "Scratch") -> str:
    """'<by value>: A x±ci vs B y±ci (+d)' for every value of ``by`` in a table the notebooks
    wrote (columns ``method`` and accuracy and CI in %); bold when the CIs are apart."""
    return _versus_frame(pd.read_csv(FIG / csv), by, a, b)


def _versus_frame(df: pd.DataFrame, by: str, a: str = "Learngene", b: str = "Scratch") -> str:
    df = df.rename(columns={"accuracy (%)": "acc", "95% CI (±)": "ci",  # result tables
                            "accuracy": "acc", "ci95": "ci"})            # curves
    parts = []
    for key, rows in df.groupby(by, sort=False):
        r = {row.method: row for row in rows.itertuples()}
        x, y = r[a], r[b]
        sep = "**" if ci_apart(x.acc, x.ci, y.acc, y.ci) else ""
        parts.append(f"{key}: {x.acc:.1f}±{x.ci:.1f} vs {y.acc:.1f}±{y.ci:.1f} ({sep}{x.acc - y.acc:+.1f}{sep})")
    return "; ".join(parts)


def _fig4() -> str:
    df = pd.read_csv(FIG / f"fig4_evolution_{TAG}.csv")
    first, last = df.iloc[0], df.iloc[-1]
    return (f"population accuracy {100 * first.accuracy_mean:.1f}% → {100 * last.accuracy_mean:.1f}% over "
            f"{len(df)} generations; learngene {100 * first.learngene_fraction_mean:.1f}% → "
            f"{100 * last.learngene_fraction_mean:.1f}% of the parameters")


def _fewshot(ds: str) -> str:
    df = pd.read_csv(FIG / f"table_fewshot_{PROFILE}_{ds}.csv")
    lg = df[df.method == "Learngene"].iloc[0]
    return (f"Learngene vs Scratch, {_versus(f'table_fewshot_{PROFILE}_{ds}.csv', 'setting').replace('5-way ', '')}"
            f" with {lg['share of params (%)']:.1f}% of the parameters")


def _curves(ds: str) -> str:
    return ("Learngene vs Scratch after N fine-tuning steps, 5-shot, "
            + _versus(f"curves_fewshot_{PROFILE}_{ds}.csv", "step"))


def _ablations() -> str:
    df = pd.read_csv(FIG / f"table_ablations_{TAG}.csv")
    return "; ".join(f"{v} {a:.1f} ± {c:.1f}" for v, a, c in zip(df["variant"], df["accuracy (%)"], df["95% CI (±)"]))


def _apart(a, b) -> bool:
    """:func:`gtl.fewshot.ci_apart` for two rows of a percent table."""
    return ci_apart(a["accuracy (%)"], a["95% CI (±)"], b["accuracy (%)"], b["95% CI (±)"])


def _sizes() -> str:
    df = pd.read_csv(FIG / f"table_learngene_size_{TAG}.csv")
    rows = df[df.score == "finetune"]
    sc = rows[rows.method == "Scratch"].iloc[0]
    lg = rows[rows.method == "Learngene"]
    best = lg.loc[lg["accuracy (%)"].idxmax()]
    paper = lg[lg.paper_size].iloc[0]
    apart = [f"{r['size (%)']:g}%" for _, r in lg.iterrows()
             if r["accuracy (%)"] > sc["accuracy (%)"] and _apart(r, sc)]
    return (f"5-shot after {int(sc.finetune_steps)} steps: Scratch {sc['accuracy (%)']:.1f}±{sc['95% CI (±)']:.1f}; "
            f"20%: {paper['accuracy (%)']:.1f}±{paper['95% CI (±)']:.1f}; best {best['size (%)']:g}%: "
            f"{best['accuracy (%)']:.1f}±{best['95% CI (±)']:.1f}; above Scratch with CIs apart: "
            f"{', '.join(apart) or 'none'}")


def _sensitivity() -> str:
    df = pd.read_csv(FIG / f"table_ga_sensitivity_{TAG}.csv")
    parts = []
    for factor, rows in df[df.factor != "Scratch"].groupby("factor", sort=False):
        base = rows[rows.is_base].iloc[0]
        apart = [str(r.value) for _, r in rows.iterrows() if not r.is_base and _apart(r, base)]
        spread = rows["accuracy (%)"].max() - rows["accuracy (%)"].min()
        parts.append(f"{factor} {spread:.1f} points" + (f" (apart: {', '.join(apart)})" if apart else ""))
    verdict = "" if any("apart" in x for x in parts) else "; no value's 95% CI apart from the base run's"
    return "spread of 5-shot accuracy over each factor's values: " + "; ".join(parts) + verdict


def _vit() -> str:
    df = pd.read_csv(FIG / f"table_vit_learngenes_{TAG}.csv").assign(
        key=lambda d: d.network + " " + d.score.map({"finetune": "fine-tuned", "instinct": "no learning"}))
    return "Learngene vs Scratch, 5-shot: " + _versus_frame(df, "key")


def map_rows() -> list[tuple[str, str, str, str, str]]:
    """(paper item, notebook, outputs, ours (quick), paper) for every figure and table we know of."""
    nb = lambda n: f"`notebooks/{n}.ipynb`"  # noqa: E731
    out = lambda *names: "<br>".join(f"`figures/{n}`" for n in names)  # noqa: E731
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
         "no learning, miniImageNet, Learngene vs Scratch, "
         + _versus(f"table_instincts_{PROFILE}_miniimagenet.csv", "setting").replace("5-way ", ""),
         "instincts claimed; numbers not known"),
        ("Strong learning ability table, miniImageNet", nb("02_fewshot_table"),
         out(f"table_fewshot_{PROFILE}_miniimagenet.csv"), _fewshot("miniimagenet"),
         "+16 points vs Scratch with ~20% of the parameters"),
        ("Strong learning ability: learning speed (curves)", nb("02_fewshot_table"),
         out(f"curves_fewshot_{PROFILE}_miniimagenet.png", f"curves_fewshot_{PROFILE}_miniimagenet.csv"),
         _curves("miniimagenet"), "learns faster claimed; numbers not known"),
        ("Strong learning ability table, CIFAR-FS", nb("02_fewshot_table"),
         out(f"table_fewshot_{PROFILE}_cifar-fs.csv"), _fewshot("cifar-fs"),
         "+12 points vs Scratch with ~20% of the parameters"),
        ("Scalability: deeper (PIM), wider, other architecture", nb("05_scalability"),
         out(f"table_scalability_{TAG}.csv"),
         "5-shot, Learngene vs Scratch of the same descendant: "
         + _versus(f"table_scalability_{TAG}.csv", "descendant"), "scalable; numbers not known"),
        ("Adaptability: other (fine-grained) datasets", nb("06_adaptability"),
         out(f"table_adaptability_{TAG}_to_cub.csv"),
         "miniImageNet learngene on CUB, Learngene vs Scratch, "
         + _versus(f"table_adaptability_{TAG}_to_cub.csv", "setting").replace("5-way ", ""),
         "adaptable; datasets and numbers not known"),
        ("Ablations", nb("07_ablations"), out(f"table_ablations_{TAG}.csv"),
         "5-shot accuracy (%): " + _ablations(), "reported; content not known"),
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
         out(f"table_vit_learngenes_{TAG}.csv", f"fig_vit_learngene_{TAG}.png"), _vit(), "not addressed"),
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
    """The summary of the last ``make reproduce`` (``figures/reproduce.md``, written by ``tools/reproduce.py``)."""
    report = FIG / "reproduce.md"
    if not report.exists():
        return "`make reproduce` has not been run yet.\n"
    lines = report.read_text().splitlines()
    summary = "\n".join(line for line in lines if line.startswith("- "))
    return f"{lines[0].lstrip('# ')} (the table by table report: `figures/reproduce.md`):\n\n{summary}\n"


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
    return measured + flops_section() + cpu_bf16_section()


def cpu_bf16_section() -> str:
    """bf16 autocast against fp32 on a CPU (``python -m gtl.bench --cpu-bf16``), if measured."""
    csv = FIG / "cpu_bf16_ratio.csv"
    if not csv.exists():
        return ""
    df = pd.read_csv(csv)
    first = df.iloc[0]
    return (f"\n**bf16 on a CPU** — {first.arch} at width {first.width:g}, {first.image_size} px, batch "
            f"{first.batch_size}: a lifetime step under bf16 autocast ran {df.bf16_over_fp32.median():.2f}× as fast "
            f"as in fp32 (median of {len(df)} rounds alternating the two, {df.bf16_over_fp32.min():.2f}–"
            f"{df.bf16_over_fp32.max():.2f}×) on {first.device_name}, bf16 units: {first.cpu_flags}; torch "
            f"{first.torch}, {first.date}; `{first.command}` → `figures/{csv.name}`. The quick profile still trains "
            f"in fp32 on a CPU: bf16 would change its numbers, so it waits for a test of how close it stays to "
            f"fp32 and a rerun of every notebook.\n")


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


def _replace(text: str, begin: str, end: str, body: str) -> str:
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    return f"{head}{begin}\n{body}{end}{tail}"


def main() -> None:
    readme = ROOT / "README.md"
    text = _replace(readme.read_text(), MAP_BEGIN, MAP_END, map_section())
    text = _replace(text, REPRODUCE_BEGIN, REPRODUCE_END, reproduce_section())
    readme.write_text(_replace(text, BEGIN, END, results_section()))
    SPEED.write_text(_replace(SPEED.read_text(), BENCH_BEGIN, BENCH_END, bench_section()))
    print("README.md map, results and reproduce check, docs/speed.md benchmarks updated from figures/")


if __name__ == "__main__":
    main()
