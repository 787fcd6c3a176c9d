"""Write the README's results from the files the notebooks wrote (figures/*.csv, *.md).

Five sections, each between markers: the plain-words headline (paired
differences computed from the per-episode CSVs), the map paper item ->
notebook -> output files with our quick-profile numbers beside the paper's,
the main result tables copied verbatim and the summary of the last `make
reproduce` (figures/reproduce.md; all four in README.md), and the benchmarks
(figures/bench_*.csv, in docs/speed.md). Every number in them is read from a file a run wrote.
"""
from pathlib import Path

import pandas as pd

from gtl.budget import BUDGETS, gap_change
from gtl.questions import sensitivity_summary, size_summary
from gtl.stats import PAIRED, by_episode, clear_difference, mean_ci95, paired_difference, paired_text

ROOT = Path(__file__).resolve().parents[1]
FIG = ROOT / "figures"
BEGIN, END = "<!-- RESULTS:BEGIN -->", "<!-- RESULTS:END -->"
MAP_BEGIN, MAP_END = "<!-- MAP:BEGIN -->", "<!-- MAP:END -->"
BENCH_BEGIN, BENCH_END = "<!-- BENCH:BEGIN -->", "<!-- BENCH:END -->"
REPRODUCE_BEGIN, REPRODUCE_END = "<!-- REPRODUCE:BEGIN -->", "<!-- REPRODUCE:END -->"
HEADLINE_BEGIN, HEADLINE_END = "<!-- HEADLINE:BEGIN -->", "<!-- HEADLINE:END -->"
FOLDER_BEGIN, FOLDER_END = "<!-- FOLDER:BEGIN -->", "<!-- FOLDER:END -->"
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


def _versus(name: str, by: str | list[str], a: str = "Learngene", b: str = "Scratch") -> str:
    """'<by value>: A x±ci vs B y±ci, paired +d ± e' for every group of ``by`` in the long table
    ``figures/<name>_episodes.csv`` a notebook wrote; the paired difference is bold when clear
    (:func:`gtl.stats.clear_difference`)."""
    df = pd.read_csv(FIG / f"{name}_episodes.csv")
    parts = []
    for key, rows in df.groupby(by, sort=False):
        acc = by_episode(rows)
        (ma, ca), (mb, cb) = mean_ci95(acc[a]), mean_ci95(acc[b])
        d, cd = paired_difference(acc[a], acc[b])
        label = ", ".join(map(str, key)) if isinstance(key, tuple) else str(key)
        parts.append(f"{label}: {100 * ma:.1f}±{100 * ca:.1f} vs {100 * mb:.1f}±{100 * cb:.1f}, paired "
                     f"{paired_text(d, cd, clear_difference(acc[a], acc[b]))}")
    return "; ".join(parts)


def _fig4() -> str:
    df = pd.read_csv(FIG / f"fig4_evolution_{TAG}.csv")
    first, last = df.iloc[0], df.iloc[-1]
    fresh = pd.read_csv(FIG / f"fig4_fresh_validation_{TAG}_episodes.csv")
    best = int(df.generation[df.fitness_max.idxmax()])
    acc = by_episode(fresh, "generation")
    d, ci = paired_difference(acc[best], acc[-1])
    return (f"population accuracy on the critics' episodes (fitted by selection) {100 * first.accuracy_mean:.1f}% → "
            f"{100 * last.accuracy_mean:.1f}% over {len(df)} generations; learngene "
            f"{100 * first.learngene_fraction_mean:.1f}% → {100 * last.learngene_fraction_mean:.1f}% of the "
            f"parameters; "
            f"on {len(acc[-1])} fresh validation episodes the best learngene (generation {best}) vs Scratch, paired "
            f"{paired_text(d, ci, clear_difference(acc[best], acc[-1]))}")


def _fewshot(ds: str) -> str:
    name = f"table_fewshot_{PROFILE}_{ds}"
    df = pd.read_csv(FIG / f"{name}.csv")
    lg = df[df.method == "Learngene"].iloc[0]
    return (f"Learngene vs Scratch, {_versus(name, 'setting').replace('5-way ', '')}"
            f" with {lg['share of params (%)']:.1f}% of the parameters; Pre-Cut vs Scratch, "
            f"{_versus(name, 'setting', 'Pre-Cut').replace('5-way ', '')}")


def _curves(ds: str) -> str:
    return ("Learngene vs Scratch after N fine-tuning steps, 5-shot, "
            + _versus(f"curves_fewshot_{PROFILE}_{ds}", "step"))


def _ablations() -> str:
    df = pd.read_csv(FIG / f"table_ablations_{TAG}.csv").fillna("")
    return "; ".join(f"{r.variant} {r['accuracy (%)']:.1f} ± {r['95% CI (±)']:.1f}"
                     + (f" ({r[PAIRED]} vs Scratch, paired)" if r[PAIRED] else "") for _, r in df.iterrows())


def _sizes() -> str:
    episodes = pd.read_csv(FIG / f"table_learngene_size_{TAG}_episodes.csv")
    return " ".join(size_summary(episodes[episodes.score == "finetune"]))


def _sensitivity() -> str:
    return " ".join(sensitivity_summary(pd.read_csv(FIG / f"table_ga_sensitivity_{TAG}_episodes.csv")))


def _vit() -> str:
    name = f"table_vit_learngenes_{TAG}"
    return "Learngene vs Scratch, 5-shot: " + _versus(name, ["network", "score"])


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


def _protocol() -> str:
    choice = pd.read_csv(FIG / f"protocol_choice_{TAG}.csv").set_index("value").chosen
    iso = pd.read_csv(FIG / f"protocol_isolation_{TAG}.csv")
    gaps = "; ".join(f"{r[0]} {r[1]:+.1f} ± {r[2]:.1f}" for r in iso[["isolation", "gap (points)", "95% CI (±)"]]
                     .itertuples(index=False))
    return (f"Learngene − Scratch gap on fresh validation episodes, averaged over 5–50 fine-tuning steps: {gaps}; "
            f"chosen: isolation **{choice['isolation']}**, question notebooks fine-tune "
            f"**{choice['question finetune steps']}** steps")


def _paired(name: str, a: str, b: str = "Scratch", **where) -> str:
    """``a − b`` on the episodes of ``figures/<name>_episodes.csv`` where every ``where`` column has
    its value: '+1.2 ± 1.5 points (not clear)' (paired, :func:`gtl.stats.clear_difference`)."""
    df = pd.read_csv(FIG / f"{name}_episodes.csv")
    for column, value in where.items():
        df = df[df[column] == value]
    acc = by_episode(df)
    d, ci = paired_difference(acc[a], acc[b])
    return f"{100 * d:+.1f} ± {100 * ci:.1f} points ({'clear' if clear_difference(acc[a], acc[b]) else 'not clear'})"


def _budget_answer(lineage: pd.DataFrame, pretraining: pd.DataFrame | None = None) -> str:
    """A budget curve's answer: each line's gap at the smallest and largest budget, and the paired change."""
    parts = []
    for name in dict.fromkeys(lineage.isolation):
        for method in ("Learngene", "Pre-Cut"):
            small, large, change, ci, clear = gap_change(lineage, "lineage_steps", method, isolation=name)
            parts.append(f"{method} ({name}) {100 * small:+.1f} → {100 * large:+.1f} "
                         f"(change {paired_text(change, ci, clear)})")
    steps = f"{lineage.lineage_steps.min()} → {lineage.lineage_steps.max()} lineage steps: " + "; ".join(parts)
    if pretraining is None:
        return steps
    small, large, change, ci, clear = gap_change(pretraining, "pretrain_steps", "Pre-Cut")
    return (f"{steps}. Pre-Cut over {pretraining.pretrain_steps.min()} → {pretraining.pretrain_steps.max()} "
            f"pre-training steps: {100 * small:+.1f} → {100 * large:+.1f} (change {paired_text(change, ci, clear)})")


def _budget() -> str:
    """Notebook 13's answer, over the quick budgets."""
    return _budget_answer(pd.read_csv(FIG / f"budget_lineage_{TAG}_episodes.csv"),
                          pd.read_csv(FIG / f"budget_pretraining_{TAG}_episodes.csv"))


def _budget_long() -> str:
    """Notebook 14's answer: from the quick profile's own lineage to the long one."""
    if not (FIG / f"budget_long_lineage_{TAG}_episodes.csv").exists():
        return "not run yet (`make budget-long`)"
    lineage = pd.concat([pd.read_csv(FIG / f"budget_{n}_{TAG}_episodes.csv") for n in ("lineage", "long_lineage")])
    return _budget_answer(lineage[lineage.lineage_steps >= max(g * s for g, s in BUDGETS[PROFILE])])


def headline_section() -> str:
    """The plain-words results, every number computed here from the files the notebooks wrote:
    paired differences on the same episodes (mean ± 95% CI; clear when the CI excludes 0)."""
    choice = pd.read_csv(FIG / f"protocol_choice_{TAG}.csv").set_index("value").chosen
    lines = [f"- **Construction used** (chosen on validation classes by notebook 12): isolation "
             f"**{choice['isolation']}**; the question notebooks fine-tune {choice['question finetune steps']} steps."]
    for ds, paper in (("miniimagenet", 16), ("cifar-fs", 12)):
        name = f"table_fewshot_{PROFILE}_{ds}"
        parts = [f"{k}-shot {_paired(name, 'Learngene', setting=f'5-way {k}-shot')}" for k in (1, 5)]
        lines.append(f"- **Learngene − Scratch, {ds}** (test classes, after fine-tuning; the paper: +{paper}): "
                     + "; ".join(parts) + ".")
        lines.append(f"  Pre-Cut (the pre-trained network cut to the learngene's size by the same rule) − Scratch: "
                     f"5-shot {_paired(name, 'Pre-Cut', setting='5-way 5-shot')}; Learngene − Pre-Cut: 5-shot "
                     f"{_paired(name, 'Learngene', 'Pre-Cut', setting='5-way 5-shot')}; Pre-Fin − Scratch: 5-shot "
                     f"{_paired(name, 'Pre-Fin', setting='5-way 5-shot')}.")
    lines.append(f"- **Share of Pre-Fin's gain** (miniImageNet): {_shares()}.")
    name = f"table_instincts_{PROFILE}_miniimagenet"
    lines.append(f"- **Instincts** (no learning, miniImageNet 5-shot): Learngene − Scratch "
                 f"{_paired(name, 'Learngene', setting='5-way 5-shot')}; Pre-Cut − Scratch "
                 f"{_paired(name, 'Pre-Cut', setting='5-way 5-shot')}.")
    lines.append("- **Learning speed** (miniImageNet 5-shot, Learngene − Scratch after N steps): " + "; ".join(
        f"{n}: {_paired(f'curves_fewshot_{PROFILE}_miniimagenet', 'Learngene', step=n)}" for n in (10, 50)) + ".")
    lines.append(f"- **Figure 4 on fresh episodes**: on {_fig4().split('; on ')[-1]}.")
    lines.append(f"- **The gap's budget curve** (gap over Scratch in points, paired, 5-shot test episodes): "
                 f"{_budget()}.")
    lines.append(f"  Ten times the quick lineage (notebook 14, `make budget-long`): {_budget_long()}.")
    lines.append(f"- **Does selection select?** Members' fitness against their descendants' test accuracy, "
                 f"Spearman's rho with 95% CI: {_selection()}.")
    return "\n".join(lines) + "\n"


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
         + _versus(f"table_instincts_{PROFILE}_miniimagenet", "setting").replace("5-way ", ""),
         "instincts claimed; numbers not known"),
        ("Strong learning ability table, miniImageNet", nb("02_fewshot_table"),
         out(f"table_fewshot_{PROFILE}_miniimagenet.csv"), _fewshot("miniimagenet"),
         "+16 points vs Scratch with ~20% of the parameters"),
        ("Transfer as a share of pre-training's gain (miniImageNet)", nb("02_fewshot_table"),
         out(f"table_gain_shares_{PROFILE}.csv"), "(method − Scratch) / (Pre-Fin − Scratch), paired bootstrap: "
         + _shares(), "not reported"),
        ("Strong learning ability: learning speed (curves)", nb("02_fewshot_table"),
         out(f"curves_fewshot_{PROFILE}_miniimagenet.png", f"curves_fewshot_{PROFILE}_miniimagenet.csv"),
         _curves("miniimagenet"), "learns faster claimed; numbers not known"),
        ("Strong learning ability table, CIFAR-FS", nb("02_fewshot_table"),
         out(f"table_fewshot_{PROFILE}_cifar-fs.csv"), _fewshot("cifar-fs"),
         "+12 points vs Scratch with ~20% of the parameters"),
        ("Scalability: deeper (PIM), wider, other architecture", nb("05_scalability"),
         out(f"table_scalability_{TAG}.csv"),
         "5-shot, Learngene vs Scratch of the same descendant: "
         + _versus(f"table_scalability_{TAG}", "descendant"), "scalable; numbers not known"),
        ("Adaptability: other (fine-grained) datasets", nb("06_adaptability"),
         out(f"table_adaptability_{TAG}_to_cub.csv"),
         "miniImageNet learngene on CUB, Learngene vs Scratch, "
         + _versus(f"table_adaptability_{TAG}_to_cub", "setting").replace("5-way ", ""),
         "adaptable; datasets and numbers not known"),
        ("Ablations", nb("07_ablations"), out(f"table_ablations_{TAG}.csv"),
         "5-shot accuracy (%): " + _ablations(), "reported; content not known"),
        ("Does selection select? Fitness vs descendants' test accuracy", nb("07_ablations"),
         out(f"fig_selection_{TAG}.png", f"table_selection_{TAG}.csv"), "Spearman's rho, 95% CI: " + _selection(),
         "not addressed"),
        ("Protocol values chosen on validation classes (isolation, fine-tuning steps)", nb("12_protocol_choice"),
         out(f"protocol_choice_{TAG}.png", f"protocol_choice_{TAG}.csv"), _protocol(), "not stated"),
        ("The gap's budget curve: lineage budget, isolation, Pre-Cut's pre-training", nb("13_budget_curve"),
         out(f"budget_curve_{TAG}.png", f"budget_lineage_{TAG}.csv", f"budget_pretraining_{TAG}.csv"), _budget(),
         "not addressed"),
        ("The budget curve at ten times the quick lineage (`make budget-long`)", nb("14_budget_long"),
         out(f"budget_curve_long_{TAG}.png", f"budget_all_lineage_{TAG}.csv"),
         _budget_long(), "not addressed"),
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
        fp32, fp32_ci = mean_ci95(acc.fp32)
        bf16, bf16_ci = mean_ci95(acc.bf16)
        diff, ci = paired_difference(acc.bf16, acc.fp32)
        text += (f" Fine-tuning Scratch ({a.arch} ×{a.width:g}, {a.finetune_steps} steps) on the quick profile's "
                 f"{len(acc)} miniImageNet {a.ways}-way {a.shots}-shot test episodes (seed {a.seed}) in each "
                 f"precision: fp32 {100 * fp32:.1f} ± {100 * fp32_ci:.1f}%, bf16 {100 * bf16:.1f} ± "
                 f"{100 * bf16_ci:.1f}%, bf16 − fp32 {100 * diff:+.1f} ± {100 * ci:.1f} points, paired "
                 f"({a.cpu_flags}, {a.date}; `figures/{acc_csv.name}`).")
    return text + (" A CPU trains in fp32 unless asked (`--cpu-bf16`, `GTL_CPU_BF16=1`): "
                   "docs/decisions.md #19 says why.\n")


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
    verdicts = []
    for setting, part in rows.groupby("setting", sort=False):
        acc = by_episode(part)
        if {"Learngene", "Scratch", "Pre-Cut"} <= set(acc):
            verdicts.append(f"{setting}: against Scratch {_verdict(acc['Learngene'], acc['Scratch'])}, "
                            f"against Pre-Cut {_verdict(acc['Learngene'], acc['Pre-Cut'])}")
        for method, values in acc.items():
            mean, ci = mean_ci95(values)
            versus = [paired_text(*paired_difference(values, acc[base]), clear_difference(values, acc[base]))
                      if base in acc and method in wanted else "" for base, wanted in
                      (("Scratch", set(acc) - {"Scratch"}), ("Pre-Cut", {"Learngene"}))]
            lines.append(f"| {setting} | {method} | {100 * mean:.1f} ± {100 * ci:.1f} | {versus[0]} | {versus[1]} |")
    if verdicts:
        lines += ["", "The descendants, paired: " + "; ".join(verdicts) + "."]
    return "\n".join(lines) + "\n"


def _verdict(a, b) -> str:
    """"clearly ahead", "clearly behind" or "no clear difference": the project's one rule, in words."""
    if not clear_difference(a, b):
        return "no clear difference"
    return "clearly ahead" if paired_difference(a, b)[0] > 0 else "clearly behind"


def _replace(text: str, begin: str, end: str, body: str) -> str:
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    return f"{head}{begin}\n{body}{end}{tail}"


def main() -> None:
    readme = ROOT / "README.md"
    text = _replace(readme.read_text(), MAP_BEGIN, MAP_END, map_section())
    text = _replace(text, REPRODUCE_BEGIN, REPRODUCE_END, reproduce_section())
    text = _replace(text, HEADLINE_BEGIN, HEADLINE_END, headline_section())
    text = _replace(text, FOLDER_BEGIN, FOLDER_END, folder_section())
    readme.write_text(_replace(text, BEGIN, END, results_section()))
    SPEED.write_text(_replace(SPEED.read_text(), BENCH_BEGIN, BENCH_END, bench_section()))
    print("README.md map, results and reproduce check, docs/speed.md benchmarks updated from figures/")


if __name__ == "__main__":
    main()
