"""What the tensor kinds that run ops their own way (sparse, nested, quantized) share: the table of their
kernels by op name, the walk over an op's arguments, and (sparse, nested) autograd carried by the dense
tensor of their values."""


class KernelTable(dict):
    """op name -> kernel; ``@table.kernel("_sum", "sum")`` registers one under several names."""

    def kernel(self, *names):
        def deco(fn):
            for n in names:
                self[n] = fn
            return fn
        return deco


def flat_args(args):
    """An op's arguments with tensor lists opened (``torch.cat([a, b])``)."""
    for a in args:
        if isinstance(a, (list, tuple)):
            yield from a
        else:
            yield a


class AutogradOnValues:
    """Gradient state read and set on the values tensor that ``_autograd_values()`` returns."""

    @property
    def requires_grad(self):
        return self._autograd_values().requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        self._autograd_values().requires_grad = flag

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def grad_fn(self):
        return self._autograd_values().grad_fn

    @property
    def is_leaf(self):
        return self._autograd_values().is_leaf
