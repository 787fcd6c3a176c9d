#!/usr/bin/env bash
# The GPU measurements of issue 4, for a session lent a GPU (the device tool) or any CUDA machine:
#   bash tools/gpu_session.sh            # results under $OUT (default: figures/)
# 1. the CUDA tests (batched == loop on the GPU, no host sync inside a step);
# 2. the benchmark at paper size: VGG11 and ResNet12 (width 1, 84 px, batch 64), populations 1/8/32/128, bf16;
# 3. the same at the quick profile's size (width 0.25, 32 px, batch 25), where the loop leaves the GPU idlest;
# 4. population 32 at paper size with torch.compile.
# Commit the CSVs it writes and run `python tools/update_readme.py`: docs/speed.md quotes them.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-figures}"
mkdir -p "$OUT"
export GTL_FIGURES="$OUT"
python -c "import torch; assert torch.cuda.is_available(), 'no GPU here'; print(torch.cuda.get_device_name())"
gpu="$(python -c 'import torch, gtl.bench as b; print(b.slug(torch.cuda.get_device_name()))')"
# a failing test is reported but does not stop the measurements (e.g. a machine without learn2learn
# fails the few tests that sample tasks; the benchmark does not need it)
python -m pytest -q -o addopts="-p no:cacheprovider" tests/test_population.py tests/test_train.py 2>&1 | tail -5 \
  || echo "gpu_session: some tests failed (above); measuring anyway"
python -m gtl.bench --size paper
python -m gtl.bench --size quick --name "bench_quick_${gpu}"
python -m gtl.bench --size paper --populations 32 --compile --name "bench_compile_${gpu}"
