"""torch dtypes as plain values, and torch's type-promotion rules.

A dtype knows its numpy/jax counterpart. Promotion goes by category first
(bool < integer < floating < complex), then by size, like torch.
"""
import builtins

import ml_dtypes
import numpy as np

_BOOL, _INT, _FLOAT, _COMPLEX = 0, 1, 2, 3


class dtype:
    __slots__ = ("_name", "np", "_cat", "itemsize", "is_signed")

    def __init__(self, name, np_dtype, cat):
        self._name = name
        self.np = np.dtype(np_dtype)
        self._cat = cat
        self.itemsize = self.np.itemsize
        self.is_signed = cat != _BOOL and not name.startswith("uint")

    @property
    def is_floating_point(self):
        return self._cat == _FLOAT

    @property
    def is_complex(self):
        return self._cat == _COMPLEX

    def to_real(self):
        return {complex32: float16, complex64: float32, complex128: float64}.get(self, self)

    def to_complex(self):
        return {float64: complex128, float16: complex32, bfloat16: complex64, float32: complex64}.get(self, self)

    def __repr__(self):
        return "torch." + self._name

    def __reduce__(self):
        return (_by_name, (self._name,))


def _by_name(name):
    return globals()[name]


float16 = dtype("float16", np.float16, _FLOAT)
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, _FLOAT)
float32 = dtype("float32", np.float32, _FLOAT)
float64 = dtype("float64", np.float64, _FLOAT)
complex64 = dtype("complex64", np.complex64, _COMPLEX)
complex128 = dtype("complex128", np.complex128, _COMPLEX)
uint8 = dtype("uint8", np.uint8, _INT)
uint16 = dtype("uint16", np.uint16, _INT)
uint32 = dtype("uint32", np.uint32, _INT)
uint64 = dtype("uint64", np.uint64, _INT)
int8 = dtype("int8", np.int8, _INT)
int16 = dtype("int16", np.int16, _INT)
int32 = dtype("int32", np.int32, _INT)
int64 = dtype("int64", np.int64, _INT)
bool = dtype("bool", np.bool_, _BOOL)

# 8-bit floats and sub-byte integers (ml_dtypes). torch stores and converts them but does no
# arithmetic promotion with them (promote_types raises); the sub-byte ints are shell dtypes there.
# (int1/uint1 are left out: XLA's conversions to them are wrong.)
float8_e4m3fn = dtype("float8_e4m3fn", ml_dtypes.float8_e4m3fn, _FLOAT)
float8_e5m2 = dtype("float8_e5m2", ml_dtypes.float8_e5m2, _FLOAT)
float8_e4m3fnuz = dtype("float8_e4m3fnuz", ml_dtypes.float8_e4m3fnuz, _FLOAT)
float8_e5m2fnuz = dtype("float8_e5m2fnuz", ml_dtypes.float8_e5m2fnuz, _FLOAT)
float8_e8m0fnu = dtype("float8_e8m0fnu", ml_dtypes.float8_e8m0fnu, _FLOAT)
float8_e8m0fnu.is_signed = False
int2 = dtype("int2", ml_dtypes.int2, _INT)
int4 = dtype("int4", ml_dtypes.int4, _INT)
uint2 = dtype("uint2", ml_dtypes.uint2, _INT)
uint4 = dtype("uint4", ml_dtypes.uint4, _INT)
_NO_PROMOTION = (float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz, float8_e8m0fnu,
                 int2, int4, uint2, uint4)

half, float, double = float16, float32, float64
# complex32 (chalf): JAX has no complex32 arrays. Its numpy dtype is a pair of float16s (4 bytes, as torch's
# element_size), which no jax array has: a complex32 tensor's storage holds a ``_chalf.ChalfArray`` (a
# complex64 array with float16-rounded parts), see _chalf.py.
complex32 = dtype("complex32", np.dtype([("real", np.float16), ("imag", np.float16)]), _COMPLEX)
cfloat, cdouble, chalf = complex64, complex128, complex32
short, int, long = int16, int32, int64

ALL = (bool, uint8, uint16, uint32, uint64, int8, int16, int32, int64,
       float16, bfloat16, float32, float64, complex32, complex64, complex128) + _NO_PROMOTION
_FROM_NP = {d.np: d for d in ALL}


def from_numpy_dtype(npd):
    """The torch dtype for a numpy/jax dtype."""
    try:
        return _FROM_NP[np.dtype(npd)]
    except (KeyError, TypeError):
        raise TypeError(f"can't convert np.ndarray of type {npd}. The only supported types are: "
                        "float64, float32, float16, complex64, complex128, int64, int32, int16, "
                        "int8, uint8, and bool.") from None


def to_dtype(d):
    """Accept a torch dtype, a numpy dtype, a Python type or a string."""
    if isinstance(d, dtype):
        return d
    if d is builtins.float:
        return get_default_dtype()
    if d is builtins.int:
        return int64
    if d is builtins.bool:
        return bool
    if d is builtins.complex:
        return get_default_dtype().to_complex()
    if isinstance(d, str):
        name = d.split(".")[-1]
        obj = globals().get(name)
        if isinstance(obj, dtype):
            return obj
    return from_numpy_dtype(d)


_default = [float32]


def get_default_dtype():
    return _default[0]


def set_default_dtype(d):
    d = to_dtype(d)
    if d not in (float16, bfloat16, float32, float64):
        raise TypeError("only floating-point types are supported as the default type")
    _default[0] = d


def is_floating_point(t):
    return t.dtype.is_floating_point


def is_complex(t):
    return t.dtype.is_complex


def promote_types(a, b):
    if a is b:
        return a
    if a in _NO_PROMOTION or b in _NO_PROMOTION:
        kind = "Float8" if (a if a in _NO_PROMOTION else b)._cat == _FLOAT else "sub-byte integer"
        raise RuntimeError(f"Promotion for {kind} Types is not supported, attempted to promote {a._name} and "
                           f"{b._name}")
    if a._cat != b._cat:
        hi, lo = (a, b) if a._cat > b._cat else (b, a)
        if hi._cat == _COMPLEX and lo._cat == _FLOAT:
            return _np_promote(hi, lo.to_complex())
        return hi
    return _np_promote(a, b)


def _np_promote(a, b):
    if complex32 in (a, b):  # with itself or a half/integer/bool type complex32 stays, else complex64 or wider
        other = b if a is complex32 else a
        if other is complex32 or other is float16 or other._cat < _FLOAT:
            return complex32
        return _np_promote(complex64, other if other._cat == _COMPLEX else other.to_complex())
    if bfloat16 in (a, b):
        other = b if a is bfloat16 else a
        if other is bfloat16:
            return bfloat16
        if other is float16:
            return float32
        if other._cat == _COMPLEX:
            return other
        return other if other.itemsize > 2 else bfloat16
    if {a, b} == {uint64, int64} or ({a, b} & {uint64} and (a.is_signed or b.is_signed)):
        raise RuntimeError(f"Promotion for uint16, uint32, uint64 types is not supported, attempted to promote {a._name} and {b._name}")
    return _FROM_NP[np.promote_types(a.np, b.np)]


def _combine(higher, lower):
    """torch's rule for mixing priority levels: a lower level (0-dim tensors,
    Python scalars) only matters when it is of a higher category."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher._cat == _COMPLEX:
        return higher
    if lower._cat == _COMPLEX:
        return higher.to_complex() if higher._cat == _FLOAT else lower
    if higher._cat == _FLOAT:
        return higher
    if higher is bool or lower._cat == _FLOAT:
        return promote_types(higher, lower)
    return higher


def scalar_dtype(x):
    """dtype a Python scalar takes when it meets tensors (a 'wrapped number')."""
    t = type(x)
    if t is builtins.bool or t is np.bool_:
        return bool
    if t is builtins.int:
        return int64
    if t is builtins.float:
        return get_default_dtype()
    if t is builtins.complex:
        return get_default_dtype().to_complex()
    if isinstance(x, np.generic):
        return from_numpy_dtype(x.dtype)
    raise TypeError(f"unsupported scalar type {t.__name__}")


def result_type_of(dims, zeros, scalars):
    """Promote three levels: dimensioned tensors, 0-dim tensors, Python scalars."""
    r = [None, None, None]
    for i, level in enumerate((dims, zeros, scalars)):
        for d in level:
            r[i] = d if r[i] is None else promote_types(r[i], d)
    # scalars of the same category as a 0-dim tensor don't matter either
    return _combine(r[0], _combine(r[1], r[2]))


def can_cast(from_, to):
    return from_._cat <= to._cat


class finfo:
    def __init__(self, type=None):
        type = get_default_dtype() if type is None else to_dtype(type)
        if type._cat < _FLOAT:
            raise TypeError("torch.finfo() requires a floating point input type.")
        fi = ml_dtypes.finfo(type.to_real().np)
        self.dtype = type.to_real()._name
        self.bits = fi.bits
        # torch's (c10's) epsilon for float8_e5m2fnuz is 2**-3, where ml_dtypes gives 2**-2
        self.eps = 0.125 if type is float8_e5m2fnuz else builtins.float(fi.eps)
        self.max = builtins.float(fi.max)
        self.min = builtins.float(fi.min)
        self.tiny = self.smallest_normal = builtins.float(fi.smallest_normal)
        self.resolution = 10.0 ** -builtins.int(fi.precision)

    def __repr__(self):
        return (f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, eps={self.eps}, "
                f"smallest_normal={self.smallest_normal}, tiny={self.tiny}, dtype={self.dtype})")


class iinfo:
    def __init__(self, type):
        type = to_dtype(type)
        if type._cat > _INT:
            raise TypeError("torch.iinfo() requires an integer input type.")
        ii = ml_dtypes.iinfo(type.np) if type is not bool else np.iinfo(np.uint8)
        self.dtype = type._name
        self.bits = ii.bits
        self.max = builtins.int(ii.max)
        self.min = builtins.int(ii.min)

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


class _QDtype(dtype):
    """A quantized dtype (torch.qint8 & co): the type of a quantized tensor's elements. ``np`` is the integer
    type its integer representation is stored in; ``qrange`` the representable integers. torch does no
    arithmetic or promotion with them (quantized tensors have their own kernels, see jtorch/ao/_qtensor)."""
    __slots__ = ("qrange", "bits")

    def __init__(self, name, np_dtype, qrange, bits):
        self._name = name
        self.np = np.dtype(np_dtype)
        self._cat = _INT
        self.itemsize = self.np.itemsize
        self.qrange = qrange
        self.bits = bits

    @property
    def is_signed(self):
        raise RuntimeError("isSignedType not supported for quantized types")


qint8 = _QDtype("qint8", np.int8, (-128, 127), 8)
quint8 = _QDtype("quint8", np.uint8, (0, 255), 8)
qint32 = _QDtype("qint32", np.int32, (-2 ** 31, 2 ** 31 - 1), 32)
quint4x2 = _QDtype("quint4x2", np.uint8, (0, 15), 4)
quint2x4 = _QDtype("quint2x4", np.uint8, (0, 3), 2)
QUANTIZED = (qint8, quint8, qint32, quint4x2, quint2x4)

# torch's C++ ScalarType names, which its error messages and legacy type names ("torch.FloatTensor") use
_SCALAR_TYPE_NAMES = {
    "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long", "bool": "Bool",
    "float16": "Half", "float32": "Float", "float64": "Double", "bfloat16": "BFloat16",
    "complex32": "ComplexHalf", "complex64": "ComplexFloat", "complex128": "ComplexDouble",
    "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64", "int2": "Int2", "int4": "Int4",
    "uint2": "UInt2", "uint4": "UInt4", "float8_e4m3fn": "Float8_e4m3fn", "float8_e5m2": "Float8_e5m2",
    "float8_e4m3fnuz": "Float8_e4m3fnuz", "float8_e5m2fnuz": "Float8_e5m2fnuz",
    "float8_e8m0fnu": "Float8_e8m0fnu", "qint8": "QInt8", "quint8": "QUInt8", "qint32": "QInt32",
    "quint4x2": "QUInt4x2", "quint2x4": "QUInt2x4"}


def scalar_type_name(dt):
    """torch's ScalarType name of a dtype ("Float", "Long", "ComplexHalf", ...)."""
    name = getattr(dt, "_name", None)
    return _SCALAR_TYPE_NAMES.get(name, str(dt))


_CPP_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
              "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
              "uint8": "unsigned char", "uint16": "short unsigned int", "uint32": "unsigned int",
              "uint64": "long unsigned int", "bool": "bool", "complex64": "c10::complex<float>",
              "complex128": "c10::complex<double>", "complex32": "c10::complex<c10::Half>"}


def cpp_type_name(dt):
    """The C++ element type torch's messages name a dtype by ("float", "long int", "c10::Half", ...)."""
    name = getattr(dt, "_name", None)
    return _CPP_NAMES.get(name, str(dt))
