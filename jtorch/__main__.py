"""``python -m jtorch``: run PyTorch programs on jtorch, and report versions and devices.

    python -m jtorch run script.py [args...]    run script.py with torch -> jtorch
    python -m jtorch run -m package.module [args...]
    python -m jtorch info                       versions and JAX devices
    python -m jtorch coverage [--missing]       how much of torch's public API exists (writes docs/coverage.md)
    python -m jtorch --version
"""
import argparse
import importlib.util
import platform
import sys


def _versions():
    import jax
    import jaxlib
    import numpy

    import jtorch
    return {"jtorch": jtorch.__version__, "jax": jax.__version__, "jaxlib": jaxlib.__version__,
            "numpy": numpy.__version__, "python": platform.python_version()}


def _info():
    import jax
    v = _versions()
    lines = [f"{k}: {val}" for k, val in v.items()]
    lines.append(f"platform: {platform.platform()}")
    lines.append(f"jax default backend: {jax.default_backend()}")
    for d in jax.devices():
        lines.append(f"device {d.id}: {d.platform} {d.device_kind}")
    import jtorch
    lines.append(f"cuda available (jtorch.cuda.is_available()): {jtorch.cuda.is_available()}")
    lines.append(f"real torch installed: {importlib.util.find_spec('torch') is not None and not _aliased()}")
    return "\n".join(lines)


def _aliased():
    mod = sys.modules.get("torch")
    return mod is not None and mod.__name__ == "jtorch"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "run":
        rest = argv[1:]
        if not rest:
            sys.stderr.write("usage: python -m jtorch run script.py [args...] | run -m module [args...]\n")
            return 2
        from ._runner import run_script
        if rest[0] == "-m":
            if len(rest) < 2:
                sys.stderr.write("python -m jtorch run -m: argument expected\n")
                return 2
            return run_script(rest[1], rest[2:], module=True)
        return run_script(rest[0], rest[1:])
    parser = argparse.ArgumentParser(prog="python -m jtorch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="store_true", help="print jtorch's and JAX's versions")
    parser.add_argument("command", nargs="?", choices=["info", "run", "coverage"],
                        help="info | coverage | run script.py [args...]")
    parser.add_argument("--missing", action="store_true", help="with coverage: list the missing names")
    parser.add_argument("--no-docs", action="store_true", help="with coverage: do not write docs/coverage.md")
    args = parser.parse_args(argv)
    if args.version:
        v = _versions()
        print(f"jtorch {v['jtorch']} (jax {v['jax']}, jaxlib {v['jaxlib']}, numpy {v['numpy']}, "
              f"python {v['python']})")
        return 0
    if args.command == "info":
        print(_info())
        return 0
    if args.command == "coverage":
        from ._coverage import report
        print(report(write_docs=not args.no_docs, show_missing=args.missing), end="")
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
