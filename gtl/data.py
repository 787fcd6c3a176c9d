"""Real image datasets for GTL, decoded once and kept as uint8 tensors.

Three benchmarks, each with the loader a user with the full download needs:

* **miniImageNet**: the Ravi & Larochelle layout (``images/*.jpg`` plus
  ``train.csv``/``val.csv``/``test.csv`` with ``filename,label``), or the
  learn2learn pickle cache (``mini-imagenet-cache-{train,validation,test}.pkl``).
* **CIFAR-FS**: CIFAR-100 (torchvision's ``cifar-100-python`` files, or the
  ``cifar100_partial.npz`` of our offline data) with the CIFAR-FS class split
  (Bertinetto et al. 2019) that ships inside this package.
* **CUB-200-2011**: ``images/<class>/<file>.jpg`` with the standard
  100/50/50 class split that ships inside this package.

And a user's own images: any folder ``<root>/<class>/<image>`` (torchvision's
ImageFolder layout), named by its path where a benchmark is named by its name.
Its classes are split into train/val/test by the split files in
``<root>/splits/{train,val,test}.txt`` (one class per line) when they exist,
else by a seeded split of :data:`SPLIT_FRACTIONS` (:func:`class_split`).
Every image, of any format, size or mode, is converted the same way: EXIF
rotation applied, transparency laid on white, then RGB, short side to the
image size and a centre crop. Unreadable files of such a folder are skipped
and listed each time the folder is loaded (``$GTL_STRICT_IMAGES=1``, or ``--strict``, stops instead).

A data root is found from an explicit argument, then ``$GTL_DATA``, then
the project's ``data/`` folder. Every image is decoded once (in parallel threads), resized to a
square ``image_size`` and cached on disk under ``$GTL_CACHE`` (default
``~/.cache/gtl``), so training epochs never decode a JPEG.
"""
from __future__ import annotations

import csv
import hashlib
from collections import Counter, OrderedDict
import json
import os
import pickle
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from tqdm.auto import tqdm

from .cache import digest
from .paths import cache_dir, data_root, write_atomically

SPLITS_DIR = Path(__file__).parent / "splits"
DATASETS = ("miniimagenet", "cifar-fs", "cub")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
# A class-folder dataset without split files: the shares of its classes for train, val and test (miniImageNet's
# 64/16/20), drawn with SPLIT_SEED (our choice, docs/decisions.md #14).
SPLIT_FRACTIONS = (0.64, 0.16, 0.20)
SPLIT_SEED = 0
DECODE_VERSION = 2  # part of the decode cache's key: a change in how images are converted decodes them again
NATIVE_SIZE = {"miniimagenet": 84, "cifar-fs": 32, "cub": 84}

# Folder names looked for under the data root, first match wins.
FOLDERS = {
    "miniimagenet": ("miniimagenet", "mini-imagenet", "miniImageNet"),
    "cifar-fs": ("cifar100", "cifar-100", "cifar100-partial"),
    "cub": ("cub", "CUB_200_2011", "cub50", "CUB"),
}

HOW_TO_GET = {
    "miniimagenet": (
        "Put the Ravi & Larochelle files there: images/<name>.jpg plus train.csv, val.csv and "
        "test.csv (columns filename,label), or learn2learn's mini-imagenet-cache-<split>.pkl "
        "files; `python -m gtl download miniimagenet` fetches the pickles (needs internet)."
    ),
    "cifar-fs": (
        "Put torchvision's CIFAR-100 there (cifar-100-python/train, test, meta), or "
        "cifar100_partial.npz; `python -m gtl download cifar-fs` fetches CIFAR-100 with "
        "torchvision (needs internet). The CIFAR-FS class split ships with gtl."
    ),
    "cub": (
        "Put CUB-200-2011 there: images/<class>/<file>.jpg as in the official archive "
        "(CUB_200_2011.tgz from the Caltech data site). The class split ships with gtl."
    ),
}


class DatasetError(FileNotFoundError):
    """A dataset is missing or malformed. The message says where we looked and what to do."""


@dataclass
class ImageDataset:
    """Images of some classes, decoded: the unit every other module works on.

    Attributes:
        images: ``(N, 3, H, W)`` uint8 tensor.
        labels: ``(N,)`` int64 tensor with values in ``range(len(classes))``.
        classes: class names, indexed by label.
        name: where the images came from, e.g. ``"miniimagenet/train"``.
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    name: str = ""
    _fingerprint: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.dim() != 4 or self.images.shape[1] != 3:
            raise ValueError(f"images must be (N, 3, H, W) uint8, got {tuple(self.images.shape)} {self.images.dtype}")
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def image_size(self) -> int:
        return self.images.shape[-1]

    def to(self, device: str | torch.device) -> "ImageDataset":
        """The same dataset with its tensors on ``device`` (uint8 stays uint8: 4x less memory)."""
        moved = ImageDataset(self.images.to(device), self.labels.to(device), self.classes, self.name)
        moved._fingerprint = self._fingerprint  # same content, same fingerprint: not recomputed
        return moved

    def fingerprint(self) -> str:
        """A digest of the content (image bytes, labels, class names), computed once: results
        cached from other images are not served for these (:mod:`gtl.cache`).
        Milliseconds for 10k 32x32 images, under a second for 60k 84x84."""
        if self._fingerprint is None:
            self._fingerprint = digest(self.images, self.labels, "\n".join(self.classes))
        return self._fingerprint

    def images_per_class(self) -> torch.Tensor:
        return torch.bincount(self.labels.cpu(), minlength=len(self.classes))


def class_examples(ds: ImageDataset, n: int, seed: int = 0) -> tuple[torch.Tensor, list[str]]:
    """One image from each of ``n`` classes drawn with ``seed``: images to show in a figure."""
    g = torch.Generator().manual_seed(seed)
    classes = torch.randperm(len(ds.classes), generator=g)[:n].tolist()
    picks = []
    for c in classes:
        idx = (ds.labels == c).nonzero().flatten()
        picks.append(int(idx[torch.randint(len(idx), (1,), generator=g)]))
    return ds.images[picks].cpu(), [ds.classes[c] for c in classes]


def benchmark_layout(folder: str | os.PathLike) -> str | None:
    """Which benchmark's own files ``folder`` holds, or None: miniImageNet's (``images/`` with ``train.csv``,
    ``val.csv`` and ``test.csv``, or learn2learn's pickles), CIFAR-100's (``cifar-100-python/`` or
    ``cifar100_partial.npz``: the CIFAR-FS split) or CUB-200-2011's (``images/<class>/`` beside
    ``classes.txt``). Such a folder is read with its benchmark's own split, wherever it lies."""
    folder = Path(folder).expanduser()
    if ((folder / "images").is_dir() and (folder / "train.csv").exists()) or any(
            (folder / f"mini-imagenet-cache-{m}.pkl").exists() for m in MINI_PICKLE.values()):
        return "miniimagenet"
    if (folder / "cifar-100-python" / "meta").exists() or (folder / "cifar100_partial.npz").exists():
        return "cifar-fs"
    if (folder / "images").is_dir() and (folder / "classes.txt").exists():
        return "cub"
    return None


def is_folder_dataset(name: str) -> bool:
    """Is ``name`` a user's class-folder dataset (a path to a folder), not one of :data:`DATASETS`?"""
    return name not in DATASETS and Path(name).expanduser().is_dir()


def dataset_label(name: str) -> str:
    """A short name for files and folders: a benchmark's name, or a class folder's own name."""
    return name if name in DATASETS else Path(name).expanduser().resolve().name


def find_folder(name: str, root: str | os.PathLike | None = None) -> Path:
    """The folder of dataset ``name`` under the data root (or ``name`` itself, a class folder),
    or a :class:`DatasetError`."""
    if is_folder_dataset(name):
        return Path(name).expanduser().resolve()
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}, or give the path of a "
                         f"folder of class folders (<folder>/<class>/<image>)")
    base = data_root(root)
    for folder in FOLDERS[name]:
        if (base / folder).is_dir():
            return base / folder
    looked = ", ".join(str(base / f) for f in FOLDERS[name])
    layout = benchmark_layout(base)
    if layout:  # the usual mistake: the data root set to one dataset's own folder
        raise DatasetError(f"{name} not found: the data root {base} is itself a {layout} folder; set --data-root or "
                           f"$GTL_DATA to the folder that holds the datasets ({base.parent}), or give this one "
                           f"with --data {base}")
    raise DatasetError(f"{name} not found: looked for {looked}. {HOW_TO_GET[name]} "
                       f"Set the data root with --data-root or $GTL_DATA (now {base}).")


def load_dataset(name: str, split: str, root: str | os.PathLike | None = None,
                 image_size: int | None = None) -> ImageDataset:
    """Load one split (``train``/``val``/``test``, or ``all``) of a dataset.

    Args:
        name: ``"miniimagenet"``, ``"cifar-fs"`` or ``"cub"``, or the path of a class-folder dataset.
        split: class split; ``"all"`` keeps every class present.
        root: data root (default: ``$GTL_DATA``, then ``./data``).
        image_size: side of the square images returned (default: the
            dataset's native 84 or 32).

    Example:
        >>> train = load_dataset("miniimagenet", "train", image_size=32)  # doctest: +SKIP
        >>> train.images.shape, len(train.classes)                        # doctest: +SKIP
        (torch.Size([38400, 3, 32, 32]), 64)
    """
    if split not in ("train", "val", "test", "all"):
        raise ValueError(f"split must be train, val, test or all, got {split!r}")
    folder = find_folder(name, root)
    kind = name if name in DATASETS else benchmark_layout(folder)
    size = image_size or NATIVE_SIZE.get(kind, 84)
    loader = {"miniimagenet": _load_miniimagenet, "cifar-fs": _load_cifar_fs, "cub": _load_cub}.get(kind, _load_folder)
    images, labels, classes = loader(folder, split, size)
    return ImageDataset(images, labels, classes, f"{dataset_label(name)}/{split}")


# ---------------------------------------------------------------- decoding


def _rgb(im: Image.Image) -> Image.Image:
    """Any image as upright RGB: EXIF rotation applied, transparency laid on white (grayscale,
    palette, CMYK and 16-bit modes all end as 8-bit RGB)."""
    im = ImageOps.exif_transpose(im)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, im)
    elif im.mode in ("I", "I;16", "I;16B", "I;16L"):  # 16-bit grayscale: to 8 bits before RGB
        im = Image.fromarray((np.asarray(im, dtype=np.float64) / 256).clip(0, 255).astype(np.uint8))
    return im.convert("RGB")


def _decode(path: Path, size: int) -> np.ndarray:
    """One image file -> (size, size, 3) uint8: upright RGB (:func:`_rgb`), short side to ``size``,
    centre crop."""
    try:
        with Image.open(path) as im:
            im = _rgb(im)
            w, h = im.size
            if (w, h) != (size, size):
                scale = size / min(w, h)
                im = im.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR)
                w, h = im.size
                left, top = (w - size) // 2, (h - size) // 2
                im = im.crop((left, top, left + size, top + size))
            return np.asarray(im, dtype=np.uint8)
    except FileNotFoundError:
        raise DatasetError(f"image listed but missing: {path}.") from None
    except (OSError, ValueError, Image.DecompressionBombError) as e:  # unreadable, truncated, odd or huge
        raise DatasetError(f"cannot decode image {path}: {e}.") from None


def _stamp(path: Path) -> str:
    """A file's name, size and modification time: an image replaced under the same name
    (new data in an old layout) is decoded again instead of read stale from the cache."""
    try:
        st = path.stat()
    except OSError:
        return f"{path}:missing"  # decoding it says which file is missing
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


# This process's latest decoded datasets, by the same digest as the on-disk cache (files, sizes and times of
# modification included): a notebook loads the same split many times, and reading it back costs seconds.
_DECODED: OrderedDict[str, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()
DECODED_IN_MEMORY = 4


def _remember(digest: str, images: torch.Tensor, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep ``images`` and ``kept`` in :data:`_DECODED` (the latest :data:`DECODED_IN_MEMORY`) and return copies,
    so that a caller who changes its tensors in place cannot change what the next one gets."""
    _DECODED[digest] = images, kept
    _DECODED.move_to_end(digest)
    while len(_DECODED) > DECODED_IN_MEMORY:
        _DECODED.popitem(last=False)
    return images.clone(), kept.clone()


def _decode_all(paths: list[Path], size: int, cache_key: str, skip: bool = False,
                fix: str = "Re-download or delete this file") -> tuple[torch.Tensor, torch.Tensor]:
    """Decode ``paths`` through the on-disk cache (and this process's memory of it): ``(images, kept)``,
    an (N, 3, size, size) uint8 tensor of the readable files and a bool mask over ``paths`` of which
    they are. Without ``skip`` the first unreadable file raises a :class:`DatasetError` (``kept`` is
    all True) that ends with ``fix``: what to do about it in this layout."""
    text = "\n".join([cache_key, str(size), f"decode v{DECODE_VERSION}", f"skip {skip}"] + [_stamp(p) for p in paths])
    digest = hashlib.sha1(text.encode()).hexdigest()[:16]
    if digest in _DECODED:
        return _remember(digest, *_DECODED[digest])
    cached = cache_dir() / f"{digest}.pt"
    if cached.exists():
        try:
            entry = torch.load(cached, weights_only=True)
            images, kept = entry["images"], entry["kept"]
            if images.shape[1:] == (3, size, size) and len(kept) == len(paths) and int(kept.sum()) == len(images):
                return _remember(digest, images, kept)
        except Exception:
            pass  # a broken or old cache file is rebuilt below

    def one(p: Path):
        try:
            return _decode(p, size)
        except DatasetError as e:
            if not skip:
                raise DatasetError(f"{e} {fix}.") from None
            return None  # unreadable or truncated: left out, and the caller says so
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:  # a bar on a terminal only
        arrays = list(tqdm(pool.map(one, paths, chunksize=64), total=len(paths), leave=False, disable=None,
                           desc=f"decoding {len(paths)} images (once: cached in {cache_dir()})"))
    kept = torch.tensor([a is not None for a in arrays], dtype=torch.bool)
    if not kept.any():
        raise DatasetError(f"none of the {len(paths)} images could be read (first: {paths[0] if paths else '-'})")
    images = torch.from_numpy(np.stack([a for a in arrays if a is not None])).permute(0, 3, 1, 2).contiguous()
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(cached, lambda tmp: torch.save({"images": images, "kept": kept}, tmp))
    except OSError as e:  # a read-only or full cache only costs decoding again next time: the run goes on
        print(f"gtl: decoded images not cached ({e.strerror or e}); the run goes on", file=sys.stderr)
    return _remember(digest, images, kept)


def _resize_array(images: np.ndarray, size: int) -> torch.Tensor:
    """(N, H, W, 3) uint8 array -> (N, 3, size, size) uint8 tensor (bilinear, antialiased)."""
    t = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
    if t.shape[-1] != size or t.shape[-2] != size:
        t = torch.nn.functional.interpolate(t.float(), size=(size, size), mode="bilinear",
                                            antialias=True, align_corners=False)
        t = t.round().clamp(0, 255).to(torch.uint8)
    return t.contiguous()


def _labels_of(names: list[str]) -> tuple[torch.Tensor, list[str]]:
    classes = sorted(set(names))
    index = {c: i for i, c in enumerate(classes)}
    return torch.tensor([index[n] for n in names], dtype=torch.int64), classes


# ------------------------------------------------------------ miniImageNet

MINI_PICKLE = {"train": "train", "val": "validation", "test": "test"}


def _load_miniimagenet(folder: Path, split: str, size: int):
    splits = ("train", "val", "test") if split == "all" else (split,)
    if all((folder / f"{s}.csv").exists() for s in splits):
        rows = [r for s in splits for r in _read_ravi_csv(folder / f"{s}.csv")]
        paths = [folder / "images" / f for f, _ in rows]
        labels, classes = _labels_of([c for _, c in rows])
        fix = (f"Every image of this layout is listed in {', '.join(s + '.csv' for s in splits)}: re-download it, or "
               f"delete it and its line there")
        return _decode_all(paths, size, f"mini:{folder.resolve()}", fix=fix)[0], labels, classes
    pickles = [folder / f"mini-imagenet-cache-{MINI_PICKLE[s]}.pkl" for s in splits]
    if all(p.exists() for p in pickles):
        parts = [_read_mini_pickle(p) for p in pickles]
        images = np.concatenate([im for im, _ in parts])
        labels, classes = _labels_of([c for _, names in parts for c in names])
        return _resize_array(images, size), labels, classes
    raise DatasetError(f"miniImageNet folder {folder} has neither {', '.join(s + '.csv' for s in splits)} "
                       f"nor {', '.join(p.name for p in pickles)}. {HOW_TO_GET['miniimagenet']}")


def _read_ravi_csv(path: Path) -> list[tuple[str, str]]:
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:2]] != ["filename", "label"]:
            raise DatasetError(f"{path} should start with the header 'filename,label', found {header}")
        rows = []
        for line, r in enumerate(reader, start=2):
            if len(r) < 2:
                if r:
                    raise DatasetError(f"{path}, line {line}: expected 'filename,label', found {r}")
                continue
            rows.append((r[0].strip(), r[1].strip()))
    if not rows:
        raise DatasetError(f"{path} lists no images")
    return rows


def _read_mini_pickle(path: Path) -> tuple[np.ndarray, list[str]]:
    """learn2learn's cache: {'image_data': (N,84,84,3) uint8, 'class_dict': {class: [index, ...]}}."""
    try:
        with open(path, "rb") as f:
            data = pickle.load(f)
        images, class_dict = data["image_data"], data["class_dict"]
    except Exception as e:
        raise DatasetError(f"{path} is not a learn2learn miniImageNet cache ({e}). Re-download it.") from None
    names = [""] * len(images)
    for cls, idxs in class_dict.items():
        for i in idxs:
            names[i] = cls
    return np.asarray(images, dtype=np.uint8), names


# ---------------------------------------------------------------- CIFAR-FS


def split_classes(dataset: str, split: str) -> list[str]:
    """Class names of a shipped split (``cifar-fs`` or ``cub``)."""
    path = SPLITS_DIR / dataset / f"{split}.json"
    entries = json.loads(path.read_text())
    return [e[-1] if isinstance(e, list) else e for e in entries]


def _load_cifar_fs(folder: Path, split: str, size: int):
    images, fine, names = _read_cifar100(folder)
    wanted = names if split == "all" else split_classes("cifar-fs", split)
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise DatasetError(f"CIFAR-100 in {folder} lacks the CIFAR-FS classes {unknown[:5]}")
    keep_names = set(wanted)
    keep = np.array([names[i] in keep_names for i in fine])
    labels, classes = _labels_of([names[i] for i in fine[keep]])
    return _resize_array(images[keep], size), labels, classes


def _read_cifar100(folder: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """All CIFAR-100 images we can find (CIFAR-FS pools the official train and test sets)."""
    tv = folder / "cifar-100-python"
    if (tv / "meta").exists():
        images, fine = [], []
        for part in ("train", "test"):
            if not (tv / part).exists():
                raise DatasetError(f"{tv / part} is missing. {HOW_TO_GET['cifar-fs']}")
            with open(tv / part, "rb") as f:
                d = pickle.load(f, encoding="latin1")
            images.append(np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            fine.append(np.asarray(d["fine_labels"]))
        with open(tv / "meta", "rb") as f:
            names = pickle.load(f, encoding="latin1")["fine_label_names"]
        return np.concatenate(images), np.concatenate(fine), list(names)
    npz = folder / "cifar100_partial.npz"
    if npz.exists():
        d = np.load(npz)
        images = np.concatenate([d["train_images"], d["test_images"]])
        fine = np.concatenate([d["train_fine_labels"], d["test_fine_labels"]])
        return images, fine, [str(n) for n in d["fine_label_names"]]
    raise DatasetError(f"no CIFAR-100 in {folder}: expected {tv}/(train,test,meta) or {npz}. "
                       f"{HOW_TO_GET['cifar-fs']}")


# --------------------------------------------------------------------- CUB


def _load_cub(folder: Path, split: str, size: int):
    img_dir = folder / "images" if (folder / "images").is_dir() else folder
    try:
        files = class_folders(img_dir)
    except DatasetError:
        raise DatasetError(f"no class folders with images in {img_dir}. {HOW_TO_GET['cub']}") from None
    present = list(files)
    wanted = present if split == "all" else [c for c in split_classes("cub", split) if c in present]
    if not wanted:
        raise DatasetError(f"none of the CUB {split} classes is in {img_dir} (found {present[:3]}...)")
    paths, names = _class_files(files, wanted)
    labels, classes = _labels_of(names)
    return _decode_all(paths, size, f"cub:{folder.resolve()}")[0], labels, classes


# ------------------------------------------------------ a user's class folders


def class_folders(folder: Path) -> dict[str, list[Path]]:
    """The image files of each class folder (sorted; hidden files and other suffixes left out)."""
    found = {}
    for d in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != "splits"):
        files = sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
        if files:
            found[d.name] = files
    if not found:
        raise DatasetError(f"{folder} has no class folders with images: expected <folder>/<class>/<image> with "
                           f"images ending in {', '.join(IMAGE_SUFFIXES)}")
    return found


def _class_files(files: dict[str, list[Path]], wanted: list[str]) -> tuple[list[Path], list[str]]:
    """The image paths of the ``wanted`` classes of :func:`class_folders`, and each one's class."""
    return [p for c in wanted for p in files[c]], [c for c in wanted for _ in files[c]]


def class_counts(folder: str | os.PathLike) -> dict[str, int]:
    """Images per class of a dataset folder, class folders or a benchmark's layout (:func:`benchmark_layout`),
    counted from its files and lists without decoding an image."""
    folder = Path(folder)
    layout = benchmark_layout(folder)
    if layout == "miniimagenet" and (folder / "train.csv").exists():
        return dict(Counter(c for s in ("train", "val", "test") for _, c in _read_ravi_csv(folder / f"{s}.csv")))
    if layout == "miniimagenet":
        return dict(Counter(c for m in MINI_PICKLE.values() for c in _read_mini_pickle(
            folder / f"mini-imagenet-cache-{m}.pkl")[1]))
    if layout == "cifar-fs":
        _, fine, names = _read_cifar100(folder)
        return dict(zip(names, np.bincount(fine, minlength=len(names)).tolist()))
    return {c: len(v) for c, v in class_folders(folder / "images" if layout == "cub" else folder).items()}


def _benchmark_split(folder: Path, layout: str) -> dict[str, list[str]]:
    """A benchmark folder's own class split: miniImageNet's lists, or the split that ships with gtl."""
    if layout == "miniimagenet":
        return {s: sorted(set(_mini_split_labels(folder, s))) for s in ("train", "val", "test")}
    present = set(class_counts(folder))
    return {s: [c for c in split_classes(layout, s) if c in present] for s in ("train", "val", "test")}


def _mini_split_labels(folder: Path, split: str) -> list[str]:
    """miniImageNet: the class of every image of ``split``, from its CSV or its pickle."""
    if (folder / f"{split}.csv").exists():
        return [c for _, c in _read_ravi_csv(folder / f"{split}.csv")]
    return _read_mini_pickle(folder / f"mini-imagenet-cache-{MINI_PICKLE[split]}.pkl")[1]


def class_split(folder: str | os.PathLike, fractions: tuple[float, float, float] = SPLIT_FRACTIONS,
                seed: int = SPLIT_SEED) -> dict[str, list[str]]:
    """The train/val/test classes of a dataset folder: a benchmark's own (:func:`benchmark_layout`); for
    class folders, their split files (``splits/{train,val,test}.txt``, one class name per line) when
    present, else a seeded draw of ``fractions`` of its classes (at least one class per split)."""
    folder = Path(folder)
    layout = benchmark_layout(folder)
    if layout:
        return _benchmark_split(folder, layout)
    classes = list(class_folders(folder))
    files = {s: folder / "splits" / f"{s}.txt" for s in ("train", "val", "test")}
    if any(f.exists() for f in files.values()):
        split = {s: [ln.strip() for ln in f.read_text().splitlines() if ln.strip()] if f.exists() else []
                 for s, f in files.items()}
        unknown = sorted({c for names in split.values() for c in names} - set(classes))
        if unknown:
            raise DatasetError(f"{folder / 'splits'} names classes that have no folder with images: {unknown[:5]}")
        twice = sorted(set(split["train"]) & set(split["val"]) | set(split["train"]) & set(split["test"])
                       | set(split["val"]) & set(split["test"]))
        if twice:
            raise DatasetError(f"{folder / 'splits'}: a class belongs to one split only, but {twice[:5]} are in two")
        return split
    if len(classes) < 3:
        raise DatasetError(f"{folder} has {len(classes)} class folder(s): a split needs at least 3 (train, val and "
                           f"test classes are different classes)")
    order = [classes[i] for i in torch.randperm(len(classes), generator=torch.Generator().manual_seed(seed))]
    n_val = max(1, round(fractions[1] * len(classes)))
    n_test = max(1, round(fractions[2] * len(classes)))
    n_train = len(classes) - n_val - n_test
    return {"train": sorted(order[:n_train]), "val": sorted(order[n_train:n_train + n_val]),
            "test": sorted(order[n_train + n_val:])}


def _load_folder(folder: Path, split: str, size: int):
    files = class_folders(folder)
    wanted = list(files) if split == "all" else class_split(folder)[split]
    if not wanted:
        raise DatasetError(f"{folder}: the {split} split has no classes (see {folder / 'splits'})")
    paths, names = _class_files(files, wanted)
    images, kept = _decode_all(paths, size, f"folder:{folder}", skip=os.environ.get("GTL_STRICT_IMAGES") != "1")
    if not kept.all():
        bad = [str(p.relative_to(folder)) for p, k in zip(paths, kept.tolist()) if not k]
        print(f"gtl: skipped {len(bad)} unreadable image(s) in {folder} ({split}): {', '.join(bad[:3])}"
              f"{', ...' if len(bad) > 3 else ''} (--strict to stop at them instead)", file=sys.stderr)
    labels, classes = _labels_of([n for n, k in zip(names, kept.tolist()) if k])
    return images, labels, classes


# ---------------------------------------------------------------- download


def download(name: str, root: str | os.PathLike | None = None) -> Path:
    """Fetch a dataset with its usual downloader (needs internet). Returns its folder; a failed download
    (no internet, a moved file) is a :class:`DatasetError` saying how to put the files there by hand."""
    base = data_root(root)
    if name not in ("cifar-fs", "miniimagenet"):
        raise DatasetError(f"no downloader for {name}. {HOW_TO_GET.get(name, '')}")
    try:
        if name == "cifar-fs":
            from torchvision.datasets import CIFAR100
            CIFAR100(str(base / "cifar100"), train=True, download=True)
            return base / "cifar100"
        from .l2l import import_learn2learn
        l2l = import_learn2learn()
        for mode in ("train", "validation", "test"):
            l2l.vision.datasets.MiniImagenet(str(base / "miniimagenet"), mode=mode, download=True)
        return base / "miniimagenet"
    except DatasetError:
        raise
    except Exception as e:  # urllib, requests, gdown and torchvision each fail in their own way offline
        raise DatasetError(f"could not download {name} into {base} ({type(e).__name__}: {str(e)[:200]}): it needs "
                           f"internet. Or put the files there yourself: {HOW_TO_GET[name]}") from None
