"""A stand-in ``torch`` for child processes of ``python -m jtorch run`` (DataLoader workers,
subprocesses): ``python -m jtorch run`` puts ``jtorch/_shim`` first on PYTHONPATH, so a child
interpreter's ``import torch`` lands here and resolves to jtorch, like the parent's."""
__jtorch_shim__ = True

from jtorch._runner import install_as_torch as _install  # noqa: E402

_install()  # replaces sys.modules["torch"] (this shim) by jtorch; the import returns jtorch
