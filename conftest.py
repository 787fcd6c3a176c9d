"""The test session's environment, for the unit tests and for every notebook nbval runs.

Set here, at the project root, so that it holds whichever paths pytest is given, and
before nbval starts a notebook's kernel (the kernel inherits this environment): plots
drawn off-screen, every notebook in the smoke profile (seconds), one thread per process
(fastest for tiny networks and safe beside other jobs), and runs, figures and decoded
images in a private folder of this session, never the checkout's ``runs/`` or ``figures/``
(an explicitly set ``$GTL_CACHE`` of decoded images is kept). Without the datasets the
notebooks are skipped with the reason, as the unit tests that need them are.
"""
import atexit
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["GTL_PROFILE"] = "smoke"
_SESSION = Path(tempfile.mkdtemp(prefix="gtl-tests-"))
atexit.register(shutil.rmtree, _SESSION, True)
os.environ["GTL_RUNS"] = str(_SESSION / "runs")
os.environ["GTL_FIGURES"] = str(_SESSION / "figures")
os.environ.setdefault("GTL_CACHE", str(_SESSION / "cache"))  # an explicit one is kept: CI may reuse decoded images


def pytest_collection_modifyitems(config, items):
    """Without the datasets every notebook would fail at its first load: skip them, saying why."""
    data = os.environ.get("GTL_DATA")
    if data and (Path(data) / "miniimagenet").is_dir():
        return
    import pytest
    skip = pytest.mark.skip(reason=f"no miniimagenet/ under GTL_DATA={data!r}: the notebooks need the datasets "
                                   "(docs/usage.md, Data layout)")
    for item in items:
        if "notebooks" in Path(str(item.fspath)).parts:
            item.add_marker(skip)
