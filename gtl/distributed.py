"""A population over several processes: ``torchrun --nproc-per-node N -m gtl evolve``.

Every process (rank) lives the members ``rank, rank + N, rank + 2N, ...`` of
each generation. Then:

1. each member's summary (fitness, accuracies, size, classes) is
   all-gathered, so every rank holds the whole generation's log;
2. the tournament runs on every rank from the same seed and the same
   fitnesses, so every rank picks the same winners;
3. each winner is broadcast from the rank that lived it: its masks, its
   saliency and its trained weights, everything the next generation inherits.

Every random choice in GTL is derived from ``(seed, what, generation,
member)``, never from which process runs it, so a run on N processes equals
the single-process run with the same seed (a test checks it). Rank 0 writes
the checkpoint, the log and the learngene; all ranks read the checkpoint to
resume, so over several nodes the run directory must be on a shared disk.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    """Which share of the population this process owns. ``World()`` is a single process."""

    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def members(self, population: int) -> list[int]:
        """This rank's members: every ``size``-th, starting at ``rank``."""
        return list(range(self.rank, population, self.size))

    def owner(self, member: int) -> int:
        return member % self.size

    def all_gather(self, obj) -> list:
        """``obj`` of every rank, in rank order (pickled; keep it small)."""
        if self.size == 1:
            return [obj]
        out = [None] * self.size
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj, src: int):
        """``obj`` as rank ``src`` holds it, on every rank."""
        if self.size == 1:
            return obj
        box = [obj if self.rank == src else None]
        dist.broadcast_object_list(box, src=src)
        return box[0]

    def barrier(self) -> None:
        if self.size > 1:
            dist.barrier()


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_from_env(device: str | None = None) -> tuple[World, str]:
    """Join the process group torchrun describes in the environment, if any.

    NCCL when the processes have GPUs (each takes ``cuda:LOCAL_RANK``), gloo on CPUs.
    Returns the world and the device this rank should use.
    """
    if not launched_by_torchrun():
        return World(), device or ("cuda" if torch.cuda.is_available() else "cpu")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
    if use_cuda:
        torch.cuda.set_device(local_rank)
        device = f"cuda:{local_rank}"
    else:
        device = "cpu"
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return World(dist.get_rank(), dist.get_world_size()), device


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
