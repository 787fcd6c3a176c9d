"""One cache for every slow result (evolution runs, pre-trained networks, tables), keyed so it cannot lie.

A result is served from disk only when everything that produced it is unchanged:

* the settings: configs and arguments, passed to :func:`key`;
* the data actually read: :meth:`gtl.data.ImageDataset.fingerprint` of each
  dataset (other images under ``$GTL_DATA`` mean other results);
* the code: :func:`code_version` of the module that computes it (its *producer*):
  a digest of that module and of every module of this package it imports, directly
  or not, except those that cannot change a number (:data:`NOT_RESULTS`: words,
  plots, paths, the command line). So rewording a verdict (:mod:`gtl.report`)
  re-runs nothing, a change to the study tables (:mod:`gtl.experiments`) re-runs
  tables but no evolution, and a change to fine-tuning (:mod:`gtl.evaluation`)
  re-runs evolutions too, because their critics fine-tune. Comments, docstrings and
  formatting do not count; any real code change does, and so does
  :data:`CACHE_VERSION`, bumped by hand when results must change although the code
  does not look different (e.g. a dependency's behaviour).

Keys name the files, so a changed input simply misses: old files are never
overwritten or replayed. :func:`cached` writes atomically (temporary file, then
``os.replace``), so an interrupted run leaves no half file, and a file that
cannot be read back whole is recomputed rather than raised or served.
"""
from __future__ import annotations

import ast
import hashlib
import io
import json
import os
from dataclasses import asdict, is_dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, TypeVar

import pandas as pd
import torch

from .paths import write_atomically

# Bump when cached results must be recomputed although no result-producing code changed.
CACHE_VERSION = 1

# Modules whose code cannot change a cached number: words (report), figures, paths and provenance, the command
# line and tools, notebooks' helpers, the profiles' constants (they reach every key through the configs they set)
# and this module (CACHE_VERSION is in every key).
NOT_RESULTS = frozenset({"report", "plots", "paths", "provenance", "cli", "bench", "explorer", "exercises", "profiles",
                         "cache", "l2l", "__init__", "__main__"})

T = TypeVar("T")


def digest(*parts: torch.Tensor | str) -> str:
    """A 16-hex-digit digest of tensors (dtype, shape and bytes, read on the CPU) and strings."""
    h = hashlib.sha1()
    for p in parts:
        if torch.is_tensor(p):
            t = p.detach().cpu().contiguous()
            h.update(f"tensor {t.dtype} {tuple(t.shape)}\0".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy())
        else:
            h.update(f"str {p}\0".encode())
    return h.hexdigest()[:16]


def source_digest(source: str) -> str:
    """Digest of what Python source *does*: its syntax tree without docstrings.

    Comments and formatting are not in the tree; docstrings are removed from it,
    so only a change that can change a result changes the digest.
    """
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return hashlib.sha1(ast.dump(tree).encode()).hexdigest()


def _package() -> Path:
    return Path(__file__).parent


@lru_cache(maxsize=None)
def _source(name: str) -> str:
    """The source of this package's module ``name`` (read once per process)."""
    return (_package() / f"{name}.py").read_text()


def _imports(name: str) -> set[str]:
    """The modules of this package that module ``name`` imports (``from .x import``, ``from . import x``),
    except under ``if TYPE_CHECKING:`` (annotations only, no code run)."""
    tree = ast.parse(_source(name))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and getattr(node.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and id(node) not in typing_only:
            found |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
    return {m for m in found if (_package() / f"{m}.py").exists()}


@lru_cache(maxsize=None)
def result_modules(producer: str) -> tuple[str, ...]:
    """``producer`` and every module of this package it imports, directly or not, less :data:`NOT_RESULTS`:
    the code behind what ``producer`` computes."""
    if not (_package() / f"{producer}.py").exists():
        raise ValueError(f"no module gtl.{producer}: a producer is the module that computes a cached result")
    seen, todo = set(), [producer]
    while todo:
        name = todo.pop()
        if name not in seen and name not in NOT_RESULTS:
            seen.add(name)
            todo += sorted(_imports(name))
    return tuple(sorted(seen))


@lru_cache(maxsize=None)
def _modules_digest(producer: str) -> str:
    """:func:`source_digest` of each of ``producer``'s :func:`result_modules`, in one digest."""
    parts = [f"{name}:{source_digest(_source(name))}" for name in result_modules(producer)]
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()


def code_version(producer: str) -> str:
    """The version of the code behind what ``producer`` computes: its modules' digest and :data:`CACHE_VERSION`."""
    return hashlib.sha1(f"{CACHE_VERSION}:{_modules_digest(producer)}".encode()).hexdigest()[:10]


def _jsonable(obj):
    return asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else str(obj)


def key(*parts, producer: str) -> str:
    """A 10-hex-digit key of ``parts`` (settings, dataclasses, fingerprints) and the :func:`code_version` of
    ``producer`` (the module that computes the result): its name in the cache, so that any changed input is
    a cache miss."""
    text = json.dumps([code_version(producer), *parts], sort_keys=True, default=_jsonable)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def cached(path: str | os.PathLike, compute: Callable[[], T], save: Callable[[T, Path], None],
           load: Callable[[Path], T]) -> T:
    """``load(path)`` when it exists and reads back, else ``compute()``, saved to ``path`` atomically.

    ``load`` must raise on a damaged file: it is then recomputed and replaced.
    """
    path = Path(path)
    if path.exists():
        try:
            return load(path)
        except Exception:  # truncated, corrupt or from an incompatible writer: recompute
            pass
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda tmp: save(value, tmp))
    return value


def _read_table(path: Path) -> pd.DataFrame:
    """A CSV written by :func:`cached_table`, or an error when it was cut short."""
    data = path.read_bytes()
    if not data.endswith(b"\n"):  # to_csv ends every row with a newline
        raise ValueError(f"{path} is truncated")
    df = pd.read_csv(io.BytesIO(data))
    if df.empty:
        raise ValueError(f"{path} has no rows")
    return df


def cached_table(path: str | os.PathLike, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """:func:`cached` for a table, as CSV."""
    return cached(path, compute, lambda df, p: df.to_csv(p, index=False), _read_table)


def cached_state(path: str | os.PathLike, compute: Callable[[], dict]) -> dict:
    """:func:`cached` for tensors (e.g. a network's ``state_dict``), as a torch file, loaded on the CPU."""
    return cached(path, compute, torch.save, lambda p: torch.load(p, map_location="cpu", weights_only=True))
