"""``python -m jtorch.distributed.launch``: torch's deprecated launcher. Like ``run``, but passes
``--local-rank=N`` to the script unless ``--use-env`` (``--use_env``) is given."""
import sys

from .run import main as _main


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    use_env = any(a in ("--use-env", "--use_env") for a in argv)
    argv = [a for a in argv if a not in ("--use-env", "--use_env")]
    extra = None if use_env else (lambda local_rank: [f"--local-rank={local_rank}"])
    return _main(argv, prog="python -m jtorch.distributed.launch", extra_args=extra)


if __name__ == "__main__":
    sys.exit(main())
