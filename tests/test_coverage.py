"""`python -m jtorch coverage` reports per-namespace coverage of torch's public names."""
import subprocess
import sys

from jtorch._coverage import coverage


def test_coverage_report_counts_real_names():
    version, rows = coverage()
    assert version.startswith("2.13")
    table = {ns: (have, total, missing) for ns, have, total, missing in rows}
    have, total, missing = table["torch.nn"]
    assert total > 100 and have / total > 0.8
    assert "Linear" not in missing and "Conv2d" not in missing
    assert "zeros" not in table["torch"][2] and "cat" not in table["torch"][2]
    # a name jtorch does not have is reported missing
    assert any(missing for _, _, missing in table.values())


def test_coverage_command(tmp_path):
    out = subprocess.run([sys.executable, "-m", "jtorch", "coverage", "--no-docs"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert "| `torch.nn` |" in out.stdout and "**all**" in out.stdout
