"""`make book`: the executed notebooks as a static HTML site, readable without running anything.

    python tools/make_book.py [--src notebooks] [--out book]

Each notebook becomes one HTML page (nbconvert's lab template, figures
embedded); ``index.html`` lists them in order with their title and first
paragraph. The default source is ``notebooks/``, whose stored outputs are the
quick profile's; after ``make figures`` use ``--src figures/executed``.
"""
from __future__ import annotations

import argparse
import html
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gtl: the notebooks</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
h1 {{ font-size: 1.6rem; }} li {{ margin: 0.9rem 0; }} a {{ color: #1b7837; font-weight: 600; }}
.about {{ color: #555; font-size: 0.95rem; }} footer {{ margin-top: 2rem; color: #777; font-size: 0.85rem; }}
</style></head><body>
<h1>gtl — Genetic Transfer Learning, reproduced</h1>
<p>The notebooks of the companion to <em>Transferring Core Knowledge via Learngenes</em>
(Feng, Wang, Geng; <a href="https://arxiv.org/abs/2401.08139">arXiv 2401.08139</a>), executed: one page per
paper figure or table, a walkthrough, an explorer and the open questions. Every number on these pages
was written by the run shown on the page ({source}).</p>
<ol>
{items}
</ol>
<footer>Built with nbconvert by <code>make book</code>.</footer>
</body></html>
"""


def describe(path: Path) -> tuple[str, str]:
    """A notebook's title (its first heading) and first paragraph of text."""
    nb = json.loads(path.read_text())
    title, about = path.stem, ""
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"]).strip()
        for block in re.split(r"\n\s*\n", text):
            block = block.strip()
            if block.startswith("#") and title == path.stem:
                title = block.lstrip("#").strip().splitlines()[0]
            elif block and not block.startswith(("#", "|", "!", "<")) and not about:
                about = re.sub(r"\s+", " ", block)
        if about:
            break
    return title, about


def inline(text: str) -> str:
    """Escaped HTML of a line of Markdown: **bold**, *italics* and `code` kept."""
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"\*(.+?)\*", r"<em>\1</em>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def build(src: Path, out: Path) -> list[Path]:
    """Write one HTML page per ``NN_*.ipynb`` of ``src`` and ``index.html`` into ``out``."""
    from nbconvert import HTMLExporter
    notebooks = sorted(src.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise SystemExit(f"no notebooks (NN_name.ipynb) in {src}")
    out.mkdir(parents=True, exist_ok=True)
    # the lab template, less every script it would fetch from a CDN (tools/book_template/book.html.j2): readable offline
    exporter = HTMLExporter(template_name="lab", extra_template_paths=[str(ROOT / "tools" / "book_template")],
                            template_file="book.html.j2")
    pages, items = [], []
    for nb in notebooks:
        body, _ = exporter.from_filename(str(nb))
        page = out / f"{nb.stem}.html"
        page.write_text(body)
        pages.append(page)
        title, about = describe(nb)
        items.append(f'<li><a href="{page.name}">{inline(title)}</a> <code>{nb.name}</code>'
                     f'<div class="about">{inline(about[:400])}</div></li>')
    index = out / "index.html"
    index.write_text(INDEX.format(items="\n".join(items), source=html.escape(str(src.name))))
    return [index, *pages]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--src", default=str(ROOT / "notebooks"), help="folder of executed notebooks")
    p.add_argument("--out", default=str(ROOT / "book"), help="where the site goes")
    a = p.parse_args()
    pages = build(Path(a.src), Path(a.out))
    print(f"{len(pages) - 1} pages -> {pages[0]}")


if __name__ == "__main__":
    main()
