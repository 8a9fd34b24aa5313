#!/usr/bin/env bash
# Where the GPU time of the training steps goes (issue #7), in one run on a lent GPU machine:
#   OUT=/some/dir bash scripts/gpu_profile.sh
# what one jitted call costs there (bench.dispatch_cost); the compiled step against the same XLA program
# called directly and hand-written JAX + optax, with both programs' optimized HLO under $OUT/hlo, and
# with the .grad buffers donated (the CPU's choice) for comparison; the eager MLP step against torch's,
# with a profile, and with lazy batching forced on as an experiment. One log per step under $OUT.
# The first eager GPU step compiles its ops (~30 s): give each eager or overhead step 80 s or more.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_profile}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
PY=${PY:-python3}
TAIL=${TAIL:-14}
. scripts/gpu_step.sh

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import jax, sys; print('jax', jax.__version__, jax.devices(), sys.version.split()[0])"
step dispatch 40 $PY -m bench.dispatch_cost --device cuda
step ovh_mlp 90 $PY -m bench.overhead --device cuda --model mlp --rounds 5 --profile --dump "$OUT/hlo"
step ovh_mlp_esc 90 $PY -m bench.overhead --device cuda --model mlp --rounds 5 --donate-escaped yes
step ovh_cnn 90 $PY -m bench.overhead --device cuda --model cnn --rounds 5 --calls 200 --dump "$OUT/hlo"
step ovh_cnn_esc 90 $PY -m bench.overhead --device cuda --model cnn --rounds 5 --calls 200 --donate-escaped yes
step ovh_transformer 150 $PY -m bench.overhead --device cuda --model transformer --rounds 3 --calls 50 --profile
step eager_mlp 110 $PY -m bench.eager_profile --device cuda --model mlp --torch
JTORCH_LAZY_MAX_SIZE=1000000000 step eager_mlp_lazy 100 $PY -m bench.eager_profile --device cuda --model mlp --lazy
