#!/usr/bin/env bash
# `make reproduce` on a CUDA device: the demo's Tables 1, 3 and 4 over three training
# seeds, every model trained to its validation plateau, in well under 10 minutes on one
# H100-class GPU (estimate: the CPU run's ~30 min is 90 % training at ~300 images/s).
#
# Run from the repository root on the device machine, with the project installed
# (`make .venv/.installed`, or the same pip commands into its own environment):
#     OUT=/some/dir bash benchmarks/gpu/reproduce.sh
# Writes $OUT/reproduce/report/ (report.json, report.md, index.html, figures/), and
# $OUT/gpu.txt: the device, torch's CUDA version and the run's wall time. Training
# takes the GPU by itself ("auto" device; autocast bf16 on CUDA); the report's numbers
# are another machine's in the sense of README "How far to trust these numbers": compare
# verdicts with the CPU run's, not bytes.
set -euo pipefail
OUT="${OUT:-runs/gpu}"
PY="${PY:-.venv/bin/python}"
mkdir -p "$OUT"
"$PY" - <<'PY' | tee "$OUT/gpu.txt"
import torch
assert torch.cuda.is_available(), "no CUDA device: use `make reproduce` on the CPU"
print("device:", torch.cuda.get_device_name(0), "| torch", torch.__version__,
      "| CUDA", torch.version.cuda)
PY
start=$(date +%s)
HF_HUB_OFFLINE=1 "$(dirname "$PY")/textmanifold" demo --reproduce --out "$OUT/reproduce" \
    --resume --no-progress
echo "wall time: $(( $(date +%s) - start )) s" | tee -a "$OUT/gpu.txt"
