"""Generators: the PRNG key is state held in a tensor, so compiled functions
capture and advance it like any other state. Values differ from torch's
streams; distributions, shapes and dtypes match."""
import functools
import math
import time
import weakref

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend import random as _jex_random

from . import _dispatch, _lazy
from ._lazy import Pending as _Pending

_DEFAULT_SEED = 67280421310721


# ---------------------------------------------------------------- the bit generator
# JAX's threefry lowers on CPU to a rolled loop (five iterations of a while loop over whole
# arrays) that XLA cannot fuse with the consumer: 2.1M dropout bits took ~21 ms of CPU time
# here, most of a transformer step's dropout cost. The same hash written out unrolled in jnp
# is one fused elementwise loop (~3 ms) and gives bit-for-bit JAX's threefry values (its
# partitionable layout: element i hashes the counter pair (i >> 32, i & 0xffffffff)). So keys,
# splits, seeds and every stream stay exactly what they were, and equal across backends; only
# the cost of the bits on CPU changes. Random ops wrap their raw uint32[2] key with ``typed_key``.
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _rotl(x, d):
    return (x << np.uint32(d)) | (x >> np.uint32(32 - d))


def _threefry2x32(k1, k2, x1, x2):
    """Threefry-2x32 with 20 rounds (Salmon et al. 2011), written out so XLA fuses it."""
    ks = (k1, k2, k1 ^ k2 ^ np.uint32(0x1BD11BDA))
    x1, x2 = x1 + ks[0], x2 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x1 = x1 + x2
            x2 = _rotl(x2, r) ^ x1
        x1 = x1 + ks[(i + 1) % 3]
        x2 = x2 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x1, x2


def _counters(shape):
    """Each element's row-major flat index as (high, low) uint32 words."""
    n = math.prod(shape)
    if not shape:
        z = jnp.zeros((), jnp.uint32)
        return z, z
    strides = [math.prod(shape[d + 1:]) for d in range(len(shape))]
    if n <= 2 ** 32:  # uint32 products wrap modulo 2**32, and every index fits
        lo = sum(lax.broadcasted_iota(jnp.uint32, shape, d) * np.uint32(s) for d, s in enumerate(strides))
        return jnp.zeros(shape, jnp.uint32), lo
    flat = sum(lax.broadcasted_iota(jnp.uint64, shape, d) * np.uint64(s) for d, s in enumerate(strides))
    return (flat >> np.uint64(32)).astype(jnp.uint32), flat.astype(jnp.uint32)


_UINT = {8: jnp.uint8, 16: jnp.uint16, 32: jnp.uint32, 64: jnp.uint64}


def _fused_bits(key, bit_width, shape):
    hi, lo = _counters(shape)
    a, b = _threefry2x32(key[0], key[1], hi, lo)
    if bit_width == 64:
        return (a.astype(jnp.uint64) << np.uint64(32)) | b.astype(jnp.uint64)
    bits = a ^ b
    return bits if bit_width == 32 else bits.astype(_UINT[bit_width])


_fry = _jex_random.threefry_prng_impl


def _random_bits(key, bit_width, shape):
    # chosen when XLA lowers for a platform: the unrolled hash on CPU, JAX's own threefry
    # (its GPU kernel) elsewhere; both give the same bits
    shape = tuple(shape)
    if not jax.config.jax_threefry_partitionable:  # JAX's other counter layout: use its own code throughout
        return _fry.random_bits(key, bit_width, shape)
    return lax.platform_dependent(key, cpu=functools.partial(_fused_bits, bit_width=bit_width, shape=shape),
                                  default=functools.partial(_fry.random_bits, bit_width=bit_width, shape=shape))


_IMPL = _jex_random.define_prng_impl(key_shape=(2,), seed=_fry.seed, split=_fry.split, fold_in=_fry.fold_in,
                                     random_bits=_random_bits, name="jtorch_threefry2x32", tag="jfry")


def typed_key(raw):
    """A jtorch raw key (uint32[2], as Generators hold it) as a JAX key using the fused bit generator."""
    return jax.random.wrap_key_data(raw, impl=_IMPL)


@functools.lru_cache(None)
def _splitter():
    return jax.jit(lambda k: tuple(jax.random.split(k)))


_SPLIT_AVALS = [((2,), np.dtype(np.uint32))] * 2  # (new key, subkey) of a split


class Generator:
    def __init__(self, device="cpu"):
        from ._device import to_device
        self.device = to_device(device)
        self._seed = _DEFAULT_SEED
        self._key_t = None

    # The key tensor is made on first use, so that importing jtorch or calling manual_seed
    # does not start XLA's backend (jax.distributed.initialize must come first).
    @property
    def _key(self):
        if self._key_t is None:
            self._key_t = _state_tensor(_dispatch.Tensor._wrap(_key_data(self._seed)))
        return self._key_t

    @_key.setter
    def _key(self, t):
        self._key_t = _state_tensor(t)

    def manual_seed(self, seed):
        seed = int(seed)
        if not -0x8000_0000_0000_0000 <= seed <= 0xFFFF_FFFF_FFFF_FFFF:
            raise RuntimeError(f"Overflow when unpacking long")
        self._seed = seed & 0xFFFF_FFFF_FFFF_FFFF
        if self._key_t is not None:
            self._key_t._set_array(_key_data(self._seed))
        return self

    def seed(self):
        s = int(time.time_ns()) & 0xFFFF_FFFF_FFFF
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        from ._ops.creation import tensor
        raw = np.asarray(self._key._value).astype(np.uint32).view(np.uint8)
        return tensor(np.concatenate([raw, np.frombuffer(np.uint64(self._seed).tobytes(), np.uint8)]))

    def set_state(self, state):
        b = np.asarray(state._value if hasattr(state, "_value") else state, np.uint8)
        if b.size != 16:
            raise RuntimeError("RNG state is wrong size")
        self._key._set_array(jnp.asarray(b[:8].view(np.uint32)))
        self._seed = int(b[8:].view(np.uint64)[0])
        return self

    def next_key(self, lazy=False):
        """Advance the stream and return a fresh key (a jax array). ``lazy`` (for callers that only
        pass the key on to an op through dispatch): with lazy batching on, the split is recorded in
        the pending segment like any op and the key returned may be a ``_lazy.Pending``; the split
        is the same jitted function either way, so the bits are the same."""
        key_t = self._key
        cur = key_t._st._arr
        if lazy and _dispatch.lazy_here():
            if type(cur) is _Pending or type(cur) is _dispatch.CONCRETE:
                new, sub = _dispatch.lazy_node(("rng_split",), _splitter(), [cur], _SPLIT_AVALS, multi=True)
                key_t._set_array(new)
                return sub
        elif type(cur) is _Pending and cur.value is None and not _dispatch.lazy_here():
            # another thread than the recording one: compute the key without running that thread's
            # segment (see _lazy.peek)
            key_t._st._arr = _lazy.peek(cur)
        new, sub = _splitter()(key_t._value)
        key_t._set_array(new)
        return sub


def _key_data(seed):
    return jax.random.key_data(jax.random.PRNGKey(seed & 0xFFFF_FFFF_FFFF_FFFF))


default_generator = Generator()


# generators' key storages: a random draw inside a torch.func transform writes one, which is not a user's
# in-place write to a captured tensor (func.py)
KEY_STORAGES = weakref.WeakSet()


def _state_tensor(t):
    """``t`` as generator state: never an inference tensor (torch's generator state is no tensor, so a
    first random draw inside ``inference_mode`` must not make later draws' keys inference tensors)."""
    st = t._st
    if st.inference:
        t = _dispatch.Tensor._wrap(t._lazy_value())
        from .tensor import Storage
        t._st.__class__ = Storage
    KEY_STORAGES.add(t._st)
    return t


def manual_seed(seed):
    default_generator.manual_seed(seed)
    return default_generator


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


def next_key(generator=None, lazy=False):
    return (generator or default_generator).next_key(lazy)


class fork_rng:
    """Context manager restoring the default generator's state on exit."""

    def __init__(self, devices=None, enabled=True, **kwargs):
        self.enabled = enabled

    def __enter__(self):
        if self.enabled:
            self._state = get_rng_state()

    def __exit__(self, *exc):
        if self.enabled:
            set_rng_state(self._state)
        return False
