"""The launchers: ``python -m jtorch.distributed.run`` (torchrun's interface) runs a torch
script on 2 workers; ``python -m jtorch run -m torch.distributed.run`` reaches it too; a failing
worker stops the others and fails the launcher; ``jtorch.multiprocessing.spawn`` reports like torch."""
import ast
import os
import re
import sys
import time

import pytest

import jtorch.multiprocessing as mp
from dist_procs import HERE, env_for, free_port, run_all
import spawn_fns

SCRIPT = os.path.join(HERE, "launched_script.py")


def test_launcher_runs_a_torch_script_on_two_workers(tmp_path):
    ok, fail = tmp_path / "ok", tmp_path / "fail"
    ok.mkdir(), fail.mkdir()
    port = free_port()
    cmds = [[sys.executable, "-m", "jtorch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port),
             SCRIPT, str(ok), "ok"],
            [sys.executable, "-m", "jtorch", "run", "-m", "torch.distributed.run", "--standalone",
             "--nproc-per-node=2", SCRIPT, str(fail), "fail"]]
    t0 = time.monotonic()
    (code_ok, out_ok), (code_fail, out_fail) = run_all(cmds, [env_for(), env_for()], timeout=300)
    assert code_ok == 0, out_ok[-4000:]
    for r in range(2):
        res = ast.literal_eval((ok / f"rank{r}.txt").read_text())
        assert res["env"] == {"RANK": str(r), "LOCAL_RANK": str(r), "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2",
                              "GROUP_RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
                              "TORCHELASTIC_RUN_ID": res["env"]["TORCHELASTIC_RUN_ID"]}
        assert (res["torch"], res["rank"], res["world"], res["elastic"]) == ("jtorch", r, 2, True)
        assert res["x"] == [0.0, 3.0, 6.0] and res["argv"] == [str(ok), "ok"]
        assert res["autoinit_for_children"] is None
    # worker 1 raised: its traceback is shown, worker 0 (asleep for 600 s) was stopped, status 1,
    # and torchrun's report names the failed worker
    assert code_fail == 1, out_fail[-4000:]
    assert "worker 1 gives up" in out_fail and "ChildFailedError" in out_fail
    assert _report(out_fail) == [("0 (local_rank: 0)", "-15"), ("1 (local_rank: 1)", "1")], out_fail[-4000:]
    assert time.monotonic() - t0 < 290
    assert not list(fail.iterdir())


def _report(out):
    """(rank, exitcode) of each entry of a ChildFailedError report, in order; the root cause last."""
    ranks = re.findall(r"^  rank      : (.*)$", out, re.M)
    codes = re.findall(r"^  exitcode  : (-?[0-9]+) ", out, re.M)
    return list(zip(ranks, codes))


def test_a_killed_worker_is_reported_like_torchrun(tmp_path):
    # rank 0 (SIGKILL) dies; rank 1 (asleep) is stopped: both runs report the same failures
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.mkdir(), theirs.mkdir()
    cmds = [[sys.executable, "-m", "jtorch.distributed.run", "--nproc_per_node", "2", "--master_port",
             str(free_port()), SCRIPT, str(ours), "kill0"],
            [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
             str(free_port()), SCRIPT, str(theirs), "kill0"]]
    (code, out), (tcode, tout) = run_all(cmds, [env_for(), env_for()], timeout=240)
    assert code == tcode == 1, (out[-3000:], tout[-3000:])
    assert _report(out) == _report(tout) == [("1 (local_rank: 1)", "-15"), ("0 (local_rank: 0)", "-9")], \
        (out[-3000:], tout[-3000:])
    for text in (out, tout):
        assert "ChildFailedError" in text and "Root Cause (first observed failure):" in text
        assert re.search(r"Signal 9 \(SIGKILL\) received by PID [0-9]+", text)
        assert re.search(r"Signal 15 \(SIGTERM\) received by PID [0-9]+", text)


def test_spawn_runs_and_reports_failures_like_torch(tmp_path):
    mp.spawn(spawn_fns.all_reduce_pair, args=(str(tmp_path), free_port()), nprocs=2)
    for r in range(2):
        assert (tmp_path / f"rank{r}.txt").read_text() == "[1.0, 3.0]"
    with pytest.raises(mp.ProcessRaisedException, match="-- Process 1 terminated with the following error") as e:
        mp.spawn(spawn_fns.raise_on_one, nprocs=2)
    assert "ValueError: rank 1 fails" in str(e.value) and e.value.error_index == 1
    with pytest.raises(mp.ProcessExitedException, match="process 0 terminated with exit code 3") as e:
        mp.spawn(spawn_fns.exit_on_zero, nprocs=2)
    assert e.value.exit_code == 3
    ctx = mp.spawn(spawn_fns.exit_on_zero, nprocs=1, join=False, args=(0,))
    assert isinstance(ctx, mp.ProcessContext) and len(ctx.pids()) == 1
    while not ctx.join():
        pass
    assert mp.Queue is not None and mp.get_context("spawn") is not None
