"""The few protobuf messages TensorBoard reads (Event, Summary, HistogramProto, TensorProto, the plugins'
data), encoded by hand so jtorch needs no protobuf runtime. Each builder returns a message's bytes; a
field left None (or an empty list) is left out, as protobuf leaves defaults out."""
import struct

# TensorFlow's DataType numbers, for TensorProto.dtype.
DT_FLOAT, DT_DOUBLE, DT_STRING = 1, 2, 7


def _varint(n):
    n &= (1 << 64) - 1  # negative int64s take ten bytes, as protobuf writes them
    out = bytearray()
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _key(field, wire):
    return _varint(field << 3 | wire)


def varint(field, n):
    return b"" if n is None else _key(field, 0) + _varint(int(n))


def double(field, x):
    return b"" if x is None else _key(field, 1) + struct.pack("<d", x)


def float32(field, x):
    return b"" if x is None else _key(field, 5) + struct.pack("<f", x)


def blob(field, data):
    """A length-delimited field: bytes, a str (UTF-8) or an encoded sub-message."""
    if data is None:
        return b""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return _key(field, 2) + _varint(len(data)) + data


def packed(field, values, fmt):
    if not len(values):
        return b""
    return blob(field, struct.pack(f"<{len(values)}{fmt}", *values))


# --- messages -------------------------------------------------------------------------------------

def event(wall_time, step=None, file_version=None, summary=None, session_log=None, writer_name=None):
    source = blob(10, blob(1, writer_name)) if writer_name else b""
    return (double(1, wall_time) + varint(2, step) + blob(3, file_version) + blob(5, summary)
            + blob(7, session_log) + source)


SESSION_START = 1


def session_log(status):
    return varint(1, status)


def summary(values):
    return b"".join(blob(1, v) for v in values)


def summary_value(tag, simple_value=None, image=None, histo=None, audio=None, tensor=None, metadata=None):
    return (blob(1, tag) + float32(2, simple_value) + blob(4, image) + blob(5, histo) + blob(6, audio)
            + blob(8, tensor) + blob(9, metadata))


def audio(sample_rate, num_channels, length_frames, encoded, content_type):
    return (float32(1, sample_rate) + varint(2, num_channels) + varint(3, length_frames) + blob(4, encoded)
            + blob(5, content_type))


def plugin_metadata(plugin_name, content=None):
    return blob(1, blob(1, plugin_name) + (blob(2, content) if content else b""))


def image(height, width, colorspace, encoded):
    return varint(1, height) + varint(2, width) + varint(3, colorspace) + blob(4, encoded)


def histogram(min, max, num, sum, sum_squares, bucket_limit, bucket):
    return (double(1, min or None) + double(2, max or None) + double(3, num or None) + double(4, sum or None)
            + double(5, sum_squares or None) + packed(6, bucket_limit, "d") + packed(7, bucket, "d"))


def tensor(dtype, shape=None, float_val=(), double_val=(), string_val=()):
    """``shape`` None leaves the shape out; ``[]`` writes an empty one (a scalar)."""
    dims = b"".join(blob(2, varint(1, d)) for d in shape) if shape else b""
    return (varint(1, dtype) + (blob(2, dims) if shape is not None else b"") + packed(5, float_val, "f")
            + packed(6, double_val, "d") + b"".join(blob(8, s) for s in string_val))


# --- hparams plugin (tensorboard/plugins/hparams/api.proto, plugin_data.proto) ---------------------

HPARAM_TYPE_STRING, HPARAM_TYPE_BOOL, HPARAM_TYPE_FLOAT64 = 1, 2, 3


def struct_value(v):
    """google.protobuf.Value: a number, a string or a bool."""
    if isinstance(v, bool):
        return varint(4, int(v)) if v else _key(4, 0) + b"\x00"
    if isinstance(v, str):
        return blob(3, v)
    return _key(2, 1) + struct.pack("<d", float(v))


def hparams_plugin_data(experiment=None, session_start=None, session_end=None):
    return blob(2, experiment) + blob(3, session_start) + blob(4, session_end)


def hparams_experiment(hparam_infos, metric_tags):
    infos = b"".join(blob(4, blob(1, name) + varint(4, kind) + (blob(5, domain) if domain else b""))
                     for name, kind, domain in hparam_infos)
    metrics = b"".join(blob(5, blob(1, blob(2, tag))) for tag in metric_tags)
    return infos + metrics


def list_value(values):
    return b"".join(blob(1, struct_value(v)) for v in values)


def hparams_session_start(hparams):
    return b"".join(blob(1, blob(1, k) + blob(2, struct_value(v))) for k, v in hparams.items())


def hparams_session_end(status=1):  # STATUS_SUCCESS
    return varint(1, status)


# --- custom_scalars plugin (tensorboard/plugins/custom_scalar/layout.proto) -----------------------

def custom_scalars_layout(layout):
    """{category: {chart title: ["Multiline", [tags]] or ["Margin", [value, lower, upper]]}}."""
    categories = []
    for title, charts in layout.items():
        encoded = []
        for chart_title, (kind, tags) in charts.items():
            if kind == "Multiline":
                content = blob(2, b"".join(blob(1, t) for t in tags))
            elif kind == "Margin":
                if len(tags) != 3:
                    raise AssertionError("a Margin chart takes [value, lower, upper] tags")
                content = blob(3, blob(1, blob(1, tags[0]) + blob(2, tags[1]) + blob(3, tags[2])))
            else:
                raise AssertionError(f"chart type {kind!r}: expected 'Multiline' or 'Margin'")
            encoded.append(blob(2, blob(1, chart_title) + content))
        categories.append(blob(2, blob(1, title) + b"".join(encoded)))
    return b"".join(categories)
