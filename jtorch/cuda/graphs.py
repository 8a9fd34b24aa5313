"""torch.cuda graphs on XLA.

``make_graphed_callables`` is what CUDA graphs are for (replaying a callable's kernels without
Python): here each callable becomes ``jtorch.compile`` of it, one XLA program per call (forward and,
when it needs one, its backward). Capturing an arbitrary ``with torch.cuda.graph(g):`` block cannot
be done faithfully: jtorch sees the block's ops one at a time as they run eagerly, so there is no
function to trace; ``capture_begin`` raises and says to use ``make_graphed_callables`` or
``torch.compile``. Without a GPU every entry point fails as in torch's CPU-only build.
"""


def _cuda():
    from .. import cuda
    return cuda


def _need_gpu(name):
    if not _cuda().is_available():
        raise RuntimeError(f"Tried to instantiate dummy base class {name}")


def is_current_stream_capturing():
    _need_gpu("_cuda_isCurrentStreamCapturing")
    return False


def graph_pool_handle():
    _need_gpu("_graph_pool_handle")
    return (0, 0)


class CUDAGraph:
    def __init__(self, keep_graph=False):
        _need_gpu("CUDAGraph")
        self.keep_graph = keep_graph

    def capture_begin(self, pool=None, capture_error_mode="global"):
        raise RuntimeError("jtorch cannot capture a block of eager ops as a CUDA graph on XLA; use "
                           "torch.cuda.make_graphed_callables(fn, sample_args) or torch.compile(fn), which run "
                           "the function as one compiled XLA program")

    def capture_end(self):
        raise RuntimeError("CUDAGraph.capture_end called without an active capture")

    def replay(self):
        raise RuntimeError("This CUDAGraph has no captured graph to replay")

    def reset(self):
        pass

    def pool(self):
        return (0, 0)

    def enable_debug_mode(self):
        pass

    def debug_dump(self, debug_path):
        raise RuntimeError("This CUDAGraph has no captured graph to dump")


class graph:  # noqa: N801 - torch's name
    """``with torch.cuda.graph(g):`` (see the module docstring: capture raises on XLA)."""
    default_capture_stream = None

    def __init__(self, cuda_graph, pool=None, stream=None, capture_error_mode="global"):
        from .streams import Stream
        if self.__class__.default_capture_stream is None:
            self.__class__.default_capture_stream = Stream()
        self.capture_stream = stream if stream is not None else self.__class__.default_capture_stream
        self.cuda_graph = cuda_graph
        self.pool = () if pool is None else (pool,)
        self.capture_error_mode = capture_error_mode

    def __enter__(self):
        _cuda().synchronize()
        self.cuda_graph.capture_begin(*self.pool, capture_error_mode=self.capture_error_mode)

    def __exit__(self, *exc):
        self.cuda_graph.capture_end()
        return False


def make_graphed_callables(callables, sample_args, num_warmup_iters=3, allow_unused_input=False, pool=None):
    """Each callable (function or Module) compiled into one XLA program; a Module keeps its identity with
    its ``forward`` compiled, as torch replaces it with the graphed forward."""
    from .. import compile as _compile, is_autocast_enabled, is_autocast_cache_enabled
    if is_autocast_enabled() and is_autocast_cache_enabled():
        raise RuntimeError("make_graphed_callables does not support the autocast caching. Please set "
                           "`cache_enabled=False`.")
    just_one = not isinstance(callables, tuple)
    if just_one:
        callables, sample_args = (callables,), (sample_args,)
    from ..nn import Module
    from ..tensor import Tensor
    for c, args in zip(callables, sample_args):
        if not isinstance(args, tuple) or not all(isinstance(a, Tensor) for a in args):
            raise TypeError("In the beta API, sample_args for each callable must contain only Tensors. "
                            "Other types are not allowed.")
        if isinstance(c, Module) and (c._backward_hooks or c._forward_hooks or c._forward_pre_hooks):
            raise AssertionError("Modules must not have hooks registered at the time they are passed. However, "
                                 "registering hooks on modules after passing them through make_graphed_callables "
                                 "is allowed.")
    _need_gpu("CUDAGraph")
    out = []
    for c in callables:
        if isinstance(c, Module):
            c.forward = _compile(c.forward)
            out.append(c)
        else:
            out.append(_compile(c))
    return out[0] if just_one else tuple(out)


__all__ = ["CUDAGraph", "graph", "make_graphed_callables", "is_current_stream_capturing", "graph_pool_handle"]
