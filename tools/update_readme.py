"""Copy the result tables the notebooks wrote (figures/*.md) into README.md between
the RESULTS markers, so every number in the README comes from a run that wrote it."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- RESULTS:BEGIN -->", "<!-- RESULTS:END -->"
TABLES = [
    ("Learngene vs Scratch vs Pre-Fin on novel classes (`notebooks/02_fewshot_table.ipynb`)",
     "figures/table_fewshot_quick_miniimagenet.md"),
    ("Figure 4 per generation: population accuracy on validation-class episodes and learngene size "
     "(`notebooks/01_fig4_evolution.ipynb`)", "figures/fig4_evolution_quick_miniimagenet.md"),
]


def results_section() -> str:
    parts = []
    for title, path in TABLES:
        parts.append(f"**{title}** — from `{path}`:\n\n{(ROOT / path).read_text().strip()}\n")
    return "\n".join(parts)


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    readme.write_text(f"{head}{BEGIN}\n{results_section()}{END}{tail}")
    print("README.md results updated from", ", ".join(p for _, p in TABLES))


if __name__ == "__main__":
    main()
