#!/usr/bin/env bash
# Second GPU run of session 11 (issue #7): per-call dispatch costs, and the compiled steps with the
# .grad buffers donated (the old way) against fresh ones (the new default on GPUs); GPU == CPU checks.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_profile}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
PY=${PY:-python3}
step() {
    local name=$1 limit=$2; shift 2
    local t0=$SECONDS
    echo "=== $name (limit ${limit}s)"
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    tail -n "${TAIL:-12}" "$OUT/$name.log"
    echo "=== $name: rc=$rc in $((SECONDS - t0))s"
}
step dispatch 40 $PY -m bench.dispatch_cost --device cuda
TAIL=9 step ovh_mlp 45 $PY -m bench.overhead --device cuda --model mlp --rounds 5
TAIL=9 step ovh_mlp_esc 45 $PY -m bench.overhead --device cuda --model mlp --rounds 5 --donate-escaped yes
TAIL=9 step ovh_cnn 40 $PY -m bench.overhead --device cuda --model cnn --rounds 5 --calls 200
TAIL=9 step ovh_cnn_esc 40 $PY -m bench.overhead --device cuda --model cnn --rounds 5 --calls 200 --donate-escaped yes
TAIL=20 step gpu_check 100 $PY scripts/gpu_check.py
TAIL=9 step ovh_transformer 130 $PY -m bench.overhead --device cuda --model transformer --rounds 3 --calls 50
