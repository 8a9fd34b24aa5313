"""Filter: keep the samples a predicate accepts."""
from ..datapipe import IterDataPipe
from ..utils.common import _check_unpickable_fn, validate_input_col


class FilterIterDataPipe(IterDataPipe):
    """Samples for which ``filter_fn`` (of the sample or of its ``input_col`` columns) is True."""

    def __init__(self, datapipe, filter_fn, input_col=None):
        self.datapipe = datapipe
        _check_unpickable_fn(filter_fn)
        self.filter_fn = filter_fn
        self.input_col = input_col
        validate_input_col(filter_fn, input_col)

    def _keep(self, data):
        if self.input_col is None:
            result = self.filter_fn(data)
        elif isinstance(self.input_col, (list, tuple)):
            result = self.filter_fn(*(data[col] for col in self.input_col))
        else:
            result = self.filter_fn(data[self.input_col])
        if not isinstance(result, bool):
            raise ValueError("Boolean output is required for `filter_fn` of FilterIterDataPipe, got", type(result))
        return result

    def __iter__(self):
        for data in self.datapipe:
            if self._keep(data):
                yield data
