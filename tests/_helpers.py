"""Helpers shared by the tests: tiny synthetic datasets, image folders and configs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gtl.data import ImageDataset
from gtl.evolution import GTLConfig
from gtl.learngene import ChannelMasks, close_circuit, random_channels, seeded_model
from gtl.models import FewShotNet
from gtl.population import Runtime, train_population
from gtl.train import TrainConfig, train

PROJECT = Path(__file__).resolve().parents[1]

# ------------------------------------------------------- synthetic data


def indexed_dataset(per_class: list[int], size: int = 8) -> ImageDataset:
    """A dataset whose image ``i`` carries its own index (pixels [0,0,0] and [0,0,1]).

    Lets a test recover exactly which dataset images a task gathered.
    """
    labels = torch.cat([torch.full((n,), c, dtype=torch.int64) for c, n in enumerate(per_class)])
    n = len(labels)
    images = torch.zeros(n, 3, size, size, dtype=torch.uint8)
    idx = torch.arange(n)
    images[:, 0, 0, 0] = (idx % 256).to(torch.uint8)
    images[:, 0, 0, 1] = (idx // 256).to(torch.uint8)
    images[:, 1] = labels.view(n, 1, 1).to(torch.uint8)  # the class shows in channel 1
    return ImageDataset(images, labels, [f"class{c}" for c in range(len(per_class))], "indexed")


def image_index(images: torch.Tensor) -> list[int]:
    """Inverse of :func:`indexed_dataset`'s encoding."""
    return (images[:, 0, 0, 0].long() + 256 * images[:, 0, 0, 1].long()).tolist()


def write_jpeg(path: Path, seed: int, size=(40, 30)) -> None:
    """A small real JPEG (random colours, not square so decoding must resize and crop)."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path, "JPEG")


def make_fake_mini(root: Path, classes=("n001", "n002", "n003"), per_class: int = 4, val=("v001",),
                   test=("t001",)) -> Path:
    """A miniImageNet folder in the Ravi & Larochelle layout, with real (tiny) JPEGs.

    Each split gets its own classes: train has ``classes``, val ``val`` and test ``test``.
    The same arguments always give the same images.
    """
    folder = root / "miniimagenet"
    splits = {"train": list(classes), "val": list(val), "test": list(test)}
    seed = 0
    for split, names in splits.items():
        lines = ["filename,label"]
        for c in names:
            for i in range(per_class):
                fname = f"{c}{i:08d}.jpg"
                write_jpeg(folder / "images" / fname, seed)
                seed += 1
                lines.append(f"{fname},{c}")
        (folder / f"{split}.csv").write_text("\n".join(lines) + "\n")
    return folder


# --------------------------------------------------------- tiny configs


def tiny_config(**overrides) -> GTLConfig:
    """A GTL run that takes seconds on a CPU (Conv4 at a quarter width, 32 px)."""
    base = dict(dataset="miniimagenet", arch="conv4", width=0.25, image_size=32, population=3,
                generations=2, tournament_size=2, task_shots=5, task_queries=3,
                lifetime=TrainConfig(steps=3, batch_size=10), critic_tasks=1, critic_shots=1,
                critic_queries=3, critic=TrainConfig(steps=2, batch_size=5), mutation_rate=0.5,
                mutation_step=0.25, seed=3)
    base.update(overrides)
    return GTLConfig(**base)


# ---------------------------------------------- closed learngene circuits


def closed_ancestor(arch: str, batched: bool, width: float = 0.125) -> tuple[FewShotNet, ChannelMasks]:
    """A network whose learngene (45% of the channels, random) lived a few SGD steps as a closed
    circuit, alone (:func:`gtl.train.train`) or stacked with an open neighbour
    (:func:`gtl.population.train_population`); its weights and BN statistics then differ from their start."""
    net = seeded_model(arch, 5, width, seed=1)
    masks = random_channels(net, 0.45, seed=2)
    close_circuit(net, masks)
    cfg = TrainConfig(steps=3, batch_size=6)
    images = torch.randint(0, 256, (12, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(12) % 5
    if batched:
        train_population([net, seeded_model(arch, 5, width, seed=2)], [images] * 2, [labels] * 2, cfg, [0, 1],
                         Runtime(mode="batched"))
    else:
        train(net, images, labels, cfg, seed=0)
    start = seeded_model(arch, 5, width, seed=1)
    for (k, a), b in zip(net.state_dict().items(), start.state_dict().values()):
        assert k.endswith("num_batches_tracked") or not torch.equal(a, b), k  # trained, statistics included
    return net, masks


def circuit_outputs(model: FewShotNet, channels: dict[str, torch.Tensor], x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The output of each conv named in ``channels`` and of its BatchNorm (keys ``conv`` and
    ``conv + " bn"``), in eval mode on ``x``, restricted to the channels ``channels[conv]``."""
    modules, out, hooks = dict(model.named_modules()), {}, []
    for s in model.conv_specs():
        if s.conv not in channels:
            continue
        for name, key in ((s.conv, s.conv), (s.bn, f"{s.conv} bn")):
            hooks.append(modules[name].register_forward_hook(
                lambda module, inputs, y, key=key, keep=channels[s.conv]: out.__setitem__(key, y[:, keep])))
    model.eval()
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return out
