"""The examples run (reduced sizes): the main job as a plain PyTorch script under
`python -m jtorch run`, and the other examples."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_script(name, *args):
    out = subprocess.run([sys.executable, "-m", "jtorch", "run", os.path.join(ROOT, "examples", name), *args],
                         capture_output=True, text=True, timeout=1200, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.replace("\r", "\n")


def test_main_job_reduced(tmp_path):
    out = run_script("train_digits.py", "--epochs", "3", "--checkpoint", str(tmp_path / "ckpt.pth"))
    accs = [float(a) for a in re.findall(r"test loss [0-9.]+ accuracy ([0-9.]+)%", out)]
    assert len(accs) == 3 and accs[-1] > accs[0]
    best = float(re.search(r"Best checkpoint \(epoch \d+\): test accuracy ([0-9.]+)%", out).group(1))
    assert best == max(accs) and best > 85.0
    assert (tmp_path / "ckpt.pth").exists()


def test_custom_function_example():
    out = run_script("custom_function.py")
    assert "Swish passes gradcheck: True" in out


def test_char_lstm_example():
    out = run_script("char_lstm.py", "--steps", "40")
    losses = [float(x) for x in re.findall(r"loss ([0-9.]+)", out)]
    assert losses[-1] < losses[0]


def test_transfer_learning_example():
    out = run_script("transfer_learning.py", "--no-pretrained", "--steps", "3")
    assert "backbone stayed frozen: True" in out


def test_jax_interop_example():
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    try:
        import jax_interop
        final = jax_interop.main(steps=60)
    finally:
        sys.path.pop(0)
    assert final < 0.2
