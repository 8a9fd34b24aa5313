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
