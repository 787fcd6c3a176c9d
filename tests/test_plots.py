"""gtl.plots: Markdown tables, Figure 4 and the files written into figures/."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from gtl.plots import (PALETTE, plot_activation_maps, plot_circuit, plot_evolution,  # noqa: E402
                       plot_framework, plot_results, save_figure, save_table, to_markdown)


def test_to_markdown_format():
    df = pd.DataFrame({"method": ["Learngene", "Scratch"], "mean": [0.4567, 0.3], "episodes": [600, 60]})
    assert to_markdown(df) == (
        "| method | mean | episodes |\n"
        "|---|---|---|\n"
        "| Learngene | 0.46 | 600 |\n"
        "| Scratch | 0.30 | 60 |\n"
    )
    assert "| Learngene | 0.4567 | 600 |" in to_markdown(df, "{:.4f}")


def test_to_markdown_of_an_empty_table_is_its_header():
    assert to_markdown(pd.DataFrame({"a": [], "b": []})) == "| a | b |\n|---|---|\n"


@pytest.fixture
def history():
    rows = []
    for gen in range(3):
        for member in range(4):
            rows.append({"generation": gen, "member": member, "critic_accuracy": 0.3 + 0.05 * gen + 0.01 * member,
                         "learngene_params": 1000 + 100 * gen, "fitness": 0.2})
    return pd.DataFrame(rows)


def test_plot_evolution(history):
    refs = [{"label": "Scratch", "accuracy": 0.28, "ci95": 0.02, "params": 0},
            {"label": "Pre-Fin", "accuracy": 0.41, "ci95": 0.0, "params": 58000}]
    fig = plot_evolution(history, refs, title="unit test")
    assert isinstance(fig, plt.Figure)
    ax_size, ax = fig.axes  # bars (learngene size) and the accuracy curve on a twin axis
    assert len(ax_size.patches) == 3  # one bar per generation
    assert [round(p.get_height(), 6) for p in ax_size.patches] == [1.0, 1.1, 1.2]  # thousands of params
    curve = ax.lines[0]
    assert list(curve.get_xdata()) == [0, 1, 2]
    assert list(curve.get_ydata()) == pytest.approx([31.5, 36.5, 41.5])  # mean accuracy in %
    ref_levels = sorted(line.get_ydata()[0] for line in ax.lines[1:])
    assert ref_levels == pytest.approx([28, 41])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("Scratch") for t in legend) and any("58k params" in t for t in legend)
    assert ax.get_title() == "unit test"


def test_plot_evolution_without_references(history):
    fig = plot_evolution(history)
    assert len(fig.axes[1].lines) == 1
    assert "Fig. 4" in fig.axes[1].get_title()


def test_plot_results():
    results = pd.DataFrame({"method": ["Learngene", "Scratch", "Learngene", "Scratch"],
                            "setting": ["5-way 1-shot", "5-way 1-shot", "5-way 5-shot", "5-way 5-shot"],
                            "mean": [0.4, 0.3, 0.6, 0.5], "ci95": [0.02, 0.02, 0.01, 0.01]})
    fig = plot_results(results, "t")
    ax = fig.axes[0]
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    assert heights == [30, 40, 50, 60]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["5-way 1-shot", "5-way 5-shot"]


def test_save_figure_and_table_write_into_gtl_figures(tmp_path, monkeypatch):
    out = tmp_path / "figs"
    monkeypatch.setenv("GTL_FIGURES", str(out))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    paths = save_figure(fig, "curve")
    assert paths == [out / "curve.png", out / "curve.svg"]
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (out / "curve.svg").read_text()
    df = pd.DataFrame({"method": ["Scratch"], "mean": [0.25]})
    paths = save_table(df, "table")
    assert paths == [out / "table.csv", out / "table.md"]
    pd.testing.assert_frame_equal(pd.read_csv(out / "table.csv"), df)
    assert (out / "table.md").read_text() == to_markdown(df)


def test_svg_has_no_timestamp(tmp_path, monkeypatch):
    monkeypatch.setenv("GTL_FIGURES", str(tmp_path))
    fig, ax = plt.subplots()
    ax.bar([0, 1], [1, 2])
    save_figure(fig, "bars")
    assert "<dc:date>" not in (tmp_path / "bars.svg").read_text()  # regenerated figures differ only by data


def test_saved_svg_is_byte_identical_across_runs(tmp_path, monkeypatch):
    """Re-running a notebook must not dirty git: no random ids or dates in the SVG."""
    import matplotlib.pyplot as plt

    from gtl.plots import save_figure
    blobs = []
    for i in range(2):
        monkeypatch.setenv("GTL_FIGURES", str(tmp_path / str(i)))
        fig, ax = plt.subplots()
        ax.plot([1, 3, 2])
        svg = [p for p in save_figure(fig, "same") if p.suffix == ".svg"][0]
        blobs.append(svg.read_bytes())
    assert blobs[0] == blobs[1]


def test_plot_framework_draws_both_panels():
    fig = plot_framework()
    texts = " ".join(t.get_text().lower() for ax in fig.axes for t in ax.texts)
    assert len(fig.axes) == 2 and "tournament" in texts and "mutation" in texts
    plt.close(fig)


def _learngene(arch):
    from gtl.learngene import extract, random_channels
    from gtl.models import build_model
    net = build_model(arch, 5, 0.125)
    return net, extract(net, random_channels(net, 0.45, 0))


def _dots(fig, color):
    """(x, y) of the scatter dots drawn in ``color`` (lines are a LineCollection, not counted)."""
    from matplotlib.collections import PathCollection
    return [tuple(xy) for c in fig.axes[0].collections if isinstance(c, PathCollection) and len(c.get_offsets())
            and tuple(c.get_facecolor()[0][:3]) == matplotlib.colors.to_rgb(color) for xy in c.get_offsets()]


@pytest.mark.parametrize("arch", ["vgg11", "resnet12"])
def test_plot_circuit_colours_exactly_the_learngene_channels(arch):
    net, lg = _learngene(arch)
    fig = plot_circuit(lg, max_channels=10**6)  # every channel shown
    main = [s.out_group for st in net.stages() for s in st.main]
    assert len(_dots(fig, PALETTE["Learngene"])) == 3 + sum(int(lg.masks[g].sum()) for g in main)
    assert len(_dots(fig, PALETTE["Learngene"]) + _dots(fig, "#d9d9d9")) == 3 + sum(len(lg.masks[g]) for g in main)
    assert f"{lg.num_params:,}" in fig.axes[0].get_title() and arch in fig.axes[0].get_title()
    plt.close(fig)


def test_plot_circuit_subsamples_wide_layers_honestly():
    net, lg = _learngene("resnet12")
    fig = plot_circuit(lg, max_channels=6)
    main = [lg.masks[s.out_group] for st in net.stages() for s in st.main]
    green, grey = _dots(fig, PALETTE["Learngene"]), _dots(fig, "#d9d9d9")
    for i, mask in enumerate(main, start=1):
        shown_green = sum(x == i for x, _ in green)
        assert shown_green + sum(x == i for x, _ in grey) == min(6, len(mask))
        assert abs(shown_green - 6 * float(mask.float().mean())) <= 1  # the learngene's share, rounded
    labels = [" ".join(t.get_text().split()) for t in fig.axes[0].texts]
    assert any(f"(showing 6 of {len(main[-1])})" in t and f"{int(main[-1].sum())}/{len(main[-1])}" in t
               for t in labels)
    plt.close(fig)


def test_subsample_never_hides_a_lone_learngene_channel():
    import torch

    from gtl.plots import _subsample
    mask = torch.zeros(100, dtype=torch.bool)
    mask[3] = True  # an evenly spaced pick (0, 11, 22, ...) would miss it
    idx = _subsample(mask, 10)
    assert len(idx) == 10 and mask[idx].sum() == 1 and idx.tolist() == sorted(set(idx.tolist()))
    assert _subsample(mask, 200).tolist() == list(range(100))


def test_plot_activation_maps_grid_and_constant_maps():
    import torch
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    maps = {"a": torch.rand(3, 4, 4), "b": torch.ones(3, 4, 4)}
    fig = plot_activation_maps(images, maps, ["x", "y", "z"])
    assert len(fig.axes) == (1 + 2) * 3
    axes = [fig.axes[i:i + 3] for i in (0, 3, 6)]
    assert [ax.get_ylabel() for ax in (axes[0][0], axes[1][0], axes[2][0])] == ["image", "a", "b"]
    assert [ax.get_title() for ax in axes[0]] == ["x", "y", "z"]
    assert all(not ax.get_xticks().size and not ax.get_yticks().size for ax in fig.axes)
    overlay = axes[1][0].images[1].get_array()  # the map, upsampled to the image, in [0, 1]
    assert overlay.shape == (32, 32) and overlay.min() == pytest.approx(0) and overlay.max() == pytest.approx(1)
    flat = axes[2][0].images[1].get_array()
    assert torch.isfinite(torch.as_tensor(flat)).all() and flat.max() == 0  # a constant map: no division by 0
    plt.close(fig)


def test_plot_activation_maps_rejects_a_map_per_wrong_number_of_images():
    import torch
    with pytest.raises(ValueError, match="2 maps for 3 images"):
        plot_activation_maps(torch.zeros(3, 3, 8, 8, dtype=torch.uint8), {"a": torch.rand(2, 4, 4)})


def test_plot_learning_curves_one_line_per_method():
    from gtl.plots import plot_learning_curves
    df = pd.DataFrame([{"method": m, "step": k, "mean": 0.2 + 0.01 * k, "ci95": 0.02}
                       for m in ("Learngene", "Scratch") for k in (0, 5, 10)])
    fig = plot_learning_curves(df, "t")
    assert len(fig.axes[0].lines) == 2
    plt.close(fig)


def test_kernel_masks_show_the_learngene_slices_in_place_or_first():
    from gtl.learngene import channel_saliency, kernel_masks, seeded_model, top_channels
    from gtl.plots import plot_kernel_masks
    net = seeded_model("conv4", 5, 0.25, 0)
    masks = top_channels(channel_saliency(net), 0.5)
    layers = list(kernel_masks(net, masks))
    fig = plot_kernel_masks(net, masks)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == len(layers)
    for ax, name in zip(shown, layers):
        assert (ax.images[0].get_array() == kernel_masks(net, masks)[name].float().numpy()).all()
    first = plot_kernel_masks(net, masks, layers=layers[1:2], learngene_first=True)
    grid = first.axes[0].images[0].get_array()
    kept_out, kept_in = (int(masks[g].sum()) for g in (net.conv_specs()[1].out_group, net.conv_specs()[1].in_group))
    assert grid[:kept_out, :kept_in].all() and grid.sum() == kept_out * kept_in  # one block, top left


def test_every_method_of_the_registry_has_its_colour():
    from gtl.methods import METHODS
    from gtl.plots import PALETTE
    assert set(METHODS) <= set(PALETTE)


def test_the_headline_over_seeds_shows_every_run_beside_the_interval():
    from gtl.plots import plot_seed_gaps
    from gtl.why import gains, headline_summary
    rows = [{"dataset": ds, "setting": f"5-way {k}-shot", "seed": s, "episode": e, "method": m,
             "accuracy": 0.4 + 0.01 * e + {"Scratch": 0, "Learngene": 0.01 * s, "Pre-Fin": 0.1}[m]}
            for ds in ("miniimagenet", "cifar-fs") for k in (1, 5) for s in range(3) for e in range(2)
            for m in ("Scratch", "Learngene", "Pre-Fin")]
    episodes = pd.DataFrame(rows)
    fig = plot_seed_gaps(gains(episodes, ["seed", "dataset", "setting"]), headline_summary(episodes),
                         {"miniimagenet": 16})
    assert len(fig.axes) == 4
    first = fig.axes[0]
    dots = [c for c in first.collections if isinstance(c, matplotlib.collections.PathCollection)]
    assert [len(c.get_offsets()) for c in dots] == [3, 3]  # a dot per run, per method
    assert sorted(t.get_text() for t in first.get_xticklabels()) == ["Learngene", "Pre-Fin"]
