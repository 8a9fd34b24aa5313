"""The DataPipe base classes: IterDataPipe (a stream), MapDataPipe (indexable), DataChunk (a batch).

Pipes chain through a registry of functional forms: ``dp.map(fn)`` builds ``Mapper(dp, fn)``
(see ``functional_datapipe``). Pipes pickle as plain objects; those holding live iterators or
buffers drop them in ``__getstate__``.
"""
import functools
import pickle

from ..dataset import Dataset, IterableDataset
from ._hook_iterator import _SnapshotState, hook_iterator

try:  # dill pickles lambdas; torch uses it for pipes when installed
    import dill
    HAS_DILL = True
except ImportError:
    dill = None
    HAS_DILL = False

__all__ = ["DataChunk", "DFIterDataPipe", "IterDataPipe", "MapDataPipe"]


class _DataPipeBase:
    """What both pipe kinds share: the functional-form registry and the pickling/str hooks."""

    functions = {}
    reduce_ex_hook = None
    getstate_hook = None
    str_hook = None
    repr_hook = None

    def __getattr__(self, name):
        fn = type(self).functions.get(name)
        if fn is not None:
            bound = functools.partial(fn, self)
            functools.update_wrapper(bound, fn.func if isinstance(fn, functools.partial) else fn)
            return bound
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    @classmethod
    def register_function(cls, function_name, function):
        cls.functions[function_name] = function

    @classmethod
    def register_datapipe_as_function(cls, function_name, cls_to_register, enable_df_api_tracing=False):
        if function_name in cls.functions:
            raise Exception(f"Unable to add DataPipe function name {function_name} as it is already taken")

        def build(source, *args, **kwargs):
            return cls_to_register(source, *args, **kwargs)

        build.__name__ = function_name
        build.__doc__ = cls_to_register.__doc__
        cls.functions[function_name] = build

    def __getstate__(self):
        hook = type(self).getstate_hook
        return hook(self) if hook is not None else self.__dict__

    def __reduce_ex__(self, *args, **kwargs):
        hook = type(self).reduce_ex_hook
        if hook is not None:
            try:
                return hook(self)
            except NotImplementedError:
                pass
        return super().__reduce_ex__(*args, **kwargs)

    @classmethod
    def set_getstate_hook(cls, hook_fn):
        if cls.getstate_hook is not None and hook_fn is not None:
            raise RuntimeError("Attempt to override existing getstate_hook")
        cls.getstate_hook = hook_fn

    @classmethod
    def set_reduce_ex_hook(cls, hook_fn):
        if cls.reduce_ex_hook is not None and hook_fn is not None:
            raise RuntimeError("Attempt to override existing reduce_ex_hook")
        cls.reduce_ex_hook = hook_fn

    def __repr__(self):
        hook = type(self).repr_hook
        return hook(self) if hook is not None else type(self).__qualname__

    def __str__(self):
        hook = type(self).str_hook
        return hook(self) if hook is not None else type(self).__qualname__

    def __dir__(self):
        return list(super().__dir__()) + list(type(self).functions)

    def __class_getitem__(cls, item):  # IterDataPipe[int] in type hints
        return cls


class IterDataPipe(_DataPipeBase, IterableDataset):
    """A pipe of samples produced by iteration; subclasses define ``__iter__`` (and ``reset``)."""

    functions = {}
    _valid_iterator_id = None
    _number_of_samples_yielded = 0
    _snapshot_state = _SnapshotState.NotStarted
    _fast_forward_iterator = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__iter__" in cls.__dict__:
            cls.__iter__ = hook_iterator(cls.__dict__["__iter__"])

    def __iter__(self):
        # an IterDataPipe that is its own iterator (defines __next__) starts a fresh pass here
        return self

    def reset(self):
        """Called when a new iteration starts: subclasses clear their buffers here."""


class MapDataPipe(_DataPipeBase, Dataset):
    """A pipe of samples fetched by key; subclasses define ``__getitem__`` (and usually ``__len__``)."""

    functions = {}


class DFIterDataPipe(IterDataPipe):
    """Base of the DataFrame pipes (their tracing API needs pandas)."""

    def _is_dfpipe(self):
        return True


class DataChunk(list):
    """A batch: a list that prints as one and can be iterated without re-batching."""

    def __init__(self, items):
        items = list(items)
        super().__init__(items)
        self.items = items

    def as_str(self, indent=""):
        return indent + "[" + ", ".join(str(i) for i in iter(self)) + "]"

    def __iter__(self):
        yield from super().__iter__()

    def raw_iterator(self):
        yield from self.items


# ---------------------------------------------------------------- what DataLoader hands to workers

def _dumps(obj):
    try:
        return pickle.dumps(obj)
    except Exception:
        if HAS_DILL:
            return dill.dumps(obj)
        raise


class _DataPipeSerializationWrapper:
    """Wraps the pipe a DataLoader loads from, so it pickles with dill where plain pickle fails."""

    def __init__(self, datapipe):
        self._datapipe = datapipe

    def __getstate__(self):
        try:
            return pickle.dumps(self._datapipe), False
        except Exception:
            if HAS_DILL:
                return dill.dumps(self._datapipe), True
            return self._datapipe, None  # leave it to the outer pickler (cloudpickle in workers)

    def __setstate__(self, state):
        payload, use_dill = state
        if use_dill is None:
            self._datapipe = payload
        else:
            self._datapipe = dill.loads(payload) if use_dill else pickle.loads(payload)

    def __len__(self):
        try:
            return len(self._datapipe)
        except Exception as e:
            raise TypeError(f"{type(self).__name__} instance doesn't have valid length") from e


class _IterDataPipeSerializationWrapper(_DataPipeSerializationWrapper, IterDataPipe):
    def __init__(self, datapipe):
        super().__init__(datapipe)
        self._datapipe_iter = None

    def __iter__(self):
        yield from self._datapipe


class _MapDataPipeSerializationWrapper(_DataPipeSerializationWrapper, MapDataPipe):
    def __getitem__(self, idx):
        return self._datapipe[idx]
