"""Shared fixtures of the unit tests.

Real images come from ``$GTL_DATA`` (CI points it at ``shared/data``, the
offline subsets of miniImageNet, CIFAR-100 and CUB); tests that need them skip
with a clear reason when it is not set. Everything else runs on tiny synthetic
data made here, so most of the suite needs no dataset at all.
"""
from __future__ import annotations

import os

# the tests (and the notebooks they run) check fp32 on a CPU, whatever the shell says
os.environ.pop("GTL_CPU_BF16", None)
import warnings
from pathlib import Path

import pytest
import torch

from _helpers import make_fake_mini
from gtl.data import ImageDataset

# The tests train tiny networks: one intra-op thread is fastest for them, and
# far faster than several threads on a machine whose cores are busy elsewhere.
torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def _quiet_gym():
    warnings.filterwarnings("ignore", message=".*gym.*")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt
    plt.close("all")


# ------------------------------------------------------------ real data


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The shared real-image subsets, through ``$GTL_DATA`` as a user would set it."""
    value = os.environ.get("GTL_DATA")
    if not value:
        pytest.skip("GTL_DATA is not set: point it at the shared data folder (shared/data) "
                    "to run the tests on real images")
    root = Path(value)
    if not (root / "miniimagenet").is_dir():
        pytest.skip(f"GTL_DATA={root} has no miniimagenet/ folder: these tests need the shared "
                    f"real-image subsets (shared/data)")
    return root


@pytest.fixture(scope="session")
def mini_train(data_root) -> ImageDataset:
    from gtl.data import load_dataset
    return load_dataset("miniimagenet", "train", data_root, image_size=32)


@pytest.fixture(scope="session")
def mini_val(data_root) -> ImageDataset:
    from gtl.data import load_dataset
    return load_dataset("miniimagenet", "val", data_root, image_size=32)


@pytest.fixture(scope="session")
def mini_test(data_root) -> ImageDataset:
    from gtl.data import load_dataset
    return load_dataset("miniimagenet", "test", data_root, image_size=32)


# ------------------------------------------------------- synthetic data


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch) -> Path:
    """A private decode cache, so no cached image leaks between tests."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("GTL_CACHE", str(cache))
    return cache


@pytest.fixture
def fake_mini_root(tmp_path, tmp_cache) -> Path:
    root = tmp_path / "data"
    make_fake_mini(root)
    return root
