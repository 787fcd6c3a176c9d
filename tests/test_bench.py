"""The benchmark (gtl.bench): rows, ratios, peaks and files, on a tiny CPU case."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from gtl import bench
from gtl.bench import BenchCase, gpu_peak_tflops, member_flops, slug


def test_gpu_peaks_and_device_slugs():
    assert gpu_peak_tflops("NVIDIA H100 80GB HBM3", bf16=True) == 989.4
    assert gpu_peak_tflops("NVIDIA H100 PCIe", bf16=True) == 756.0  # not the SXM peak
    assert gpu_peak_tflops("NVIDIA H200", bf16=False) == 494.7
    assert math.isnan(gpu_peak_tflops("Some Future GPU", bf16=True))
    assert slug("NVIDIA H100 80GB HBM3") == "nvidia-h100-80gb-hbm3" and slug("CPU x86_64 (2 threads)") == "cpu"


def test_member_flops_count_forward_and_backward():
    one = member_flops(BenchCase("conv4", 0.25, 32, 4, 1, 1, "loop", "cpu"))
    two = member_flops(BenchCase("conv4", 0.25, 32, 8, 1, 1, "loop", "cpu"))
    assert two == 2 * one
    # first conv alone, forward: 2 * 32*32 * 16 * 3*3*3 multiply-adds per image; backward adds about twice that
    assert one > 3 * 4 * 2 * 32 * 32 * 16 * 27


def test_main_writes_rows_with_ratios_from_one_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GTL_FIGURES", str(tmp_path))
    assert bench.main(["--arch", "conv4", "--populations", "1", "3", "--steps", "2", "--batch-size", "4",
                       "--same-process", "--name", "bench_test"]) == 0
    df = pd.read_csv(tmp_path / "bench_test.csv")
    assert {p.suffix for p in tmp_path.iterdir()} == {".csv", ".md", ".png", ".svg"}
    assert len(df) == 4 and set(df["mode"]) == {"loop", "batched"} and sorted(set(df.population)) == [1, 3]
    assert (df[df["mode"] == "loop"].speedup == 1).all()
    for p in (1, 3):
        rows = df[df.population == p].set_index("mode")
        assert rows.loc["batched", "speedup"] == pytest.approx(
            rows.loc["batched", "member_steps_per_s"] / rows.loc["loop", "member_steps_per_s"])
    assert (df.member_steps_per_s > 0).all() and (df.tflops > 0).all() and df.peak_tflops.isna().all()
    assert df.command.iloc[0].startswith("python -m gtl.bench --arch conv4")
    assert "member_steps_per_s" in capsys.readouterr().out
    figure = tmp_path / "bench_test.png"
    figure.unlink()
    assert bench.main(["--replot", str(tmp_path / "bench_test.csv")]) == 0 and figure.exists()


def test_sizes_are_the_profiles_lifetimes_and_flops_grow_with_them(tmp_path, monkeypatch):
    from gtl.evolution import GTLConfig
    sizes = bench.profile_sizes()
    for profile, (width, side, batch) in sizes.items():
        cfg = GTLConfig.from_profile(profile)
        assert (width, side, batch) == (cfg.width, cfg.image_size, cfg.lifetime.batch_size)
    monkeypatch.setenv("GTL_FIGURES", str(tmp_path))
    assert bench.main(["--flops", "--arch", "conv4"]) == 0
    df = pd.read_csv(tmp_path / "flops_per_step.csv").set_index("size")
    quick, paper = df.loc["quick"], df.loc["paper"]
    assert paper.gflop_per_member_step > 10 * quick.gflop_per_member_step  # wider, larger, bigger batches
    assert paper.ms_per_population_step_at_peak == pytest.approx(
        32 * paper.gflop_per_member_step / gpu_peak_tflops("H100", bf16=True))
    assert quick.gflop_per_member_step * 1e9 == member_flops(BenchCase("conv4", *sizes["quick"], 1, 1, "loop", "cpu"))


def test_cpu_precision_alternates_rounds_and_reports_the_ratio(monkeypatch):
    seen = []
    real_train = bench.train

    def spy(net, images, labels, cfg, seed, bf16):
        import torch
        hook = net.register_forward_hook(lambda m, i, out: seen.append(out.dtype == torch.bfloat16) or hook.remove())
        return real_train(net, images, labels, cfg, seed, bf16=bf16)  # what the forward pass computed in
    monkeypatch.setattr(bench, "train", spy)
    df = bench.cpu_precision("conv4", rounds=3, steps=1)
    assert len(df) == 3 and (df.bf16_over_fp32 > 0).all()
    assert (df.bf16_over_fp32 - df.bf16_steps_per_s / df.fp32_steps_per_s).abs().max() < 1e-9
    # warm-up fp32, bf16; then fp32 first in even rounds, bf16 first in odd ones
    assert seen == [False, True, False, True, True, False, False, True]
    assert df.cpu_flags.iloc[0] in ("none", "amx_bf16", "avx512_bf16", "amx_bf16 avx512_bf16")
