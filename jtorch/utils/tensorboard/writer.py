"""SummaryWriter: torch.utils.tensorboard's writer, producing the same event files without TensorFlow,
protobuf or even the ``tensorboard`` package (torch's writer needs the latter; jtorch's does not)."""
import datetime
import os
import socket
import time
import warnings
import weakref

import numpy as np

from . import _proto, _summary
from ._record import EventFileWriter
from ... import _atomic


class FileWriter:
    """Writes Summary and Event messages for one folder into one event file."""

    def __init__(self, log_dir, max_queue=10, flush_secs=120, filename_suffix=""):
        self._log_dir = str(log_dir)
        self.event_writer = EventFileWriter(self._log_dir, max_queue, flush_secs, filename_suffix)

    def get_logdir(self):
        return self._log_dir

    def add_event(self, event_bytes):
        self.event_writer.add_event(event_bytes)

    def add_summary(self, values, global_step=None, walltime=None):
        walltime = time.time() if walltime is None else walltime
        step = None if global_step is None else int(global_step)
        self.add_event(_proto.event(walltime, step=step, summary=_proto.summary(values)))

    def flush(self):
        self.event_writer.flush()

    def close(self):
        self.event_writer.close()


def _default_log_dir(comment):
    stamp = datetime.datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", stamp + "_" + socket.gethostname() + comment)


class SummaryWriter:
    """Write TensorBoard event files into ``log_dir`` (default ``runs/<Mon DD_HH-MM-SS>_<host><comment>``)."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120,
                 filename_suffix=""):
        self.log_dir = str(log_dir) if log_dir else _default_log_dir(comment)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer = None
        self.all_writers = None
        self._projector_config = []
        self._get_file_writer()
        # Events still queued reach the file when the writer is collected or the interpreter exits.
        self._finalizer = weakref.finalize(self, _close_all, self.all_writers)

    def _get_file_writer(self):
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix)
            if self.all_writers is None:
                self.all_writers = {}
            self.all_writers[self.file_writer.get_logdir()] = self.file_writer
            if self.purge_step is not None:
                # TensorBoard drops events of later steps written before this one (a restarted run).
                step = int(self.purge_step)
                self.file_writer.add_event(_proto.event(time.time(), step=step, file_version="brain.Event:2"))
                self.file_writer.add_event(_proto.event(
                    time.time(), step=step, session_log=_proto.session_log(_proto.SESSION_START)))
                self.purge_step = None
        return self.file_writer

    def get_logdir(self):
        return self.log_dir

    def _write(self, values, global_step=None, walltime=None):
        self._get_file_writer().add_summary(values, global_step, walltime)

    # --- scalars ----------------------------------------------------------------------------------

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        self._write([_summary.scalar(tag, scalar_value, new_style, double_precision)], global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Each tag goes to its own run folder ``<log_dir>/<main_tag>_<tag>``, under the tag ``main_tag``."""
        walltime = time.time() if walltime is None else walltime
        base = self._get_file_writer().get_logdir()
        for tag, value in tag_scalar_dict.items():
            folder = os.path.join(base, main_tag.replace("/", "_") + "_" + tag)
            writer = self.all_writers.get(folder)
            if writer is None:
                writer = FileWriter(folder, self.max_queue, self.flush_secs, self.filename_suffix)
                self.all_writers[folder] = writer
            writer.add_summary([_summary.scalar(main_tag, value)], global_step, walltime)

    def add_tensor(self, tag, tensor, global_step=None, walltime=None):
        arr = _summary.to_numpy(tensor).astype(np.float32)
        value = _proto.summary_value(tag, tensor=_proto.tensor(_proto.DT_FLOAT, shape=list(arr.shape),
                                                              float_val=arr.reshape(-1).tolist()))
        self._write([value], global_step, walltime)

    # --- histograms -------------------------------------------------------------------------------

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None, max_bins=None):
        if isinstance(bins, str) and bins == "tensorflow":
            bins = _summary.tensorflow_bins()
        histo = _summary.histogram_proto(values, bins, max_bins)
        self._write([_proto.summary_value(tag, histo=histo)], global_step, walltime)

    def add_histogram_raw(self, tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts,
                          global_step=None, walltime=None):
        histo = _summary.histogram_raw_proto(min, max, num, sum, sum_squares, bucket_limits, bucket_counts)
        self._write([_proto.summary_value(tag, histo=histo)], global_step, walltime)

    # --- images -----------------------------------------------------------------------------------

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        self._write([_proto.summary_value(tag, image=_summary.image_proto(img_tensor, dataformats))],
                    global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        self.add_image(tag, img_tensor, global_step, walltime, dataformats)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        """Needs matplotlib, like torch's. A list of figures becomes one image grid."""
        if isinstance(figure, list):
            images = np.stack([_summary.figure_to_chw(f, close) for f in figure])
            self.add_images(tag, images, global_step, walltime, dataformats="NCHW")
        else:
            self.add_image(tag, _summary.figure_to_chw(figure, close), global_step, walltime, dataformats="CHW")

    def add_audio(self, tag, snd_tensor, global_step=None, sample_rate=44100, walltime=None):
        value = _proto.summary_value(tag, audio=_summary.audio_proto(snd_tensor, sample_rate))
        self._write([value], global_step, walltime)

    def add_custom_scalars(self, layout):
        """A TensorBoard Custom Scalars layout: {category: {chart: ["Multiline", [tags]] or
        ["Margin", [value_tag, lower_tag, upper_tag]]}}."""
        tensor = _proto.tensor(_proto.DT_STRING, shape=[],
                               string_val=[_proto.custom_scalars_layout(layout)])
        self._write([_proto.summary_value("custom_scalars__config__", tensor=tensor,
                                          metadata=_proto.plugin_metadata("custom_scalars"))])

    def add_custom_scalars_multilinechart(self, tags, category="default", title="untitled"):
        self.add_custom_scalars({category: {title: ["Multiline", tags]}})

    def add_custom_scalars_marginchart(self, tags, category="default", title="untitled"):
        if len(tags) != 3:
            raise AssertionError("a margin chart takes [value, lower, upper] tags")
        self.add_custom_scalars({category: {title: ["Margin", tags]}})

    # --- text, PR curves, hparams -----------------------------------------------------------------

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        self._write([_summary.text(tag, text_string)], global_step, walltime)

    def add_pr_curve(self, tag, labels, predictions, global_step=None, num_thresholds=127, weights=None,
                     walltime=None):
        table, n = _summary.pr_curve_table(labels, predictions, num_thresholds, weights)
        self._write([_summary.pr_curve(tag, table, n)], global_step, walltime)

    def add_pr_curve_raw(self, tag, true_positive_counts, false_positive_counts, true_negative_counts,
                         false_negative_counts, precision, recall, global_step=None, num_thresholds=127,
                         weights=None, walltime=None):
        num_thresholds = min(num_thresholds, 127)
        table = np.stack([_summary.to_numpy(x).reshape(-1) for x in (
            true_positive_counts, false_positive_counts, true_negative_counts, false_negative_counts,
            precision, recall)])
        self._write([_summary.pr_curve(tag, table, num_thresholds)], global_step, walltime)

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None,
                    global_step=None):
        """Writes a run folder ``<log_dir>/<run_name or time.time()>`` with the hparams and the metrics."""
        values = _summary.hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        run = os.path.join(self._get_file_writer().get_logdir(), run_name or str(time.time()))
        with SummaryWriter(log_dir=run) as w:
            for value in values:  # one event each, as torch writes them
                w.file_writer.add_summary([value], global_step)
            for k, v in metric_dict.items():
                w.add_scalar(k, v, global_step)

    # --- graphs and embeddings --------------------------------------------------------------------

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        """torch records a TorchScript trace here; jtorch has no TorchScript graph to record, so it writes
        nothing and says so."""
        warnings.warn("jtorch's SummaryWriter.add_graph records no graph: jtorch has no TorchScript trace "
                      "to convert; nothing was written", UserWarning, stacklevel=2)

    def add_embedding(self, mat, metadata=None, label_img=None, global_step=None, tag="default",
                      metadata_header=None):
        """Writes ``<log_dir>/<step:05>/<tag>/`` (tensors.tsv, metadata.tsv, sprite.png) and lists it in
        ``projector_config.pbtxt`` for TensorBoard's projector."""
        mat = _summary.to_numpy(mat)
        if mat.ndim != 2:
            raise AssertionError("mat should be 2D, where mat.size(0) is the number of data points")
        step = 0 if global_step is None else global_step
        subdir = f"{str(step).zfill(5)}/{tag}"
        base = self._get_file_writer().get_logdir()
        folder = os.path.join(base, subdir)
        if os.path.exists(folder):
            warnings.warn(f"Path {folder} already exists, overwriting", UserWarning, stacklevel=2)
        os.makedirs(folder, exist_ok=True)
        entry = [f'  tensor_name: "{tag}:{str(step).zfill(5)}"']
        if metadata is not None:
            if len(metadata) != mat.shape[0]:
                raise AssertionError("#labels should equal with #data points")
            _write_metadata(folder, metadata, metadata_header)
            entry.append(f'  metadata_path: "{subdir}/metadata.tsv"')
        if label_img is not None:
            imgs = _summary.to_numpy(label_img)
            if imgs.shape[0] != mat.shape[0]:
                raise AssertionError("#images should equal with #data points")
            _write_sprite(folder, imgs)
            h, w = imgs.shape[2], imgs.shape[3]
            entry += ["  sprite {", f'    image_path: "{subdir}/sprite.png"',
                      f"    single_image_dim: {w}", f"    single_image_dim: {h}", "  }"]
        entry.append(f'  tensor_path: "{subdir}/tensors.tsv"')
        rows = ["\t".join(str(x) for x in row) for row in mat.tolist()]
        _write_text(os.path.join(folder, "tensors.tsv"), rows)
        self._projector_config.append("embeddings {\n" + "\n".join(entry) + "\n}\n")
        with _atomic.atomic_open(os.path.join(base, "projector_config.pbtxt"), "w") as f:
            f.write("".join(self._projector_config))

    # --- lifetime ---------------------------------------------------------------------------------

    def flush(self):
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()

    def close(self):
        if self.all_writers is None:
            return
        _close_all(self.all_writers)
        self._finalizer.detach()
        self.file_writer = self.all_writers = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()


def _close_all(writers):
    for writer in list((writers or {}).values()):
        writer.close()


def _write_text(path, lines):
    with _atomic.atomic_open(path, "w") as f:
        f.write("".join(line + "\n" for line in lines))


def _write_metadata(folder, metadata, header):
    if header is not None:
        lines = ["\t".join(str(h) for h in header)] + ["\t".join(str(x) for x in row) for row in metadata]
    else:
        lines = [str(x) for x in metadata]
    _write_text(os.path.join(folder, "metadata.tsv"), lines)


def _write_sprite(folder, nchw):
    """All label images in one square grid PNG, as TensorBoard's projector expects."""
    from PIL import Image

    n = nchw.shape[0]
    side = int(np.ceil(np.sqrt(n)))
    pad = side * side - n
    if pad:
        nchw = np.concatenate([nchw, np.zeros((pad,) + nchw.shape[1:], dtype=nchw.dtype)])
    grid = _summary.image_grid(nchw, ncols=side)
    scale = 1 if grid.dtype == np.uint8 else 255
    pixels = (grid.transpose(1, 2, 0).astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    with _atomic.atomic_path(os.path.join(folder, "sprite.png")) as tmp:
        Image.fromarray(pixels).save(tmp, format="PNG")
