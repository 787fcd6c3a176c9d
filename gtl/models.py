"""Networks that carry learngenes: Conv4 (quick runs), VGG11/13/16/19-BN and ResNet12.

A learngene is defined on *channels*, so every model here describes its
convolutions as a list of :class:`ConvSpec`: which conv, which BatchNorm
follows it, and which **channel group** its input and output belong to.
A channel group is a set of channels that must share one learngene mask:
in a plain chain (Conv4, VGG) each conv output is its own group; in a
ResNet the block output and its 1x1 shortcut are *added*, so they share
the stage's group (docs/decisions.md #1). The learngene code
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


class Attention(nn.Module):
    """Multi-head self-attention whose heads are addressable: head ``h`` owns rows
    ``h*d:(h+1)*d`` of each of q, k, v and the same columns of ``proj``."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        out = nn.functional.scaled_dot_product_attention(q, k, v)          # (b, heads, n, head_dim)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """Pre-norm transformer block: attention, then a GELU MLP, each with a residual."""

    def __init__(self, dim: int, heads: int, mlp: int):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1, self.act, self.fc2 = nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(self.act(self.fc1(self.norm2(x))))


class ViT(FewShotNet):
    """A small Vision Transformer for the open question "learngenes beyond CNNs" (issue 5).

    Patches of 1/8 of the image side (4 px at 32 px: 64 tokens), learned position
    embeddings, pre-norm blocks, mean-pooled tokens into the head (no class
    token). At width 1: 128-dim tokens, 8 heads, MLP 256, depth 6 (our choice).

    Its learngene units (our choice, the paper's "channels within kernels"
    carried over): the token **channels** (one group, shared by every residual
    add, like a ResNet stage), each block's attention **heads** and each
    block's **MLP channels**. A weight belongs to the learngene when all the
    units it connects do: q/k/v rows of kept heads read from kept token
    channels, ``proj`` writes kept heads into kept channels, and so on, so
    kept units again form complete circuits from the image to the head.
    """

    arch = "vit"
    DIM, HEADS, MLP, DEPTH = 128, 8, 256, 6
    TOKENS = "tokens"

    def __init__(self, num_classes: int = 5, width: float = 1.0):
        super().__init__(num_classes, width)
        heads = max(1, int(round(self.HEADS * width)))
        dim = 16 * heads  # 16-dim heads at every width
        self.patch = nn.Conv2d(3, dim, kernel_size=4, stride=4)  # re-strided for other sizes in forward
        self.pos = nn.Parameter(torch.zeros(1, 64, dim))
        self.blocks = nn.ModuleList(Block(dim, heads, _channels(self.MLP, width)) for _ in range(self.DEPTH))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        _init_weights(self)
        nn.init.normal_(self.pos, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear) and m is not self.head:
                nn.init.trunc_normal_(m.weight, std=0.02)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        side = x.shape[-1] // 8  # 8 x 8 patches whatever the image size
        w = self.patch.weight
        if side != w.shape[-1]:
            w = nn.functional.interpolate(w, size=(side, side), mode="bilinear", align_corners=False) * (4 / side) ** 2
        x = nn.functional.conv2d(x, w, self.patch.bias, stride=side).flatten(2).transpose(1, 2) + self.pos
        for block in self.blocks:
            x = block(x)
        return self.norm(x).mean(1)

    def conv_specs(self) -> list[ConvSpec]:
        return []

    def stages(self) -> list[Stage]:
        raise NotImplementedError("a ViT has no conv stages: gtl.inherit maps learngenes between CNNs only")

    # ----- learngene units (used by gtl.learngene in place of conv specs)

    def unit_groups(self) -> dict[str, int]:
        groups = {self.TOKENS: self.pos.shape[-1]}
        for b, block in enumerate(self.blocks):
            groups[f"blocks.{b}.heads"] = block.attn.heads
            groups[f"blocks.{b}.mlp"] = block.fc1.out_features
        return groups

    def unit_param_masks(self, masks: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per parameter, the bool mask of its entries that connect kept units only."""
        t = masks[self.TOKENS].cpu()
        out = {"patch.weight": t[:, None, None, None].expand_as(self.patch.weight), "patch.bias": t,
               "pos": t[None, None, :].expand_as(self.pos), "norm.weight": t, "norm.bias": t}
        for b, block in enumerate(self.blocks):
            p, attn = f"blocks.{b}", block.attn
            h = masks[f"{p}.heads"].cpu().repeat_interleave(attn.head_dim)   # head -> its dims
            m = masks[f"{p}.mlp"].cpu()
            qkv_rows = h.repeat(3)
            out.update({
                f"{p}.norm1.weight": t, f"{p}.norm1.bias": t, f"{p}.norm2.weight": t, f"{p}.norm2.bias": t,
                f"{p}.attn.qkv.weight": qkv_rows[:, None] & t[None, :], f"{p}.attn.qkv.bias": qkv_rows,
                f"{p}.attn.proj.weight": t[:, None] & h[None, :], f"{p}.attn.proj.bias": t,
                f"{p}.fc1.weight": m[:, None] & t[None, :], f"{p}.fc1.bias": m,
                f"{p}.fc2.weight": t[:, None] & m[None, :], f"{p}.fc2.bias": t,
            })
        return out

    def unit_saliency(self) -> dict[str, torch.Tensor]:
        """How much each unit writes: |LayerNorm gain| summed for token channels, the norm of a
        head's ``proj`` columns, the norm of an MLP channel's ``fc2`` column."""
        tokens = self.norm.weight.detach().abs().cpu().clone()
        sal = {}
        for b, block in enumerate(self.blocks):
            tokens += block.norm1.weight.detach().abs().cpu() + block.norm2.weight.detach().abs().cpu()
            proj = block.attn.proj.weight.detach().cpu().view(-1, block.attn.heads, block.attn.head_dim)
            sal[f"blocks.{b}.heads"] = proj.pow(2).sum((0, 2)).sqrt()
            sal[f"blocks.{b}.mlp"] = block.fc2.weight.detach().cpu().norm(dim=0)
        return {self.TOKENS: tokens, **sal}


ARCHITECTURES: dict[str, Callable[..., FewShotNet]] = {
    "conv4": Conv4, "resnet12": ResNet12, "vit": ViT,
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
    """Each channel group of ``model`` with its number of channels (the input group excluded).

    A model with other learngene units (a :class:`ViT`) lists them in ``unit_groups``.
    """
    if hasattr(model, "unit_groups"):
        return model.unit_groups()
    modules = dict(model.named_modules())
    return {s.out_group: modules[s.conv].out_channels for s in model.conv_specs()}
