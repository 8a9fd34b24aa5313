"""Mapper and Collator: apply a function to each sample (or to some of its columns)."""
from ..._collate import default_collate
from ..datapipe import IterDataPipe
from ..utils.common import _check_unpickable_fn, validate_input_col


def _apply_on_columns(fn, data, input_col, output_col):
    """``fn`` on the whole sample, or on the columns ``input_col`` selects (several columns are
    passed as separate arguments); the result replaces the sample, the first input column
    (dropping the others), or goes to ``output_col`` (-1 appends)."""
    if input_col is None and output_col is None:
        return fn(data)
    if isinstance(input_col, (list, tuple)):
        result = fn(*(data[col] for col in input_col))
    else:
        result = fn(data[input_col])
    was_tuple = isinstance(data, tuple)
    data = list(data) if was_tuple else data.copy() if hasattr(data, "copy") else data
    if output_col is None:
        if isinstance(input_col, (list, tuple)):
            data[input_col[0]] = result
            for col in sorted(input_col[1:], reverse=True):
                del data[col]
        else:
            data[input_col] = result
    elif output_col == -1:
        data.append(result)
    else:
        data[output_col] = result
    return tuple(data) if was_tuple else data


def _check_columns(fn, input_col, output_col):
    if input_col is None and output_col is not None:
        raise ValueError("`output_col` must be None when `input_col` is None.")
    if isinstance(output_col, (list, tuple)):
        if len(output_col) > 1:
            raise ValueError("`output_col` must be a single-element list or tuple")
        output_col = output_col[0]
    validate_input_col(fn, input_col)
    return output_col


class MapperIterDataPipe(IterDataPipe):
    """``fn`` applied to each sample (``input_col``/``output_col`` pick columns of tuples, lists, dicts)."""

    def __init__(self, datapipe, fn, input_col=None, output_col=None):
        self.datapipe = datapipe
        _check_unpickable_fn(fn)
        self.fn = fn
        self.input_col = input_col
        self.output_col = _check_columns(fn, input_col, output_col)

    def _apply_fn(self, data):
        return _apply_on_columns(self.fn, data, self.input_col, self.output_col)

    def __iter__(self):
        for data in self.datapipe:
            yield self._apply_fn(data)

    def __len__(self):
        if hasattr(self.datapipe, "__len__"):
            return len(self.datapipe)
        raise TypeError(f"{type(self).__name__} instance doesn't have valid length")


def _convert_columns(conversion, data):
    return {k: conversion[k](v) if k in conversion else v for k, v in data.items()}


class CollatorIterDataPipe(MapperIterDataPipe):
    """Collates each sample (usually a batch) with ``collate_fn``, or ``conversion``: a function
    (``default_collate`` by default) or a dict of per-column conversions."""

    def __init__(self, datapipe, conversion=default_collate, collate_fn=None):
        if collate_fn is not None:
            fn = collate_fn
        elif callable(conversion):
            fn = conversion
        elif isinstance(conversion, dict):
            table = dict(conversion)

            def fn(data):
                return _convert_columns(table, data)
        else:
            raise TypeError(f"conversion should be a callable or a dict, but got {type(conversion)}")
        super().__init__(datapipe, fn=fn)

