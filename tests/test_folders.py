"""A user's own images: class-folder datasets (split, conversions, unreadable files) and the CLI on them."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from gtl.cli import main
from gtl.data import DatasetError, class_split, dataset_label, is_folder_dataset, load_dataset


def _folder(root, classes: int = 6, per_class: int = 4, size=(24, 18)):
    """``root/c<i>/<j>.png``: each class one flat colour, so a test can tell classes apart."""
    for c in range(classes):
        (root / f"c{c}").mkdir(parents=True)
        for j in range(per_class):
            Image.new("RGB", size, (40 * c, 10 * j, 200)).save(root / f"c{c}" / f"{j}.png")
    return root


def test_a_seeded_split_of_the_classes_or_the_users_split_files(tmp_path):
    root = _folder(tmp_path / "imgs", classes=10)
    split = class_split(root)
    assert [len(split[s]) for s in ("train", "val", "test")] == [6, 2, 2]
    assert sorted(sum(split.values(), [])) == sorted(f"c{i}" for i in range(10))  # every class once
    assert class_split(root) == split and class_split(root, seed=1) != split  # seeded
    (root / "splits").mkdir()
    (root / "splits" / "train.txt").write_text("c0\nc1\nc2\n")
    (root / "splits" / "val.txt").write_text("c3\n")
    (root / "splits" / "test.txt").write_text("c4\nc5\n\n")
    assert class_split(root) == {"train": ["c0", "c1", "c2"], "val": ["c3"], "test": ["c4", "c5"]}
    assert load_dataset(str(root), "val", image_size=8).classes == ["c3"]
    (root / "splits" / "val.txt").write_text("c3\nnot-a-class\n")
    with pytest.raises(DatasetError, match="not-a-class"):
        class_split(root)
    (root / "splits" / "val.txt").write_text("c3\nc4\n")  # c4 is a test class too
    with pytest.raises(DatasetError, match="one split only"):
        class_split(root)


def test_a_folder_is_a_dataset_named_by_its_path(tmp_path):
    root = _folder(tmp_path / "my birds")
    assert is_folder_dataset(str(root)) and not is_folder_dataset("miniimagenet")
    assert dataset_label(str(root)) == "my birds"
    ds = load_dataset(str(root), "all", image_size=16)
    assert ds.images.shape == (24, 3, 16, 16) and ds.images.dtype == torch.uint8 and len(ds.classes) == 6
    with pytest.raises(DatasetError, match="no class folders"):
        load_dataset(str(tmp_path / "my birds" / "c0"), "all")  # images, but no class folders
    with pytest.raises(ValueError, match="folder of class folders"):
        load_dataset("no/such/folder", "train")


def test_every_mode_size_and_orientation_becomes_the_same_upright_rgb(tmp_path):
    root = tmp_path / "mixed"
    for c in ("a", "b", "c"):
        (root / c).mkdir(parents=True)
    Image.new("L", (30, 30), 128).save(root / "a" / "gray.png")
    Image.new("CMYK", (20, 40), (0, 0, 0, 0)).save(root / "a" / "cmyk.jpg")  # no ink: white
    Image.new("RGBA", (16, 16), (255, 0, 0, 0)).save(root / "b" / "transparent.png")  # invisible red: white
    Image.new("I;16", (12, 12), 65535).save(root / "b" / "sixteen.png")
    wide = Image.new("RGB", (40, 20), (255, 0, 0))
    wide.paste((0, 0, 255), (20, 0, 40, 20))  # left red, right blue, stored on its side:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view"
    wide.save(root / "c" / "rotated.jpg", exif=exif.tobytes(), quality=95)
    ds = load_dataset(str(root), "all", image_size=8)
    assert ds.images.shape == (5, 3, 8, 8)
    by_name = dict(zip(["cmyk", "gray", "sixteen", "transparent", "rotated"], ds.images))
    assert (by_name["gray"] == 128).all()
    assert (by_name["cmyk"] >= 250).all() and (by_name["transparent"] == 255).all()
    assert (by_name["sixteen"] == 255).all()
    upright = by_name["rotated"].float()
    top, bottom = upright[:, :4].mean((1, 2)), upright[:, 4:].mean((1, 2))
    assert top[0] > 200 > top[2] and bottom[2] > 200 > bottom[0]  # upright: red above blue


def test_unreadable_files_are_skipped_and_listed_or_stop_a_strict_run(tmp_path, capsys, monkeypatch):
    root = _folder(tmp_path / "imgs", classes=3)
    (root / "c1" / "broken.jpg").write_bytes(b"not an image")
    good = root / "c2" / "0.png"
    (root / "c2" / "cut.png").write_bytes(good.read_bytes()[:40])  # truncated
    ds = load_dataset(str(root), "all", image_size=8)
    assert len(ds) == 12  # the 12 readable images, labels in step
    assert torch.bincount(ds.labels).tolist() == [4, 4, 4]
    err = capsys.readouterr().err
    assert "skipped 2 unreadable image(s)" in err and "c1/broken.jpg" in err and "--strict" in err
    monkeypatch.setenv("GTL_STRICT_IMAGES", "1")
    with pytest.raises(DatasetError, match="cannot decode"):
        load_dataset(str(root), "all", image_size=8)


def test_info_says_whether_the_profile_fits_before_a_run(tmp_path, capsys):
    root = _folder(tmp_path / "imgs", classes=10, per_class=5)
    assert main(["info", "--data", str(root)]) == 0
    out = capsys.readouterr().out
    assert "10 classes, 50 images; per class min 5, median 5, max 5" in out
    assert "train 6 classes, val 2 classes, test 2 classes" in out
    assert "train: 6 classes for 5-way tasks of 80 images per class: does not fit" in out and "at most 5" in out
    assert "--set task_shots=N --set task_queries=M" in out  # options that exist
    assert "val: 2 classes" in out and "5-way tasks need 5 classes; there are 2" in out
    assert main(["info", "--data", str(tmp_path / "nothing")]) == 2
    assert "no such folder" in capsys.readouterr().err


@pytest.mark.slow
def test_evolve_inherit_and_evaluate_on_a_class_folder_dataset(data_root, tmp_path, capsys, monkeypatch):
    """The worked example of the README, in the smoke profile: CUB birds as someone's own class folders."""
    birds = tmp_path / "birds"
    source = data_root / "cub50" / "images"
    for d in sorted(source.iterdir())[:32]:
        shutil.copytree(d, birds / d.name)
    monkeypatch.setenv("GTL_RUNS", str(tmp_path / "runs"))
    run_dir = tmp_path / "run"
    assert main(["evolve", "--data", str(birds), "--profile", "smoke", "--quiet", "--device", "cpu",
                 "--run-dir", str(run_dir), "--set", "task_shots=20", "--set", "task_queries=10"]) == 0
    split = json.loads((run_dir / "split.json").read_text())
    assert [len(split[s]) for s in ("train", "val", "test")] == [21, 5, 6]
    assert main(["inherit", str(run_dir / "learngene.pt"), "--out", str(tmp_path / "bird.pt")]) == 0
    assert main(["evaluate", str(run_dir / "learngene.pt"), "--profile", "smoke", "--shots", "1", "--episodes", "2",
                 "--quiet", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "| Learngene | 5-way 1-shot |" in out and "| Scratch | 5-way 1-shot |" in out
    assert np.isfinite(json.loads((tmp_path / "bird.json").read_text())["inherited_params"])
    # add a class: the seeded split changes, so the learngene's test classes would no longer be unseen
    shutil.copytree(source / sorted(p.name for p in source.iterdir())[40], birds / "new-class")
    assert main(["evaluate", str(run_dir / "learngene.pt"), "--profile", "smoke", "--quiet", "--device", "cpu"]) == 2
    assert "no longer splits" in capsys.readouterr().err


def test_a_benchmark_folder_is_recognised_by_info_and_data_with_its_own_split(tmp_path, tmp_cache, capsys):
    from _helpers import make_fake_mini
    from gtl.data import benchmark_layout
    mini = make_fake_mini(tmp_path / "anywhere", classes=("n1", "n2", "n3", "n4", "n5"), per_class=6,
                          val=("v1",), test=("t1", "t2"))
    assert benchmark_layout(mini) == "miniimagenet" and benchmark_layout(tmp_path) is None
    assert class_split(mini) == {"train": ["n1", "n2", "n3", "n4", "n5"], "val": ["v1"], "test": ["t1", "t2"]}
    by_path = load_dataset(str(mini), "test", image_size=8)
    by_name = load_dataset("miniimagenet", "test", mini.parent, image_size=8)
    assert by_path.classes == by_name.classes and torch.equal(by_path.images, by_name.images)
    assert main(["info", "--data", str(mini), "--profile", "smoke"]) == 0
    out = capsys.readouterr().out
    assert "8 classes, 48 images" in out and "layout: miniimagenet's own files" in out
    assert "train 5 classes, val 1 classes, test 2 classes (the benchmark's)" in out
    assert "train: 5 classes for 5-way tasks of 8 images per class: does not fit: 5 class(es) have fewer" in out


def test_the_data_root_set_to_a_datasets_own_folder_is_named_as_the_mistake(fake_mini_root, capsys):
    from gtl.data import find_folder
    mini = fake_mini_root / "miniimagenet"
    with pytest.raises(DatasetError, match=f"the data root {mini} is itself a miniimagenet folder; set .* "
                                           f"\\({fake_mini_root}\\), or give this one with --data {mini}"):
        find_folder("miniimagenet", mini)


def test_a_broken_image_in_the_benchmark_layout_says_to_remove_its_line_too(fake_mini_root):
    mini = fake_mini_root / "miniimagenet"
    broken = sorted((mini / "images").glob("t001*.jpg"))[0]
    broken.write_bytes(b"not a jpeg")
    with pytest.raises(DatasetError, match=f"cannot decode image {broken}.*listed in test.csv: re-download it, "
                                           f"or delete it and its line there"):
        load_dataset("miniimagenet", "test", fake_mini_root, image_size=8)
    broken.unlink()
    with pytest.raises(DatasetError, match="image listed but missing.*its line there"):
        load_dataset("miniimagenet", "test", fake_mini_root, image_size=8)
