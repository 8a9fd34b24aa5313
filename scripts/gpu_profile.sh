#!/usr/bin/env bash
# Where the GPU time of the training steps goes (issue #7), in one run on a lent GPU machine:
#   OUT=/some/dir bash scripts/gpu_profile.sh
# compiled step vs the same XLA program called directly vs hand-written JAX + optax, with both
# programs' optimized HLO under $OUT/hlo; the eager MLP step against torch's, with a profile, and
# with lazy batching forced on as an experiment. One log per step under $OUT.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_profile}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
PY=${PY:-python3}

step() {  # step NAME SECONDS command...
    local name=$1 limit=$2; shift 2
    local t0=$SECONDS
    echo "=== $name (limit ${limit}s)"
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    tail -n "${TAIL:-14}" "$OUT/$name.log"
    echo "=== $name: rc=$rc in $((SECONDS - t0))s"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import jax, sys; print('jax', jax.__version__, jax.devices(), sys.version.split()[0])"
step ovh_mlp 80 $PY -m bench.overhead --device cuda --model mlp --rounds 5 --profile --dump "$OUT/hlo"
step ovh_cnn 90 $PY -m bench.overhead --device cuda --model cnn --rounds 5 --calls 200 --dump "$OUT/hlo"
step ovh_transformer 100 $PY -m bench.overhead --device cuda --model transformer --rounds 5 --calls 100 --dump "$OUT/hlo"
step eager_mlp 110 $PY -m bench.eager_profile --device cuda --model mlp --torch
JTORCH_LAZY_MAX_SIZE=1000000000 step eager_mlp_lazy 100 $PY -m bench.eager_profile --device cuda --model mlp --lazy
