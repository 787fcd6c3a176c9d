"""gtl.data: the real loaders on the shared subsets, the decode cache, and clear errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import gtl.data
from _helpers import image_index, indexed_dataset, make_fake_mini, write_jpeg
from gtl.data import DatasetError, ImageDataset, find_folder, load_dataset, split_classes
from gtl.paths import cache_dir, data_root, project_root

# ------------------------------------------------------ real (shared) data


@pytest.mark.parametrize("split, n_classes", [("train", 64), ("val", 16), ("test", 20)])
@pytest.mark.parametrize("size", [32, 84])
def test_miniimagenet_splits(data_root, split, n_classes, size):
    ds = load_dataset("miniimagenet", split, data_root, image_size=size)
    assert len(ds.classes) == n_classes
    assert ds.images.dtype == torch.uint8 and ds.images.shape == (100 * n_classes, 3, size, size)
    assert ds.image_size == size
    assert ds.images_per_class().tolist() == [100] * n_classes
    assert ds.name == f"miniimagenet/{split}"
    assert ds.classes == sorted(ds.classes) and all(c.startswith("n") for c in ds.classes)
    assert ds.images.float().std() > 10  # real pictures, not blanks


def test_miniimagenet_splits_have_disjoint_classes(mini_train, mini_val, mini_test):
    train, val, test = set(mini_train.classes), set(mini_val.classes), set(mini_test.classes)
    assert not (train & val or train & test or val & test)


def test_miniimagenet_native_size_is_84(data_root):
    assert load_dataset("miniimagenet", "val", data_root).image_size == 84


def test_miniimagenet_labels_follow_the_csv(data_root):
    ds = load_dataset("miniimagenet", "val", data_root, image_size=32)
    rows = (data_root / "miniimagenet" / "val.csv").read_text().split()[1:]
    names = [r.split(",")[1] for r in rows]
    assert [ds.classes[i] for i in ds.labels.tolist()] == names


def test_cifar_fs_split_ships_with_gtl():
    parts = {s: split_classes("cifar-fs", s) for s in ("train", "val", "test")}
    assert [len(parts[s]) for s in ("train", "val", "test")] == [64, 16, 20]
    assert len(set().union(*parts.values())) == 100
    raw = json.loads((gtl.data.SPLITS_DIR / "cifar-fs" / "test.json").read_text())
    assert parts["test"] == [entry[1] for entry in raw]  # [superclass, class] pairs
    assert len(split_classes("cub", "train")) == 100


@pytest.mark.parametrize("split, n_classes", [("train", 64), ("val", 16), ("test", 20)])
def test_cifar_fs_loads_from_the_npz(data_root, split, n_classes):
    ds = load_dataset("cifar-fs", split, data_root)
    assert ds.image_size == 32 and ds.images.dtype == torch.uint8
    assert len(ds.classes) == n_classes
    assert ds.classes == sorted(split_classes("cifar-fs", split))
    counts = ds.images_per_class()
    assert counts.min() >= 11 and int(counts.sum()) == len(ds)
    # the images are exactly those of the npz for these classes
    npz = np.load(data_root / "cifar100-partial" / "cifar100_partial.npz")
    names = [str(n) for n in npz["fine_label_names"]]
    fine = np.concatenate([npz["train_fine_labels"], npz["test_fine_labels"]])
    assert len(ds) == sum(names[f] in set(ds.classes) for f in fine)


def test_cifar_fs_can_be_resized(data_root):
    ds = load_dataset("cifar-fs", "test", data_root, image_size=40)
    assert ds.images.shape[1:] == (3, 40, 40) and ds.images.dtype == torch.uint8


def test_cub_all_has_50_classes(data_root):
    ds = load_dataset("cub", "all", data_root, image_size=32)
    assert len(ds.classes) == 50 and ds.images.shape[1:] == (3, 32, 32)
    assert ds.classes[0].startswith("001.") and len(ds) == 2891


def test_cub_split_keeps_only_its_classes(data_root):
    ds = load_dataset("cub", "train", data_root, image_size=32)
    assert set(ds.classes) <= set(split_classes("cub", "train"))
    assert 0 < len(ds.classes) < 50


# -------------------------------------------------------------- data root


def test_data_root_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("GTL_DATA", raising=False)
    assert data_root() == project_root() / "data"
    monkeypatch.setenv("GTL_DATA", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    assert data_root(str(tmp_path / "arg")) == tmp_path / "arg"


def test_loaders_follow_gtl_data(tmp_path, monkeypatch, tmp_cache):
    make_fake_mini(tmp_path / "env-root")
    monkeypatch.setenv("GTL_DATA", str(tmp_path / "env-root"))
    assert find_folder("miniimagenet") == tmp_path / "env-root" / "miniimagenet"
    assert len(load_dataset("miniimagenet", "val", image_size=16)) == 4
    with pytest.raises(DatasetError, match=str(tmp_path / "arg-root")):
        load_dataset("miniimagenet", "val", tmp_path / "arg-root")  # the argument wins over the env


def test_cache_dir_follows_gtl_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GTL_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv("GTL_CACHE")
    assert cache_dir() == Path.home() / ".cache" / "gtl"


# -------------------------------------------------- the Ravi layout loader


def test_fake_ravi_folder_loads(fake_mini_root):
    ds = load_dataset("miniimagenet", "train", fake_mini_root, image_size=24)
    assert ds.images.shape == (12, 3, 24, 24) and ds.images.dtype == torch.uint8
    assert ds.classes == ["n001", "n002", "n003"] and ds.labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    every = load_dataset("miniimagenet", "all", fake_mini_root, image_size=24)
    assert len(every) == 20 and len(every.classes) == 5


def test_decoded_images_are_cached_and_reused(fake_mini_root, tmp_cache, monkeypatch):
    first = load_dataset("miniimagenet", "train", fake_mini_root, image_size=20)
    files = list(tmp_cache.glob("*.pt"))
    assert len(files) == 1

    class Decoded(Exception):
        pass

    def no_decoding(*args):
        raise Decoded
    monkeypatch.setattr(gtl.data, "_decode", no_decoding)
    second = load_dataset("miniimagenet", "train", fake_mini_root, image_size=20)
    assert torch.equal(first.images, second.images)
    with pytest.raises(Decoded):  # another size is another cache entry: it must decode
        load_dataset("miniimagenet", "train", fake_mini_root, image_size=22)


def test_a_split_is_read_from_disk_once_per_process_and_served_as_a_copy(fake_mini_root, tmp_cache, monkeypatch):
    first = load_dataset("miniimagenet", "train", fake_mini_root, image_size=20)
    monkeypatch.setattr(gtl.data.torch, "load", lambda *a, **k: pytest.fail("read from disk again"))
    second = load_dataset("miniimagenet", "train", fake_mini_root, image_size=20)
    assert torch.equal(first.images, second.images)
    expected = first.images.clone()
    first.images.zero_()  # a caller that changes its tensors in place changes nothing for the next one
    third = load_dataset("miniimagenet", "train", fake_mini_root, image_size=20)
    assert torch.equal(third.images, expected) and torch.equal(second.images, expected) and expected.any()


def test_an_image_replaced_under_the_same_name_is_decoded_again(fake_mini_root, tmp_cache):
    first = load_dataset("miniimagenet", "test", fake_mini_root, image_size=20)
    path = fake_mini_root / "miniimagenet" / "images" / "t00100000000.jpg"
    Image.new("RGB", (30, 30), (250, 10, 10)).save(path)  # other content, same file name
    again = load_dataset("miniimagenet", "test", fake_mini_root, image_size=20)
    assert not torch.equal(first.images[0], again.images[0]) and torch.equal(first.images[1:], again.images[1:])
    assert again.images[0, 0].float().mean() > 200 and len(list(tmp_cache.glob("*.pt"))) == 2


def test_a_broken_cache_file_is_rebuilt(fake_mini_root, tmp_cache):
    first = load_dataset("miniimagenet", "val", fake_mini_root, image_size=20)
    (cached,) = tmp_cache.glob("*.pt")
    cached.write_bytes(b"broken")
    gtl.data._DECODED.clear()  # as in a new process: this one would serve what it decoded
    again = load_dataset("miniimagenet", "val", fake_mini_root, image_size=20)
    assert torch.equal(first.images, again.images)
    assert cached.stat().st_size > 100


@pytest.mark.parametrize("split, content, message", [
    ("train", "file,class\nn00100000000.jpg,n001\n", "filename,label"),   # wrong header
    ("val", "filename,label\n", "lists no images"),                       # no rows
    ("test", "filename,label\nn00300000000.jpg\n", "line 2"),              # a row without label
])
def test_malformed_csv_names_the_file(fake_mini_root, split, content, message):
    csv = fake_mini_root / "miniimagenet" / f"{split}.csv"
    csv.write_text(content)
    with pytest.raises(DatasetError, match=message) as e:
        load_dataset("miniimagenet", split, fake_mini_root)
    assert str(csv) in str(e.value)


def test_missing_image_names_the_file(fake_mini_root):
    missing = fake_mini_root / "miniimagenet" / "images" / "n00200000001.jpg"
    missing.unlink()
    with pytest.raises(DatasetError, match="missing") as e:
        load_dataset("miniimagenet", "train", fake_mini_root, image_size=16)
    assert str(missing) in str(e.value)


def test_corrupt_jpeg_names_the_file(fake_mini_root):
    corrupt = fake_mini_root / "miniimagenet" / "images" / "t00100000002.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff garbage, not a JPEG" * 3)
    with pytest.raises(DatasetError, match="cannot decode") as e:
        load_dataset("miniimagenet", "test", fake_mini_root, image_size=16)
    assert str(corrupt) in str(e.value)


def test_empty_data_root_says_where_it_looked(tmp_path, tmp_cache):
    root = tmp_path / "empty"
    root.mkdir()
    for name, folder in [("miniimagenet", "miniimagenet"), ("cifar-fs", "cifar100"), ("cub", "cub")]:
        with pytest.raises(DatasetError, match=f"{name} not found") as e:
            load_dataset(name, "train", root)
        assert str(root / folder) in str(e.value) and "GTL_DATA" in str(e.value)
    assert issubclass(DatasetError, FileNotFoundError)


def test_miniimagenet_folder_without_split_files(tmp_path, tmp_cache):
    (tmp_path / "miniimagenet" / "images").mkdir(parents=True)
    with pytest.raises(DatasetError, match="train.csv") as e:
        load_dataset("miniimagenet", "train", tmp_path)
    assert str(tmp_path / "miniimagenet") in str(e.value)


def test_miniimagenet_pickle_layout(tmp_path, tmp_cache):
    import pickle
    folder = tmp_path / "mini-imagenet"
    folder.mkdir()
    images = np.random.default_rng(0).integers(0, 256, (6, 84, 84, 3), dtype=np.uint8)
    with open(folder / "mini-imagenet-cache-validation.pkl", "wb") as f:
        pickle.dump({"image_data": images, "class_dict": {"nB": [0, 2, 4], "nA": [1, 3, 5]}}, f)
    ds = load_dataset("miniimagenet", "val", tmp_path, image_size=84)
    assert ds.classes == ["nA", "nB"] and ds.labels.tolist() == [1, 0, 1, 0, 1, 0]
    assert torch.equal(ds.images, torch.from_numpy(images).permute(0, 3, 1, 2))
    (folder / "mini-imagenet-cache-validation.pkl").write_bytes(b"not a pickle")
    with pytest.raises(DatasetError, match="not a learn2learn miniImageNet cache"):
        load_dataset("miniimagenet", "val", tmp_path)


def test_cifar_folder_without_images(tmp_path, tmp_cache):
    (tmp_path / "cifar100").mkdir()
    with pytest.raises(DatasetError, match="no CIFAR-100") as e:
        load_dataset("cifar-fs", "test", tmp_path)
    assert str(tmp_path / "cifar100") in str(e.value)


def test_cub_folder_without_classes(tmp_path, tmp_cache):
    (tmp_path / "cub" / "images").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no class folders") as e:
        load_dataset("cub", "all", tmp_path)
    assert str(tmp_path / "cub" / "images") in str(e.value)


def test_cub_layout_from_image_folders(tmp_path, tmp_cache):
    for c in ("001.Black_footed_Albatross", "003.Sooty_Albatross"):
        for i in range(2):
            write_jpeg(tmp_path / "CUB_200_2011" / "images" / c / f"{i}.jpg", seed=i)
    (tmp_path / "CUB_200_2011" / "images" / "003.Sooty_Albatross" / "notes.txt").write_text("not an image")
    ds = load_dataset("cub", "all", tmp_path, image_size=16)
    assert len(ds) == 4 and len(ds.classes) == 2
    assert load_dataset("cub", "train", tmp_path, image_size=16).classes == ds.classes  # both are train classes
    with pytest.raises(DatasetError, match="none of the CUB val classes"):
        load_dataset("cub", "val", tmp_path, image_size=16)


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        load_dataset("miniimagenet", "training")
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("imagenet", "train")


# ------------------------------------------------------------ ImageDataset


def test_image_dataset_validates_its_tensors():
    with pytest.raises(ValueError, match="uint8"):
        ImageDataset(torch.zeros(2, 3, 4, 4), torch.zeros(2, dtype=torch.long), ["a"])
    with pytest.raises(ValueError, match="uint8"):
        ImageDataset(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(2, dtype=torch.long), ["a"])
    with pytest.raises(ValueError, match="labels"):
        ImageDataset(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), torch.zeros(3, dtype=torch.long), ["a"])


def test_image_dataset_helpers():
    ds = ImageDataset(torch.zeros(5, 3, 6, 6, dtype=torch.uint8), torch.tensor([0, 2, 2, 0, 2]), ["a", "b", "c"], "x")
    assert len(ds) == 5 and ds.image_size == 6
    assert ds.images_per_class().tolist() == [2, 0, 3]
    moved = ds.to("cpu")
    assert moved.images.dtype == torch.uint8 and moved.classes == ds.classes and moved.name == "x"


def test_cifar_fs_from_torchvision_files_pools_train_and_test(tmp_path, tmp_cache):
    """torchvision's cifar-100-python layout; CIFAR-FS pools the official train and test images."""
    import pickle

    from gtl.data import split_classes
    names = sorted(sum((split_classes("cifar-fs", s) for s in ("train", "val", "test")), []))
    assert len(names) == 100
    folder = tmp_path / "cifar100" / "cifar-100-python"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for part, per_class in (("train", 2), ("test", 1)):
        labels = [c for c in range(100) for _ in range(per_class)]
        data = rng.integers(0, 256, (len(labels), 3072), dtype=np.uint8)
        with open(folder / part, "wb") as f:
            pickle.dump({"data": data, "fine_labels": labels}, f)
    with open(folder / "meta", "wb") as f:
        pickle.dump({"fine_label_names": names}, f)
    test = load_dataset("cifar-fs", "test", tmp_path)
    assert sorted(test.classes) == sorted(split_classes("cifar-fs", "test"))
    assert test.images.shape == (20 * 3, 3, 32, 32) and test.images.dtype == torch.uint8
    assert test.images_per_class().tolist() == [3] * 20
    (folder / "test").unlink()
    with pytest.raises(DatasetError, match="cifar-100-python/test"):
        load_dataset("cifar-fs", "test", tmp_path)


def test_class_examples_draw_one_image_of_distinct_classes():
    from gtl.data import class_examples
    ds = indexed_dataset([3, 4, 5, 6])
    images, names = class_examples(ds, 3, seed=1)
    assert images.shape == (3, 3, 8, 8) and len(set(names)) == 3
    labels = [ds.labels[i].item() for i in image_index(images)]
    assert [ds.classes[c] for c in labels] == names
    again, _ = class_examples(ds, 3, seed=1)
    assert torch.equal(images, again)
