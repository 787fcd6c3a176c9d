"""The population over several processes (gtl.distributed): equal to one process."""
from __future__ import annotations

import fcntl
import os
import subprocess
import sys

import pandas as pd
import pytest
import torch

from _helpers import PROJECT
from gtl.distributed import World, init_from_env
from gtl.learngene import Learngene


@pytest.mark.parametrize("population, size", [(5, 2), (8, 3), (2, 4)])
def test_every_member_has_exactly_one_rank(population, size):
    shares = [World(r, size).members(population) for r in range(size)]
    assert sorted(i for share in shares for i in share) == list(range(population))
    for r, share in enumerate(shares):
        assert all(World(0, size).owner(i) == r for i in share)


def test_a_single_process_is_a_world_of_one(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    world, device = init_from_env("cpu")
    assert world == World() and world.is_main and device == "cpu"
    assert world.all_gather({"a": 1}) == [{"a": 1}] and world.broadcast(3, src=0) == 3
    assert world.members(3) == [0, 1, 2]


# A tiny GTL run through the command line: 5 members (an uneven split over 2 processes), 2 generations.
TINY = ["--arch", "conv4", "--width", "0.25", "--population", "5", "--generations", "2", "--seed", "3",
        "--quiet", "--device", "cpu",
        *[x for item in ("tournament_size=2", "task_shots=5", "task_queries=3", "lifetime.steps=3",
                         "lifetime.batch_size=10", "critic_tasks=2", "critic_shots=1", "critic_queries=3",
                         "critic.steps=2", "critic.batch_size=5", "mutation_rate=0.5", "mutation_step=0.25")
          for x in ("--set", item)]]


def _run(launcher: list[str], run_dir, data_root, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GTL_DATA": str(data_root)}
    env.pop("WORLD_SIZE", None)
    cmd = [*launcher, "-m", "gtl", "evolve", *TINY, "--run-dir", str(run_dir)]
    done = subprocess.run(cmd, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)
    assert not check or done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done


TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]


@pytest.mark.slow
def test_two_gloo_processes_equal_one_process(data_root, tmp_path):
    one = _run([sys.executable], tmp_path / "one", data_root)
    two = _run(TORCHRUN, tmp_path / "two", data_root)
    assert "2 processes" in two.stdout and two.stdout.count("best learngene:") == 1  # rank 0 speaks
    assert "2 processes" not in one.stdout
    a, b = pd.read_csv(tmp_path / "one" / "generations.csv"), pd.read_csv(tmp_path / "two" / "generations.csv")
    assert len(a) == 10 and a.winner.sum() >= 2
    pd.testing.assert_frame_equal(a, b)  # same members, fitnesses, winners and parents
    la, lb = Learngene.load(tmp_path / "one" / "learngene.pt"), Learngene.load(tmp_path / "two" / "learngene.pt")
    same = {k for k in la.meta if k != "created"}  # the learngene file's time stamp differs, nothing else
    assert {k: la.meta[k] for k in same} == {k: lb.meta[k] for k in same}
    assert all(torch.equal(la.masks[g], lb.masks[g]) for g in la.masks)
    assert all(torch.equal(la.weights[k], lb.weights[k]) for k in la.weights)
    ca = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=True)
    cb = torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=True)
    assert [p["index"] for p in ca["parents"]] == [p["index"] for p in cb["parents"]]
    assert all(torch.equal(ca["parents"][i]["host_state"][k], cb["parents"][i]["host_state"][k])
               for i in range(len(ca["parents"])) for k in ca["parents"][i]["host_state"])


@pytest.mark.slow
def test_a_run_folder_another_process_holds_is_refused_on_every_rank(data_root, tmp_path):
    """Rank 0 takes the run folder's lock for all ranks; its refusal must reach rank 1 too, which
    would otherwise wait for rank 0 at the first barrier."""
    run_dir = tmp_path / "held"
    run_dir.mkdir()
    holder = os.open(run_dir / ".lock", os.O_CREAT | os.O_WRONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        done = _run(TORCHRUN, run_dir, data_root, check=False)
    finally:
        os.close(holder)
    assert done.returncode != 0 and done.stderr.count("another process is evolving") == 2, done.stderr
