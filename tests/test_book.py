"""`make book` (tools/make_book.py): executed notebooks to a static HTML site with an index."""
from __future__ import annotations

import importlib.util
import shutil

from _helpers import PROJECT


def _make_book():
    spec = importlib.util.spec_from_file_location("make_book", PROJECT / "tools" / "make_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_book_has_a_page_per_notebook_and_an_index(tmp_path):
    src = tmp_path / "nb"
    src.mkdir()
    for name in ("03_fig1_3_framework.ipynb", "00_walkthrough.ipynb"):
        shutil.copy(PROJECT / "notebooks" / name, src / name)
    (src / "scratch.ipynb").write_text("{}")  # not NN_name: not in the book
    pages = _make_book().build(src, tmp_path / "book")
    assert [p.name for p in pages] == ["index.html", "00_walkthrough.html", "03_fig1_3_framework.html"]
    index = pages[0].read_text()
    assert index.index('href="00_walkthrough.html"') < index.index('href="03_fig1_3_framework.html"')
    assert "scratch" not in index
    framework = pages[2].read_text()
    assert "data:image/png;base64" in framework  # figures are embedded: the site reads offline


def test_titles_come_from_the_first_heading():
    title, about = _make_book().describe(PROJECT / "notebooks" / "03_fig1_3_framework.ipynb")
    assert title and not title.startswith("#") and about


def test_markdown_in_the_index_is_rendered_and_escaped():
    assert _make_book().inline("**GTL** *evolves* `gtl` <b>") == \
        "<strong>GTL</strong> <em>evolves</em> <code>gtl</code> &lt;b&gt;"
