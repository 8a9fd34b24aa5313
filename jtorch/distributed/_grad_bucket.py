"""``torch.distributed.GradBucket``: what a DDP communication hook receives, one bucket of
gradients flattened into one tensor (``buffer``), parameters in the same order."""


class GradBucket:
    def __init__(self, index, buffer, parameters, is_last):
        self._index = index
        self._buffer = buffer
        self._parameters = list(parameters)
        self._is_last = is_last

    def index(self):
        return self._index

    def buffer(self):
        return self._buffer

    def set_buffer(self, buffer):
        self._buffer = buffer

    def parameters(self):
        return list(self._parameters)

    def gradients(self):
        """Each parameter's gradient as a view of the buffer."""
        out, offset = [], 0
        for p in self._parameters:
            n = p.numel()
            out.append(self._buffer[offset:offset + n].view(tuple(p.shape)))
            offset += n
        return out

    def is_last(self):
        return self._is_last

    def __repr__(self):
        return f"GradBucket(index={self._index}, numel={self._buffer.numel()}, parameters={len(self._parameters)})"
