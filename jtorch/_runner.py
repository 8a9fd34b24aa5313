"""Run unmodified PyTorch programs on jtorch.

``install_as_torch()`` puts an import finder first on ``sys.meta_path`` that answers
``torch`` and every ``torch.*`` module with jtorch's (``torchvision`` with
``jtorch.vision``): ``import torch.nn.functional as F`` gives ``jtorch.nn.functional``,
the very same module object, so ``torch.nn.Module is jtorch.nn.Module``. A torch module
jtorch does not have raises ModuleNotFoundError naming it (never falls through to a real
torch installation). ``run_script`` then runs a file the way ``python script.py`` would:
``__name__ == "__main__"``, ``sys.argv``, the script's folder on ``sys.path``, and a
traceback that starts at the script's own frames. Child interpreters (spawned DataLoader
workers, ``subprocess`` calls to python) get ``jtorch/_shim`` first on their path, whose
stand-in ``torch``/``torchvision`` packages install the same aliasing there.
"""
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import runpy
import sys
import traceback

ALIASES = {"torch": "jtorch", "torchvision": "jtorch.vision"}


def _target(fullname):
    for src, dst in ALIASES.items():
        if fullname == src or fullname.startswith(src + "."):
            return dst + fullname[len(src):]
    return None


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, real, obj=None):
        self.real = real
        self.obj = obj  # a namespace object standing for a module (e.g. torch.cuda.amp)

    def create_module(self, spec):
        return self.obj if self.obj is not None else importlib.import_module(self.real)

    def exec_module(self, module):
        # the import system stamped the alias spec on jtorch's module: give it its own back
        real_spec = importlib.util.find_spec(self.real) if module.__name__ == self.real else None
        if real_spec is not None:
            module.__spec__ = real_spec


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        real = _target(fullname)
        if real is None:
            return None
        if real in sys.modules:
            spec_ok = True
        else:
            try:
                spec_ok = importlib.util.find_spec(real) is not None
            except ModuleNotFoundError:
                spec_ok = False
        if not spec_ok:
            # ``import torch.cuda.amp`` where jtorch has ``jtorch.cuda.amp`` as an attribute, not a module
            parent, _, last = real.rpartition(".")
            obj = getattr(sys.modules.get(parent), last, None)
            if obj is not None:
                return importlib.machinery.ModuleSpec(fullname, _AliasLoader(real, obj))
            raise ModuleNotFoundError(f"No module named '{fullname}' (jtorch has no '{real}')", name=fullname)
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(real), is_package=True)


_FINDER = _AliasFinder()


def install_as_torch():
    """Make ``import torch`` / ``torch.*`` / ``torchvision`` resolve to jtorch in this process."""
    for name in ALIASES:
        mod = sys.modules.get(name)
        if mod is not None and not getattr(mod, "__name__", "").startswith("jtorch") \
                and not getattr(mod, "__jtorch_shim__", False):
            raise RuntimeError(f"the real '{name}' is already imported in this process; call "
                               "jtorch.install_as_torch() before anything imports it")
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    import jtorch
    sys.modules["torch"] = jtorch
    return jtorch


def uninstall_as_torch():
    """Undo ``install_as_torch`` (modules already imported keep their jtorch objects)."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for name in list(sys.modules):
        if _target(name) is not None and getattr(sys.modules[name], "__name__", "").startswith("jtorch"):
            del sys.modules[name]


def _print_user_traceback(exc):
    """The traceback as ``python script.py`` prints it: frames from the runner are dropped."""
    tb = exc.__traceback__
    here = os.path.dirname(os.path.abspath(__file__))
    runpy_file = os.path.abspath(runpy.__file__)
    while tb is not None:
        raw = tb.tb_frame.f_code.co_filename
        fname = os.path.abspath(raw)
        if fname == runpy_file or raw.startswith("<frozen runpy") or (os.path.dirname(fname) == here and
                                   os.path.basename(fname) in ("_runner.py", "__main__.py")):
            tb = tb.tb_next
            continue
        break
    sys.stderr.write("".join(traceback.format_exception(type(exc), exc, tb)))
    sys.stderr.flush()


def _alias_children():
    """Child Python processes (spawned DataLoader workers, subprocesses) alias torch too: the shim
    folder holding stand-in ``torch``/``torchvision`` packages goes first on their PYTHONPATH."""
    here = os.path.dirname(os.path.abspath(__file__))
    paths = [os.path.join(here, "_shim"), os.path.dirname(here)]
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(paths + ([old] if old else []))
    # spawned multiprocessing children take the parent's sys.path, not PYTHONPATH; in this process
    # the alias finder comes before any path entry, so the shim is never used here
    if paths[0] not in sys.path:
        sys.path.insert(0, paths[0])


def run_script(path, args=(), module=False):
    """Run a script file (or ``-m`` module) on jtorch as ``__main__``; returns the exit status."""
    install_as_torch()
    if module:
        # runpy needs the real module's code: ``-m torch.distributed.run`` runs jtorch.distributed.run
        path = _target(path) or path
        sys.argv = [path] + list(args)
        sys.path.insert(0, os.getcwd())
    else:
        if not os.path.exists(path):
            sys.stderr.write(f"{sys.executable}: can't open file {os.path.abspath(path)!r}: "
                             "[Errno 2] No such file or directory\n")
            return 2
        sys.argv = [path] + list(args)
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    _alias_children()
    try:
        if module:
            runpy.run_module(path, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(path, run_name="__main__")
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001  (report like the interpreter, then fail)
        _print_user_traceback(e)
        return 130 if isinstance(e, KeyboardInterrupt) else 1
    return 0
