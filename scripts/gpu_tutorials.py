"""GPU check of the tutorial programs (tests/tutorials): the device-aware ones run on jtorch with
TUT_DEVICE=cuda and their records are compared with torch's CPU records.

    python scripts/gpu_tutorials.py make-ref REFDIR      # here, with torch: the oracle's records
    python scripts/gpu_tutorials.py check REFDIR OUTDIR  # on the GPU machine, jtorch only
"""
import os
import pickle
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TUT = os.path.join(ROOT, "tests", "tutorials")
PROGRAMS = ["tut_quickstart", "tut_nn_really", "tut_transfer", "tut_dcgan_vae"]


def main(mode, ref, out=None):
    ref, out = os.path.abspath(ref), out and os.path.abspath(out)
    env = dict(os.environ, PYTHONPATH=ROOT)
    procs = {}
    for name in PROGRAMS:
        d = os.path.join(ref if mode == "make-ref" else out, name)
        os.makedirs(d, exist_ok=True)
        cmd = [sys.executable, os.path.join(TUT, name + ".py"), d] if mode == "make-ref" else \
            [sys.executable, "-m", "jtorch", "run", os.path.join(TUT, name + ".py"), d]
        e = dict(env, TUT_DEVICE="cpu" if mode == "make-ref" else "cuda")
        procs[name] = (subprocess.Popen(cmd, env=e, cwd=TUT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True), d)
    sys.path.insert(0, TUT)
    from test_tutorials import _compare
    failed = 0
    for name, (p, d) in procs.items():
        so, se = p.communicate()
        if p.returncode != 0:
            print(f"{name}: FAILED to run\n{se[-3000:]}")
            failed += 1
            continue
        if mode == "make-ref":
            print(f"{name}: reference written")
            continue
        with open(os.path.join(d, "results.pkl"), "rb") as f:
            rj = pickle.load(f)
        with open(os.path.join(ref, name, "results.pkl"), "rb") as f:
            rt = pickle.load(f)
        try:
            _compare(rj, rt, name, rtol=2e-4, atol=2e-5)
            print(f"{name}: jtorch on cuda matches torch on cpu")
        except AssertionError as e:
            print(f"{name}: MISMATCH {str(e)[:1500]}")
            failed += 1
    return failed


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
