"""An array's bytes as words (unsigned ints, or float parts) and back, as torch's storage holds them
(little-endian; a complex element is its real part then its imaginary part; a bool is one byte, nonzero read
as True). What ``view(dtype)`` reads and what a write through a reinterpreting view scatters
(_dispatch.scatter_into)."""
import jax
import jax.numpy as jnp
import numpy as np

_UINT = {1: np.dtype(np.uint8), 2: np.dtype(np.uint16), 4: np.dtype(np.uint32), 8: np.dtype(np.uint64)}


def _part(dtype):
    """A complex dtype's float halves; any other dtype itself."""
    return np.dtype(f"f{dtype.itemsize // 2}") if dtype.kind == "c" else dtype


def word_size(*dtypes):
    """The widest word that divides each of ``dtypes``' scalars (a complex one: its halves)."""
    return min(_part(np.dtype(d)).itemsize for d in dtypes)


def word_type(*dtypes):
    """The word ``to_words`` splits ``dtypes`` into: their common float part where they share one (real,
    imag, view_as_real: a value-preserving, differentiable split), else unsigned ints of ``word_size``."""
    parts = {_part(np.dtype(d)) for d in dtypes}
    if len(parts) == 1 and next(iter(parts)).kind == "f":
        return parts.pop()
    return _UINT[word_size(*dtypes)]


def to_words(x, word):
    """``x``'s scalars as words of dtype ``word`` (``word_type``): shape ``x.shape + (itemsize // word size,)``."""
    x = jnp.asarray(x)
    shape = x.shape
    n = np.dtype(x.dtype).itemsize // np.dtype(word).itemsize  # (spelled out: no -1 to infer in an empty shape)
    if x.dtype == np.bool_:
        x = x.astype(np.uint8)
    elif jnp.iscomplexobj(x):
        x = jnp.stack([jnp.real(x), jnp.imag(x)], -1)
    if x.dtype != word:
        x = _bitcast(x, word)  # (a wider x gains a last dim of its words)
    return x.reshape(*shape, n)


def _bitcast(x, dtype):
    """``lax.bitcast_convert_type``; one that changes the element size behind a barrier: XLA's simplifier
    folds two such bitcasts in a row (``x.view(torch.int32).view(torch.uint8)`` of int16) into one with a
    wrong shape, an internal error at compile time."""
    y = jax.lax.bitcast_convert_type(x, dtype)
    return y if np.dtype(x.dtype).itemsize == np.dtype(dtype).itemsize else jax.lax.optimization_barrier(y)


def from_words(words, dtype):
    """The elements of ``dtype`` whose scalars are ``words`` (shape ``(..., itemsize // word size)``)."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return from_words(words, np.uint8) != 0
    if dtype.kind == "c":
        half = from_words(words.reshape(*words.shape[:-1], 2, words.shape[-1] // 2), _part(dtype))
        return jax.lax.complex(half[..., 0], half[..., 1])
    words = words if words.shape[-1] > 1 else words[..., 0]
    return words if words.dtype == dtype else _bitcast(words, dtype)


def reinterpret(x, dtype):
    """``x``'s bytes read as ``dtype``: a different element size rescales the last dimension."""
    dtype = np.dtype(dtype)
    s, t = np.dtype(x.dtype).itemsize, dtype.itemsize
    word = word_type(x.dtype, dtype)
    words = to_words(x, word)
    if s != t:
        words = words.reshape(*x.shape[:-1], x.shape[-1] * s // t, t // word.itemsize)
    return from_words(words, dtype)
