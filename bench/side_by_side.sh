#!/usr/bin/env bash
# Runs every krust benchmark right before its PyTorch / ONNX Runtime peer, one process per
# workload (so each peak-memory figure is that workload's), and prints the load average before
# each pair: figures taken while other jobs run are only good for ratios.
#
#   bench/side_by_side.sh [KRUST_BINARY] [PYTHON]
#
# Defaults: target/release/krust and /root/venvs/torch/bin/python (torch, torchvision,
# onnx, onnxruntime, efficientnet-lite-pytorch). Environment:
#   THREADS  threads everywhere (default 2)
#   SKIP     a space-separated list of: gemm vgg seed small lenet inference
#   LIMIT    train seed_cnn and small_cnn on LIMIT images (a multiple of 64) instead of a whole
#            epoch, to keep a session short on a busy machine
#   REPEAT   run the whole sequence this many times (default 1), to see the spread
# On a busy machine, export OMP_WAIT_POLICY=PASSIVE: PyTorch's OpenMP threads otherwise spin at
# a barrier after every operator, which collapses when the cores are oversubscribed (its
# training ran 5-60x slower than with the variable while other builds ran). On an idle machine
# leave it unset, as spinning is then PyTorch's faster setting.
set -euo pipefail
cd "$(dirname "$0")/.."
KRUST=${1:-target/release/krust}
PY=${2:-/root/venvs/torch/bin/python}
THREADS=${THREADS:-2}
SKIP=${SKIP:-}
LIMIT=${LIMIT:-}
REPEAT=${REPEAT:-1}
if [[ -n "$LIMIT" ]]; then
    KRUST_DATA=(--steps $((LIMIT / 64)))
    PY_DATA=(--limit "$LIMIT")
else
    KRUST_DATA=(--epoch)
    PY_DATA=()
fi

skip() { [[ " $SKIP " == *" $1 "* ]]; }
section() {
    printf '\n== %s (load average %s, OMP_WAIT_POLICY=%s)\n' "$1" \
        "$(cut -d' ' -f1-3 /proc/loadavg)" "${OMP_WAIT_POLICY:-unset}"
}

"$KRUST" --version
"$PY" -c 'import torch, onnxruntime; print("torch", torch.__version__, "onnxruntime", onnxruntime.__version__)'
lscpu | grep -m1 'Model name' || true

for round in $(seq "$REPEAT"); do
printf '\n#### round %s of %s\n' "$round" "$REPEAT"
if ! skip gemm; then
    section "GEMM 2048^3"
    "$KRUST" bench --threads "$THREADS" --workload gemm --reps 10
    "$PY" bench/pytorch_gemm.py --threads "$THREADS" --reps 10
fi
if ! skip vgg; then
    section "VGG block training, batch 64, SGD"
    "$KRUST" bench --threads "$THREADS" --workload vgg_block --steps 30
    "$PY" bench/pytorch_training.py --threads "$THREADS" --workload vgg_block --rounds 3
    "$PY" bench/pytorch_training.py --threads "$THREADS" --workload vgg_block --rounds 3 --channels-last
fi
if ! skip seed; then
    section "seed CNN training on Fashion-MNIST, Adam"
    "$KRUST" bench --threads "$THREADS" --workload seed_cnn "${KRUST_DATA[@]}"
    "$PY" bench/pytorch_training.py --threads "$THREADS" --workload seed_cnn "${PY_DATA[@]}"
    "$PY" bench/pytorch_training.py --threads "$THREADS" --workload seed_cnn --channels-last "${PY_DATA[@]}"
fi
if ! skip small; then
    section "small_cnn training on Fashion-MNIST, Adam"
    "$KRUST" bench --threads "$THREADS" --workload small_cnn "${KRUST_DATA[@]}"
    "$PY" bench/pytorch_training.py --threads "$THREADS" --workload small_cnn "${PY_DATA[@]}"
    "$PY" bench/pytorch_training.py --threads "$THREADS" --workload small_cnn --channels-last "${PY_DATA[@]}"
fi
if ! skip lenet; then
    section "LeNet-5: krust train --epochs 3 (whole run) vs PyTorch's 3 epochs"
    out=$(mktemp -d)
    /usr/bin/time -f "krust train --epochs 3: %e s wall, peak RSS %M KB" \
        "$KRUST" train --epochs 3 --threads "$THREADS" --output "$out" | grep -E '^Epoch|accuracy' || true
    rm -rf "$out"
    "$KRUST" bench --threads "$THREADS" --workload lenet5 --epoch
    /usr/bin/time -f "pytorch_lenet.py --epochs 3: %e s wall, peak RSS %M KB" \
        "$PY" bench/pytorch_lenet.py --epochs 3 --threads "$THREADS"
fi
if ! skip inference; then
    section "zoo inference, batch 1 and 16"
    "$KRUST" bench --threads "$THREADS" --inference --reps 10
    "$PY" bench/pytorch_inference.py --threads "$THREADS" --reps 10 --onnx
fi
done
