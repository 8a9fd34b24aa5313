"""Run dp_worker.py's checks in a subprocess with 8 virtual CPU devices (one subprocess per group:
JAX's start-up and compiles are the cost, so each test runs many checks)."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_group(group):
    env = dict(os.environ)
    # the device count is fixed when JAX starts: this test process already has 1 device
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(HERE)), env.get("PYTHONPATH", "")])
    env["JAX_PLATFORMS"] = "cpu"
    proc = subprocess.run([sys.executable, os.path.join(HERE, "dp_worker.py"), group], capture_output=True,
                          text=True, env=env, timeout=900)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULTS ")]
    if proc.returncode != 0 or not lines:
        raise AssertionError(f"dp_worker.py {group} failed (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-5000:]}")
    res = json.loads(lines[-1][len("RESULTS "):])
    from dp_worker import CHECKS
    expected = sorted(n for n, (g, _) in CHECKS.items() if g == group)
    assert sorted(res) == expected, (sorted(res), expected)
    failed = {n: r for n, r in res.items() if r != "ok"}
    assert not failed, "\n".join(f"--- {n}:\n{r}" for n, r in failed.items())
    return res
