"""Seeded classification tasks: GTL's survival environments and few-shot episodes.

Both are drawn with learn2learn's ``MetaDataset``/``TaskDataset`` and its
``NWays``/``KShots``/``LoadData`` transforms, over an *index view* of an
:class:`~gtl.data.ImageDataset`: learn2learn picks the classes and the images,
and we get back indices, so the images themselves are gathered in one tensor
operation on whatever device holds them (no per-image Python work).

learn2learn samples with Python's global ``random``; :func:`_seeded` sets it
from the task's own seed and restores it afterwards, so task ``i`` of seed ``s``
is the same in every run, on every machine and in every process.
"""
from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass

import torch

from .data import ImageDataset
from .l2l import import_learn2learn


def derive_seed(*parts: int | str) -> int:
    """A 31-bit seed from a tuple like ``(run_seed, "task", generation, member)``.

    Stable across processes (unlike ``hash``), so resumed and distributed runs
    draw exactly the tasks a single uninterrupted run draws.
    """
    h = 1469598103934665603
    for byte in "/".join(map(str, parts)).encode():
        h = ((h ^ byte) * 1099511628211) % (1 << 64)
    return h % (1 << 31)


@contextlib.contextmanager
def _seeded(seed: int):
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)


class _IndexView(torch.utils.data.Dataset):
    """``dataset[i] -> (i, label)``: lets learn2learn sample indices, not images."""

    def __init__(self, labels: torch.Tensor):
        self.labels = labels.cpu().tolist()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return i, self.labels[i]


@dataclass
class Task:
    """A classification task: support (train) and query (test) images, labels ``0..ways-1``.

    ``classes`` are the dataset labels of the task's classes, in task-label order.
    """

    support_x: torch.Tensor
    support_y: torch.Tensor
    query_x: torch.Tensor
    query_y: torch.Tensor
    classes: list[int]

    @property
    def ways(self) -> int:
        return len(self.classes)


def task_size_problem(counts: dict[str, int], ways: int, shots: int, queries: int) -> str | None:
    """Why classes with these image ``counts`` (class -> images) cannot give ``ways``-way tasks of ``shots`` +
    ``queries`` images per class, or None when they can.

    One policy for ``info``, ``evolve`` and ``evaluate``: every class must fill a task. A class that cannot
    would otherwise be left out of every task without a word, and the test classes would silently be others.
    """
    per_class = shots + queries
    if len(counts) < ways:
        return f"{ways}-way tasks need {ways} classes; there are {len(counts)}"
    short = sorted((n, c) for c, n in counts.items() if n < per_class)
    if not short:
        return None
    names = ", ".join(f"{c!r} ({n})" for n, c in short[:3]) + (", ..." if len(short) > 3 else "")
    them = "it" if len(short) == 1 else "them"
    fix = (f"lower shots + queries to at most {short[0][0]}, or add images to {them}" if short[0][0] >= 2 else
           f"add images to {them} (a task takes at least one shot and one query per class)")
    return (f"{len(short)} class(es) have fewer than the {per_class} images a task takes ({shots} shots + {queries} "
            f"queries): {names}; {fix}")


def check_task_size(dataset: ImageDataset, ways: int, shots: int, queries: int, options: str = "") -> None:
    """A ``ValueError`` that says why ``dataset`` cannot give ``ways``-way tasks of this size
    (:func:`task_size_problem`), ending with ``options``: how to change the sizes where it is raised."""
    counts = dict(zip(dataset.classes, dataset.images_per_class().tolist()))
    problem = task_size_problem(counts, ways, shots, queries)
    if problem:
        raise ValueError(f"{dataset.name}: {problem}{options}")


class TaskSampler:
    """Draws seeded N-way tasks with ``shots`` support and ``queries`` query images per class.

    Args:
        dataset: images to draw from (any device).
        ways: classes per task.
        shots: support (training) images per class.
        queries: query (held-out) images per class.

    Example:
        >>> sampler = TaskSampler(test_set, ways=5, shots=1, queries=15)  # doctest: +SKIP
        >>> task = sampler.sample(seed=0)                                 # doctest: +SKIP
        >>> task.support_x.shape                                          # doctest: +SKIP
        torch.Size([5, 3, 84, 84])
    """

    def __init__(self, dataset: ImageDataset, ways: int, shots: int, queries: int):
        check_task_size(dataset, ways, shots, queries)
        per_class = shots + queries
        self.dataset, self.ways, self.shots, self.queries = dataset, ways, shots, queries
        self._taskset = _taskset(dataset, ways, per_class)

    def sample(self, seed: int) -> Task:
        """The task of this ``seed`` (same seed, same task)."""
        with _seeded(seed):
            idx, labels = self._taskset.sample()
        # learn2learn returns the images class by class; split each class's block.
        idx = torch.as_tensor(idx).view(self.ways, self.shots + self.queries)
        classes = torch.as_tensor(labels).view(self.ways, -1)[:, 0].tolist()
        task_labels = torch.arange(self.ways).unsqueeze(1)
        support, query = idx[:, : self.shots], idx[:, self.shots:]
        device = self.dataset.images.device
        gather = lambda i: self.dataset.images[i.reshape(-1).to(device)]
        return Task(
            support_x=gather(support),
            support_y=task_labels.expand(-1, self.shots).reshape(-1).to(device),
            query_x=gather(query),
            query_y=task_labels.expand(-1, self.queries).reshape(-1).to(device),
            classes=classes,
        )


def _taskset(dataset: ImageDataset, ways: int, per_class: int):
    l2l = import_learn2learn()
    from learn2learn.data.transforms import KShots, LoadData, NWays

    meta = _meta_dataset(dataset)  # every class fills a task (check_task_size)
    transforms = [NWays(meta, ways), KShots(meta, per_class), LoadData(meta)]
    return l2l.data.TaskDataset(meta, task_transforms=transforms, num_tasks=-1)


def _meta_dataset(dataset: ImageDataset):
    """learn2learn's MetaDataset over the index view, built once per dataset."""
    meta = getattr(dataset, "_l2l_meta", None)
    if meta is None:
        l2l = import_learn2learn()
        labels = dataset.labels.cpu()
        by_class = {c: torch.nonzero(labels == c).flatten().tolist() for c in labels.unique().tolist()}
        meta = l2l.data.MetaDataset(_IndexView(labels), labels_to_indices=by_class)
        dataset._l2l_meta = meta
    return meta
