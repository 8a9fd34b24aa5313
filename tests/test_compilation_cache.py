"""Compiled XLA programs persist between runs by default (jtorch/__init__.py), in
$XDG_CACHE_HOME/jtorch/xla; JTORCH_COMPILATION_CACHE picks another folder or turns it off, and a
cache folder configured for JAX itself is left alone."""
import os
import subprocess
import sys

import pytest

PROGRAM = ("import jax, jtorch as torch; torch.manual_seed(0); x = torch.randn(5, 3); "
           "print((x.exp() @ x.T).sum().item()); print(jax.config.jax_compilation_cache_dir)")


def run(tmp_path, **env):
    base = {k: v for k, v in os.environ.items() if k not in ("JTORCH_COMPILATION_CACHE", "JAX_COMPILATION_CACHE_DIR")}
    base.update(XDG_CACHE_HOME=str(tmp_path / "xdg"), JTORCH_LAZY="0", **env)
    out = subprocess.run([sys.executable, "-c", PROGRAM], env=base, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    value, folder = out.stdout.split()
    return float(value), folder


def files(folder):
    return sorted(f for f in os.listdir(folder) if not f.startswith(".")) if os.path.isdir(folder) else []


def test_programs_persist_in_the_user_cache_by_default(tmp_path):
    v1, folder = run(tmp_path)
    assert folder == str(tmp_path / "xdg" / "jtorch" / "xla")
    first = files(folder)
    assert first  # the programs of that run
    v2, _ = run(tmp_path)  # a second run reads them (same results) and adds nothing new
    assert v2 == v1 and files(folder) == first


@pytest.mark.parametrize("off", ["", "0"])
def test_the_cache_can_be_turned_off(tmp_path, off):
    _, folder = run(tmp_path, JTORCH_COMPILATION_CACHE=off)
    assert folder == "None" and not (tmp_path / "xdg").exists()


def test_a_folder_of_ones_own(tmp_path):
    _, folder = run(tmp_path, JTORCH_COMPILATION_CACHE=str(tmp_path / "mine"))
    assert folder == str(tmp_path / "mine") and files(folder)


def test_jax_own_cache_setting_wins(tmp_path):
    _, folder = run(tmp_path, JAX_COMPILATION_CACHE_DIR=str(tmp_path / "jaxs"))
    assert folder == str(tmp_path / "jaxs") and not (tmp_path / "xdg").exists()


def test_jax_size_limit_is_not_used(tmp_path):
    """JAX's size limit makes every program written list the whole folder under a lock (seconds per
    compile in a large cache): jtorch's folder is pruned by jtorch instead."""
    env = {k: v for k, v in os.environ.items() if k not in ("JTORCH_COMPILATION_CACHE", "JAX_COMPILATION_CACHE_DIR")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "xdg"))
    out = subprocess.run([sys.executable, "-c", "import jax, jtorch; print(jax.config.jax_compilation_cache_max_size)"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["-1"]


def test_prune_removes_least_recently_used(tmp_path, rng):
    from jtorch import _compilation_cache as cc
    folder = tmp_path / "xla"
    folder.mkdir()
    sizes = rng.integers(100, 1000, size=12)
    used = rng.permutation(12) * 1000.0 + 1e9  # last use of each file (seconds since the epoch)
    for k, (size, t) in enumerate(zip(sizes, used)):
        f = folder / f"entry{k}-cache"
        f.write_bytes(b"x" * int(size))
        os.utime(f, (t, t))
    limit = int(sizes.sum()) // 2
    removed = cc.prune(str(folder), max_bytes=limit, every=3600)
    kept = {f for f in files(folder)}
    order = sorted(range(12), key=lambda k: used[k])  # least recently used first
    n = next(i for i in range(13) if sizes[order[i:]].sum() <= limit)  # how many must go
    assert removed == n and kept == {f"entry{k}-cache" for k in order[n:]}
    assert (folder / ".jtorch-pruned").exists()
    assert cc.prune(str(folder), max_bytes=0, every=3600) is None  # pruned less than an hour ago: not due
    assert cc.prune(str(folder), max_bytes=0, every=0) == len(kept) and files(folder) == []
    assert cc.prune(str(tmp_path / "absent"), every=0) is None
