"""torch.utils.show_pickle: print what a pickle holds without importing or running anything it names.

A class or function the pickle refers to prints as ``module.name``; an object built by calling one as
``module.name(args)`` (with ``(state=...)`` when state was set on it); a persistent id (how a torch
checkpoint refers to its storages) as ``pers.obj(id)``. Command line: ``python -m jtorch.utils.show_pickle
FILE``, or ``ARCHIVE@MEMBER`` where MEMBER may be a glob matching one member (``model.pt@*/data.pkl``)."""
import fnmatch
import pickle
import pprint
import sys
import zipfile

__all__ = ["FakeObject", "FakeClass", "DumpUnpickler", "main"]


class FakeObject:
    """Stands for an object the pickle constructs."""

    def __init__(self, module, name, args):
        self.module, self.name, self.args = module, name, args
        self.state = None

    def __setstate__(self, state):  # pickle's BUILD
        self.state = state

    def __repr__(self):
        state = "" if self.state is None else f"(state={self.state!r})"
        return f"{self.module}.{self.name}{self.args!r}{state}"


class FakeClass:
    """Stands for a class or function the pickle names: calling it (pickle's REDUCE, NEWOBJ) records the
    call instead of making the object."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __repr__(self):
        return f"{self.module}.{self.name}"

    def __call__(self, *args):
        return FakeObject(self.module, self.name, args)

    def __new__(cls, *args, **kwargs):
        return super().__new__(cls)


class DumpUnpickler(pickle._Unpickler):
    """An unpickler that resolves nothing: every global is a FakeClass, every persistent id a FakeObject.
    (The pure-Python unpickler, so NEWOBJ on a FakeClass reaches ``_new``.)"""

    def __init__(self, file, *, catch_invalid_utf8=False, **kwargs):
        kwargs.setdefault("errors", "surrogateescape" if catch_invalid_utf8 else "strict")
        super().__init__(file, **kwargs)

    def find_class(self, module, name):
        return FakeClass(module, name)

    def persistent_load(self, pid):
        return FakeObject("pers", "obj", (pid,))

    dispatch = dict(pickle._Unpickler.dispatch)

    def _newobj(self):  # cls.__new__(cls, *args) for a FakeClass: the recorded call
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(cls(*args) if isinstance(cls, FakeClass) else cls.__new__(cls, *args))

    dispatch[pickle.NEWOBJ[0]] = _newobj

    @classmethod
    def dump(cls, in_stream, out_stream):
        value = cls(in_stream).load()
        pprint.pprint(value, stream=out_stream)
        return value


def _open_target(target):
    """(file object, closer) for FILE or ARCHIVE@MEMBER(-glob)."""
    if "@" not in target:
        f = open(target, "rb")
        return f, [f]
    archive, member = target.split("@", 1)
    zf = zipfile.ZipFile(archive)
    if any(c in member for c in "*?["):
        matches = [n for n in zf.namelist() if fnmatch.fnmatch(n, member)]
        if len(matches) != 1:
            zf.close()
            raise Exception(f"Could not find exactly one match for {member}")
        member = matches[0]
    f = zf.open(member)
    return f, [f, zf]


def main(argv, output_stream=None):
    if len(argv) != 2:
        if output_stream is not None:
            raise Exception("Pass argv of length 2.")
        sys.stderr.write("usage: show_pickle FILE | ARCHIVE@MEMBER | ARCHIVE@GLOB (the one matching member)\n")
        return 2
    f, closers = _open_target(argv[1])
    try:
        DumpUnpickler.dump(f, output_stream)
    finally:
        for c in closers:
            c.close()
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv))
