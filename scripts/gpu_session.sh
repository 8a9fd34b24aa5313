#!/usr/bin/env bash
# Every GPU check of the open issues in one run (a lent GPU machine gives a session ~15 minutes):
#   OUT=/some/dir bash scripts/gpu_session.sh
# Each step has its own time limit and log under $OUT, so one failing step does not hide the others.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_session}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
PY=${PY:-python3}

. scripts/gpu_step.sh

step info 30 $PY -m jtorch info
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
# scale-out (#9): nccl group on one GPU, DDP(device_ids=[0]), the launcher with 2 workers; DataParallel
step dist 100 $PY scripts/gpu_check_dist.py
step dp 60 $PY scripts/dp_gpu_check.py
# core (#2): placement, cross-device gradients, GPU training equals CPU; MLP/CNN step times (#7)
step gpu_check 180 $PY scripts/gpu_check.py --bench
[ -n "${DP_BENCH:-}" ] && step dp_bench 60 $PY -m bench --only dp --device cuda --quick
# compile overhead per call on the GPU (#7: compiled MLP step vs the same XLA program called directly vs JAX)
step overhead 60 $PY -m bench.overhead --device cuda --rounds 5 --profile
# the warm-up: wall time and XLA compilations of the first calls, eager and compiled
step warmup 90 $PY -m bench.warmup --device cuda --model mlp
# tutorial-style programs on the GPU against torch's CPU records (made here beforehand:
# python scripts/gpu_tutorials.py make-ref .tutref; carried to the machine)
[ -d .tutref ] && XLA_PYTHON_CLIENT_PREALLOCATE=false step tutorials 150 $PY scripts/gpu_tutorials.py check .tutref /tmp/tut
# the main job on the GPU (2 epochs)
step digits 90 $PY -m jtorch run examples/train_digits.py --epochs 2
