"""Generators: the PRNG key is state held in a tensor, so compiled functions
capture and advance it like any other state. Values differ from torch's
streams; distributions, shapes and dtypes match."""
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from . import _dispatch

_DEFAULT_SEED = 67280421310721


@functools.lru_cache(None)
def _splitter():
    return jax.jit(lambda k: tuple(jax.random.split(k)))


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
            self._key_t = _dispatch.Tensor._wrap(_key_data(self._seed))
        return self._key_t

    @_key.setter
    def _key(self, t):
        self._key_t = t

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

    def next_key(self):
        """Advance the stream and return a fresh key (a jax array)."""
        new, sub = _splitter()(self._key._value)
        self._key._set_array(new)
        return sub


def _key_data(seed):
    return jax.random.key_data(jax.random.PRNGKey(seed & 0xFFFF_FFFF_FFFF_FFFF))


default_generator = Generator()


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


def next_key(generator=None):
    return (generator or default_generator).next_key()


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
