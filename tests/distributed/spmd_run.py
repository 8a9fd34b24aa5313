"""Run dp_worker.py's checks in a subprocess with 8 virtual CPU devices, once per group."""
import functools
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


@functools.lru_cache(None)
def worker_results(group):
    env = dict(os.environ)
    # the device count is fixed when JAX starts: this test process already has 1 device
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(HERE)), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, os.path.join(HERE, "dp_worker.py"), group], capture_output=True,
                          text=True, env=env, timeout=900)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULTS ")]
    if proc.returncode != 0 or not lines:
        raise AssertionError(f"dp_worker.py {group} failed (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-5000:]}")
    return json.loads(lines[-1][len("RESULTS "):])


def check(group, name):
    res = worker_results(group)
    assert name in res, f"{name} did not run: {sorted(res)}"
    assert res[name] == "ok", res[name]
