"""Failures never hang: a rank that dies makes the other raise; a rank that never joins makes
init fail within the timeout; mismatched world sizes are reported on both ranks.
All scenarios run concurrently (separate loopback worlds) to keep the suite fast."""
import pickle
import re
import sys

import pytest

from dist_procs import HERE, env_for, free_port, once_per_session, run_all

TIMEOUT = 10  # the process group's timeout (seconds) in these workers


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    folder = once_per_session(tmp_path_factory, "failures", _run_scenarios)
    return pickle.loads((folder / "outcomes.pkl").read_bytes())


def _run_scenarios(folder):
    script = f"{HERE}/worker_fail.py"
    runs = {}  # name -> [(mode, rank, world)], each run its own port
    runs["early_exit"] = [("early_exit", 0, 2), ("early_exit", 1, 2)]
    runs["mismatch"] = [("mismatch", 0, 2), ("mismatch", 1, 3)]
    runs["no_rank0"] = [("never", 1, 2)]
    runs["no_rank1"] = [("never", 0, 2)]
    cmds, envs, names = [], [], []
    for name, ranks in runs.items():
        port = free_port()
        for mode, rank, world in ranks:
            cmds.append([sys.executable, script, mode])
            envs.append(env_for(rank, world, port, DIST_TIMEOUT=TIMEOUT))
            names.append((name, rank))
    (folder / "outcomes.pkl").write_bytes(pickle.dumps(dict(zip(names, run_all(cmds, envs, timeout=240)))))


def result(out):
    lines = [line for line in out.splitlines() if line.startswith("RESULT")]
    return lines[-1] if lines else ""


def seconds(line):
    return float(re.search(r" ([0-9.]+)s: ", line).group(1))


def test_a_rank_that_exits_makes_the_other_raise(outcomes):
    code0, out0 = outcomes[("early_exit", 0)]
    code1, _ = outcomes[("early_exit", 1)]
    assert code1 == 7
    line = result(out0)
    assert line.startswith("RESULT raised DistBackendError"), out0[-3000:]
    assert "did another rank exit or crash?" in line and seconds(line) < TIMEOUT
    assert code0 != 0


def test_mismatched_world_sizes_are_reported(outcomes):
    for rank in (0, 1):
        code, out = outcomes[("mismatch", rank)]
        line = result(out)
        assert code == 3 and "init-raised ValueError" in line and "mismatched world sizes" in line, out[-3000:]
    assert "rank 1 was started with world_size=3 but rank 0 with world_size=2" in result(outcomes[("mismatch", 1)][1])


def test_rank0_never_comes(outcomes):
    code, out = outcomes[("no_rank0", 1)]
    line = result(out)
    assert code == 3 and "init-raised DistStoreError" in line, out[-3000:]
    assert "waiting for rank 0's coordinator" in line and TIMEOUT <= seconds(line) < TIMEOUT + 15


def test_a_peer_never_joins(outcomes):
    # rank 0 hosts JAX's coordination service; when registration times out JAX's client ends the
    # process itself (it cannot raise into Python): it must end, non-zero, and say why
    code, out = outcomes[("no_rank1", 0)]
    assert code != 0 and "RESULT joined" not in out, out[-3000:]
    assert "DEADLINE_EXCEEDED" in out or "Timed out" in out
