"""Differential fuzzing of jtorch's core semantics against torch (tests/fuzz_programs.py).

    python scripts/fuzz_semantics.py START COUNT [--minimise]

Runs seeds START..START+COUNT-1 (odd seeds snapshot every tensor after every line), prints
one line per differing seed (line, field, detail) and, with --minimise, the minimised
program. Seeds run in a child process that is restarted past a seed that kills it (torch
itself segfaults on a few odd programs, e.g. register_hook on a view of a leaf that was
written under no_grad)."""
import os
import subprocess
import sys
import traceback

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
os.environ.setdefault("JAX_PLATFORMS", "cpu")


def worker(start, stop, mini):
    from tests import fuzz_programs as fp
    for seed in range(start, stop):
        print(f"START {seed}", flush=True)
        eager = seed % 2 == 1
        try:
            lines = fp.generate(seed)
            res = fp.check(lines, eager=eager)
        except Exception:  # noqa: BLE001 (a crash of the harness itself)
            print(f"seed {seed}: HARNESS {traceback.format_exc(limit=3)}", flush=True)
            continue
        if res is None:
            continue
        i, field, detail = res
        print(f"seed {seed}: line {i} {field}: {lines[i]!r} -> {str(detail)[:300]}", flush=True)
        if mini:
            small = fp.minimise(lines, eager=eager, field=field)
            print("    " + "\n    ".join(small), flush=True)
            print("    ->", str(fp.check(small, eager=eager))[:400], flush=True)


def main():
    if sys.argv[1] == "--worker":
        worker(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1")
        return
    start, count = int(sys.argv[1]), int(sys.argv[2])
    mini = "--minimise" in sys.argv
    stop, fails = start + count, 0
    while start < stop:
        p = subprocess.Popen([sys.executable, __file__, "--worker", str(start), str(stop), str(int(mini))],
                             stdout=subprocess.PIPE, text=True, cwd=ROOT)
        cur = start
        for line in p.stdout:
            if line.startswith("START "):
                cur = int(line.split()[1])
                continue
            fails += line.startswith("seed ")
            print(line, end="", flush=True)
        if p.wait() != 0:
            print(f"seed {cur}: CRASH (exit {p.returncode})", flush=True)
            start = cur + 1
        else:
            start = stop
    print(f"{fails} of {count} seeds differ", flush=True)


if __name__ == "__main__":
    main()
