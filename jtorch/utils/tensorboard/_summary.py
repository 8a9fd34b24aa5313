"""Turning user values (jtorch tensors, numpy arrays, Python numbers) into Summary.Value messages, with
torch's SummaryWriter conventions: histogram buckets, image scaling and grids, PR-curve counts, hparams."""
import io
import math

import numpy as np

from . import _proto


def to_numpy(x):
    """A jtorch tensor, a real torch tensor, a jax/numpy array or a Python value as a numpy array."""
    if hasattr(x, "detach") and hasattr(x, "numpy"):
        return np.asarray(x.detach().cpu().numpy())
    return np.asarray(x)


def scalar_float(value):
    arr = to_numpy(value).squeeze()
    if arr.ndim != 0:
        raise AssertionError(f"Tensor should contain one element (0 dimensions). Was given size: {arr.size} "
                             f"and {arr.ndim} dimensions.")
    return float(arr)


def scalar(tag, value, new_style=False, double_precision=False):
    v = scalar_float(value)
    if not new_style:
        return _proto.summary_value(tag, simple_value=v)
    if double_precision:
        tensor = _proto.tensor(_proto.DT_DOUBLE, double_val=[v])
    else:
        tensor = _proto.tensor(_proto.DT_FLOAT, float_val=[v])
    return _proto.summary_value(tag, tensor=tensor, metadata=_proto.plugin_metadata("scalars"))


def tensorflow_bins():
    """TensorFlow's default histogram edges: +-1e-12 growing by 10% up to 1e20, and zero."""
    positive = []
    v = 1e-12
    while v < 1e20:
        positive.append(v)
        v *= 1.1
    return [-x for x in reversed(positive)] + [0.0] + positive


def histogram_proto(values, bins, max_bins=None):
    values = to_numpy(values).reshape(-1).astype(float)
    if values.size == 0:
        raise ValueError("The input has no element.")
    counts, edges = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        # Merge neighbours in groups so at most max_bins remain (the last group padded with empty buckets).
        group = len(counts) // max_bins
        counts = np.pad(counts, (0, (-len(counts)) % group)).reshape(-1, group).sum(axis=1)
        edges = np.append(edges[:-1:group], edges[-1])
    # Keep the buckets from one empty bucket before the first filled one through the last filled one;
    # each bucket is described by its right edge.
    filled = np.nonzero(counts)[0]
    first, last = (int(filled[0]), int(filled[-1])) if len(filled) else (0, len(counts) - 1)
    if first > 0:
        counts = counts[first - 1:last + 1]
    else:
        counts = np.concatenate([[0], counts[:last + 1]])
    limits = edges[first:last + 2]
    return _proto.histogram(values.min(), values.max(), len(values), values.sum(), values.dot(values),
                            [float(x) for x in limits], [float(c) for c in counts])


def histogram_raw_proto(min, max, num, sum, sum_squares, bucket_limits, bucket_counts):
    if len(bucket_limits) != len(bucket_counts):
        raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
    return _proto.histogram(float(min), float(max), float(num), float(sum), float(sum_squares),
                            [float(x) for x in to_numpy(bucket_limits).reshape(-1)],
                            [float(x) for x in to_numpy(bucket_counts).reshape(-1)])


# --- images ---------------------------------------------------------------------------------------

def image_grid(nchw, ncols=8):
    """Lay N images out row by row, ``ncols`` to a row, on a black canvas (C, H*rows, W*cols)."""
    if nchw.shape[1] == 1:
        nchw = np.concatenate([nchw] * 3, axis=1)
    n, c, h, w = nchw.shape
    if c not in (3, 4):
        raise AssertionError(f"images must have 1, 3 or 4 channels, got {c}")
    ncols = min(n, ncols)
    nrows = math.ceil(n / ncols)
    canvas = np.zeros((c, h * nrows, w * ncols), dtype=nchw.dtype)
    for i in range(n):
        r, col = divmod(i, ncols)
        canvas[:, r * h:(r + 1) * h, col * w:(col + 1) * w] = nchw[i]
    return canvas


def to_hwc(arr, dataformats):
    dataformats = dataformats.upper()
    if len(set(dataformats)) != len(dataformats):
        raise AssertionError(f"You can not use the same dimension shordhand twice. input_format: {dataformats}")
    if arr.ndim != len(dataformats):
        raise AssertionError(f"size of input tensor and input format are different. tensor shape: "
                             f"{arr.shape}, input_format: {dataformats}")
    if len(dataformats) == 4:
        chw = image_grid(arr.transpose([dataformats.index(d) for d in "NCHW"]))
        return chw.transpose(1, 2, 0)
    if len(dataformats) == 3:
        hwc = arr.transpose([dataformats.index(d) for d in "HWC"])
        return np.concatenate([hwc] * 3, axis=2) if hwc.shape[2] == 1 else hwc
    if len(dataformats) == 2:
        hw = arr.transpose([dataformats.index(d) for d in "HW"])
        return np.stack([hw] * 3, axis=2)
    raise AssertionError(f"unsupported dataformats {dataformats!r}")


def image_proto(value, dataformats="CHW", rescale=1):
    from PIL import Image

    arr = to_numpy(value)
    # uint8 images are pixel values already; anything else is taken to lie in [0, 1].
    scale = 1 if arr.dtype == np.uint8 else 255
    hwc = to_hwc(arr, dataformats)
    pixels = (hwc.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    h, w, c = pixels.shape
    img = Image.fromarray(pixels)
    if rescale != 1:
        img = img.resize((int(w * rescale), int(h * rescale)), Image.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return _proto.image(img.height, img.width, c, buf.getvalue())


def figure_to_chw(figure, close=True):
    """A matplotlib figure rendered to a uint8 RGB image (C, H, W) (alpha dropped, as torch's writer does)."""
    import matplotlib.pyplot as plt
    from matplotlib.backends import backend_agg

    canvas = backend_agg.FigureCanvasAgg(figure)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba(), dtype=np.uint8)
    if close:
        plt.close(figure)
    return rgba[:, :, :3].transpose(2, 0, 1)


def audio_proto(value, sample_rate):
    """Mono samples in [-1, 1] (clipped, as torch's writer does, with its notice) as 16-bit PCM WAV."""
    import wave

    samples = to_numpy(value).squeeze()  # scaled in its own precision, as torch does
    if samples.ndim != 1:
        raise AssertionError("input tensor should be 1 dimensional.")
    if np.abs(samples).max(initial=0) > 1:
        print("warning: audio amplitude out of range, auto clipped.")
        samples = samples.clip(-1, 1)
    pcm = (samples * np.iinfo(np.int16).max).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return _proto.audio(float(sample_rate), 1, len(pcm), buf.getvalue(), "audio/wav")


# --- text, PR curves -------------------------------------------------------------------------------

def text(tag, text_string):
    tensor = _proto.tensor(_proto.DT_STRING, shape=[1], string_val=[text_string.encode("utf-8")])
    return _proto.summary_value(tag + "/text_summary", tensor=tensor, metadata=_proto.plugin_metadata("text"))


_MIN_COUNT = 1e-7


def pr_curve_table(labels, predictions, num_thresholds, weights=None):
    """Rows TP, FP, TN, FN, precision, recall at ``num_thresholds`` evenly spaced thresholds in [0, 1]."""
    num_thresholds = min(num_thresholds, 127)
    labels = to_numpy(labels).reshape(-1)
    predictions = to_numpy(predictions).reshape(-1).astype(np.float64)
    weights = 1.0 if weights is None else to_numpy(weights).reshape(-1)
    buckets = np.floor(predictions * (num_thresholds - 1)).astype(np.int32)
    positive = labels.astype(np.float64) * weights
    negative = (1.0 - labels.astype(np.float64)) * weights
    hist_range = (0, num_thresholds - 1)
    tp_hist, _ = np.histogram(buckets, bins=num_thresholds, range=hist_range, weights=positive)
    fp_hist, _ = np.histogram(buckets, bins=num_thresholds, range=hist_range, weights=negative)
    # A prediction counts as positive at every threshold at or below its bucket.
    tp = np.cumsum(tp_hist[::-1])[::-1]
    fp = np.cumsum(fp_hist[::-1])[::-1]
    tn = fp[0] - fp
    fn = tp[0] - tp
    precision = tp / np.maximum(_MIN_COUNT, tp + fp)
    recall = tp / np.maximum(_MIN_COUNT, tp + fn)
    return np.stack((tp, fp, tn, fn, precision, recall)), num_thresholds


def pr_curve(tag, table, num_thresholds):
    table = np.asarray(table, dtype=np.float32)
    tensor = _proto.tensor(_proto.DT_FLOAT, shape=list(table.shape), float_val=table.reshape(-1).tolist())
    content = _proto.varint(2, num_thresholds)  # PrCurvePluginData.num_thresholds (version 0 left out)
    return _proto.summary_value(tag, tensor=tensor, metadata=_proto.plugin_metadata("pr_curves", content))


# --- hparams ---------------------------------------------------------------------------------------

def hparams(hparam_dict, metric_dict, hparam_domain_discrete=None):
    """The three hparams-plugin values TensorBoard's HParams tab reads: experiment, session start, end."""
    if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
        raise TypeError("parameter: hparam_dict and metric_dict should be dictionary.")
    hparam_domain_discrete = hparam_domain_discrete or {}
    values, infos = {}, []
    for k, v in hparam_dict.items():
        if v is None:
            continue
        if isinstance(v, (int, float)):  # bool included: TensorBoard shows it as a number
            values[k], kind = float(v), _proto.HPARAM_TYPE_FLOAT64
        elif isinstance(v, str):
            values[k], kind = v, _proto.HPARAM_TYPE_STRING
        elif hasattr(v, "detach") and hasattr(v, "numpy"):
            values[k], kind = float(to_numpy(v).reshape(-1)[0]), _proto.HPARAM_TYPE_FLOAT64
        else:
            raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")
        domain = hparam_domain_discrete.get(k)
        infos.append((k, kind, _proto.list_value(domain) if domain else None))
    start = _proto.hparams_session_start(values)
    experiment = _proto.hparams_experiment(infos, list(metric_dict))
    out = []
    for tag, content in (("_hparams_/experiment", _proto.hparams_plugin_data(experiment=experiment)),
                         ("_hparams_/session_start_info", _proto.hparams_plugin_data(session_start=start)),
                         ("_hparams_/session_end_info",
                          _proto.hparams_plugin_data(session_end=_proto.hparams_session_end()))):
        out.append(_proto.summary_value(tag, metadata=_proto.plugin_metadata("hparams", content)))
    return out
