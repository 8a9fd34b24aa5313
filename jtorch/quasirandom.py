"""torch.quasirandom: SobolEngine, the Sobol' low-discrepancy sequence with torch's exact points.

Point i of dimension d is the XOR of the direction numbers v[d, b] over the set bits b of gray(i) =
i ^ (i >> 1) (Antonov and Saleev's order, the one torch draws in), as a 30-bit binary fraction. The direction
numbers come from the Joe–Kuo table (jtorch/data/sobol_joe_kuo.txt). Scrambling (Owen's linear matrix
scramble and a digital shift) draws its random bits from jtorch's generator, so scrambled points differ from
torch's while keeping every property a scrambled Sobol' net has. The integer work runs on the host in numpy:
a draw is a handful of vectorized XORs, not a traced computation.
"""
import numpy as np

from . import _dtype as D
from .data import load_sobol_directions

__all__ = ["SobolEngine"]


def _direction_numbers(dimension, bits):
    """v[d, j] for j < bits: m_{j+1} << (bits - 1 - j), m from the table's initial values and the recurrence of
    each dimension's primitive polynomial (m_j = m_{j-s} ^ (m_{j-s} << s) ^ XOR_k a_k m_{j-k} << k)."""
    poly, minit = load_sobol_directions(dimension)
    degree = np.array([int(p).bit_length() - 1 for p in poly])
    m = np.zeros((dimension, bits), dtype=np.int64)
    m[:, :minit.shape[1]] = minit[:, :bits]
    m[degree == 0] = 1  # the first dimension has no polynomial: every m is 1 (van der Corput)
    for j in range(1, bits):
        rows = np.nonzero((degree > 0) & (degree <= j))[0]  # rows whose m_j the recurrence gives
        if rows.size == 0:
            continue
        s = degree[rows]
        new = m[rows, j - s] ^ (m[rows, j - s] << s)
        for k in range(1, int(s.max())):
            a = np.where(k < s, (poly[rows] >> np.maximum(s - k, 0)) & 1, 0)  # the coefficient of x^(s-k)
            new ^= np.where(a == 1, m[rows, j - np.minimum(k, s)] << k, 0)
        m[rows, j] = new
    return m << (bits - 1 - np.arange(bits))


def _gray_xor(v, start, n):
    """The XOR of v[:, b] over the set bits b of gray(i), for i = start .. start+n-1: shape (n, dimension)."""
    i = np.arange(start, start + n, dtype=np.int64)
    g = i ^ (i >> 1)
    out = np.zeros((n, v.shape[0]), dtype=np.int64)
    for b in range(v.shape[1]):
        on = ((g >> b) & 1).astype(bool)
        if on.any():
            out[on] ^= v[:, b]
    return out


class SobolEngine:
    """SobolEngine(dimension, scramble=False, seed=None): draws Sobol' points in [0, 1)^dimension."""
    MAXBIT = 30
    MAXDIM = 21201

    def __init__(self, dimension, scramble=False, seed=None):
        if dimension > self.MAXDIM or dimension < 1:
            raise ValueError(f"Supported range of dimensionality for SobolEngine is [1, {self.MAXDIM}]")
        self.seed = seed
        self.scramble = scramble
        self.dimension = dimension
        self._v = _direction_numbers(dimension, self.MAXBIT)
        self._shift = np.zeros(dimension, dtype=np.int64)
        if scramble:
            self._scramble()
        self.num_generated = 0

    def _scramble(self):
        from . import _dtype, random, randint
        g = random.Generator()
        if self.seed is None:
            g.seed()
        else:
            g.manual_seed(self.seed)
        bits, d = self.MAXBIT, self.dimension
        shift_bits = randint(2, (d, bits), generator=g, dtype=_dtype.int64).numpy()
        lower = randint(2, (d, bits, bits), generator=g, dtype=_dtype.int64).numpy()
        # a random lower-triangular matrix with a unit diagonal per dimension: invertible over GF(2), so each
        # column of direction numbers keeps the linear independence the net property rests on
        lower = np.tril(lower, -1) | np.eye(bits, dtype=np.int64)
        place = 1 << (bits - 1 - np.arange(bits))  # bit row r of a 30-bit number (r = 0 the most significant)
        v_bits = (self._v[:, None, :] & place[None, :, None]) != 0  # (d, bit row, column j)
        mixed = np.einsum("drk,dkj->drj", lower, v_bits.astype(np.int64)) & 1
        self._v = np.einsum("drj,r->dj", mixed, place)
        self._shift = shift_bits @ place

    # torch's attribute names, as tensors
    @property
    def sobolstate(self):
        from . import tensor
        return tensor(self._v)

    @property
    def shift(self):
        from . import tensor
        return tensor(self._shift)

    @property
    def quasi(self):
        """The state the next point is derived from: the last point drawn, as integers (the shift before any)."""
        from . import tensor
        last = max(self.num_generated - 1, 0)
        return tensor(self._shift ^ _gray_xor(self._v, last, 1)[0])

    def draw(self, n=1, out=None, dtype=None):
        """The next ``n`` points, shape (n, dimension), in ``dtype`` (default: the default float dtype)."""
        from . import get_default_dtype, tensor
        if self.num_generated == 0 and n < 1:
            raise RuntimeError(f"Trying to create tensor with negative dimension {n - 1}: [{n - 1}, {self.dimension}]")
        if n < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}, {self.dimension}]")
        dtype = get_default_dtype() if dtype is None else dtype
        if dtype not in (D.float32, D.float64) and not (self.num_generated == 0 and n == 1):
            # torch's kernel has float and double only (its first point is a cast)
            raise NotImplementedError(f'"_sobol_engine_draw" not implemented for \'{D.scalar_type_name(dtype)}\'')
        points = (self._shift ^ _gray_xor(self._v, self.num_generated, n)) * 2.0 ** -self.MAXBIT
        result = tensor(points, dtype=dtype)
        self.num_generated += n
        if out is not None:
            out.resize_as_(result).copy_(result)
            return out
        return result

    def draw_base2(self, m, out=None, dtype=None):
        """The next 2**m points; the points drawn so far and these must add up to a power of 2 (which keeps
        the sequence's balance)."""
        n = 2 ** m
        total = self.num_generated + n
        if total & (total - 1):
            raise ValueError("The balance properties of Sobol' points require n to be a power of 2. "
                             f"{self.num_generated} points have been previously generated, then: "
                             f"n={self.num_generated}+2**{m}={total}. If you still want to do this, please use "
                             "'SobolEngine.draw()' instead.")
        return self.draw(n=n, out=out, dtype=dtype)

    def reset(self):
        """Back to the first point."""
        self.num_generated = 0
        return self

    def fast_forward(self, n):
        """Skips the next ``n`` points."""
        self.num_generated += n
        return self

    def __repr__(self):
        fields = [f"dimension={self.dimension}"]
        if self.scramble:
            fields.append("scramble=True")
        if self.seed is not None:
            fields.append(f"seed={self.seed}")
        return f"{type(self).__name__}({', '.join(fields)})"
