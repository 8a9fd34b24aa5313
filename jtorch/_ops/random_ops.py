"""Random sampling. Every op takes a key split off a Generator (random.py).

Bulk draws use ``R.typed_key`` (JAX's threefry bits, lowered so XLA fuses them); poisson keeps
the raw threefry key: JAX implements it for its own threefry only, and its draws are per
element anyway."""
import jax
import jax.numpy as jnp
import numpy as np

from .. import _dtype as D
from .. import random as R
from .._dispatch import defop, function, METHODS
from .creation import _size, _dt, _finish, _place, factory
from .. import _dispatch, _meta


def _key(generator):
    return R.next_key(generator, lazy=True)  # only ever passed on to a sampling op


@defop(method=False, function=False, differentiable=False)
def _uniform(key, low, high, shape=(), dtype=None):
    if not jnp.issubdtype(dtype.np, jnp.inexact):
        raise NotImplementedError(f'"check_uniform_bounds" not implemented for \'{D.scalar_type_name(dtype)}\'')
    if jnp.issubdtype(dtype.np, jnp.complexfloating):  # torch: real and imaginary parts each uniform
        parts = jax.random.uniform(R.typed_key(key), tuple(shape) + (2,), jnp.finfo(dtype.np).dtype, low, high)
        return jax.lax.complex(parts[..., 0], parts[..., 1])
    return jax.random.uniform(R.typed_key(key), shape, dtype.np, low, high)


@defop(method=False, function=False, differentiable=False)
def _normal(key, mean, std, shape=(), dtype=None):
    if not jnp.issubdtype(dtype.np, jnp.inexact):
        raise NotImplementedError(f'"normal_kernel_cpu" not implemented for \'{D.scalar_type_name(dtype)}\'')
    return mean + std * jax.random.normal(R.typed_key(key), shape, dtype.np)


@defop(method=False, function=False, differentiable=False)
def _randint(key, low, high, shape=(), dtype=None):
    return jax.random.randint(R.typed_key(key), shape, low, high, jnp.int64).astype(dtype.np)


@defop(method=False, function=False, differentiable=False)
def _bernoulli(key, p, shape=(), dtype=None):
    return jax.random.bernoulli(R.typed_key(key), p, shape).astype(dtype.np)


@defop(method=False, function=False, differentiable=False)
def _exponential(key, lambd, shape=(), dtype=None):
    return (jax.random.exponential(R.typed_key(key), shape, dtype.np) / lambd).astype(dtype.np)


@defop(method=False, function=False, differentiable=False)
def _permutation(key, n=0):
    return jax.random.permutation(R.typed_key(key), n).astype(jnp.int64)


@defop(method=False, function=False, differentiable=False)
def _poisson(key, rate):
    return jax.random.poisson(key, rate, rate.shape).astype(rate.dtype)


@defop(method=False, function=False, differentiable=False)
def _geometric(key, p, shape=(), dtype=None):
    return jax.random.geometric(R.typed_key(key), p, shape).astype(dtype.np)


@defop(method=False, function=False, differentiable=False)
def _cauchy(key, median, sigma, shape=(), dtype=None):
    return (median + sigma * jax.random.cauchy(R.typed_key(key), shape, dtype.np)).astype(dtype.np)


def _fresh(op, generator, *dyn, shape, dtype, device=None, requires_grad=False):
    if _meta.is_meta_device(device):
        return _meta.empty(shape, dtype, requires_grad)  # nothing drawn, as torch's meta kernels
    key = _key(generator)
    if device is not None:
        key = _place(key, device)  # sample where the tensor lives (the key is tiny)
    if dtype is D.complex32:  # no jax complex32: drawn as complex64 and rounded (_chalf.py)
        from .._chalf import cast
        t = cast(op(key, *dyn, shape=shape, dtype=D.complex64))
    else:
        t = op(key, *dyn, shape=shape, dtype=dtype)
    if requires_grad:
        t.requires_grad = True
    return t


@function(method=False)
@factory
def rand(*size, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False):
    return _fresh(_uniform, generator, 0.0, 1.0, shape=_size(size), dtype=_dt(dtype), device=device,
                  requires_grad=requires_grad)


@function(method=False)
@factory
def randn(*size, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False):
    return _fresh(_normal, generator, 0.0, 1.0, shape=_size(size), dtype=_dt(dtype), device=device,
                  requires_grad=requires_grad)


@function(method=False)
@factory
def randint(low=0, high=None, size=None, *, generator=None, dtype=None, layout=None, device=None,
            requires_grad=False):
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=...)
        low, high = 0, low
    if high is None:
        raise TypeError("randint() missing required argument 'high'")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    return _fresh(_randint, generator, int(low), int(high), shape=_size((size,) if isinstance(size, int) else size),
                  dtype=D.int64 if dtype is None else D.to_dtype(dtype), device=device)


@function(method=False)
@factory
def randperm(n, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    t = _permutation(_key(generator), n=int(n))
    if dtype is not None:
        t = t.to(D.to_dtype(dtype))
    return t if device is None else t.to(device)


def _like(op, *dyn):
    def f(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None, generator=None):
        out = _fresh(op, generator, *dyn, shape=tuple(input.shape), dtype=input.dtype if dtype is None else
                     D.to_dtype(dtype), device=input.device if device is None else device,
                     requires_grad=requires_grad)
        return _lay_like(out, input, memory_format)
    return f


def _lay_like(out, input, memory_format):
    if memory_format is None and input._strides is None:
        return out
    from .._memfmt import lay_like
    return lay_like(out, input, memory_format)


rand_like = function(_like(_uniform, 0.0, 1.0), name="rand_like", method=False)
randn_like = function(_like(_normal, 0.0, 1.0), name="randn_like", method=False)


@function(method=False)
def randint_like(input, low=0, high=None, *, dtype=None, layout=None, device=None, requires_grad=False,
                 memory_format=None, generator=None):
    if high is None:
        low, high = 0, low
    return _lay_like(_fresh(_randint, generator, int(low), int(high), shape=tuple(input.shape),
                            dtype=input.dtype if dtype is None else D.to_dtype(dtype),
                            device=input.device if device is None else device), input, memory_format)


def _traced(t):
    """Whether ``t`` holds a tracer (jtorch.compile): its values are not checked, as they cannot be read."""
    return isinstance(t._value, jax.core.Tracer)


@function(method=False)
@factory
def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, layout=None, device=None,
           requires_grad=False):
    from ..tensor import Tensor
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        if isinstance(std, Tensor) and std.numel() and not std.is_meta and not _traced(std) and bool((std < 0).any()):
            raise RuntimeError("normal expects all elements of std >= 0.0")
        shape = jnp.broadcast_shapes(*(tuple(x.shape) for x in (mean, std) if isinstance(x, Tensor)))
        ref = mean if isinstance(mean, Tensor) else std
        if ref.is_meta:
            return _meta.empty(shape, ref.dtype)
        z = _normal(_key(generator), 0.0, 1.0, shape=shape, dtype=ref.dtype)
        return mean + std * z
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    return _fresh(_normal, generator, float(mean), float(std), shape=_size((size,) if isinstance(size, int) else size),
                  dtype=_dt(dtype), device=device, requires_grad=requires_grad)


@defop(method=False, function=False, promote=None, saves=())
def _with_zero_grad(sample, input):
    """``sample``, joined to ``input``'s autograd graph with a zero gradient (torch's bernoulli output
    requires grad when its input does; the draw's derivative is 0)."""
    return sample + jnp.zeros_like(input).astype(sample.dtype)


@function
def bernoulli(input, p=None, *, generator=None, out=None):
    _no_complex_bernoulli(input if out is None else out, "bernoulli_scalar_cpu_" if p is not None and not isinstance(
        p, _dispatch.Tensor) else "bernoulli_tensor_cpu_self_")
    prob = input if p is None else p
    if isinstance(prob, _dispatch.Tensor):
        pv = prob.to(input.dtype if input.dtype.is_floating_point else D.float32)
        res = _bernoulli(_key(generator), pv, shape=tuple(input.shape), dtype=input.dtype)
    else:
        res = _bernoulli(_key(generator), float(prob), shape=tuple(input.shape), dtype=input.dtype)
    if input.requires_grad and input.dtype.is_floating_point:
        res = _with_zero_grad(res, input)
    if out is None:
        return res
    # (torch draws in out's dtype and resizes out silently)
    return _dispatch._write_out(out, res.to(out.dtype), (input, p), resize_warning=False)


@function(tensors=("input",))
def poisson(input, generator=None):
    return _poisson(_key(generator), input)


@defop(method=False, function=False, differentiable=False)
def _multinomial(key, probs, num_samples=1, replacement=False):
    logits = jnp.log(probs)
    if replacement:
        s = jax.random.categorical(R.typed_key(key), logits, axis=-1, shape=(num_samples,) + probs.shape[:-1])
        return jnp.moveaxis(s, 0, -1).astype(jnp.int64)
    g = jax.random.gumbel(R.typed_key(key), probs.shape, probs.dtype)
    return jax.lax.top_k(jnp.where(probs > 0, logits + g, -jnp.inf), num_samples)[1].astype(jnp.int64)


def _check_distribution(v, num_samples, replacement):
    if (v < 0).any() or not np.isfinite(v).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if (v.sum(-1) == 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and ((v > 0).sum(-1) < num_samples).any():
        raise RuntimeError("invalid multinomial distribution (with replacement=False, not enough non-negative "
                           "category to sample)")


@function
def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.dtype.is_floating_point:
        raise RuntimeError("multinomial only supports floating-point dtypes for input")
    n = input.shape[-1]
    if n > 1 << 24:
        raise RuntimeError("number of categories cannot exceed 2^24")
    if not replacement and num_samples > n:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if out is not None and out.dtype is not D.int64:
        raise RuntimeError(f"multinomial expects Long tensor out, got: {D.scalar_type_name(out.dtype)}")
    if not _traced(input):
        _check_distribution(np.asarray(input._value), num_samples, replacement)
    res = _multinomial(_key(generator), input, num_samples=int(num_samples), replacement=bool(replacement))
    return res if out is None else _dispatch._write_out(out, res, (input,), any_overlap=True, resize_warning=False)


# ---- in-place samplers: x.uniform_(), x.normal_(), ...
def _inplace_sampler(name, make, check=None):
    """``Tensor.<name>``: ``self`` refilled with ``make``'s draw; ``check``: torch's errors for its parameters
    (a function of the same arguments as ``make`` after the key and tensor)."""
    def f(self, *args, generator=None, **kwargs):
        def compute(s):
            return make(_key(generator), s, *args, **kwargs)
        if check is not None:
            check(*args, **kwargs)
        self._check_inplace()
        if self._vfn:
            from ..tensor import _internal_overlap, overlap_error
            if _internal_overlap(self):
                raise overlap_error()
        if self.is_meta:
            return self  # nothing to draw (nn.init on a model built on the meta device)
        with _no_grad():
            new = compute(self)
        if new._shape_dtype()[1] == self._shape_dtype()[1]:
            self._set_array(new._lazy_value())  # stays pending with lazy batching on
        else:
            self._set_array(new._value.astype(self.dtype.np))
        return self
    f.__name__ = name
    METHODS[name] = f


class _no_grad:
    def __enter__(self):
        from .._dispatch import GRAD
        self.prev, GRAD.enabled = GRAD.enabled, False

    def __exit__(self, *a):
        from .._dispatch import GRAD
        GRAD.enabled = self.prev


def _sh(s):
    return dict(shape=tuple(s.shape), dtype=s.dtype)


def _number(v):
    return type(v) in (int, float) or isinstance(v, np.number)


def _check_uniform(a=0.0, b=1.0):
    if _number(a) and _number(b) and a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a:g} > to={b:g}")


def _check_positive(name, what, v):
    """torch's error for a parameter that must be > 0 (NaN included: the comparison fails)."""
    if _number(v) and not v > 0:
        raise RuntimeError(f"{name} expects {what} > 0.0, but found {what}={v:g}")


def _check_std(mean=0.0, std=1.0):
    if _number(std) and not std >= 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")


def _check_p(p):
    if _number(p) and not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p:g}")


_inplace_sampler("uniform_", lambda k, s, a=0.0, b=1.0: _uniform(k, float(a), float(b), **_sh(s)), _check_uniform)
_inplace_sampler("normal_", lambda k, s, mean=0.0, std=1.0: _normal(k, float(mean), float(std), **_sh(s)), _check_std)
_inplace_sampler("exponential_", lambda k, s, lambd=1.0: _exponential(k, float(lambd), **_sh(s)),
                 lambda lambd=1.0: _check_positive("exponential_", "lambda", lambd))
_inplace_sampler("geometric_", lambda k, s, p: _geometric(k, float(p), **_sh(s)), _check_p)
_inplace_sampler("cauchy_", lambda k, s, median=0.0, sigma=1.0: _cauchy(k, float(median), float(sigma), **_sh(s)),
                 lambda median=0.0, sigma=1.0: _check_positive("cauchy_", "sigma", sigma))
_inplace_sampler("log_normal_", lambda k, s, mean=1.0, std=2.0: _normal(k, float(mean), float(std), **_sh(s)).exp(),
                 lambda mean=1.0, std=2.0: _check_positive("log_normal_", "std", std))


def _random_(k, s, from_=0, to=None):
    if to is None:
        if from_ and from_ != 0:
            from_, to = 0, from_
        else:
            to = 2 ** 24 + 1 if s.dtype is D.float32 else (2 ** 53 + 1 if s.dtype is D.float64 else
                                                            min(D.iinfo(s.dtype).max, 2 ** 62) + 1 if s.dtype._cat == 1
                                                            else 2)
    return _randint(k, int(from_), int(to), shape=tuple(s.shape), dtype=s.dtype)


_inplace_sampler("random_", _random_)


def _no_complex_bernoulli(t, kernel):
    if t.dtype.is_complex:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{D.scalar_type_name(t.dtype)}\'')


def _bern_(k, s, p=0.5):
    _no_complex_bernoulli(s, "bernoulli_tensor_cpu_self_" if hasattr(p, "_value") else "bernoulli_scalar_cpu_")
    if hasattr(p, "_value"):
        return _bernoulli(k, p.to(D.float32 if not s.dtype.is_floating_point else s.dtype), **_sh(s))
    return _bernoulli(k, float(p), **_sh(s))


_inplace_sampler("bernoulli_", _bern_)
