"""Networks that carry learngenes: Conv4 (quick runs), VGG11/13/16/19-BN and ResNet12.

A learngene is defined on *channels*, so every model here describes its
convolutions as a list of :class:`ConvSpec`: which conv, which BatchNorm
follows it, and which **channel group** its input and output belong to.
A channel group is a set of channels that must share one learngene mask:
in a plain chain (Conv4, VGG) each conv output is its own group; in a
ResNet the block output and its 1x1 shortcut are *added*, so they share
the stage's group (paper notes §1.2, decisions.md #1). The learngene code
only ever talks to models through these specs, which is what lets one
implementation serve every architecture.

All models map ``(B, 3, H, W)`` float images to ``(B, num_classes)`` logits
for any input size >= 32 (adaptive average pooling before the head), and
take a ``width`` multiplier on every channel count.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

INPUT_GROUP = "input"  # the RGB channels: always fully part of a learngene


@dataclass(frozen=True)
class ConvSpec:
    """One convolution as the learngene code sees it.

    Args:
        conv: module name of the ``nn.Conv2d`` (as in ``named_modules``).
        bn: module name of the ``nn.BatchNorm2d`` normalising its output.
        in_group: channel group of the conv's input channels.
        out_group: channel group of the conv's output channels.
    """

    conv: str
    bn: str
    in_group: str
    out_group: str


@dataclass(frozen=True)
class Stage:
    """The convs at one spatial resolution, in order along the main path.

    ``shortcut`` is the 1x1 projection of a residual block (None for plain
    chains). :mod:`gtl.inherit` maps a learngene between networks of other
    depth or architecture stage by stage.
    """

    main: tuple[ConvSpec, ...]
    shortcut: ConvSpec | None = None


def _channels(base: int, width: float) -> int:
    return max(1, int(round(base * width)))


def _init_weights(model: nn.Module) -> None:
    """Kaiming-normal convs, unit BN, zero biases: the usual CNN start (our choice)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.01)
            nn.init.zeros_(m.bias)


class FewShotNet(nn.Module):
    """Base class: a feature extractor plus a linear ``head``.

    Subclasses build ``self.body`` and list their convs in ``conv_specs``.
    The head is *not* part of any learngene: descendants meet new classes.
    """

    arch: str = ""

    def __init__(self, num_classes: int, width: float):
        super().__init__()
        self.num_classes = num_classes
        self.width = width

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(nn.functional.adaptive_avg_pool2d(self.body(x), 1), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def reset_head(self, num_classes: int, seed: int) -> None:
        """Replace the classifier by a fresh one for ``num_classes`` classes.

        The new weights come from a generator seeded by ``seed``, never from
        torch's global RNG, so a result never depends on what ran before it.
        """
        g = torch.Generator().manual_seed(seed)
        head = nn.Linear(self.head.in_features, num_classes)
        with torch.no_grad():
            head.weight.copy_(torch.randn(head.weight.shape, generator=g) * 0.01)
            head.bias.zero_()
        self.head = head.to(self.head.weight.device)
        self.num_classes = num_classes

    def conv_specs(self) -> list[ConvSpec]:
        raise NotImplementedError

    def stages(self) -> list[Stage]:
        raise NotImplementedError

    def description(self) -> dict:
        """What is needed to rebuild the same network (saved with learngenes)."""
        return {"arch": self.arch, "width": self.width, "num_classes": self.num_classes}


def _conv_bn(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)]


class Conv4(FewShotNet):
    """The classic 4-block few-shot CNN (64 channels at width 1). For quick CPU runs."""

    arch = "conv4"

    def __init__(self, num_classes: int = 5, width: float = 1.0):
        super().__init__(num_classes, width)
        c = _channels(64, width)
        layers: list[nn.Module] = []
        cin = 3
        for _ in range(4):
            layers += _conv_bn(cin, c) + [nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            cin = c
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c, num_classes)
        _init_weights(self)

    def conv_specs(self) -> list[ConvSpec]:
        return _chain_specs(self.body)

    def stages(self) -> list[Stage]:
        return _chain_stages(self.body)


# torchvision's VGG configurations: "A" (11 layers), "B" (13), "D" (16), "E" (19).
VGG_CFGS = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg13": (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
    "vgg19": (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"),
}


class VGG(FewShotNet):
    """VGG with BatchNorm, CIFAR-style: one linear head. VGG11 is the paper's ancestor;
    VGG13/16/19 are the deeper descendants of the scalability experiments."""

    def __init__(self, num_classes: int = 5, width: float = 1.0, arch: str = "vgg11"):
        super().__init__(num_classes, width)
        self.arch = arch
        layers: list[nn.Module] = []
        cin = 3
        for v in VGG_CFGS[arch]:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                cout = _channels(v, width)
                layers += _conv_bn(cin, cout) + [nn.ReLU(inplace=True)]
                cin = cout
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(cin, num_classes)
        _init_weights(self)

    def conv_specs(self) -> list[ConvSpec]:
        return _chain_specs(self.body)

    def stages(self) -> list[Stage]:
        return _chain_stages(self.body)


def _chain_specs(body: nn.Sequential) -> list[ConvSpec]:
    """Specs of a plain conv chain: each conv's output is the next conv's input group."""
    specs, prev = [], INPUT_GROUP
    mods = list(body.named_children())
    for i, (name, m) in enumerate(mods):
        if isinstance(m, nn.Conv2d):
            bn_name = mods[i + 1][0]
            group = f"body.{name}"
            specs.append(ConvSpec(f"body.{name}", f"body.{bn_name}", prev, group))
            prev = group
    return specs


def _chain_stages(body: nn.Sequential) -> list[Stage]:
    """A conv chain cut into stages at its max-pools (one stage per resolution)."""
    specs = iter(_chain_specs(body))
    stages, current = [], []
    for m in body:
        if isinstance(m, nn.Conv2d):
            current.append(next(specs))
        elif isinstance(m, nn.MaxPool2d):
            stages.append(Stage(tuple(current)))
            current = []
    if current:
        stages.append(Stage(tuple(current)))
    return stages


class ResBlock12(nn.Module):
    """Three 3x3 conv-BN(-LeakyReLU) layers, a 1x1 conv shortcut, then 2x2 max-pool."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1, self.bn1 = _conv_bn(cin, cout)
        self.conv2, self.bn2 = _conv_bn(cout, cout)
        self.conv3, self.bn3 = _conv_bn(cout, cout)
        self.shortcut = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn_shortcut = nn.BatchNorm2d(cout)
        self.act = nn.LeakyReLU(0.1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        out = self.act(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.pool(self.act(out + self.bn_shortcut(self.shortcut(x))))


class ResNet12(FewShotNet):
    """The standard few-shot ResNet12 (widths 64-160-320-640 as in MetaOptNet/FEAT).

    DropBlock, used by some few-shot papers, is left out (our choice: the
    paper does not say, and it adds a regulariser GTL does not need).
    """

    arch = "resnet12"
    WIDTHS = (64, 160, 320, 640)

    def __init__(self, num_classes: int = 5, width: float = 1.0):
        super().__init__(num_classes, width)
        blocks, cin = [], 3
        for w in self.WIDTHS:
            cout = _channels(w, width)
            blocks.append(ResBlock12(cin, cout))
            cin = cout
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(cin, num_classes)
        _init_weights(self)

    def conv_specs(self) -> list[ConvSpec]:
        specs, prev = [], INPUT_GROUP
        for b in range(len(self.body)):
            p, stage = f"body.{b}", f"body.{b}.out"
            specs += [
                ConvSpec(f"{p}.conv1", f"{p}.bn1", prev, f"{p}.conv1"),
                ConvSpec(f"{p}.conv2", f"{p}.bn2", f"{p}.conv1", f"{p}.conv2"),
                ConvSpec(f"{p}.conv3", f"{p}.bn3", f"{p}.conv2", stage),
                ConvSpec(f"{p}.shortcut", f"{p}.bn_shortcut", prev, stage),
            ]
            prev = stage
        return specs

    def stages(self) -> list[Stage]:
        specs = self.conv_specs()
        return [Stage(tuple(specs[4 * b: 4 * b + 3]), specs[4 * b + 3]) for b in range(len(self.body))]


ARCHITECTURES: dict[str, Callable[..., FewShotNet]] = {
    "conv4": Conv4, "resnet12": ResNet12,
    **{name: functools.partial(VGG, arch=name) for name in VGG_CFGS},
}


def build_model(arch: str, num_classes: int = 5, width: float = 1.0) -> FewShotNet:
    """Build a network by name.

    Example:
        >>> net = build_model("vgg11", num_classes=5, width=0.5)
        >>> net(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 5])
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}")
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    return ARCHITECTURES[arch](num_classes=num_classes, width=width)


def channel_groups(model: FewShotNet) -> dict[str, int]:
    """Each channel group of ``model`` with its number of channels (the input group excluded)."""
    modules = dict(model.named_modules())
    return {s.out_group: modules[s.conv].out_channels for s in model.conv_specs()}
