"""The test session's environment, for the unit tests and for every notebook nbval runs.

Set here, at the project root, so that it holds whichever paths pytest is given, and
before nbval starts a notebook's kernel (the kernel inherits this environment): plots
drawn off-screen, every notebook in the smoke profile (seconds), one thread per process
(fastest for tiny networks and safe beside other jobs), and runs, figures and decoded
images in a private folder of this session, never the checkout's ``runs/`` or ``figures/``.
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
for _key in ("GTL_RUNS", "GTL_FIGURES", "GTL_CACHE"):
    if not os.environ.get(_key):  # an explicit GTL_CACHE is kept: CI may reuse decoded images
        os.environ[_key] = str(_SESSION / _key.lower())
