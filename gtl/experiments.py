"""The experiments behind the notebooks, cached so no notebook trains the same thing twice.

* :func:`run_evolution` - a GTL run per (profile, dataset, arch, seed, overrides)
  and data, cached in ``runs/<dataset>-<arch>-<profile>-<run key>/``;
* :func:`gtl.baselines.pretrained_network` - the Pre-Fin ancestor, cached beside it;
* :func:`compare_methods` - Learngene vs Scratch, Pre-Fin, Layer-LG and Random-mask
  on N-way K-shot episodes, fine-tuned or untrained (instincts), on the run's
  dataset or another one, cached as a CSV keyed by both configs;
* :func:`transfer_table` - the learngene in deeper, wider and other networks.

Every cache is keyed by the settings, the fingerprints of the data read and the
code version (:mod:`gtl.cache`): other images or changed code are recomputed.
Notebooks call these and draw; tests call them on tiny settings.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import pandas as pd

from .cache import cached_table, key
from .data import ImageDataset, load_dataset
from .evolution import (
    Environment,
    EvolutionResult,
    GTLConfig,
    RunLockedError,
    champion_path,
    critic_protocol,
    default_run_dir,
    evolve,
    member_path,
)
from .baselines import (
    from_learngene,
    scratch,
)
from .evaluation import (
    EvalConfig,
    episode_accuracies,
    evaluate,
)
from .inherit import build, inherited_params
from .methods import METHODS, PRETRAINED, Method, check_methods, evaluate_methods, method_makers
from .learngene import Learngene, count_params
from .models import build_model
from .population import Runtime, default_device
from .profiles import Profile, check_profile, numbers
from .tasks import derive_seed
from .stats import long_rows, summarize

PAIR_ON = ("dataset", "split", "score", "setting")  # rows equal in these met the same episodes


@dataclass(frozen=True)
class Study:
    """What every experiment of a notebook shares: the profile, the data and network, the seed of its
    runs, and where and how it computes. Passed first to every experiment function.

    The seed is the unit of a claim: one ``Study`` is one draw (its own evolution, pre-training and
    episodes); :meth:`seeds` gives the studies of several draws, whose per-seed results
    :func:`gtl.stats.seed_interval` turns into an interval over runs.
    """
    profile: str = "quick"
    dataset: str = "miniimagenet"
    arch: str = "vgg11"
    seed: int = 0
    data_root: str | None = None
    device: str | None = None  # None: the GPU when there is one, else the CPU
    runtime: Runtime = field(default_factory=Runtime)
    progress: bool = False

    def __post_init__(self):
        check_profile(self.profile)
        object.__setattr__(self, "device", self.device or default_device())

    @property
    def numbers(self) -> Profile:
        """The profile's numbers beyond its presets (:class:`gtl.profiles.Profile`)."""
        return numbers(self.profile)

    def gtl_config(self, **overrides) -> GTLConfig:
        """The profile's GTL preset for this dataset, network and seed, with ``overrides``."""
        return GTLConfig.from_profile(self.profile, **{"dataset": self.dataset, "arch": self.arch,
                                                       "seed": self.seed, **overrides})

    def eval_config(self, **overrides) -> EvalConfig:
        """The profile's evaluation preset for this dataset, with ``overrides``."""
        return EvalConfig.from_profile(self.profile, self.dataset, **overrides)

    def seeds(self, seeds) -> list["Study"]:
        """This study once per seed in ``seeds``: the runs a claim is made over."""
        return [replace(self, seed=s) for s in seeds]


def run_evolution(study: Study, **overrides) -> EvolutionResult:
    """Evolve (or load the cached) learngene of ``study`` with GTLConfig ``overrides``, on the data under
    ``study.data_root``: its folder is keyed by settings, data and code (:func:`default_run_dir`)."""
    cfg = study.gtl_config(**overrides)
    env = Environment(cfg, study.data_root, study.device)  # loaded once: fingerprinted here, trained on in evolve
    while True:
        try:
            return evolve(cfg, default_run_dir(cfg, study.profile, env.fingerprint,
                                               study.runtime.precision(study.device)),
                          data_root=study.data_root, device=study.device, progress=study.progress, env=env,
                          runtime=study.runtime)
        except RunLockedError:  # a notebook running beside this one evolves the same run: take its result
            time.sleep(10)


def fingerprints(result: EvolutionResult, test_set: ImageDataset, methods: tuple[str, ...] = (),
                 data_root=None) -> list[str]:
    """What a table of ``result`` is computed from besides settings and code, for its cache key:
    the learngene, the test images and, when a method pre-trains, the training images."""
    cfg = result.config
    parts = [result.best.fingerprint(), test_set.fingerprint()]
    if set(PRETRAINED) & set(methods):
        parts.append(load_dataset(cfg.dataset, "train", data_root, cfg.image_size).fingerprint())
    return parts


def method_episodes(study: Study, result: EvolutionResult, eval_cfg: EvalConfig, *, split: str = "test",
                    shots: tuple[int, ...] = (1, 5), methods: tuple[str, ...] = METHODS[:3], score: str = "finetune",
                    dataset: str | None = None) -> pd.DataFrame:
    """Each method's accuracy on every ``split``-class episode: a long table (:mod:`gtl.stats`),
    one row per (method, shots, episode), cached in the run's folder.

    Every method meets the same episodes, so any two can be compared paired.
    ``dataset`` (default: the run's) tests on another dataset's classes (adaptability).
    """
    check_methods(methods)
    cfg, device, data_root = result.config, study.device, study.data_root
    dataset = dataset or cfg.dataset
    test_set = load_dataset(dataset, split, data_root, cfg.image_size)
    name = key(eval_cfg, split, shots, methods, cfg.key(), score, dataset,
               fingerprints(result, test_set, methods, data_root), producer="experiments")

    def compute() -> pd.DataFrame:
        results = evaluate_methods(result.best, cfg, eval_cfg, test_set.to(device), shots, methods, data_root,
                                   device, study.progress, score, study.runtime)
        total = result.best.meta["total_params"]
        return pd.DataFrame([row for r in results for row in r.long(
            params_fraction=r.params_transferred / total, split=split, dataset=dataset, arch=cfg.arch,
            image_size=cfg.image_size, score=score)])
    return cached_table(result.run_dir / f"episodes-{split}-{name}.csv", compute)


def compare_methods(study: Study, result: EvolutionResult, eval_cfg: EvalConfig, **options) -> pd.DataFrame:
    """:func:`method_episodes` (same ``options``) summarised: mean ± 95% CI of each method per setting,
    and its paired difference with Scratch on the same episodes (:func:`gtl.stats.summarize`)."""
    return summarize(method_episodes(study, result, eval_cfg, **options), PAIR_ON)


def learning_curves(study: Study, result: EvolutionResult, eval_cfg: EvalConfig, *,
                    methods: tuple[str, ...] = METHODS[:3], shots: int = 5, at: tuple[int, ...] = (0, 5, 10, 25, 50),
                    split: str = "test", support_statistics: bool = False) -> pd.DataFrame:
    """Accuracy on novel-class episodes after each number of fine-tuning steps in ``at``, per
    method: how fast each initialisation learns, not only where it ends. A long table (one
    row per method, step and episode; one training run per episode), cached; summarise it
    with ``summarize(curves, ["step"])``. ``split="val"`` draws the episodes from the validation
    classes, where protocol values (e.g. fine-tuning steps) are chosen, never on test classes;
    they are fresh episodes (another seed), not the ones the critics' selection fitted. (The same
    seed as :func:`fresh_validation`'s: notebook 12 and decision #20 chose the isolation on these episodes.)
    ``support_statistics``:
    accuracies read with BatchNorm statistics measured on each support set (a column ``bn``)."""
    check_methods(methods)
    cfg, device, data_root = result.config, study.device, study.data_root
    test_set = load_dataset(cfg.dataset, split, data_root, cfg.image_size)
    name = key(eval_cfg, methods, shots, at, split, cfg.key(), fingerprints(result, test_set, methods, data_root),
               *(["support statistics"] if support_statistics else []), producer="experiments")

    def compute() -> pd.DataFrame:
        makers = method_makers(result.best, cfg, eval_cfg, methods, data_root, device, study.runtime)
        protocol = replace(eval_cfg, shots=shots)
        seed = cfg.seed if split == "test" else derive_seed(cfg.seed, "fresh episodes", split)
        curves = episode_accuracies([makers[m].make for m in methods], test_set.to(device), protocol, seed,
                                    device, study.runtime, at=at, desc="learning curves", progress=study.progress,
                                    support_statistics=support_statistics)
        rows = pd.DataFrame([row for m, per_episode in zip(methods, curves) for i, step in enumerate(at)
                             for row in long_rows([c[i] for c in per_episode], method=m, step=step,
                                                  setting=f"{protocol.ways}-way {shots}-shot", seed=seed,
                                                  params_transferred=makers[m].params, dataset=cfg.dataset,
                                                  split=split)])
        return rows.assign(bn="support") if support_statistics else rows
    return cached_table(result.run_dir / f"curves-{split}-{name}.csv", compute)


def scalability_targets(study: Study, *, arch: str, width: float) -> list[tuple[str, float]]:
    """Descendants to initialise from a learngene of ``arch`` at ``width``: deeper VGGs, the ancestor
    wider, and the other architecture family (our choice; how many of each: the study's profile)."""
    numbers = study.numbers
    other = "vgg16" if arch == "resnet12" else "resnet12"
    return ([(a, width) for a in numbers.deeper if a != arch] + [(arch, f * width) for f in numbers.wider]
            + [(other, width)])


def transfer_table(study: Study, result: EvolutionResult, eval_cfg: EvalConfig, *, targets: list[tuple[str, float]],
                   shots: tuple[int, ...] = (5,)) -> pd.DataFrame:
    """Scalability: the learngene in descendants of other depth, width and architecture
    (:mod:`gtl.inherit`), each against Scratch of the same descendant, same episodes.
    A long table (one row per episode), cached; ``summarize(t, ["descendant", "setting"])``."""
    cfg, device = result.config, study.device
    test_set = load_dataset(cfg.dataset, "test", study.data_root, cfg.image_size)
    name = key(eval_cfg, targets, shots, cfg.key(), fingerprints(result, test_set), producer="experiments")
    return cached_table(result.run_dir / f"transfer-{name}.csv",
                        lambda: _transfer_rows(result, eval_cfg, targets, shots, test_set.to(device), device,
                                               study.progress))


def _transfer_rows(result: EvolutionResult, eval_cfg: EvalConfig, targets: list[tuple[str, float]],
                   shots: tuple[int, ...], test_set: ImageDataset, device: str, progress: bool) -> pd.DataFrame:
    cfg, lg, rows = result.config, result.best, []
    for arch, width in targets:
        shape = build_model(arch, 5, width)  # only counted
        total = count_params(shape)
        methods = [Method("Learngene", lambda s, a=arch, w=width: build(lg, a, w, 5, s, cross_scale=cfg.cross_scale),
                          inherited_params(lg, shape)),
                   Method("Scratch", scratch(arch, width), 0)]
        for k in shots:
            for m in methods:
                r = evaluate(m.make, test_set, replace(eval_cfg, shots=k), cfg.seed, m.name, m.params, device,
                             progress)
                rows += r.long(descendant=f"{arch} x{width:g}", arch=arch, width=width, descendant_params=total,
                               params_fraction=m.params / total)
    return pd.DataFrame(rows)


def reference_lines(study: Study, result: EvolutionResult, eval_cfg: EvalConfig) -> list[dict]:
    """Figure 4's reference lines: Scratch and Pre-Fin on the critics' own episodes
    (same validation tasks, shots, queries, fine-tuning and seeds as the population)."""
    cfg = result.config
    protocol = replace(critic_protocol(cfg), pretrain=eval_cfg.pretrain)
    df = compare_methods(study, result, protocol, split="val", shots=(cfg.critic_shots,),
                         methods=("Scratch", "Pre-Fin"))
    return [{"label": r.method, "accuracy": r.mean, "ci95": r.ci95, "params": r.params_transferred}
            for r in df.itertuples()]


def fresh_validation(study: Study, result: EvolutionResult, eval_cfg: EvalConfig) -> pd.DataFrame:
    """Figure 4 without the winner's curse: each generation's winning learngene, and Scratch,
    on ``eval_cfg.episodes`` validation-class episodes that selection never saw (the critics'
    protocol with another seed). The critics' own curve is what selection fitted; this one says
    whether what it picked holds on new episodes of the same classes. They are the validation
    episodes of :func:`learning_curves` ``(split="val")`` too, on which notebook 12 and decision #20
    chose the isolation: fresh for the selection inside a run, not for that choice. A long table (``method``
    "winner" with its ``generation``, or "Scratch" with generation -1), cached in the run's folder."""
    cfg, device = result.config, study.device
    val_set = load_dataset(cfg.dataset, "val", study.data_root, cfg.image_size)
    protocol = replace(critic_protocol(cfg), episodes=eval_cfg.episodes)
    seed = derive_seed(cfg.seed, "fresh episodes", "val")
    winners = [Learngene.load(champion_path(result.run_dir, g)) for g in range(cfg.generations)]
    name = key(protocol, seed, cfg.key(), [w.fingerprint() for w in winners], val_set.fingerprint(),
               producer="experiments")

    def compute() -> pd.DataFrame:
        makers = [from_learngene(w, cfg.cross_scale) for w in winners] + [scratch(cfg.arch, cfg.width)]
        accs = episode_accuracies(makers, val_set.to(device), protocol, seed, device, study.runtime,
                                  desc="fresh episodes", progress=study.progress)
        return pd.DataFrame([row for g, per_episode in enumerate(accs) for row in long_rows(
            [a[-1] for a in per_episode], method="Scratch" if g == len(winners) else "winner",
            generation=-1 if g == len(winners) else g, setting=f"{protocol.ways}-way {protocol.shots}-shot",
            seed=seed, split="val")])
    return cached_table(result.run_dir / f"fresh-val-{name}.csv", compute)


def selection_validity(study: Study, result: EvolutionResult, eval_cfg: EvalConfig, *, generation: int | None = None,
                       episodes: int = 20) -> pd.DataFrame:
    """Does selection select? Every member of ``generation`` (default: the last) passes its
    learngene to descendants that meet ``episodes`` test-class episodes; a long table with
    each member's ``fitness`` and ``critic_accuracy`` beside its descendants' accuracies,
    cached. Rank-correlate fitness with the members' mean accuracy
    (:func:`gtl.stats.rank_correlation`): near 0, the tournaments pick by noise."""
    cfg, device = result.config, study.device
    generation = cfg.generations - 1 if generation is None else generation
    test_set = load_dataset(cfg.dataset, "test", study.data_root, cfg.image_size)
    members = [Learngene.load(member_path(result.run_dir, generation, i)) for i in range(cfg.population)]
    protocol = replace(eval_cfg, episodes=episodes)
    name = key(protocol, generation, cfg.key(), [m.fingerprint() for m in members], test_set.fingerprint(),
               producer="experiments")

    def compute() -> pd.DataFrame:
        accs = episode_accuracies([from_learngene(m, cfg.cross_scale) for m in members], test_set.to(device),
                                  protocol, cfg.seed, device, study.runtime,
                                  desc=f"generation {generation}'s members", progress=study.progress)
        rows = result.history[result.history.generation == generation].set_index("member")
        return pd.DataFrame([row for i, per_episode in enumerate(accs) for row in long_rows(
            [a[-1] for a in per_episode], method="member", generation=generation, member=i,
            fitness=float(rows.fitness[i]), critic_accuracy=float(rows.critic_accuracy[i]),
            setting=f"{protocol.ways}-way {protocol.shots}-shot", seed=cfg.seed)])
    return cached_table(result.run_dir / f"selection-{name}.csv", compute)


# The ablations (paper: reported but not known; ours: one genetic ingredient removed at a time).
ABLATIONS = {
    "GTL": {},
    "no mutation": {"mutation_rate": 0.0},
    "no tournament": {"tournament_size": 1},   # every member reproduces: no selection of parents
    "host fitness": {"fitness": "host"},       # fitness = accuracy on the member's own task
    "generation 0 only": {"generations": 1},   # no inheritance at all
}


def ablation_table(study: Study, *, eval_cfg: EvalConfig, shots: int = 5) -> pd.DataFrame:
    """Each ablation evolved (cached) at the profile's ablation budget and its learngene's descendants
    tested on the same novel-class episodes, with Scratch and Random-mask (no evolution at all) beside
    them. A long table: ``method`` is the variant, one row per episode."""
    rows = []
    for name, overrides in ABLATIONS.items():
        result = run_evolution(study, **{**study.numbers.ablation, **overrides})
        methods = ("Learngene", "Scratch", "Random-mask") if name == "GTL" else ("Learngene",)
        df = method_episodes(study, result, eval_cfg, shots=(shots,), methods=methods)
        label = {m: name if m == "Learngene" else f"{m} (no evolution)" for m in methods}
        rows.append(df.assign(method=df.method.map(label), generations=result.config.generations,
                              population=result.config.population,
                              best_from_generation=int(result.best.meta["generation"]),
                              best_fitness=float(result.history.fitness.max())))
    return pd.concat(rows, ignore_index=True)
