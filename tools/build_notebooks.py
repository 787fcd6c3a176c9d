"""Write the notebooks in notebooks/ from the cell lists below (outputs empty).

The notebooks are code we review like any other, so their source lives here;
`python tools/build_notebooks.py` rewrites them, then
`make notebooks` does that and executes them (quick profile) to store
the reference outputs nbval compares against.

Cell markers: a cell starting with "#| tags: a, b" gets those tags (the line
is dropped); "nbval-ignore-output" marks cells whose output varies (timings,
trained accuracies, plots); "parameters" is papermill's parameters cell.
"""
from pathlib import Path

import nbformat

NB = Path(__file__).resolve().parents[1] / "notebooks"

PARAMS = '''#| tags: parameters
profile = "quick"       # "quick": CPU, minutes, offline subsets; "paper": GPU, full settings
data_root = None        # None: $GTL_DATA, then the project's data/ folder
device = None           # None: "cuda" when available, else "cpu"
seed = 0
dataset = "miniimagenet"
arch = "vgg11"'''

WALKTHROUGH = [
    ("md", """# 00 · Learngenes, step by step

*A walkthrough of "Transferring Core Knowledge via Learngenes" (Feng, Wang, Geng; arXiv 2401.08139) on real images.*

Pre-training passes **all** of a network's knowledge on. The paper instead evolves a **learngene**: a small
set of whole channels *inside* the conv kernels (about 20% of the parameters) that carries a network's
*core* knowledge. **Genetic Transfer Learning (GTL)** finds it: a population of networks lives on small
classification tasks (*survival environments*), the best learngenes win *tournaments*, are *mutated* and
are *inherited* by the next generation. A *descendant* that inherits a learngene (the rest random) should
learn new classes faster than one trained from scratch.

This notebook runs every step on real miniImageNet images, in under ten minutes on a CPU, and asks six short
questions on the way: write your answer in `answer`, run the cell, and `check` compares it with the answer
computed from the very objects on screen. The paper's text is not available to us: where it is silent we made
a choice, listed in `shared/docs/decisions.md` and marked **our choice** below.

**Contents:** 1 the data · 2 a survival environment · 3 a lifetime and its learngene · 4 inheritance ·
5 one generation: fitness, tournament, mutation · 6 a learngene that evolved · 7 what a descendant does with it."""),
    ("code", PARAMS),
    ("code", '''import torch
import matplotlib.pyplot as plt
import gtl
from gtl import learngene as L
from gtl.data import load_dataset
from gtl.evolution import GTLConfig, Environment, live, score, tournament, mutate
from gtl.exercises import ask, check, solution
from gtl.experiments import ABLATION_BUDGET, default_device, run_evolution, verdict
from gtl.fewshot import EvalConfig, evaluate, from_learngene, scratch
from gtl.models import build_model, channel_groups
from gtl.plots import save_figure
from gtl.tasks import TaskSampler
from gtl.train import TrainConfig, train, accuracy

torch.set_num_threads(max(1, torch.get_num_threads()))
device = device or default_device()
cfg = GTLConfig.from_profile(profile, dataset=dataset, arch=arch, seed=seed,
                             **({"population": 3, "generations": 2} if profile == "quick" else {}))
tag = f"{profile}_{dataset}"
print(f"{cfg.arch} (width {cfg.width}) on {cfg.dataset} at {cfg.image_size}px")'''),
    ("md", """## 1 · The data: classes the ancestors see, and classes they never see

miniImageNet's 100 classes are split 64 / 16 / 20 (Ravi & Larochelle). GTL trains only on the 64
**training** classes and scores learngenes on the 16 **validation** classes; descendants are tested on the
20 **test** classes, which no ancestor has ever seen. In the quick profile the images are resized to 32×32
so that a CPU can train a population in minutes (**our choice**; the paper profile uses 84×84)."""),
    ("code", '''train_set = load_dataset(cfg.dataset, "train", data_root, cfg.image_size)
val_set = load_dataset(cfg.dataset, "val", data_root, cfg.image_size)
test_set = load_dataset(cfg.dataset, "test", data_root, cfg.image_size)
for name, ds in [("train", train_set), ("val", val_set), ("test", test_set)]:
    print(f"{name:5}: {len(ds.classes):3} classes, {len(ds):5} images of shape {tuple(ds.images.shape[1:])}")
assert not set(train_set.classes) & set(test_set.classes), "test classes must be novel"'''),
    ("md", """## 2 · A survival environment

Each member of the population lives on its own **5-way task** drawn from the training classes
(our choice: 5 classes, as in the group's earlier learngene work). Here is one, drawn with a fixed seed."""),
    ("code", '''#| tags: nbval-ignore-output
sampler = TaskSampler(train_set, ways=cfg.ways, shots=cfg.task_shots, queries=cfg.task_queries)
task = sampler.sample(seed=seed)
fig, axes = plt.subplots(cfg.ways, 6, figsize=(6, cfg.ways * 1.05))
for c in range(cfg.ways):
    imgs = task.support_x[task.support_y == c][:6]
    for j, ax in enumerate(axes[c]):
        ax.imshow(imgs[j].permute(1, 2, 0).cpu()); ax.axis("off")
    axes[c, 0].set_title(train_set.classes[task.classes[c]], fontsize=7, loc="left")
fig.suptitle("one survival environment: 5 training classes", fontsize=9)
plt.show()'''),
    ("md", """## 3 · A lifetime, and the learngene it leaves

A fresh VGG11 trains on that task (its *lifetime*: SGD, a fixed number of steps). Then we pick, in every
channel group, the channels the network relies on most: those with the largest BatchNorm scale |γ|
(**our choice**, decisions.md #2). A learngene keeps **whole channels within kernels**: for each conv it
keeps the kernel slices whose output *and* input channel are both chosen, so the chosen channels form
connected circuits from the image to the last layer. Keeping 45% of the channels of every layer keeps
about 20% of the parameters, the paper's size."""),
    ("code", '''#| tags: nbval-ignore-output
net = L.seeded_model(cfg.arch, cfg.ways, cfg.width, seed).to(device)
losses = train(net, task.support_x.to(device), task.support_y.to(device), cfg.lifetime, seed)
print(f"lifetime: {cfg.lifetime.steps} steps, loss {losses[0]:.2f} -> {losses[-1]:.2f}, "
      f"accuracy on held-out images of its task: {accuracy(net, task.query_x.to(device), task.query_y.to(device)):.0%}")'''),
    ("code", '''masks = L.top_channels(L.channel_saliency(net), cfg.initial_channel_fraction)
lg = L.extract(net, masks, dataset=cfg.dataset, image_size=cfg.image_size, generation=0, seed=seed)
print(f"network parameters : {lg.meta['total_params']:,}")
print(f"learngene          : {lg.num_params:,} parameters ({lg.fraction:.1%}), "
      f"{cfg.initial_channel_fraction:.0%} of the channels of each group")
assert 0.15 < lg.fraction < 0.25'''),
    ("md", """**Exercise 1.** Keeping 45% of the channels keeps only about 20% of the parameters. Why?"""),
    ("code", '''ask("share")
answer = None   # your answer: a number between 0 and 1
correct = check("share", answer, c=cfg.initial_channel_fraction)'''),
    ("code", '''ask("slices")
answer = None   # hint: lg.masks[group] holds a group's kept channels; net.conv_specs()[1] names the groups
correct = check("slices", answer, net=net, lg=lg)'''),
    ("md", """The picture below is the learngene of three conv layers: each square is one kernel slice
(output channel × input channel); green slices belong to the learngene. Channels are sorted so that the
learngene's come first."""),
    ("code", '''#| tags: nbval-ignore-output
kmasks = L.kernel_masks(net, masks)
names = list(kmasks)[:: max(1, len(kmasks) // 3)][:3]
fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.6))
specs = {s.conv: s for s in net.conv_specs()}
for ax, name in zip(axes, names):
    s = specs[name]
    m = kmasks[name].float()
    order_out = torch.argsort(masks[s.out_group].float(), descending=True, stable=True)
    order_in = torch.argsort(masks[s.in_group].float(), descending=True, stable=True) if s.in_group in masks else torch.arange(m.shape[1])
    ax.imshow(m[order_out][:, order_in], cmap="Greens", vmin=0, vmax=1.3, aspect="auto", interpolation="nearest")
    ax.set_title(f"{name}: {int(m.sum())} of {m.numel()} slices", fontsize=9)
    ax.set_xlabel("input channel"); ax.set_ylabel("output channel")
fig.suptitle("a learngene: whole channels within kernels", fontsize=10)
fig.tight_layout()
save_figure(fig, f"walkthrough_learngene_mask_{tag}")
plt.show()'''),
    ("md", """## 4 · Inheritance

A descendant is a **fresh, randomly initialised** network into which the learngene's weights are copied at
their positions; everything else (80% of the weights, and the classifier) stays random."""),
    ("code", '''child = L.build_descendant(lg, num_classes=cfg.ways, seed=seed + 1)
fresh = L.seeded_model(cfg.arch, cfg.ways, cfg.width, seed + 1)
pm = L.param_masks(child, masks)
same_inside = all(torch.equal(dict(child.named_parameters())[n][m].cpu(), lg.weights[n]) for n, m in pm.items())
p_child, p_fresh = dict(child.named_parameters()), dict(fresh.named_parameters())
same_outside = all(torch.equal(p_child[n][~pm[n]], p_fresh[n][~pm[n]]) if n in pm else torch.equal(p_child[n], p_fresh[n])
                   for n in p_child)
print("learngene weights copied exactly:", same_inside)
print("every other weight as freshly initialised:", same_outside)'''),
    ("code", '''ask("not_inherited")
answer = None   # e.g. "b d"
correct = check("not_inherited", answer)'''),
    ("md", """## 5 · One generation: fitness, tournament, mutation

GTL needs to know which learngenes carry *transferable* knowledge. Our fitness (**our choice**, after the
paper's successor ECO): a *critic* network inherits the learngene, trains briefly on 5-way tasks of the
**validation** classes and is scored on their queries; a small penalty keeps the learngene near 20%. Below, a
tiny population of three lives one generation."""),
    ("code", '''#| tags: nbval-ignore-output
env = Environment(cfg, data_root, device, train_set, val_set)
population = []
for i in range(cfg.population):
    m = live(env, generation=0, index=i, parent=None)
    score(env, m)
    population.append(m)
    print(f"member {i}: task classes {m.classes}, host accuracy {m.host_accuracy:.0%}, "
          f"critic accuracy {m.critic_accuracy:.0%}, learngene {m.learngene.fraction:.1%}, fitness {m.fitness:.3f}")
winners = tournament([m.fitness for m in population], cfg.tournament_size, seed)
print("tournament winners (best first):", winners)'''),
    ("code", '''ask("winners")
answer = None   # for the paper profile: 50 members, groups of cfg.tournament_size
correct = check("winners", answer, population=50, tournament_size=cfg.tournament_size)'''),
    ("md", """**Mutation** (our choice, decisions.md #7): each channel group mutates with probability
`mutation_rate`; a mutation adds the parent's most salient channels outside the learngene (with their
trained weights: inheritance is Lamarckian) or drops its least salient ones."""),
    ("code", '''#| tags: nbval-ignore-output
parent = population[winners[0]]
child_masks = mutate(parent.masks, parent.saliency, rate=1.0, step=cfg.mutation_step,
                     min_fraction=cfg.min_channel_fraction, max_fraction=cfg.max_channel_fraction, seed=seed)
for g in list(parent.masks)[:4]:
    print(f"{g:10} {int(parent.masks[g].sum()):3} -> {int(child_masks[g].sum()):3} channels")'''),
    ("code", '''ask("mutation")
last = list(parent.masks)[-1]
print(f"the last group, {last}, has {parent.masks[last].numel()} channels; mutation_step = {cfg.mutation_step}")
answer = None   # channels moved by one mutation of that group
correct = check("mutation", answer, channels=parent.masks[last].numel(), mutation_step=cfg.mutation_step)'''),
    ("md", """## 6 · A learngene that evolved

One generation shows the mechanics; evolution needs several. Below, six members live three generations (the
budget of the ablations in notebook 07, whose run this is: cached in `runs/`, so it is trained once). Each
generation's parents are the previous one's tournament winners, and their children inherit mutated
learngenes."""),
    ("code", '''#| tags: nbval-ignore-output
result = run_evolution(profile, dataset, arch, seed, data_root, device, progress=False, **ABLATION_BUDGET[profile])
evolved = result.best
per_generation = result.history.groupby("generation")[["critic_accuracy", "learngene_fraction"]]
print(per_generation.agg(["mean", "max"]).round(3))
print()
print(evolved.describe())'''),
    ("md", """The evolved learngene, layer by layer: each picture is one conv layer's kernel slices (output channel ×
input channel, in the network's own order), green where the slice belongs to the learngene. A slice is kept
where a learngene output channel (a row) crosses a learngene input channel (a column): whole channels
*within kernels*, scattered through the layer wherever evolution put them."""),
    ("code", '''#| tags: nbval-ignore-output
host = L.seeded_model(evolved.arch, cfg.ways, evolved.width, 0)
kmasks = L.kernel_masks(host, evolved.masks)
fig, axes = plt.subplots(2, 4, figsize=(12, 5.6))
for ax, name in zip(axes.flat, kmasks):
    m = kmasks[name].float()
    ax.imshow(m, cmap="Greens", vmin=0, vmax=1.3, aspect="auto", interpolation="nearest")
    ax.set_title(f"{name}: {m.mean():.0%} of {m.numel()} slices", fontsize=8)
    ax.set_xticks([]); ax.set_yticks([])
for ax in axes.flat[len(kmasks):]:
    ax.axis("off")
axes[1, 0].set_xlabel("input channel"); axes[1, 0].set_ylabel("output channel")
fig.suptitle(f"an evolved learngene ({evolved.fraction:.1%} of the parameters): whole channels within kernels",
             fontsize=10)
fig.tight_layout()
save_figure(fig, f"walkthrough_evolved_learngene_{tag}")
plt.show()'''),
    ("code", '''ask("first_layer")
answer = None   # how many of the first conv's output channels are in the evolved learngene?
correct = check("first_layer", answer, net=host, lg=evolved)'''),
    ("md", """## 7 · What a descendant does with it

The evolved learngene initialises descendants that meet 5-way 5-shot episodes of the **test** classes, which no
ancestor has seen; *Scratch* starts from random weights. Both meet the same 20 episodes and seeds. We score them
twice: with **no learning at all** (instincts: nearest class mean of the untrained network's features) and
after 10 fine-tuning steps, where notebook 02's learning curves show the quick profile's gap (**our choice**;
after 50 steps the gap washes out at this scale, see the README)."""),
    ("code", '''#| tags: nbval-ignore-output
from dataclasses import replace
from gtl.fewshot import finetune_on_task, instinct_on_task
protocol = EvalConfig.from_profile(profile, episodes=20 if profile == "quick" else 600)
short = replace(protocol, finetune=replace(protocol.finetune, steps=10)) if profile == "quick" else protocol
for label, proto, score_fn in [("instincts", protocol, instinct_on_task),
                               (f"after {short.finetune.steps} fine-tuning steps", short, finetune_on_task)]:
    a = evaluate(from_learngene(evolved), test_set, proto, seed, "Learngene", evolved.num_params, device,
                 progress=False, score=score_fn)
    b = evaluate(scratch(cfg.arch, cfg.width), test_set, proto, seed, "Scratch", 0, device, progress=False,
                 score=score_fn)
    print(f"{label}: {verdict(a.row(), b.row())}")'''),
    ("md", """Twenty episodes give wide confidence intervals: this demonstrates the protocol; read every number with
its ±. Notebook 02 measures the same on 60 episodes (quick) or 600 (paper), against pre-training and the other
baselines.

## Where next
* `08_explorer.ipynb`: pick a generation, see its population and its learngene, and race a descendant against
  a scratch network on a new task, live.
* `01_fig4_evolution.ipynb`: the whole GTL loop over generations (paper Fig. 4).
* `02_fewshot_table.ipynb`: learngene vs scratch, pre-training and other baselines on novel classes, with 95% CIs.
* `03`–`07`: the paper's other figures and tables; `09`–`11`: questions the paper leaves open.
* `python -m gtl --help`: the same from a terminal."""),
]

FIG4 = [
    ("md", """# 01 · Paper Figure 4: the evolution of the learngene

Paper caption (Fig. 4): *the parameter quantity of the learngenes (bars) and the average (with max and min)
accuracy on validation classes of the networks in the population (curves) during evolution; reference lines:
accuracy (with the number of transferred parameters) of models trained from scratch and pre-trained on the
training classes.*

Here: a GTL run (cached in `runs/`, so other notebooks reuse it), the population's critic accuracy on
validation-class episodes per generation, and Scratch / Pre-Fin measured on **the same episodes**. Every
hyper-parameter is in `gtl.evolution.GTLConfig`; the paper states none beyond the architecture, the data
and the ~20% size, so all are **our choice** (decisions.md)."""),
    ("code", PARAMS),
    ("code", '''import dataclasses
import pandas as pd
import matplotlib.pyplot as plt
from gtl.experiments import run_evolution, reference_lines, verdict
from gtl.evolution import GTLConfig
from gtl.fewshot import EvalConfig
from gtl.plots import plot_evolution, save_figure, save_table

cfg = GTLConfig.from_profile(profile, dataset=dataset, arch=arch, seed=seed)
eval_cfg = EvalConfig.from_profile(profile, dataset)
tag = f"{profile}_{dataset}"
for k, v in dataclasses.asdict(cfg).items():
    print(f"{k:26} {v}")'''),
    ("md", "## Evolve (or load the cached run)"),
    ("code", '''#| tags: nbval-ignore-output
result = run_evolution(profile, dataset, arch, seed, data_root, device, progress=(profile == "paper"))
print(result.best.describe())'''),
    ("code", '''history = result.history
assert len(history) == cfg.population * cfg.generations
assert history["learngene_fraction"].between(0.02, 0.9).all()
assert history["critic_accuracy"].between(0, 1).all()
print(f"{len(history)} lives over {history.generation.nunique()} generations")'''),
    ("md", "## Reference lines: Scratch and Pre-Fin on the critics' episodes"),
    ("code", '''#| tags: nbval-ignore-output
refs = reference_lines(result, eval_cfg, data_root, device, progress=(profile == "paper"))
pd.DataFrame(refs)'''),
    ("md", "## The figure"),
    ("code", '''#| tags: nbval-ignore-output
fig = plot_evolution(history, refs, title=f"GTL on {dataset} ({arch}, {profile} profile, seed {seed})")
paths = save_figure(fig, f"fig4_evolution_{tag}")
per_gen = history.groupby("generation").agg(
    accuracy_mean=("critic_accuracy", "mean"), accuracy_min=("critic_accuracy", "min"),
    accuracy_max=("critic_accuracy", "max"), learngene_params_mean=("learngene_params", "mean"),
    learngene_fraction_mean=("learngene_fraction", "mean"), fitness_max=("fitness", "max")).reset_index()
save_table(per_gen, f"fig4_evolution_{tag}")
plt.show()
per_gen'''),
    ("md", """## What this run shows

Computed from the run above (no number here is typed by hand). The paper reports the learngene's size and
the population's accuracy moving over generations; in the quick profile (12 small networks, 6 generations,
32×32 images, 4 critic episodes) the curve is noisy and short, and may not show the paper's trend."""),
    ("code", '''#| tags: nbval-ignore-output
last = history[history.generation == history.generation.max()]
first = history[history.generation == 0]
print(f"population accuracy, generation 0: {first.critic_accuracy.mean():.1%}; "
      f"last generation: {last.critic_accuracy.mean():.1%}")
best_member = {"method": "best learngene", "mean": history.critic_accuracy.max(), "ci95": 0.0}
for r in refs:
    print(verdict({"method": "last generation (mean)", "mean": last.critic_accuracy.mean(),
                   "ci95": 1.96 * last.critic_accuracy.std() / len(last) ** 0.5},
                  {"method": r["label"], "mean": r["accuracy"], "ci95": r["ci95"]}))'''),
]

PARAMS_DATASETS = PARAMS.replace('dataset = "miniimagenet"',
                                 'datasets = ["miniimagenet", "cifar-fs"]   # the paper\'s two benchmarks')

TABLE = [
    ("md", """# 02 · Strong learning ability: descendants on novel classes (the paper's main table)

The paper's headline (abstract): *with 20% parameters, the learngenes bring 12% and 16% improvements of
accuracy on CIFAR-FS and miniImageNet*. Its tables are not available to us; this notebook rebuilds the
comparison they must make. The best learngene of the cached GTL run of each dataset (notebook 01 evolves
the miniImageNet one) initialises descendants that are fine-tuned on 5-way 1-shot and 5-shot episodes of
the 20 **test** classes, beside

* **Scratch**: random initialisation (0 parameters transferred);
* **Pre-Fin**: a network pre-trained on all 64 training classes, every weight transferred, new head;
* **Layer-LG**: whole pre-trained top layers of about the learngene's parameter count (the earlier learngene
  papers inherit integral layers);
* **Random-mask**: the pre-trained network's weights under random channel masks of the learngene's sizes:
  what a learngene-shaped piece of a *pre-trained* network gives without evolution.

All methods meet the same episodes and fine-tuning seeds; accuracies are mean ± 95% CI over episodes, and
every row says how many parameters it transfers. The protocol (fine-tuning steps, learning rate, episodes)
and the baselines' construction are **our choice** (decisions.md #10, #12). Quick profile on CIFAR-FS: the
offline CIFAR-100 subset has 11–33 images per class, so survival tasks use 9 images per class and episodes 6
queries per class (**our choice**)."""),
    ("code", PARAMS_DATASETS),
    ("code", """import pandas as pd
import matplotlib.pyplot as plt
from gtl.experiments import METHODS, PAPER_CLAIMS, run_evolution, compare_methods, format_table, verdicts
from gtl.fewshot import EvalConfig
from gtl.plots import plot_results, save_figure, save_table

progress = profile == "paper"
print("methods:", ", ".join(METHODS))
print("paper:", PAPER_CLAIMS)"""),
    ("code", """#| tags: nbval-ignore-output
frames = []
for ds in datasets:
    result = run_evolution(profile, ds, arch, seed, data_root, device, progress=progress)
    eval_cfg = EvalConfig.from_profile(profile, ds)
    print(f"{ds}: {eval_cfg.episodes} episodes per cell, {eval_cfg.queries} queries per class, "
          f"{eval_cfg.finetune.steps} fine-tuning steps; learngene {result.best.fraction:.1%} of the parameters")
    frames.append(compare_methods(result, eval_cfg, "test", (1, 5), METHODS, data_root, device, progress))
results = pd.concat(frames, ignore_index=True)
table = format_table(results, profile)
for ds in datasets:
    save_table(table[table.dataset == ds], f"table_fewshot_{profile}_{ds}")
table"""),
    ("code", """assert set(results["method"]) == set(METHODS) and set(results["dataset"]) == set(datasets)
assert results["mean"].between(0, 1).all() and (results["ci95"] > 0).all()
lg_rows = results[results.method == "Learngene"]
assert (lg_rows.params_fraction < 0.5).all()  # a learngene is a small part of the network"""),
    ("code", """#| tags: nbval-ignore-output
for ds in datasets:
    fig = plot_results(results[results.dataset == ds], title=f"{ds}, novel classes ({profile} profile, seed {seed})")
    save_figure(fig, f"table_fewshot_{profile}_{ds}")
    plt.show()"""),
    ("md", """## Verdict

Printed from the table above. Where the quick profile does not separate the methods, that is what it says."""),
    ("code", """#| tags: nbval-ignore-output
print("paper (abstract):", PAPER_CLAIMS["improvement_over_scratch"], "points over Scratch")
print("\\n".join(verdicts(results, ["dataset", "setting"], ("Scratch", "Random-mask", "Layer-LG", "Pre-Fin"))))"""),
    ("md", """## Learning curves: how fast each initialisation learns

Strong learning ability is also about *speed*. Accuracy on the same 5-way 5-shot test episodes after 0, 5,
10, 25 and 50 fine-tuning steps (one training run per episode, read at those steps, so the last point is the
table's 5-shot number; at step 0 the head is random, so every method is at chance)."""),
    ("code", """#| tags: nbval-ignore-output
from gtl.experiments import learning_curves
from gtl.plots import plot_learning_curves
ds = datasets[0]
result = run_evolution(profile, ds, arch, seed, data_root, device, progress=progress)
curves = learning_curves(result, EvalConfig.from_profile(profile, ds), ("Learngene", "Scratch", "Pre-Fin"), 5,
                         data_root=data_root, device=device, progress=progress)
save_table(curves.assign(accuracy=(100 * curves["mean"]).round(2), ci95=(100 * curves.ci95).round(2))
           .drop(columns=["mean"]), f"curves_fewshot_{profile}_{ds}")
fig = plot_learning_curves(curves, f"{ds}, 5-way 5-shot, novel classes ({profile} profile, seed {seed})")
save_figure(fig, f"curves_fewshot_{profile}_{ds}")
plt.show()
print("\\n".join(verdicts(curves, "step")))"""),
]

FRAMEWORK = [
    ("md", """# 03 · Paper Figures 1–3: the idea, the learngene, the framework

The paper's first three figures are drawings. Their captions:

* **Fig. 1**: *(a) transferring the entire knowledge may be redundant or negative; (b) learngenes transfer the
  core knowledge to descendant networks, inspired by genes in nature.*
* **Fig. 2**: *structure of the learngenes: several complete neural circuits in the unit of channels within
  kernels.*
* **Fig. 3**: *the GTL framework that condenses core knowledge and extracts learngenes.*

Figures 1 and 3 are redrawn from code; Figure 2 is drawn from a **real evolved learngene** (the cached run of
notebook 01): every dot a channel, green dots the learngene's, lines the kernel slices it keeps."""),
    ("code", PARAMS),
    ("code", """import pandas as pd
import matplotlib.pyplot as plt
from gtl.experiments import run_evolution
from gtl.plots import plot_framework, plot_circuit, save_figure, save_table

tag = f"{profile}_{dataset}\""""),
    ("code", """#| tags: nbval-ignore-output
fig = plot_framework()
save_figure(fig, f"fig1_3_framework_{tag}")
plt.show()"""),
    ("code", """#| tags: nbval-ignore-output
result = run_evolution(profile, dataset, arch, seed, data_root, device, progress=(profile == "paper"))
lg = result.best
print(lg.describe())
fig = plot_circuit(lg)
save_figure(fig, f"fig2_learngene_circuit_{tag}")
plt.show()"""),
    ("md", "The same learngene as numbers: channels kept in every channel group."),
    ("code", """#| tags: nbval-ignore-output
channels = pd.DataFrame([{"channel group": g, "kept": int(m.sum()), "of": m.numel(),
                          "share (%)": round(100 * float(m.float().mean()), 1)} for g, m in lg.masks.items()])
save_table(channels, f"fig2_learngene_channels_{tag}")
channels"""),
    ("code", """assert lg.num_params < lg.meta["total_params"]
assert 0.02 < lg.fraction < 0.6"""),
]

INSTINCTS = [
    ("md", """# 04 · Instincts: what an untrained descendant already knows (paper Fig. 5 and the instincts table)

Paper (abstract): the learngenes bring descendants **instincts**; Fig. 5 caption: *visualisation of the core
knowledge in the learngenes; none of the networks shown has undergone any learning or fine-tuning; a ResNet50
pre-trained on ImageNet is shown for comparison.*

We measure instincts with **no learning at all** (decisions.md #11, **our choice**): on the same 5-way test
episodes as notebook 02, an untrained network's features classify the queries by the nearest class mean of
the support features (cosine). Its BatchNorm statistics are measured on the support images (no gradient, no
label). For the picture, the activation strength of an untrained network's deepest wide conv layer; our own
pre-trained network stands in for the ImageNet ResNet50, whose weights cannot be downloaded offline."""),
    ("code", PARAMS_DATASETS),
    ("code", """import pandas as pd
import matplotlib.pyplot as plt
from gtl.data import load_dataset, class_examples
from gtl.evolution import GTLConfig
from gtl.experiments import METHODS, run_evolution, compare_methods, format_table, pretrained_network, verdicts
from gtl.fewshot import EvalConfig, activation_maps, from_learngene, scratch
from gtl.plots import plot_activation_maps, plot_results, save_figure, save_table

progress = profile == "paper\""""),
    ("code", """#| tags: nbval-ignore-output
frames = []
for ds in datasets:
    result = run_evolution(profile, ds, arch, seed, data_root, device, progress=progress)
    eval_cfg = EvalConfig.from_profile(profile, ds)
    frames.append(compare_methods(result, eval_cfg, "test", (1, 5), METHODS, data_root, device, progress,
                                  score="instinct"))
results = pd.concat(frames, ignore_index=True)
table = format_table(results, profile, claim=False)  # the paper's +12/+16 are after fine-tuning
for ds in datasets:
    save_table(table[table.dataset == ds], f"table_instincts_{profile}_{ds}")
table"""),
    ("code", """assert (results.score == "instinct").all() and results["mean"].between(0, 1).all()"""),
    ("code", """#| tags: nbval-ignore-output
print("\\n".join(verdicts(results, ["dataset", "setting"], ("Scratch", "Random-mask", "Pre-Fin"))))
for ds in datasets:
    fig = plot_results(results[results.dataset == ds], title=f"instincts (no learning), {ds}, {profile} profile")
    save_figure(fig, f"table_instincts_{profile}_{ds}")
    plt.show()"""),
    ("md", """## Figure 5: where untrained networks look

One test image per class; brighter = stronger response of the network's deepest conv layer that is still
at least 8 pixels wide. Rows: a random network, an untrained learngene descendant, and our pre-trained
network (it *has* learned: the reference)."""),
    ("code", """#| tags: nbval-ignore-output
ds = datasets[0]
result = run_evolution(profile, ds, arch, seed, data_root, device, progress=progress)
cfg, eval_cfg = result.config, EvalConfig.from_profile(profile, ds)
test_set = load_dataset(ds, "test", data_root, cfg.image_size)
images, names = class_examples(test_set, 6, seed)
nets = {"Scratch (random)": scratch(cfg.arch, cfg.width)(seed),
        "Learngene (untrained)": from_learngene(result.best)(seed),
        "Pre-trained (ours)": pretrained_network(cfg, eval_cfg, data_root, device)}
maps = {label: activation_maps(net.cpu(), images) for label, net in nets.items()}
fig = plot_activation_maps(images, maps, names)
save_figure(fig, f"fig5_instincts_{profile}_{ds}")
plt.show()"""),
]

SCALABILITY = [
    ("md", """# 05 · Scalability: learngenes in deeper, wider and other networks

Paper (abstract): *the learngenes have the scalability ... on the downstream structure of networks*;
deeper descendants use **partial identity mapping (PIM)** layers. How is not stated; `gtl.inherit` is our
reconstruction (**our choice**, decisions.md #9): the learngene goes stage by stage (one stage per
resolution) into the first channels of each descendant layer; extra layers of a stage are PIM layers
(identity on the learngene channels, random elsewhere); a wider layer has more random channels; VGG → ResNet
maps each VGG stage into a residual block whose shortcut starts silent on the learngene channels.

Each descendant is compared with **Scratch of the same descendant** on the same test episodes (5-way
5-shot). The quick profile starts from the VGG11 learngene only; the ResNet12 → VGG direction is
implemented and tested in `tests/test_inherit.py`, and run by the paper profile with `arch="resnet12"`."""),
    ("code", PARAMS),
    ("code", """import pandas as pd
import matplotlib.pyplot as plt
from gtl.experiments import run_evolution, scalability_targets, transfer_table, verdicts
from gtl.fewshot import EvalConfig
from gtl.inherit import mapping_table
from gtl.plots import plot_results, save_figure, save_table

tag = f"{profile}_{dataset}"
progress = profile == "paper\""""),
    ("code", """#| tags: nbval-ignore-output
result = run_evolution(profile, dataset, arch, seed, data_root, device, progress=progress)
targets = scalability_targets(profile, result.config.arch, result.config.width)
for a, w in targets:
    plan = pd.DataFrame(mapping_table(result.best, a, w))
    print(f"{result.config.arch} x{result.config.width:g} -> {a} x{w:g}: "
          + ", ".join(f"{n} {k}" for k, n in plan["gets"].value_counts().items())
          + f"; {plan['params'].sum():,} learned parameters inherited")"""),
    ("md", "The full mapping into the deepest descendant, layer by layer:"),
    ("code", """#| tags: nbval-ignore-output
deepest = max(targets, key=lambda t: len(mapping_table(result.best, *t)))
pd.DataFrame(mapping_table(result.best, *deepest))"""),
    ("code", """#| tags: nbval-ignore-output
results = transfer_table(result, EvalConfig.from_profile(profile, dataset), targets, (5,), device, progress,
                         data_root)
table = pd.DataFrame({"descendant": results.descendant, "method": results.method,
                      "accuracy (%)": (100 * results["mean"]).round(2), "95% CI (±)": (100 * results.ci95).round(2),
                      "params transferred": results.params_transferred,
                      "share of params (%)": (100 * results.params_fraction).round(1),
                      "episodes": results.episodes, "seed": results.seed, "profile": profile})
save_table(table, f"table_scalability_{tag}")
table"""),
    ("code", """assert set(results.method) == {"Learngene", "Scratch"} and results["mean"].between(0, 1).all()"""),
    ("code", """#| tags: nbval-ignore-output
fig = plot_results(results.assign(setting=results.descendant), title=f"descendants of a {arch} learngene, 5-way 5-shot")
save_figure(fig, f"table_scalability_{tag}")
plt.show()
print("\\n".join(verdicts(results, "descendant")))"""),
]

ADAPTABILITY = [
    ("md", """# 06 · Adaptability: a learngene on another, fine-grained dataset

Paper (abstract): *the learngenes have the ... adaptability on the downstream ... datasets*. Which datasets
is not known (decisions.md). Here the learngene evolved on miniImageNet initialises descendants fine-tuned
on 5-way episodes of **CUB-200-2011** birds (the test classes of the standard split present in the offline
subset), beside Scratch and Pre-Fin (pre-trained on miniImageNet's training classes). The paper profile adds
CIFAR-FS as a second target."""),
    ("code", PARAMS),
    ("code", """import pandas as pd
import matplotlib.pyplot as plt
from gtl.experiments import run_evolution, compare_methods, format_table, verdicts
from gtl.fewshot import EvalConfig
from gtl.plots import plot_results, save_figure, save_table

targets = ["cub"] if profile == "quick" else ["cub", "cifar-fs"]
progress = profile == "paper\""""),
    ("code", """#| tags: nbval-ignore-output
result = run_evolution(profile, dataset, arch, seed, data_root, device, progress=progress)
frames = [compare_methods(result, EvalConfig.from_profile(profile, t), "test", (1, 5),
                          ("Learngene", "Scratch", "Pre-Fin"), data_root, device, progress, dataset=t)
          for t in targets]
results = pd.concat(frames, ignore_index=True)
table = format_table(results, profile).assign(**{"learngene from": dataset})
for t in targets:
    save_table(table[table.dataset == t], f"table_adaptability_{profile}_{dataset}_to_{t}")
table"""),
    ("code", """assert set(results.dataset) == set(targets) and results["mean"].between(0, 1).all()"""),
    ("code", """#| tags: nbval-ignore-output
for t in targets:
    sub = results[results.dataset == t]
    fig = plot_results(sub, title=f"{dataset} learngene on {t} ({profile} profile)")
    save_figure(fig, f"table_adaptability_{profile}_{dataset}_to_{t}")
    plt.show()
print("\\n".join(verdicts(results, ["dataset", "setting"])))"""),
]

ABLATION = [
    ("md", """# 07 · Ablations: what each genetic ingredient adds

The paper reports ablations we cannot read. We remove one ingredient of GTL at a time (**our choice** of
ablations) and test each run's learngene the same way (5-way 5-shot, test classes, same episodes):

* **no mutation**: learngene channels never change after generation 0;
* **no tournament**: every member reproduces (tournament size 1), so parents are not selected;
* **host fitness**: a learngene is scored by its host's accuracy on its own task, not by critics on
  validation classes;
* **generation 0 only**: no inheritance at all (the best learngene of the first generation);
* **Random-mask / Scratch (no evolution)**: a learngene-shaped piece of a pre-trained network, and nothing.

To fit the quick profile's time budget every GTL variant here runs a smaller population for fewer
generations (`gtl.experiments.ABLATION_BUDGET`) than notebook 01. `best_from_generation` says where each
run's best learngene came from: variants whose best is a generation-0 learngene end up identical."""),
    ("code", PARAMS),
    ("code", """import pandas as pd
import matplotlib.pyplot as plt
from gtl.experiments import ABLATIONS, ABLATION_BUDGET, ablation_table, verdict
from gtl.fewshot import EvalConfig
from gtl.plots import plot_results, save_figure, save_table

tag = f"{profile}_{dataset}"
print("budget:", ABLATION_BUDGET[profile] or "the profile's own")
for name, overrides in ABLATIONS.items():
    print(f"{name:18} {overrides}")"""),
    ("code", """#| tags: nbval-ignore-output
results = ablation_table(profile, dataset, arch, seed, EvalConfig.from_profile(profile, dataset), 5, data_root,
                         device, progress=(profile == "paper"))
table = results.assign(**{"accuracy (%)": (100 * results["mean"]).round(2),
                          "95% CI (±)": (100 * results.ci95).round(2)}).drop(columns=["mean", "ci95"])
save_table(table, f"table_ablations_{tag}")
table"""),
    ("code", """assert len(results) == len(ABLATIONS) + 2 and results["mean"].between(0, 1).all()"""),
    ("code", """#| tags: nbval-ignore-output
fig = plot_results(results.rename(columns={"variant": "method"}).assign(setting="5-way 5-shot"),
                   title=f"ablations on {dataset} ({profile} profile)")
save_figure(fig, f"table_ablations_{tag}")
plt.show()
rows = {r.variant: {"method": r.variant, "mean": r.mean, "ci95": r.ci95} for r in results.itertuples()}
for name in list(rows)[1:]:
    print(verdict(rows["GTL"], rows[name]))"""),
]


EXPLORER = [
    ("md", """# 08 · Explorer: a GTL run, generation by generation

Move the **generation** slider: the bars are that generation's members, their fitness (critic accuracy on
validation-class episodes, minus the size penalty) and the tournament winners in green; beside them, the
channels of the generation's winning learngene, one row per layer. **Train a descendant** takes that learngene,
builds a fresh network around it, and trains it next to a network from scratch on a new 5-way task of *test*
classes (change the task seed for another task): the two learning curves appear live.

The run is the one of the walkthrough and of notebook 07 (six members, three generations; cached in `runs/`).
Widgets need a live kernel (JupyterLab or Jupyter Notebook); below the widget the same pieces are drawn once,
statically, for the HTML book and for readers without a kernel."""),
    ("code", PARAMS),
    ("code", '''from gtl.data import load_dataset
from gtl.experiments import ABLATION_BUDGET, default_device, run_evolution
from gtl.explorer import champion, explorer, generation_table, plot_generation, plot_masks, plot_race, race
from gtl.plots import save_figure
import matplotlib.pyplot as plt

device = device or default_device()
tag = f"{profile}_{dataset}"
result = run_evolution(profile, dataset, arch, seed, data_root, device, progress=False, **ABLATION_BUDGET[profile])
test_set = load_dataset(dataset, "test", data_root, result.config.image_size).to(device)
generations = sorted(result.history.generation.unique())
print(f"{result.config.population} members x {len(generations)} generations of {arch}; run: {result.run_dir.name}")'''),
    ("code", '''#| tags: nbval-ignore-output
explorer(result, test_set, shots=5, steps=30);'''),
    ("md", """## The same, without widgets: the last generation"""),
    ("code", '''#| tags: nbval-ignore-output
last = int(generations[-1])
generation_table(result.history, last)'''),
    ("code", '''#| tags: nbval-ignore-output
fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3), gridspec_kw={"width_ratios": [1, 1.4]})
plot_generation(result.history, last, a)
plot_masks(champion(result, last), b)
fig.tight_layout()
save_figure(fig, f"explorer_generation_{tag}")
plt.show()'''),
    ("code", '''#| tags: nbval-ignore-output
curves = race(champion(result, last), test_set, shots=5, steps=30, seed=seed)
fig = plot_race(curves)
save_figure(fig, f"explorer_race_{tag}")
plt.show()
print(curves.pivot(index="step", columns="method", values="accuracy").round(3).T.to_string())
print("one task, one seed: a picture of learning, not a measurement (notebook 02 has the CIs)")'''),
    ("code", '''assert champion(result, last).meta["generation"] == last
assert set(curves.method) == {"Learngene", "Scratch"} and curves.accuracy.between(0, 1).all()'''),
]

SIZE = [
    ("md", """# 09 · Open question: how small can a learngene be?

The paper's learngenes hold about 20% of the parameters; it does not say how accuracy depends on that size. We
cut learngenes of **2% to 60%** of the parameters out of the best evolved network of notebook 01 (the same run,
cached), with the rule GTL itself uses to start a learngene: in every layer the channels with the largest
BatchNorm scale, one channel share for all layers, chosen by bisection to hit each size (**our choice**). Their
descendants (the rest random) meet the same novel-class episodes as Scratch (size 0).

Two scores, both over the same episodes, mean ± 95% CI: **no learning** (instincts: nearest class mean of the
untrained descendant's features) and **after a short fine-tuning**. In the quick profile the fine-tuning is 10
steps, where notebook 02's learning curves show the learngene's head start (**our choice**: at 50 steps the
quick profile's gap washes out); the paper profile uses its full protocol."""),
    ("code", PARAMS),
    ("code", '''import matplotlib.pyplot as plt
from gtl.experiments import default_device, run_evolution
from gtl.plots import percent_table, plot_size_sweep, save_figure, save_table
from gtl.questions import PAPER_SIZE, SIZE_FRACTIONS, question_protocol, size_summary, size_sweep

device = device or default_device()
tag = f"{profile}_{dataset}"
eval_cfg = question_protocol(profile, dataset)
result = run_evolution(profile, dataset, arch, seed, data_root, device, progress=(profile == "paper"))
print(f"sizes: {[f'{100 * f:g}%' for f in SIZE_FRACTIONS]}; the paper: ~{100 * PAPER_SIZE:.0f}%")
print(f"{eval_cfg.episodes} episodes, 5-way 5-shot, fine-tuning {eval_cfg.finetune.steps} steps, seed {seed}")'''),
    ("code", '''#| tags: nbval-ignore-output
sweep = size_sweep(result, eval_cfg, SIZE_FRACTIONS, shots=5, data_root=data_root, device=device,
                   progress=(profile == "paper"))
table = percent_table(sweep.assign(**{"size (%)": (100 * sweep.fraction).round(1)}),
                      ["method", "size (%)", "score", "finetune_steps", "accuracy (%)", "95% CI (±)",
                       "params_transferred", "episodes", "seed", "paper_size"])
save_table(table, f"table_learngene_size_{tag}")
table'''),
    ("code", '''#| tags: nbval-ignore-output
fig = plot_size_sweep(sweep, PAPER_SIZE, title=f"learngene size on {dataset} ({profile} profile, seed {seed})")
save_figure(fig, f"fig_learngene_size_{tag}")
plt.show()
print("\\n".join(size_summary(sweep)))'''),
    ("code", '''assert len(sweep) == 2 * (len(SIZE_FRACTIONS) + 1) and sweep["mean"].between(0, 1).all()
learngenes = sweep[sweep.method == "Learngene"]
assert (abs(learngenes.fraction - learngenes.target_fraction) < 0.02).all()'''),
]

SENSITIVITY = [
    ("md", """# 10 · Open question: how sensitive is GTL to its genetic hyper-parameters?

The paper gives no population size, tournament size, mutation rate or number of generations (ours are in
`GTLConfig`, **our choice**). Here each one moves away from a base run while the others stay put, and each run's
best learngene is tested on the same novel-class episodes (5-way 5-shot, descendants fine-tuned briefly as in
notebook 09), beside Scratch. The base is the ablations' budget (notebook 07: six members, three generations),
so the runs the two notebooks share are trained once; tournament size 1 and mutation rate 0 are notebook 07's
"no tournament" and "no mutation"."""),
    ("code", PARAMS),
    ("code", '''import matplotlib.pyplot as plt
from gtl.experiments import ABLATION_BUDGET, default_device
from gtl.plots import percent_table, plot_sensitivity, save_figure, save_table
from gtl.questions import SENSITIVITY, question_protocol, sensitivity_summary, sensitivity_table

device = device or default_device()
tag = f"{profile}_{dataset}"
eval_cfg = question_protocol(profile, dataset)
print("base:", ABLATION_BUDGET[profile] or "the profile's own", "| values:", SENSITIVITY[profile])'''),
    ("code", '''#| tags: nbval-ignore-output
results = sensitivity_table(profile, dataset, arch, seed, eval_cfg, 5, data_root=data_root, device=device,
                            progress=(profile == "paper"))
table = percent_table(results)
save_table(table, f"table_ga_sensitivity_{tag}")
table'''),
    ("code", '''#| tags: nbval-ignore-output
fig = plot_sensitivity(results, title=f"GTL's genetic hyper-parameters on {dataset} ({profile} profile, seed {seed})")
save_figure(fig, f"fig_ga_sensitivity_{tag}")
plt.show()
print("\\n".join(sensitivity_summary(results)))'''),
    ("code", '''assert set(results.factor) == set(SENSITIVITY[profile]) | {"Scratch"}
assert results["mean"].between(0, 1).all() and results.groupby("factor").is_base.sum().drop("Scratch").eq(1).all()'''),
]

VIT = [
    ("md", """# 11 · Open question: learngenes beyond CNNs

The paper's learngenes are channels within conv kernels. Does the idea carry to a **Vision Transformer**? Our
small ViT (`gtl.models.ViT`: 8×8 patches, pre-norm blocks, mean-pooled tokens) has three kinds of units, each
kept or left whole, like channels (**our choice**):

* **token channels**: one group shared by every residual add (a ResNet stage's output plays that role in CNNs);
* each block's **attention heads**: a head's q, k, v rows and its columns of the output projection;
* each block's **MLP channels**: a hidden unit's row of `fc1` and column of `fc2`.

A weight is in the learngene when all the units it connects are, so the kept units form circuits from the
patches to the last block, exactly as kept channels do in a CNN. 45% of each group's units gives about 20% of
the parameters. The ViT is evolved by the **same GTL loop**, with the budget of the ablations (notebook 07),
and its learngene's descendants are compared with Scratch on the same novel-class episodes, beside VGG11 under
the same budget."""),
    ("code", PARAMS),
    ("code", '''import matplotlib.pyplot as plt
from gtl.experiments import default_device, verdicts
from gtl.explorer import plot_masks
from gtl.plots import percent_table, plot_results, save_figure, save_table
from gtl.questions import VIT_SETTINGS, question_protocol, vit_comparison

device = device or default_device()
tag = f"{profile}_{dataset}"
eval_cfg = question_protocol(profile, dataset)
print("ViT settings:", VIT_SETTINGS[profile])'''),
    ("code", '''#| tags: nbval-ignore-output
results, vit = vit_comparison(profile, dataset, seed, eval_cfg, shots=(5,), data_root=data_root, device=device,
                              progress=(profile == "paper"))
print(vit.best.describe())
table = percent_table(results, ["network", "method", "score", "setting", "accuracy (%)", "95% CI (±)",
                               "params_transferred", "learngene_fraction", "episodes", "seed"])
save_table(table, f"table_vit_learngenes_{tag}")
table'''),
    ("code", '''#| tags: nbval-ignore-output
fig = plot_results(results.assign(setting=results.network + ", " + results.score.map(
    {"finetune": f"{eval_cfg.finetune.steps} steps", "instinct": "no learning"})),
    title=f"learngenes in a ViT and in VGG11, {dataset} ({profile} profile)")
save_figure(fig, f"table_vit_learngenes_{tag}")
plt.show()
print("\\n".join(verdicts(results, ["network", "score"])))'''),
    ("code", '''#| tags: nbval-ignore-output
fig = plot_masks(vit.best)
save_figure(fig, f"fig_vit_learngene_{tag}")
plt.show()'''),
    ("code", '''assert vit.best.arch == "vit" and 0.05 < vit.best.fraction < 0.5
assert set(results.network.str.split().str[0]) == {"vit", arch} and results["mean"].between(0, 1).all()'''),
]


def build(cells: list[tuple[str, str]], path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                   "language_info": {"name": "python"}}
    for kind, src in cells:
        tags = []
        if src.startswith("#| tags:"):
            first, _, src = src.partition("\n")
            tags = [t.strip() for t in first[len("#| tags:"):].split(",")]
        cell = nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nbformat.write(nb, path)


if __name__ == "__main__":
    NB.mkdir(exist_ok=True)
    build(WALKTHROUGH, NB / "00_walkthrough.ipynb")
    build(FIG4, NB / "01_fig4_evolution.ipynb")
    build(TABLE, NB / "02_fewshot_table.ipynb")
    build(FRAMEWORK, NB / "03_fig1_3_framework.ipynb")
    build(INSTINCTS, NB / "04_fig5_instincts.ipynb")
    build(SCALABILITY, NB / "05_scalability.ipynb")
    build(ADAPTABILITY, NB / "06_adaptability.ipynb")
    build(ABLATION, NB / "07_ablations.ipynb")
    build(EXPLORER, NB / "08_explorer.ipynb")
    build(SIZE, NB / "09_learngene_size.ipynb")
    build(SENSITIVITY, NB / "10_ga_sensitivity.ipynb")
    build(VIT, NB / "11_vit_learngenes.ipynb")
    print("wrote", sorted(p.name for p in NB.glob("*.ipynb")))
