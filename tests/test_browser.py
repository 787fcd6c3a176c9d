"""The companion as a person meets it, in a real browser: JupyterLab running the walkthrough and the explorer's
widgets, and the book's pages (``make test-browser``; Chromium from Debian's ``chromium`` package, driven by
Playwright).

Everything runs in the smoke profile on copies of the notebooks in a temporary folder, so the checkout is
never written to. Without Chromium or Playwright the tests skip and say what to install. ``$GTL_SCREENSHOTS``
(``make test-browser`` sets it to ``docs/img``) is where the explorer's and a book page's screenshots go.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from _helpers import PROJECT

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
RUN_TIMEOUT_S = 600  # a notebook run top to bottom in the smoke profile, on a busy 2-core machine


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium here: `apt-get install chromium` (Debian) runs these tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is missing: make install")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, data_root):
    """JupyterLab on a free local port with a token, serving copies of notebooks 00 and 08; its kernels run the
    smoke profile and write their runs and figures into the same temporary folder."""
    root = tmp_path_factory.mktemp("lab")
    for name in ("00_walkthrough.ipynb", "08_explorer.ipynb"):
        shutil.copy(PROJECT / "notebooks" / name, root / name)
    settings = root / ".settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)  # every cell in the page, not only those in view: all outputs can be checked
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    news = root / ".settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)  # no "official Jupyter news?" prompt over the screenshots
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "GTL_PROFILE": "smoke", "GTL_DATA": str(data_root), "GTL_RUNS": str(root / "runs"),
           "GTL_FIGURES": str(root / "figures"), "GTL_CACHE": str(root / "cache"), "OMP_NUM_THREADS": "1",
           "JUPYTER_CONFIG_DIR": str(root / ".jupyter"), "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
           "PYTHONWARNINGS": "ignore::DeprecationWarning",
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}  # Jupyter's own, not the test run's Agg
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1", "--allow-root",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.news_url=None",
         f"--LabApp.workspaces_dir={root / '.workspaces'}", f"--LabApp.user_settings_dir={root / '.settings'}"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(root / "server.log", "w"))
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        if server.poll() is not None or _answers(f"{url}/api/status?token={token}"):
            break
        time.sleep(0.5)
    if server.poll() is not None or not _answers(f"{url}/api/status?token={token}"):
        server.kill()
        pytest.fail(f"JupyterLab did not start: {(root / 'server.log').read_text()[-2000:]}")
    yield {"url": url, "token": token, "root": root}
    server.terminate()
    server.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
        return True
    except OSError:
        return False


def _open_and_run_all(browser, lab: dict, name: str):
    """A page with ``name`` open in JupyterLab, every cell run top to bottom (Run > Run All Cells), as a person
    would; returns when no cell is queued or running any more."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    # a workspace of its own: only this notebook open, nothing restored from another test
    page.goto(f"{lab['url']}/lab/workspaces/{Path(name).stem}/tree/{name}?token={lab['token']}")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    panel.locator(".jp-Cell").first.wait_for(timeout=60_000)
    panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=120_000)
    prompts = panel.locator(".jp-CodeCell .jp-InputArea-prompt")
    # a click on a page still settling can be lost (seen under load): each menu command is repeated until it acts
    _until(lambda: _menu(page, "Edit", "Clear Outputs of All Cells"),  # stored outputs must not pass for the run's
           lambda: all(p.strip() in ("[ ]:", "") for p in prompts.all_inner_texts()), "cleared outputs")
    _until(lambda: _menu(page, "Run", "Run All Cells"),
           lambda: any(p.strip() not in ("[ ]:", "") for p in prompts.all_inner_texts()), "Run All to start")
    _wait_for(lambda: _errors(page) or all(p.strip() not in ("[ ]:", "[*]:", "") for p in prompts.all_inner_texts())
              and panel.locator(".jp-Notebook-ExecutionIndicator").get_attribute("data-status") == "idle",
              f"{name} to run top to bottom", RUN_TIMEOUT_S)  # a cell that fails stops Run All: no waiting then
    return page


def _menu(page, menu: str, item: str) -> None:
    page.keyboard.press("Escape")  # a menu a lost click left open would swallow the next one
    page.get_by_role("menuitem", name=menu, exact=True).click()
    page.get_by_role("menuitem", name=item, exact=True).click()


def _errors(page) -> list[str]:
    """The error outputs on the page (tracebacks JupyterLab renders as stderr of an error)."""
    texts = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
    return [t for t in texts if "Error" in t or "Traceback" in t]


def _decoded_images(page, scope: str = ".jp-OutputArea-output img") -> int:
    """How many images in ``scope`` the browser decoded (natural width > 0)."""
    return page.eval_on_selector_all(scope, "imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length")


def test_the_walkthrough_runs_top_to_bottom_in_jupyterlab_and_shows_its_figures(browser, lab):
    page = _open_and_run_all(browser, lab, "00_walkthrough.ipynb")
    assert _errors(page) == []
    assert _decoded_images(page) >= 2
    page.close()


def _screenshot(page, name: str) -> None:
    """Into ``$GTL_SCREENSHOTS`` (``make test-browser``: docs/img) when set."""
    folder = os.environ.get("GTL_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name))


def _image_source(scope) -> str:
    """The ``src`` of the first image in ``scope`` ("" when there is none yet)."""
    images = scope.locator("img")
    return images.first.get_attribute("src") if images.count() else ""


def _until(act, done, what: str, tries: int = 4, seconds: float = 30) -> None:
    """``act()`` and wait up to ``seconds`` for ``done()``; again, ``tries`` times in all, before failing."""
    for _ in range(tries):
        act()
        if _polled(done, seconds):
            return
    pytest.fail(f"tried {tries} times, {seconds:.0f} s each, for {what}")


def _wait_for(predicate, what: str, seconds: float = 120) -> None:
    if not _polled(predicate, seconds):
        pytest.fail(f"waited {seconds:.0f} s for {what}")


def _polled(predicate, seconds: float) -> bool:
    """Whether ``predicate()`` came true within ``seconds`` (asked every half second)."""
    deadline = time.time() + seconds
    while not predicate():
        if time.time() > deadline:
            return False
        time.sleep(0.5)
    return True


def test_the_explorer_renders_widgets_whose_slider_and_button_redraw_it(browser, lab):
    page = _open_and_run_all(browser, lab, "08_explorer.ipynb")
    assert _errors(page) == []
    box = page.locator(".jp-OutputArea-output .widget-vbox").first
    box.wait_for(timeout=30_000)  # real widgets, not their text repr
    assert "VBox(children=" not in page.locator(".jp-Notebook").inner_text()
    top, race_out = box.locator(".widget-output").nth(0), box.locator(".widget-output").nth(1)
    _wait_for(lambda: _image_source(top) != "", "the generation's figure")
    before = _image_source(top)
    handle = box.locator(".widget-slider .noUi-handle").first
    handle.focus()
    handle.press("ArrowLeft")  # one generation back
    _wait_for(lambda: _image_source(top) not in ("", before), "the slider to redraw the generation's figure")

    box.get_by_role("button", name="train a descendant").click()
    _wait_for(lambda: _image_source(race_out) != "", "the race's learning curves", seconds=300)
    box.scroll_into_view_if_needed()
    _screenshot(page, "explorer.png")

    seed = box.locator(".widget-text input").first
    seed.fill("-3")
    seed.press("Enter")
    box.get_by_role("button", name="train a descendant").click()
    _wait_for(lambda: "task seed must be 0 or more" in race_out.inner_text(), "a message about the bad seed")
    assert "Traceback" not in race_out.inner_text() and _errors(page) == []
    page.close()


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    """``make book`` of the notebooks' stored outputs, into a temporary folder."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_book", PROJECT / "tools" / "make_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path_factory.mktemp("book")
    module.build(PROJECT / "notebooks", out)
    return out


def test_every_book_page_opens_offline_with_every_image_decoded_and_the_index_links_them_all(browser, book):
    pages = sorted(p.name for p in book.glob("[0-9][0-9]_*.html"))
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    failed, fetched = [], []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.route("http*://**/*", lambda route: (fetched.append(route.request.url), route.abort()))  # offline, always
    page.goto((book / "index.html").as_uri())
    linked = page.eval_on_selector_all("a[href$='.html']", "as => as.map(a => a.getAttribute('href'))")
    assert sorted(linked) == pages
    for name in pages:
        page.goto((book / name).as_uri(), wait_until="load")
        images = page.eval_on_selector_all("img", "is => is.map(i => [i.complete, i.naturalWidth])")
        assert all(done and width > 0 for done, width in images), f"{name}: an image that does not decode"
        if name.startswith("01_"):  # Figure 4, as a reader of the book meets it
            page.locator("img").first.scroll_into_view_if_needed()
            _screenshot(page, "book_fig4.png")
    assert fetched == [], f"a page fetches from the network: {fetched[:5]}"
    assert failed == [], f"requests that failed: {failed[:5]}"
    page.close()
