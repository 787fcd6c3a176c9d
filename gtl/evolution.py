"""Genetic Transfer Learning: evolve a learngene in a population of networks.

One generation (paper abstract; docs/decisions.md #2-#8 for what it leaves open):

1. **Survival environment**: every member, a fresh network that inherited
   its parent's (mutated) learngene, is trained on its own 5-way task drawn
   from the training classes (its *lifetime*). Generation 0 starts from
   random weights. With ``closed_circuit`` the inherited learngene's channels
   read only each other for the whole lifetime (docs/decisions.md #16);
   generation 0 has no learngene at birth, so it always lives open.
2. **Extraction** (Lamarckian): the learngene's weights are read back from
   the trained member; generation 0 picks each group's most salient channels.
3. **Fitness**: a *critic* network inherits the learngene, is briefly trained
   on validation-class tasks and scored on their queries, minus a soft
   penalty for straying from the target learngene size.
4. **Tournament**: random groups of ``tournament_size``; each group's best wins.
5. **Mutation and inheritance**: each child of the next generation takes a
   winner's channel masks, adds or drops a few channels per group (chosen
   by the parent's channel saliency), and inherits the parent's trained
   weights at those positions. The best learngene ever seen is kept
   (elitism) and is the run's output.

Every random choice is derived from ``(seed, what, generation, member)``, so a
run resumed from its checkpoint (every finished generation, and every scored
member of the generation under way) is identical to one that was never
interrupted.
"""
from __future__ import annotations

import fcntl
from contextlib import contextmanager
import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from . import __version__
from .cache import digest, key
from .data import ImageDataset, class_split, dataset_label, is_folder_dataset, load_dataset
from .distributed import World
from .baselines import from_learngene
from .evaluation import EvalConfig, episode_accuracies
from .learngene import (ChannelMasks, Learngene, channel_saliency, close_circuit, extract, implant, seeded_model,
                        top_channels)
from .models import FewShotNet
from .population import Runtime, train_population
from .paths import runs_dir, write_atomically
from .profiles import CHOSEN_ISOLATION, check_profile
from .stats import mean_ci95
from .tasks import TaskSampler, check_task_size, derive_seed
from .train import TrainConfig, accuracy, check_values, train


@dataclass
class GTLConfig:
    """Every hyper-parameter of a GTL run. The paper states none of them beyond the
    datasets, the architectures and the ~20% learngene size (abstract); each value
    below is our choice, from docs/decisions.md, unless marked otherwise.

    Use :meth:`quick` (CPU, minutes) or :meth:`paper` (GPU, hours) and override
    fields as keyword arguments.
    """

    # data and architecture (abstract: CIFAR-FS / miniImageNet, VGG11 / ResNet12)
    dataset: str = "miniimagenet"
    image_size: int = 84
    arch: str = "vgg11"
    width: float = 1.0
    # population (GRL, the first author's earlier framework: 50 members, groups of 3)
    population: int = 50
    generations: int = 30
    tournament_size: int = 3
    # survival environments (docs/decisions.md #3)
    ways: int = 5
    task_shots: int = 500            # training images per class in a member's task
    task_queries: int = 100          # held-out images per class (host accuracy)
    lifetime: TrainConfig = field(default_factory=lambda: TrainConfig(steps=500, batch_size=64))
    # learngene size (abstract: ~20% of the parameters; 45% of channels gives that)
    initial_channel_fraction: float = 0.45
    target_fraction: float = 0.20
    size_penalty: float = 0.5        # fitness -= size_penalty * |fraction - target|
    min_channel_fraction: float = 0.10
    max_channel_fraction: float = 0.90
    # mutation (docs/decisions.md #7)
    mutation_rate: float = 0.3       # chance that a channel group mutates
    mutation_step: float = 0.05      # share of a group's channels added or dropped
    # complete circuits (docs/decisions.md #16; CNN learngenes only). None: the isolation chosen on validation
    # classes (gtl.profiles.CHOSEN_ISOLATION) for a CNN, 1.0 for a ViT (its learngene is not a channel circuit),
    # the same value every preset uses.
    cross_scale: float | None = None  # scale of the cross-weights W[S_out, ~S_in] at every birth (0: none)
    closed_circuit: bool = False     # lifetimes hold the cross-weights at 0 (generation 0 lives open)
    # fitness (docs/decisions.md #5)
    fitness: str = "critic"          # "critic" or "host"
    critic_tasks: int = 4           # validation episodes per critic, the same for every member
    critic_shots: int = 5
    critic_queries: int = 15
    critic: TrainConfig = field(default_factory=lambda: TrainConfig(steps=100, batch_size=25))
    # selection done more carefully (docs/decisions.md #20, explanation 5); off in every preset
    critic_fresh: bool = False       # critics meet new episodes every generation (else the same ones)
    ancestral_credit: float = 0.0    # β: a member's score (1 - β)·its fitness + β·its parent's score (GRL's 1/e)
    seed: int = 0

    @classmethod
    def smoke(cls, **overrides) -> "GTLConfig":
        """Seconds on a CPU, for tests: the quick profile's networks and code paths at an eighth
        width, with a handful of members, steps and episodes. Its numbers mean nothing."""
        base = dict(image_size=32, width=0.125, population=4, generations=2, tournament_size=2, task_shots=5,
                    task_queries=3, lifetime=TrainConfig(steps=4, batch_size=10), critic_tasks=1,
                    critic_queries=3, critic=TrainConfig(steps=3, batch_size=10))
        return cls(**{**chosen_isolation(overrides), **base, **overrides})

    @classmethod
    def quick(cls, **overrides) -> "GTLConfig":
        """CPU in minutes: VGG11 at a quarter width on 32x32 images, 12 members, 6 generations."""
        base = dict(image_size=32, width=0.25, population=12, generations=6, task_shots=60,
                    task_queries=20, lifetime=TrainConfig(steps=100, batch_size=25),
                    critic_tasks=4, critic=TrainConfig(steps=30, batch_size=25))
        if overrides.get("dataset") == "cifar-fs":  # the offline subset has only 11-33 images per class
            base.update(task_shots=9, task_queries=2, critic_queries=6)
        return cls(**{**chosen_isolation(overrides), **base, **overrides})

    @classmethod
    def paper(cls, **overrides) -> "GTLConfig":
        """GPU: full-width networks at the datasets' native image size."""
        image_size = 32 if overrides.get("dataset") == "cifar-fs" else 84
        return cls(**{"image_size": image_size, **chosen_isolation(overrides), **overrides})

    @classmethod
    def from_profile(cls, profile: str, **overrides) -> "GTLConfig":
        check_profile(profile)
        return getattr(cls, profile)(**overrides)

    @property
    def lifetime_batch(self) -> int:
        """Images in one lifetime step: the batch, or the whole support set when that is smaller."""
        return min(self.lifetime.batch_size, self.ways * self.task_shots)

    def key(self) -> str:
        """Short hash of every setting: a checkpoint resumes only under the same key, and
        the run's folder (:func:`default_run_dir`) adds the data and code to it."""
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:10]

    def __post_init__(self):
        if self.cross_scale is None:
            self.cross_scale = 1.0 if self.arch == "vit" else CHOSEN_ISOLATION["cross_scale"]
        self.validate()

    def validate(self) -> None:
        """Every value in range, or one ValueError naming each bad one (also run when the config is built)."""
        check_values("GTLConfig", [
            (self.image_size >= 8, f"image_size must be >= 8 pixels, got {self.image_size}"),
            (self.width > 0, f"width must be > 0, got {self.width}"),
            (self.population >= 1, f"population must be >= 1, got {self.population}"),
            (self.generations >= 1, f"generations must be >= 1, got {self.generations}"),
            (1 <= self.tournament_size <= self.population,
             f"tournament_size must be between 1 and population ({self.population}), got {self.tournament_size}"),
            (self.ways >= 2, f"ways must be >= 2 (a task tells classes apart), got {self.ways}"),
            (self.task_shots >= 1 and self.task_queries >= 1,
             f"task_shots and task_queries must be >= 1, got {self.task_shots} and {self.task_queries}"),
            (0 < self.target_fraction < 1, f"target_fraction must be in (0, 1), got {self.target_fraction}"),
            (self.size_penalty >= 0, f"size_penalty must be >= 0, got {self.size_penalty}"),
            (0 < self.min_channel_fraction <= self.initial_channel_fraction <= self.max_channel_fraction <= 1,
             "need 0 < min_channel_fraction <= initial_channel_fraction <= max_channel_fraction <= 1, got "
             f"{self.min_channel_fraction}, {self.initial_channel_fraction}, {self.max_channel_fraction}"),
            (0 <= self.mutation_rate <= 1, f"mutation_rate must be in [0, 1], got {self.mutation_rate}"),
            (0 < self.mutation_step <= 1, f"mutation_step must be in (0, 1], got {self.mutation_step}"),
            (0 <= self.cross_scale <= 1, f"cross_scale must be in [0, 1], got {self.cross_scale}"),
            (self.arch != "vit" or (self.cross_scale == 1 and not self.closed_circuit),
             f"cross_scale and closed_circuit apply to CNN learngenes; arch 'vit' needs cross_scale=1 and "
             f"closed_circuit=False, got {self.cross_scale} and {self.closed_circuit}"),
            (self.fitness in ("critic", "host"), f"fitness must be 'critic' or 'host', got {self.fitness!r}"),
            (self.critic_tasks >= 1 and self.critic_shots >= 1 and self.critic_queries >= 1,
             "critic_tasks, critic_shots and critic_queries must be >= 1, got "
             f"{self.critic_tasks}, {self.critic_shots} and {self.critic_queries}"),
            (0 <= self.ancestral_credit < 1, f"ancestral_credit must be in [0, 1), got {self.ancestral_credit}")])


def chosen_isolation(overrides: dict) -> dict:
    """The presets' isolation (docs/decisions.md #16): the one chosen on validation classes
    (:data:`gtl.profiles.CHOSEN_ISOLATION`), for CNNs; a ViT's learngene is not a channel circuit."""
    return {} if overrides.get("arch") == "vit" else dict(CHOSEN_ISOLATION)


def config_from_dict(d: dict) -> GTLConfig:
    d = dict(d)
    d["lifetime"], d["critic"] = TrainConfig(**d["lifetime"]), TrainConfig(**d["critic"])
    return GTLConfig(**d)


# ------------------------------------------------------- genetic operators


def tournament(fitness: list[float], size: int, seed: int) -> list[int]:
    """Shuffle the population, cut it into groups of ``size``, return each group's best.

    The last group may be smaller. Ties go to the lower index. Winners are
    returned best first.
    """
    if not fitness:
        raise ValueError("empty population")
    order = torch.randperm(len(fitness), generator=torch.Generator().manual_seed(seed)).tolist()
    winners = []
    for i in range(0, len(order), size):
        group = order[i: i + size]
        winners.append(max(group, key=lambda j: (fitness[j], -j)))
    return sorted(winners, key=lambda j: (-fitness[j], j))


def mutate(masks: ChannelMasks, saliency: dict[str, torch.Tensor], rate: float, step: float,
           min_fraction: float, max_fraction: float, seed: int) -> ChannelMasks:
    """Grow or shrink some channel groups of a learngene (docs/decisions.md #7).

    Each group mutates with probability ``rate``; a mutation adds (or, with
    equal chance, drops) ``max(1, round(step * C))`` channels: the parent's
    most salient channels outside the learngene, or its least salient inside.
    The group's channel fraction is kept within ``[min_fraction, max_fraction]``.
    """
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, mask in masks.items():
        mask = mask.clone()
        n = mask.numel()
        if float(torch.rand(1, generator=g)) < rate:
            k = max(1, round(step * n))
            grow = float(torch.rand(1, generator=g)) < 0.5
            lo, hi = max(1, round(min_fraction * n)), max(1, round(max_fraction * n))
            s = saliency[name]
            if grow:
                k = min(k, hi - int(mask.sum()))
                if k > 0:
                    cand = torch.where(mask, torch.full_like(s, -float("inf")), s)
                    mask[torch.topk(cand, k).indices] = True
            else:
                k = min(k, int(mask.sum()) - lo)
                if k > 0:
                    cand = torch.where(mask, s, torch.full_like(s, float("inf")))
                    mask[torch.topk(cand, k, largest=False).indices] = False
        out[name] = mask
    return out


# ------------------------------------------------------------ one member


@dataclass
class Member:
    """One network of a generation, after its lifetime."""

    generation: int
    index: int
    parent: int                    # index in the previous generation, -1 if none
    masks: ChannelMasks
    learngene: Learngene           # extracted after the lifetime (Lamarckian)
    saliency: dict[str, torch.Tensor]
    host_state: dict[str, torch.Tensor]
    host_accuracy: float
    critic_accuracy: float = float("nan")
    fitness: float = float("nan")
    classes: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("generation", "index", "parent", "masks", "saliency",
                                           "host_state", "host_accuracy", "critic_accuracy",
                                           "fitness", "classes")}
        d["learngene"] = self.learngene.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Member":
        return cls(**{**d, "learngene": Learngene.from_dict(d["learngene"])})

    def cpu(self) -> "Member":
        """The same member with every tensor on the CPU (to send it to another process)."""
        return Member.from_dict(_to_cpu(self.to_dict()))


def _to_cpu(obj):
    if torch.is_tensor(obj):
        return obj.cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


# how to change each task size where it is too large for the classes (gtl.tasks.task_size_problem)
TASK_OPTIONS = (" (training classes, lifetimes: GTLConfig's task_shots/task_queries, on the command line "
                "--set task_shots=N --set task_queries=M)")
CRITIC_OPTIONS = (" (validation classes, critics: GTLConfig's critic_shots/critic_queries, on the command line "
                  "--set critic_shots=N --set critic_queries=M)")


class Environment:
    """The data a run lives on: training classes (lifetimes) and validation classes (critics).

    ``fingerprint`` digests both (read on the CPU, before any move to ``device``): it
    names the run's folder and keeps a run from resuming on other images.
    """

    def __init__(self, cfg: GTLConfig, data_root=None, device: str = "cpu",
                 train_set: ImageDataset | None = None, val_set: ImageDataset | None = None):
        self.cfg, self.device = cfg, device
        train_set = train_set or load_dataset(cfg.dataset, "train", data_root, cfg.image_size)
        val_set = val_set or load_dataset(cfg.dataset, "val", data_root, cfg.image_size)
        self.fingerprint = digest(train_set.fingerprint(), val_set.fingerprint())
        # a class folder's split, kept with every learngene: its test classes must stay unseen where it is evaluated
        self.split = class_split(cfg.dataset) if is_folder_dataset(cfg.dataset) else None
        self.train_set, self.val_set = train_set.to(device), val_set.to(device)
        # both task sizes are checked before the first lifetime, not after it
        check_task_size(self.train_set, cfg.ways, cfg.task_shots, cfg.task_queries, TASK_OPTIONS)
        self.tasks = TaskSampler(self.train_set, cfg.ways, cfg.task_shots, cfg.task_queries)
        if cfg.fitness == "critic":
            check_task_size(self.val_set, cfg.ways, cfg.critic_shots, cfg.critic_queries, CRITIC_OPTIONS)

    def new_network(self, seed: int) -> FewShotNet:
        return seeded_model(self.cfg.arch, self.cfg.ways, self.cfg.width, seed).to(self.device)


def birth(env: Environment, generation: int, index: int, parent: Member | None):
    """A new member before its lifetime: a fresh network with its parent's mutated
    learngene inherited (generation 0: no learngene yet), and its own task.

    The child's cross-weights are scaled by ``cross_scale``; with ``closed_circuit``
    the circuit of the child's own masks is closed, so channels a mutation added
    read only learngene channels from birth on, like the rest.
    """
    cfg = env.cfg
    net = env.new_network(derive_seed(cfg.seed, "init", generation, index))
    masks = None
    if parent is not None:
        masks = mutate(parent.masks, parent.saliency, cfg.mutation_rate, cfg.mutation_step,
                       cfg.min_channel_fraction, cfg.max_channel_fraction,
                       derive_seed(cfg.seed, "mutate", generation, index))
        host = env.new_network(0)
        host.load_state_dict(parent.host_state)
        implant(net, extract(host, masks), cfg.cross_scale)
        if cfg.closed_circuit:
            close_circuit(net, masks)
    return net, masks, env.tasks.sample(derive_seed(cfg.seed, "task", generation, index))


def lifetime_seed(cfg: GTLConfig, generation: int, index: int) -> int:
    return derive_seed(cfg.seed, "life", generation, index)


def mature(env: Environment, generation: int, index: int, parent: Member | None, net: FewShotNet,
           masks: ChannelMasks | None, task) -> Member:
    """A member after its lifetime: its learngene is read back from the trained network."""
    cfg = env.cfg
    saliency = channel_saliency(net)
    if masks is None:  # generation 0: the most salient channels become the first learngene
        masks = top_channels(saliency, cfg.initial_channel_fraction)
    lg = extract(net, masks, dataset=cfg.dataset, image_size=cfg.image_size, generation=generation,
                 seed=cfg.seed, member=index, config_key=cfg.key(), cross_scale=cfg.cross_scale,
                 closed_circuit=cfg.closed_circuit,  # how its descendants are born: `gtl evaluate` reads it
                 data_fingerprint=env.fingerprint, gtl_version=__version__,  # what it was evolved on, and by
                 **({"class_split": env.split} if env.split else {}))
    return Member(generation, index, -1 if parent is None else parent.index, masks, lg, saliency,
                  {k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
                  accuracy(net, task.query_x, task.query_y), classes=task.classes)


def live(env: Environment, generation: int, index: int, parent: Member | None,
         runtime: Runtime | None = None) -> Member:
    """A member's whole life, alone: inherit (mutated) learngene, train on its own task, extract.
    ``runtime`` gives the precision and memory format (bf16 on CUDA by default)."""
    runtime = runtime or Runtime()
    net, masks, task = birth(env, generation, index, parent)
    train(net, task.support_x, task.support_y, env.cfg.lifetime, lifetime_seed(env.cfg, generation, index),
          channels_last=runtime.channels_last, bf16=runtime.bf16_on(env.device))
    return mature(env, generation, index, parent, net, masks, task)


def live_generation(env: Environment, generation: int, indices: list[int], parents: list[Member],
                    runtime: Runtime) -> list[Member]:
    """The lives of members ``indices`` of a generation (member ``i`` descends from
    :func:`parent_of` it): one by one, or as one batched population.

    Either way each member gets the same network, task and batches, so the
    members (up to float rounding) do not depend on how they were trained.
    """
    parent = {i: parent_of(i, parents) for i in indices}
    if not runtime.batched_on(env.device):
        with runtime.backend(env.device):
            return [live(env, generation, i, parent[i], runtime) for i in indices]
    born = [birth(env, generation, i, parent[i]) for i in indices]
    nets, tasks = [b[0] for b in born], [b[2] for b in born]
    train_population(nets, [t.support_x for t in tasks], [t.support_y for t in tasks], env.cfg.lifetime,
                     [lifetime_seed(env.cfg, generation, i) for i in indices], runtime)
    return [mature(env, generation, i, parent[i], net, masks, task)
            for i, (net, masks, task) in zip(indices, born)]


def parent_of(index: int, parents: list[Member]) -> Member | None:
    """The parent of a generation's member ``index``: the winners take turns (None in generation 0)."""
    return parents[index % len(parents)] if parents else None


def critic_protocol(cfg: GTLConfig) -> EvalConfig:
    """The critic's evaluation: ``critic_tasks`` episodes of the validation classes."""
    return EvalConfig(ways=cfg.ways, shots=cfg.critic_shots, queries=cfg.critic_queries,
                      episodes=cfg.critic_tasks, finetune=cfg.critic)


def critic_accuracies(env: Environment, learngenes: list[Learngene], runtime: Runtime | None = None,
                      progress: bool = False, generation: int = 0) -> list[float]:
    """Mean query accuracy of critics that inherit each learngene and train on validation-class episodes.

    Every member of every generation meets the same episodes and fine-tuning
    seeds (common random numbers), so fitnesses differ by the learngene alone
    and the population curve of Figure 4 is comparable across generations and
    with baselines evaluated by the same :func:`critic_protocol`; with
    ``critic_fresh`` each ``generation`` meets its own (selection cannot fit
    four episodes over the generations). A batched runtime trains the critics
    of all the learngenes together. A critic is born like a member, its
    cross-weights scaled by ``cross_scale``, but trains open.
    """
    cfg = env.cfg
    seed = derive_seed(cfg.seed, "critics", generation) if cfg.critic_fresh else cfg.seed
    makers = [from_learngene(lg, cfg.cross_scale) for lg in learngenes]
    accs = episode_accuracies(makers, env.val_set, critic_protocol(cfg), seed, env.device, runtime,
                              desc="critics", progress=progress)
    return [mean_ci95([a[-1] for a in member])[0] for member in accs]


def critic_accuracy(env: Environment, lg: Learngene) -> float:
    """:func:`critic_accuracies` of one learngene, fine-tuned one critic after another."""
    return critic_accuracies(env, [lg])[0]


def score(env: Environment, members: Member | list[Member], runtime: Runtime | None = None,
          progress: bool = False, parents: list[Member] = ()) -> None:
    """Fill in the members' critic accuracy and fitness (about half of a generation's time: a bar
    when ``progress``). With ``ancestral_credit`` β, the fitness tournaments compare is the lineage's
    running mean: (1 - β)·the member's own + β·its parent's (one of ``parents``, :func:`parent_of`)."""
    cfg = env.cfg
    members = [members] if isinstance(members, Member) else members
    generation = members[0].generation if members else 0
    for m, acc in zip(members, critic_accuracies(env, [m.learngene for m in members], runtime, progress,
                                                 generation)):
        m.critic_accuracy = acc
        base = m.critic_accuracy if cfg.fitness == "critic" else m.host_accuracy
        m.fitness = base - cfg.size_penalty * abs(m.learngene.fraction - cfg.target_fraction)
        parent = parent_of(m.index, parents)
        if cfg.ancestral_credit and parent is not None:
            m.fitness = (1 - cfg.ancestral_credit) * m.fitness + cfg.ancestral_credit * parent.fitness
        m.learngene.meta["fitness"] = m.fitness


# ---------------------------------------------------------------- the run


@dataclass
class EvolutionResult:
    """What a finished (or resumed-and-finished) run gives back."""

    config: GTLConfig
    best: Learngene
    history: pd.DataFrame
    run_dir: Path


def default_run_dir(cfg: GTLConfig, profile: str, data: str, precision: str = "fp32") -> Path:
    """``$GTL_RUNS`` (default ``<project>/runs``) / ``<dataset>-<arch>-<profile>-<run key>``.

    The run key (:func:`gtl.cache.key`) covers the settings, the data's fingerprint
    ``data`` (:attr:`Environment.fingerprint`), the code version and the precision members
    train in (:meth:`Runtime.precision`), so other images, changed code or bf16 get a run of
    their own instead of an old one's results.
    """
    name = key(cfg.key(), data, precision, producer="evolution")
    return runs_dir() / f"{dataset_label(cfg.dataset)}-{cfg.arch}-{profile}-{name}"


def _row(m: Member) -> dict:
    """A member's line in ``generations.csv`` (``winner`` is set after the tournament)."""
    return {"generation": m.generation, "member": m.index, "parent": m.parent,
            "fitness": m.fitness, "critic_accuracy": m.critic_accuracy, "host_accuracy": m.host_accuracy,
            "learngene_params": m.learngene.num_params, "learngene_fraction": m.learngene.fraction,
            "winner": False, "classes": " ".join(map(str, m.classes))}


def evolve(cfg: GTLConfig, run_dir: str | os.PathLike | None = None, data_root=None,
           device: str | None = None, resume: bool = True, progress: bool = True,
           env: Environment | None = None, runtime: Runtime | None = None,
           world: World = World()) -> EvolutionResult:
    """Run GTL; checkpoint every generation (and every scored member) into ``run_dir`` and resume from it.

    Args:
        cfg: the run's settings.
        run_dir: where the log (``generations.csv``), the checkpoint, the
            best learngene (``learngene.pt``) and each generation's winning
            learngene (``champions/``) go; default :func:`default_run_dir` (profile "custom").
        data_root: dataset root (default ``$GTL_DATA``, then ``./data``).
        device: ``"cuda"`` when available, else ``"cpu"``.
        resume: continue a run found in ``run_dir`` (a finished run is simply
            returned: this is the cache notebooks rely on) if it was made with the
            same settings and data; ``False`` starts over.
        env: a prepared :class:`Environment` (saves reloading data). The data is
            always loaded: its fingerprint guards the checkpoint.
        runtime: how members train (:class:`gtl.population.Runtime`; default
            batched on CUDA, one by one on a CPU).
        world: this process's share of the population (:mod:`gtl.distributed`).
    """
    cfg.validate()
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    runtime = runtime or Runtime()
    env = env or Environment(cfg, data_root, device)
    if run_dir is None:
        run_dir = default_run_dir(cfg, "custom", env.fingerprint, runtime.precision(env.device))
    run_dir = Path(run_dir)
    if world.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
    with _run_lock(run_dir, world):
        return _evolve(cfg, run_dir, env, resume, progress, runtime, world)


class RunLockedError(RuntimeError):
    """Another live process is evolving in this run folder."""


@contextmanager
def _run_lock(run_dir: Path, world: World = World()):
    """One process writes a run folder at a time: a second ``evolve`` on it is refused
    (:class:`RunLockedError`), not left to overwrite the first one's learngene. An OS file lock:
    the system releases it when its process ends, however it ends. Rank 0 takes it for all
    ranks, and a refusal reaches every rank (none is left waiting for the others). A folder we
    cannot write (a finished run on a read-only disk) is read without one. The file ``.lock``
    stays: removing it would let a process that opened it just before lock a file no other
    process can find any more."""
    fd, refusal = None, None
    if world.is_main:
        try:
            fd = os.open(run_dir / ".lock", os.O_CREAT | os.O_WRONLY)
        except OSError:
            fd = None
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:  # held by a live process, or no locks on this file system
                os.close(fd)
                fd = None
                refusal = (("locked", f"another process is evolving in {run_dir}: wait for it to finish, or give "
                                      f"this run another folder (--run-dir)") if isinstance(e, BlockingIOError) else
                           ("no locks", f"cannot lock {run_dir / '.lock'} ({e}): give this run a folder on a local "
                                        f"disk (--run-dir)"))
    refusal = world.broadcast(refusal, 0)
    if refusal:  # a held folder can be waited for (gtl.experiments.run_evolution does); one without locks cannot
        raise (RunLockedError if refusal[0] == "locked" else ValueError)(refusal[1])
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)  # closing releases the lock


def _evolve(cfg: GTLConfig, run_dir: Path, env: Environment, resume: bool, progress: bool, runtime: Runtime,
            world: World) -> EvolutionResult:
    """The generations of :func:`evolve`, in a run folder this process holds."""
    ckpt_path = run_dir / "checkpoint.pt"
    if world.is_main and not resume:
        shutil.rmtree(run_dir / "lived", ignore_errors=True)
    world.barrier()  # a fresh run on rank 0 must not race the others reading an old checkpoint
    precision, threads = runtime.precision(env.device), cpu_threads(env.device)
    state = _load_checkpoint(ckpt_path, cfg, env.fingerprint, precision) if resume and ckpt_path.exists() else None
    world.barrier()
    start = 0 if state is None else state["generation"] + 1
    if state is not None and start < cfg.generations:
        _check_threads(ckpt_path, state.get("threads"), threads)
    parents = [] if state is None else [Member.from_dict(d) for d in state["parents"]]
    best = None if state is None else Member.from_dict(state["best"])
    history = [] if state is None else state["history"]
    bar = tqdm(range(start, cfg.generations), desc="GTL generations", disable=not progress or not world.is_main,
               initial=start, total=cfg.generations)
    for gen in bar:
        mine = live_and_score(env, gen, world.members(cfg.population), parents, runtime, run_dir,
                              progress and world.is_main)
        rows = sorted((r for part in world.all_gather([_row(m) for m in mine]) for r in part),
                      key=lambda r: r["member"])
        winners = tournament([r["fitness"] for r in rows], cfg.tournament_size,
                             derive_seed(cfg.seed, "tournament", gen))
        by_index = {m.index: m for m in mine}
        winning = [world.broadcast(by_index[w].cpu() if w in by_index else None, world.owner(w)) for w in winners]
        if best is None or winning[0].fitness > best.fitness:
            best = winning[0]
        parents = winning
        if best.generation != gen:  # elitism: the best ever keeps a place among the parents
            parents.append(best)
        history += [{**r, "winner": r["member"] in winners} for r in rows]
        for m in mine:  # every rank its own members, before the checkpoint that marks the generation done
            member_path(run_dir, gen, m.index).parent.mkdir(parents=True, exist_ok=True)
            m.learngene.save(member_path(run_dir, gen, m.index))
        if world.is_main:  # the outputs first, the checkpoint that marks the generation done last: a write that
            # fails (a full disk) leaves the generation undone, and the resume writes them all again
            champion_path(run_dir, gen).parent.mkdir(exist_ok=True)
            winning[0].learngene.save(champion_path(run_dir, gen))
            best.learngene.save(run_dir / "learngene.pt")
            frame = pd.DataFrame(history)
            write_atomically(run_dir / "generations.csv", lambda tmp: frame.to_csv(tmp, index=False))
            _save_checkpoint(ckpt_path, cfg, gen, parents, best, history, env.fingerprint, precision, threads)
        world.barrier()
        if world.is_main:  # the generation is in the checkpoint: its lived members are no longer needed
            shutil.rmtree(lived_path(run_dir, gen, 0).parent, ignore_errors=True)
        bar.set_postfix(best_fitness=f"{best.fitness:.3f}", size=f"{100 * best.learngene.fraction:.1f}%")
    if world.is_main:
        shutil.rmtree(run_dir / "lived", ignore_errors=True)
    return EvolutionResult(cfg, best.learngene, pd.DataFrame(history), run_dir)


def live_and_score(env: Environment, generation: int, indices: list[int], parents: list[Member],
                   runtime: Runtime, run_dir: Path, progress: bool = False) -> list[Member]:
    """Members ``indices`` of a generation, lived (:func:`live_generation`) and scored (:func:`score`).

    A chunk at a time (one member on a CPU, up to ``runtime.chunk`` when batched), and every
    scored chunk is saved at once (:func:`lived_path`): a generation interrupted after some of
    its members resumes from the next one instead of from its start. Each member's life and
    critics depend on its own seeds alone, so the members do not depend on the chunking (exactly
    on a CPU, one by one; batched, up to float rounding: stacks of other sizes round otherwise).
    """
    # what a saved member must match: settings, data, precision and (on a CPU) the thread count it trained with
    cfg, made = env.cfg, (env.fingerprint, runtime.precision(env.device), str(cpu_threads(env.device)))
    done = {i: m for i in indices if (m := _load_lived(lived_path(run_dir, generation, i), cfg, made))}
    todo = [i for i in indices if i not in done]
    size = runtime.chunk if runtime.batched_on(env.device) else 1
    with tqdm(total=len(indices), initial=len(done), desc=f"generation {generation}", leave=False,
              disable=not progress) as bar:
        for start in range(0, len(todo), size):
            chunk = live_generation(env, generation, todo[start: start + size], parents, runtime)
            score(env, chunk, runtime, progress, parents)
            for m in chunk:
                _save_lived(lived_path(run_dir, generation, m.index), cfg, made, m)
                done[m.index] = m
            bar.update(len(chunk))
    return [done[i] for i in indices]


def lived_path(run_dir: str | os.PathLike, generation: int, member: int) -> Path:
    """Where a scored member of a generation not yet in the checkpoint waits (the whole member:
    its network is a parent's if it wins). Removed once the generation is checkpointed."""
    return Path(run_dir) / "lived" / f"generation-{generation:03d}" / f"member-{member:03d}.pt"


def _save_lived(path: Path, cfg: GTLConfig, made: tuple[str, ...], m: Member) -> None:
    """``made``: the data's fingerprint, the precision and the CPU threads the member trained with."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda tmp: torch.save({"key": cfg.key(), "made": list(made), "member": m.cpu().to_dict()},
                                                  tmp))


def _load_lived(path: Path, cfg: GTLConfig, made: tuple[str, ...]) -> Member | None:
    """The member saved at ``path`` by a run of these settings, data, precision and threads, else None (it lives
    again)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # not there, or (written atomically by us) damaged from outside: it lives again
        return None
    if state.get("key") != cfg.key() or state.get("made") != list(made):
        return None
    return Member.from_dict(state["member"])


def member_path(run_dir: str | os.PathLike, generation: int, member: int) -> Path:
    """Where a run keeps member ``member``'s learngene of generation ``generation`` (each rank
    writes its own members): what selection chose from, for :func:`gtl.experiments.selection_validity`."""
    return Path(run_dir) / "members" / f"generation-{generation:03d}" / f"member-{member:03d}.pt"


def champion_path(run_dir: str | os.PathLike, generation: int) -> Path:
    """Where a run keeps the learngene that won generation ``generation`` (for the explorer)."""
    return Path(run_dir) / "champions" / f"generation-{generation:03d}.pt"


def cpu_threads(device: str) -> int | None:
    """The CPU threads a run on ``device`` computes with (None on a GPU, where they do not touch the numbers):
    on a CPU the thread count changes the order of float sums, hence every number after a few SGD steps."""
    return torch.get_num_threads() if str(device).startswith("cpu") else None


def unfinished_threads(run_dir: str | os.PathLike, cfg: GTLConfig) -> int | None:
    """The CPU threads an unfinished run of ``cfg`` in ``run_dir`` was trained with, so that a command not told
    ``--threads`` resumes it with them; None when there is no such run (or its checkpoint cannot say)."""
    path = Path(run_dir) / "checkpoint.pt"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True) if path.exists() else {}
    except Exception:  # a damaged checkpoint: the resume itself says so
        return None
    unfinished = state.get("key") == cfg.key() and state.get("generation", cfg.generations) + 1 < cfg.generations
    return state.get("threads") if unfinished else None


def _check_threads(path: Path, made: int | None, now: int | None) -> None:
    """Refuse to continue a run with another CPU thread count than it was trained with: one run, two
    computations. A finished run is only read, whatever the count."""
    if made is not None and now is not None and made != now:
        raise ValueError(f"{path.parent} was trained with {made} CPU thread(s), this run would go on with {now}: "
                         f"the count changes the numbers; resume with --threads {made} (or OMP_NUM_THREADS={made}), "
                         f"or start over with --fresh")


def _save_checkpoint(path: Path, cfg: GTLConfig, gen: int, parents: list[Member], best: Member,
                     history: list[dict], data: str, precision: str, threads: int | None = None) -> None:
    payload = {"config": asdict(cfg), "key": cfg.key(), "data": data, "precision": precision, "generation": gen,
               "threads": threads, "parents": [p.to_dict() for p in parents], "best": best.to_dict(),
               "history": history}
    write_atomically(path, lambda tmp: torch.save(payload, tmp))


def _load_checkpoint(path: Path, cfg: GTLConfig, data: str, precision: str) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # written atomically by us, so damaged from outside: say so, lose nothing silently
        raise ValueError(f"{path} cannot be read ({type(e).__name__}): it is empty, truncated or damaged. "
                         f"resume=False (--fresh on the command line) starts the run over there; the learngenes "
                         f"of finished generations stay in {path.parent / 'champions'}") from None
    if state.get("key") != cfg.key():
        raise ValueError(f"{path} belongs to a run with other settings (key {state.get('key')}, "
                         f"this config {cfg.key()}): pass another run directory, or resume=False "
                         f"(--fresh on the command line) to start over there")
    if state.get("data") != data:
        raise ValueError(f"{path} was made from other data (fingerprint {state.get('data')}, this data {data}): "
                         f"pass another run directory, or resume=False (--fresh on the command line) to start "
                         f"over there")
    if state.get("precision", "fp32") != precision:  # checkpoints before #19 were all fp32 on a CPU
        raise ValueError(f"{path} was trained in {state.get('precision', 'fp32')}, this run would train in "
                         f"{precision} (--fp32 / --cpu-bf16, $GTL_CPU_BF16; docs/decisions.md #19): resume it as it "
                         f"was made, pass another run directory, or resume=False (--fresh) to start over there")
    return state
