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
from dataclasses import replace

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
    from_layers,
    from_learngene,
    from_pretrained,
    pre_cut,
    pretrained_network,
    pretrained_params,
    random_like,
    scratch,
)
from .evaluation import (
    EvalConfig,
    FewShotResult,
    episode_accuracies,
    evaluate,
    finetune_on_task,
    instinct_on_task,
)
from .inherit import build, inherited_params
from .learngene import Learngene, count_params
from .models import build_model
from .population import Runtime, default_device
from .tasks import derive_seed
from .stats import long_rows, summarize

METHODS = ("Learngene", "Scratch", "Pre-Fin", "Pre-Cut", "Layer-LG", "Random-mask")
PRETRAINED = ("Pre-Fin", "Pre-Cut", "Layer-LG", "Random-mask")  # the methods built from a network pre-trained first
SCORES = {"finetune": finetune_on_task, "instinct": instinct_on_task}
PAIR_ON = ("dataset", "split", "score", "setting")  # rows equal in these met the same episodes


def run_evolution(profile: str = "quick", dataset: str = "miniimagenet", arch: str = "vgg11", seed: int = 0,
                  data_root=None, device: str | None = None, progress: bool = True,
                  **overrides) -> EvolutionResult:
    """Evolve (or load the cached) learngene of this profile and settings on the data under
    ``data_root``: its folder is keyed by settings, data and code (:func:`default_run_dir`)."""
    cfg = GTLConfig.from_profile(profile, dataset=dataset, arch=arch, seed=seed, **overrides)
    device = device or default_device()
    env = Environment(cfg, data_root, device)  # loaded once: fingerprinted here, trained on in evolve
    while True:
        try:
            return evolve(cfg, default_run_dir(cfg, profile, env.fingerprint, Runtime().precision(device)),
                          data_root=data_root, device=device, progress=progress, env=env)
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


def _check_methods(methods: tuple[str, ...]) -> None:
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}; choose from {METHODS}")


def method_makers(lg: Learngene, cfg: GTLConfig, eval_cfg: EvalConfig, methods: tuple[str, ...],
                  data_root=None, device: str | None = None, runtime: Runtime | None = None) -> dict[str, tuple]:
    """``method -> (make_model(seed), parameters transferred)`` for the methods asked.

    Learngene: descendants of ``lg``; Scratch: random networks of its architecture;
    Pre-Fin: a network pre-trained on ``cfg``'s training classes (cached), all weights;
    Pre-Cut: that network cut by GTL's saliency rule to ``lg``'s channel counts;
    Layer-LG: its top layers whole, about ``lg``'s parameter count; Random-mask: its
    weights under random channel masks of ``lg``'s sizes (docs/decisions.md #12). Every
    learngene-shaped method is born the way ``cfg`` says (``cross_scale``, decision #16).
    """
    _check_methods(methods)
    makers = {"Learngene": (from_learngene(lg, cfg.cross_scale), lg.num_params),
              "Scratch": (scratch(lg.arch, lg.width), 0)}
    if set(PRETRAINED) & set(methods):
        net = pretrained_network(cfg, eval_cfg, data_root, device, runtime)
        makers["Pre-Fin"] = (from_pretrained(net), pretrained_params(net))
        makers["Layer-LG"] = from_layers(net, lg.num_params)
        for name, cut in (("Pre-Cut", pre_cut(lg, net)), ("Random-mask", random_like(lg, net, cfg.seed))):
            makers[name] = (from_learngene(cut, cfg.cross_scale), cut.num_params)
    return {m: makers[m] for m in methods}


def evaluate_methods(lg: Learngene, cfg: GTLConfig, eval_cfg: EvalConfig, test_set: ImageDataset,
                     shots: tuple[int, ...] = (1, 5), methods: tuple[str, ...] = METHODS[:3], data_root=None,
                     device: str | None = None, progress: bool = True, score: str = "finetune",
                     runtime: Runtime | None = None) -> list[FewShotResult]:
    """Each method on the same ``test_set`` episodes, for every K in ``shots`` (shots outer, methods inner).

    ``score="instinct"`` measures the untrained networks (nearest class mean) instead of fine-tuning.
    ``runtime`` (default :class:`Runtime`: batched on CUDA) trains the episodes and any pre-training.
    """
    device = device or default_device()
    makers = method_makers(lg, cfg, eval_cfg, methods, data_root, device, runtime)
    return [evaluate(makers[m][0], test_set, replace(eval_cfg, shots=k), cfg.seed, m, makers[m][1], device,
                     progress, SCORES[score], runtime)
            for k in shots for m in methods]


def method_episodes(result: EvolutionResult, eval_cfg: EvalConfig, split: str = "test",
                    shots: tuple[int, ...] = (1, 5), methods: tuple[str, ...] = METHODS[:3], data_root=None,
                    device: str | None = None, progress: bool = True, score: str = "finetune",
                    dataset: str | None = None) -> pd.DataFrame:
    """Each method's accuracy on every ``split``-class episode: a long table (:mod:`gtl.stats`),
    one row per (method, shots, episode), cached in the run's folder.

    Every method meets the same episodes, so any two can be compared paired.
    ``dataset`` (default: the run's) tests on another dataset's classes (adaptability).
    """
    _check_methods(methods)
    cfg, device = result.config, device or default_device()
    dataset = dataset or cfg.dataset
    test_set = load_dataset(dataset, split, data_root, cfg.image_size)
    name = key(eval_cfg, split, shots, methods, cfg.key(), score, dataset,
               fingerprints(result, test_set, methods, data_root), producer="experiments")

    def compute() -> pd.DataFrame:
        results = evaluate_methods(result.best, cfg, eval_cfg, test_set.to(device), shots, methods, data_root,
                                   device, progress, score)
        total = result.best.meta["total_params"]
        return pd.DataFrame([row for r in results for row in r.long(
            params_fraction=r.params_transferred / total, split=split, dataset=dataset, arch=cfg.arch,
            image_size=cfg.image_size, score=score)])
    return cached_table(result.run_dir / f"episodes-{split}-{name}.csv", compute)


def compare_methods(result: EvolutionResult, eval_cfg: EvalConfig, split: str = "test",
                    shots: tuple[int, ...] = (1, 5), methods: tuple[str, ...] = METHODS[:3], data_root=None,
                    device: str | None = None, progress: bool = True, score: str = "finetune",
                    dataset: str | None = None) -> pd.DataFrame:
    """:func:`method_episodes` summarised: mean ± 95% CI of each method per setting, and
    its paired difference with Scratch on the same episodes (:func:`gtl.stats.summarize`)."""
    return summarize(method_episodes(result, eval_cfg, split, shots, methods, data_root, device, progress, score,
                                     dataset), PAIR_ON)


def learning_curves(result: EvolutionResult, eval_cfg: EvalConfig, methods: tuple[str, ...] = METHODS[:3],
                    shots: int = 5, at: tuple[int, ...] = (0, 5, 10, 25, 50), data_root=None,
                    device: str | None = None, progress: bool = True, split: str = "test") -> pd.DataFrame:
    """Accuracy on novel-class episodes after each number of fine-tuning steps in ``at``, per
    method: how fast each initialisation learns, not only where it ends. A long table (one
    row per method, step and episode; one training run per episode), cached; summarise it
    with ``summarize(curves, ["step"])``. ``split="val"`` draws the episodes from the validation
    classes, where protocol values (e.g. fine-tuning steps) are chosen, never on test classes;
    they are fresh episodes (another seed), not the ones the critics' selection fitted. (The same
    seed as :func:`fresh_validation`'s: notebook 12 chose the isolation on these episodes.)"""
    _check_methods(methods)
    cfg, device = result.config, device or default_device()
    test_set = load_dataset(cfg.dataset, split, data_root, cfg.image_size)
    name = key(eval_cfg, methods, shots, at, split, cfg.key(), fingerprints(result, test_set, methods, data_root),
               producer="experiments")

    def compute() -> pd.DataFrame:
        makers = method_makers(result.best, cfg, eval_cfg, methods, data_root, device)
        protocol = replace(eval_cfg, shots=shots)
        seed = cfg.seed if split == "test" else derive_seed(cfg.seed, "fresh episodes", split)
        curves = episode_accuracies([makers[m][0] for m in methods], test_set.to(device), protocol, seed,
                                    device, at=at, desc="learning curves", progress=progress)
        return pd.DataFrame([row for m, per_episode in zip(methods, curves) for i, step in enumerate(at)
                             for row in long_rows([c[i] for c in per_episode], method=m, step=step,
                                                  setting=f"{protocol.ways}-way {shots}-shot", seed=seed,
                                                  params_transferred=makers[m][1], dataset=cfg.dataset,
                                                  split=split)])
    return cached_table(result.run_dir / f"curves-{split}-{name}.csv", compute)


def scalability_targets(profile: str, arch: str, width: float) -> list[tuple[str, float]]:
    """Descendants to initialise from a learngene of ``arch`` at ``width``: deeper VGGs,
    the ancestor twice as wide, and the other architecture family (our choice)."""
    if profile != "paper":  # the CPU time budget: one of each kind
        deeper, wider = ["vgg16"], [(arch, 1.5 * width)]
    else:
        deeper, wider = ["vgg13", "vgg16", "vgg19"], [(arch, 1.5 * width), (arch, 2 * width)]
    other = "vgg16" if arch == "resnet12" else "resnet12"
    return [(a, width) for a in deeper if a != arch] + wider + [(other, width)]


def transfer_table(result: EvolutionResult, eval_cfg: EvalConfig, targets: list[tuple[str, float]],
                   shots: tuple[int, ...] = (5,), device: str | None = None, progress: bool = True,
                   data_root=None) -> pd.DataFrame:
    """Scalability: the learngene in descendants of other depth, width and architecture
    (:mod:`gtl.inherit`), each against Scratch of the same descendant, same episodes.
    A long table (one row per episode), cached; ``summarize(t, ["descendant", "setting"])``."""
    cfg, device = result.config, device or default_device()
    test_set = load_dataset(cfg.dataset, "test", data_root, cfg.image_size)
    name = key(eval_cfg, targets, shots, cfg.key(), fingerprints(result, test_set), producer="experiments")
    return cached_table(result.run_dir / f"transfer-{name}.csv",
                        lambda: _transfer_rows(result, eval_cfg, targets, shots, test_set.to(device), device, progress))


def _transfer_rows(result: EvolutionResult, eval_cfg: EvalConfig, targets: list[tuple[str, float]],
                   shots: tuple[int, ...], test_set: ImageDataset, device: str, progress: bool) -> pd.DataFrame:
    cfg, lg, rows = result.config, result.best, []
    for arch, width in targets:
        shape = build_model(arch, 5, width)  # only counted
        total = count_params(shape)
        makers = {"Learngene": (lambda s, a=arch, w=width: build(lg, a, w, 5, s, cross_scale=cfg.cross_scale),
                                inherited_params(lg, shape)),
                  "Scratch": (scratch(arch, width), 0)}
        for k in shots:
            for method, (make, params) in makers.items():
                r = evaluate(make, test_set, replace(eval_cfg, shots=k), cfg.seed, method, params, device, progress)
                rows += r.long(descendant=f"{arch} x{width:g}", arch=arch, width=width, descendant_params=total,
                               params_fraction=params / total)
    return pd.DataFrame(rows)


def reference_lines(result: EvolutionResult, eval_cfg: EvalConfig, data_root=None, device: str | None = None,
                    progress: bool = True) -> list[dict]:
    """Figure 4's reference lines: Scratch and Pre-Fin on the critics' own episodes
    (same validation tasks, shots, queries, fine-tuning and seeds as the population)."""
    cfg = result.config
    protocol = replace(critic_protocol(cfg), pretrain=eval_cfg.pretrain)
    df = compare_methods(result, protocol, "val", (cfg.critic_shots,), ("Scratch", "Pre-Fin"), data_root,
                         device, progress)
    return [{"label": r.method, "accuracy": r.mean, "ci95": r.ci95, "params": r.params_transferred}
            for r in df.itertuples()]


def fresh_validation(result: EvolutionResult, eval_cfg: EvalConfig, data_root=None, device: str | None = None,
                     progress: bool = True) -> pd.DataFrame:
    """Figure 4 without the winner's curse: each generation's winning learngene, and Scratch,
    on ``eval_cfg.episodes`` validation-class episodes that selection never saw (the critics'
    protocol with another seed). The critics' own curve is what selection fitted; this one says
    whether what it picked holds on new episodes of the same classes. They are the validation
    episodes of :func:`learning_curves` ``(split="val")`` too, on which notebook 12 chose the
    isolation: fresh for the selection inside a run, not for that choice. A long table (``method``
    "winner" with its ``generation``, or "Scratch" with generation -1), cached in the run's folder."""
    cfg, device = result.config, device or default_device()
    val_set = load_dataset(cfg.dataset, "val", data_root, cfg.image_size)
    protocol = replace(critic_protocol(cfg), episodes=eval_cfg.episodes)
    seed = derive_seed(cfg.seed, "fresh episodes", "val")
    winners = [Learngene.load(champion_path(result.run_dir, g)) for g in range(cfg.generations)]
    name = key(protocol, seed, cfg.key(), [w.fingerprint() for w in winners], val_set.fingerprint(),
               producer="experiments")

    def compute() -> pd.DataFrame:
        makers = [from_learngene(w, cfg.cross_scale) for w in winners] + [scratch(cfg.arch, cfg.width)]
        accs = episode_accuracies(makers, val_set.to(device), protocol, seed, device, desc="fresh episodes",
                                  progress=progress)
        return pd.DataFrame([row for g, per_episode in enumerate(accs) for row in long_rows(
            [a[-1] for a in per_episode], method="Scratch" if g == len(winners) else "winner",
            generation=-1 if g == len(winners) else g, setting=f"{protocol.ways}-way {protocol.shots}-shot",
            seed=seed, split="val")])
    return cached_table(result.run_dir / f"fresh-val-{name}.csv", compute)


def selection_validity(result: EvolutionResult, eval_cfg: EvalConfig, generation: int | None = None,
                       episodes: int = 20, data_root=None, device: str | None = None,
                       progress: bool = True) -> pd.DataFrame:
    """Does selection select? Every member of ``generation`` (default: the last) passes its
    learngene to descendants that meet ``episodes`` test-class episodes; a long table with
    each member's ``fitness`` and ``critic_accuracy`` beside its descendants' accuracies,
    cached. Rank-correlate fitness with the members' mean accuracy
    (:func:`gtl.stats.rank_correlation`): near 0, the tournaments pick by noise."""
    cfg, device = result.config, device or default_device()
    generation = cfg.generations - 1 if generation is None else generation
    test_set = load_dataset(cfg.dataset, "test", data_root, cfg.image_size)
    members = [Learngene.load(member_path(result.run_dir, generation, i)) for i in range(cfg.population)]
    protocol = replace(eval_cfg, episodes=episodes)
    name = key(protocol, generation, cfg.key(), [m.fingerprint() for m in members], test_set.fingerprint(),
               producer="experiments")

    def compute() -> pd.DataFrame:
        accs = episode_accuracies([from_learngene(m, cfg.cross_scale) for m in members], test_set.to(device),
                                  protocol, cfg.seed, device, desc=f"generation {generation}'s members",
                                  progress=progress)
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
ABLATION_BUDGET = {"smoke": {"population": 3, "generations": 2}, "quick": {"population": 6, "generations": 3},
                   "paper": {}}


def ablation_table(profile: str, dataset: str, arch: str, seed: int, eval_cfg: EvalConfig, shots: int = 5,
                   data_root=None, device: str | None = None, progress: bool = True) -> pd.DataFrame:
    """Each ablation evolved (cached) and its learngene's descendants tested on the same
    novel-class episodes, with Scratch and Random-mask (no evolution at all) beside them.
    A long table: ``method`` is the variant, one row per episode."""
    rows = []
    for name, overrides in ABLATIONS.items():
        settings = {**ABLATION_BUDGET[profile], **overrides}
        result = run_evolution(profile, dataset, arch, seed, data_root, device, progress, **settings)
        methods = ("Learngene", "Scratch", "Random-mask") if name == "GTL" else ("Learngene",)
        df = method_episodes(result, eval_cfg, "test", (shots,), methods, data_root, device, progress)
        label = {m: name if m == "Learngene" else f"{m} (no evolution)" for m in methods}
        rows.append(df.assign(method=df.method.map(label), generations=result.config.generations,
                              population=result.config.population,
                              best_from_generation=int(result.best.meta["generation"]),
                              best_fitness=float(result.history.fitness.max())))
    return pd.concat(rows, ignore_index=True)
