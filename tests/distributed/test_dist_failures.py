"""Failures never hang, and end in a Python exception like torch's, within the timeout: a rank
that dies makes the others raise DistBackendError naming it (an exception, os._exit, SIGKILL; rank 0
too: the store and JAX's coordination service live in the agent process, not in rank 0), and the
survivors live on; a rank dying inside JAX's init makes the others' init raise; a rank that never
joins makes init raise (DistStoreError on rank 0, DistNetworkError on a rank that cannot reach the
store); a rank that stops taking part (alive, or frozen without heartbeats) makes a collective or a
recv raise after the group's timeout; a compiled step left waiting is ended by the watchdog;
mismatched world sizes are reported on both ranks. All scenarios run concurrently (separate
loopback worlds) to keep the suite fast."""
import pickle
import re
import sys

import pytest

from dist_procs import HERE, env_for, free_ports, once_per_session, run_all

TIMEOUT = 10  # the process group's timeout (seconds) in the init scenarios
SHORT = 4  # ... in the scenarios where a rank stops taking part


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    folder = once_per_session(tmp_path_factory, "failures", _run_scenarios)
    return pickle.loads((folder / "outcomes.pkl").read_bytes())


def _run_scenarios(folder):
    script = f"{HERE}/worker_fail.py"
    runs = {}  # name -> [(mode, rank, world, timeout)], each run its own port
    runs["early_exit"] = [("early_exit", 0, 2, TIMEOUT), ("early_exit", 1, 2, TIMEOUT)]
    runs["rank0_raises"] = [("rank0_raises", 0, 2, TIMEOUT), ("rank0_raises", 1, 2, TIMEOUT)]
    runs["mismatch"] = [("mismatch", 0, 2, TIMEOUT), ("mismatch", 1, 3, TIMEOUT)]
    runs["no_rank0"] = [("never", 1, 2, TIMEOUT)]
    runs["no_rank1"] = [("never", 0, 2, TIMEOUT)]
    for mode in ("rank0_killed", "rank0_exits", "recv_killed", "dies_in_init"):
        runs[mode] = [(mode, 0, 2, TIMEOUT), (mode, 1, 2, TIMEOUT)]
    runs["monitored"] = [("monitored", 0, 2, TIMEOUT), ("monitored", 1, 2, TIMEOUT)]
    for mode in ("rank0_killed", "early_exit", "monitored"):  # the oracle: real torch with gloo
        runs["torch_" + mode] = [(mode, 0, 2, TIMEOUT), (mode, 1, 2, TIMEOUT)]
    for mode in ("hang", "stopped", "recv_timeout", "spmd_hang"):
        runs[mode] = [(mode, 0, 2, SHORT), (mode, 1, 2, SHORT)]
    cmds, envs, names = [], [], []
    for (name, ranks), port in zip(runs.items(), free_ports(len(runs))):
        for mode, rank, world, secs in ranks:
            cmds.append([sys.executable, script, mode])
            extra = {"ORACLE": "torch"} if name.startswith("torch_") else {}
            envs.append(env_for(rank, world, port, DIST_TIMEOUT=secs, **extra))
            names.append((name, rank))
    (folder / "outcomes.pkl").write_bytes(pickle.dumps(dict(zip(names, run_all(cmds, envs, timeout=240)))))


def results(out):
    return [line for line in out.splitlines() if line.startswith("RESULT")]


def result(out):
    lines = results(out)
    return lines[-1] if lines else ""


def seconds(line):
    return float(re.search(r" ([0-9.]+)s: ", line).group(1))


def test_a_rank_that_exits_makes_the_other_raise(outcomes):
    code0, out0 = outcomes[("early_exit", 0)]
    code1, _ = outcomes[("early_exit", 1)]
    assert code1 == 7
    line = result(out0)
    assert line.startswith("RESULT loop raised DistBackendError"), out0[-3000:]
    # torch (gloo) raises a RuntimeError "Connection closed by peer"; DistBackendError is one, and
    # names the rank and what the agent saw of it
    assert "collective over ranks [0, 1] failed: rank 1 failed (its process ended without reporting an error: " \
           "killed, crashed or os._exit). " in line and "Connection closed by peer" in line
    assert seconds(line) < TIMEOUT
    assert code0 == 5  # the script caught it and left on its own (as under torch): no forced exit


def test_rank0_dying_of_an_exception_makes_the_others_raise_it(outcomes):
    # rank 0 tells the agent why it dies: the others raise naming the cause
    code0, out0 = outcomes[("rank0_raises", 0)]
    code1, out1 = outcomes[("rank0_raises", 1)]
    assert code0 == 1 and "RuntimeError: boom on rank 0" in out0, out0[-3000:]
    line = result(out1)
    assert line.startswith("RESULT loop raised DistBackendError"), out1[-3000:]
    assert "rank 0 failed (RuntimeError: boom on rank 0)" in line and seconds(line) < TIMEOUT
    assert code1 == 5 and "STILL ALIVE" in out1 and "Terminating process" not in out1


ABORTED = ("Terminating process", "F0000", "Check failure", "Aborted")  # JAX's fatal exit


@pytest.mark.parametrize("mode,what", [("rank0_killed", "loop"), ("rank0_exits", "barrier")])
def test_rank0_ending_abruptly_makes_the_others_raise(outcomes, mode, what):
    # rank 0 started the agent that hosts the store and JAX's coordination service: the agent
    # lives on, sees rank 0's connection close, and rank 1 raises (torch's gloo: a RuntimeError
    # "Connection closed by peer" within the second) instead of being ended by JAX's client
    code0, _ = outcomes[(mode, 0)]
    code1, out1 = outcomes[(mode, 1)]
    assert code0 == (-9 if mode == "rank0_killed" else 3)
    line = result(out1)
    assert line.startswith(f"RESULT {what} raised DistBackendError"), out1[-3000:]
    assert "rank 0 failed (its process ended without reporting an error: killed, crashed or os._exit)" in line
    assert seconds(line) < TIMEOUT
    assert code1 == 5 and "STILL ALIVE" in out1 and not any(a in out1 for a in ABORTED), out1[-3000:]


def test_a_recv_from_a_killed_peer_raises(outcomes):
    code, out = outcomes[("recv_killed", 0)]
    line = result(out)
    assert line.startswith("RESULT recv raised DistBackendError"), out[-3000:]
    assert "rank 1 failed (its process ended without reporting an error" in line and seconds(line) < TIMEOUT
    assert code == 5 and not any(a in out for a in ABORTED)


def test_a_peer_dying_inside_jax_init_makes_the_others_raise(outcomes):
    code1, _ = outcomes[("dies_in_init", 1)]
    code0, out0 = outcomes[("dies_in_init", 0)]
    assert code1 == 4
    line = result(out0)
    assert line.startswith("RESULT init-raised DistBackendError"), out0[-3000:]
    assert "rank 1 failed (its process ended without reporting an error" in line
    assert "while this rank (rank 0) was joining JAX's distributed runtime" in line and seconds(line) < TIMEOUT
    # left with status 1 at exit: a thread of ours is still inside JAX's connect
    assert code0 == 1 and not any(a in out0 for a in ABORTED), out0[-3000:]


def test_mismatched_world_sizes_are_reported(outcomes):
    for rank in (0, 1):
        code, out = outcomes[("mismatch", rank)]
        line = result(out)
        assert code == 3 and "init-raised ValueError" in line and "mismatched world sizes" in line, out[-3000:]
    assert "rank 1 was started with world_size=3 but rank 0 with world_size=2" in result(outcomes[("mismatch", 1)][1])
    assert "rank 0 was started with world_size=2 but rank 1 with world_size=3" in result(outcomes[("mismatch", 0)][1])


def test_rank0_never_comes(outcomes):
    # torch: the TCPStore client gives up connecting to the master with DistNetworkError
    code, out = outcomes[("no_rank0", 1)]
    line = result(out)
    assert code == 3 and "init-raised DistNetworkError" in line, out[-3000:]
    assert f"timed out after {TIMEOUT * 1000}ms while trying to connect to (127.0.0.1" in line
    assert TIMEOUT <= seconds(line) < TIMEOUT + 15


def test_a_peer_never_joins(outcomes):
    # torch: the master's TCPStore gives up waiting for the workers with DistStoreError
    code, out = outcomes[("no_rank1", 0)]
    line = result(out)
    assert code == 3 and "init-raised DistStoreError" in line, out[-3000:]
    assert f"Timed out after {TIMEOUT} seconds waiting for clients. 1/2 clients joined." in line
    assert TIMEOUT <= seconds(line) < TIMEOUT + 15
    assert "Terminating process" not in out and "F0" not in out  # not JAX's fatal message


@pytest.mark.parametrize("mode", ["hang", "stopped"])
def test_a_collective_times_out_when_a_peer_stops_taking_part(outcomes, mode):
    # "stopped": the peer is frozen (SIGSTOP), so it misses JAX's heartbeats too; the collective's
    # own timeout comes first and raises, instead of JAX's client ending the process
    code, out = outcomes[(mode, 0)]
    line = result(out)
    assert line.startswith("RESULT all_reduce raised DistBackendError"), out[-3000:]
    assert f"Timed out waiting {SHORT * 1000}ms for a collective over ranks [0, 1]" in line
    assert SHORT <= seconds(line) < SHORT + 10
    assert code == 1 and "Terminating process" not in out  # left through mark_broken, not JAX's abort


def test_a_recv_times_out_when_nothing_is_sent(outcomes):
    code, out = outcomes[("recv_timeout", 0)]
    lines = results(out)
    assert any(ln.startswith("RESULT recv raised DistBackendError") for ln in lines), out[-3000:]
    line = [ln for ln in lines if ln.startswith("RESULT recv")][0]
    assert f"Timed out waiting {SHORT * 1000}ms for recv operation from rank 1" in line
    assert SHORT <= seconds(line) < SHORT + 10


def test_a_compiled_step_left_waiting_ends_by_the_watchdog(outcomes):
    # inside one SPMD program nothing can raise: like torch's NCCL watchdog, the process is taken
    # down after the timeout with a message saying why (torch aborts; here status 1)
    code, out = outcomes[("spmd_hang", 0)]
    assert "RESULT stepped" in out and "RESULT step " not in out, out[-3000:]
    assert "[Rank 0] Watchdog caught collective operation timeout: a compiled step's collectives over ranks " \
           f"[0, 1] ran for {SHORT * 1000} milliseconds before timing out" in out, out[-3000:]
    assert code == 1 and not any(a in out for a in ABORTED)


@pytest.mark.parametrize("mode,dead", [("rank0_killed", 0), ("early_exit", 1)])
def test_a_dead_peer_raises_like_torch(outcomes, mode, dead):
    # the same scenario under real torch (gloo) and jtorch: the survivor's loop raises a RuntimeError
    # (ours: DistBackendError, a subclass) within the timeout, and the survivor lives on
    alive = 1 - dead
    for name in (mode, "torch_" + mode):
        code, out = outcomes[(name, alive)]
        assert result(out).startswith("RESULT loop raised ") and seconds(result(out)) < TIMEOUT, (name, out[-3000:])
        assert "RUNTIME_ERROR True" in out and "STILL ALIVE" in out and code == 5, (name, out[-3000:])
    torch_line, line = result(outcomes[("torch_" + mode, alive)][1]), result(outcomes[(mode, alive)][1])
    assert "Connection closed by peer" in torch_line
    assert line.startswith("RESULT loop raised DistBackendError") and f"rank {dead} failed" in line


def test_monitored_barrier_names_the_missing_rank_like_torch(outcomes):
    for name in ("monitored", "torch_monitored"):
        code, out = outcomes[(name, 0)]
        line = result(out)
        assert line.startswith("RESULT monitored raised "), (name, out[-3000:])
        assert "[Rank 0]: Rank 1 failed to pass monitoredBarrier in 2000 ms" in line, (name, line)
        assert "RUNTIME_ERROR True" in out and 2 <= seconds(line) < TIMEOUT
