"""jtorch.utils.tensorboard.SummaryWriter against torch's: the same calls write event files that
TensorBoard's own reader parses into the same events (tags, steps, values, histogram buckets, decoded image
pixels, PR-curve tables, hparams plugin data) and the same projector files."""
import glob
import io
import os
import re

import numpy as np
import pytest

pytest.importorskip("tensorboard")
import torch  # noqa: E402
from torch.utils.tensorboard import SummaryWriter as TorchWriter  # noqa: E402
from PIL import Image  # noqa: E402
from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader  # noqa: E402
from tensorboard.compat.proto import event_pb2  # noqa: E402
from tensorboard.plugins.hparams import plugin_data_pb2 as hparams_pb2  # noqa: E402

import jtorch  # noqa: E402
from jtorch.utils.tensorboard import SummaryWriter  # noqa: E402
from jtorch.utils.tensorboard._record import crc32c, masked_crc32c  # noqa: E402


def read_run(log_dir):
    """{relative folder: [events as comparable dicts]} for every event file under log_dir, with wall times
    (never equal across writers) dropped; images decoded to pixels; hparams content parsed."""
    runs = {}
    for path in sorted(glob.glob(os.path.join(log_dir, "**", "*tfevents*"), recursive=True)):
        folder = os.path.relpath(os.path.dirname(path), log_dir)
        folder = re.sub(r"^\d+\.\d+$", "<time>", folder)  # add_hparams's time-named run
        events = []
        for raw in RawEventFileLoader(path).Load():
            e = event_pb2.Event.FromString(raw)
            if e.HasField("source_metadata"):
                e.ClearField("source_metadata")  # the writer's name: torch's and jtorch's differ on purpose
            out = {"step": e.step, "kind": e.WhichOneof("what"), "wall_time_set": e.wall_time > 0}
            if e.HasField("summary"):
                out["values"] = [summary_value(v) for v in e.summary.value]
            else:
                e.ClearField("wall_time")
                out["event"] = e.SerializeToString()
            events.append(out)
        runs.setdefault(folder, []).append(events)
    return runs


def summary_value(v):
    d = {"tag": v.tag, "kind": v.WhichOneof("value")}
    if v.HasField("image"):
        img = Image.open(io.BytesIO(v.image.encoded_image_string))
        d["image"] = (v.image.height, v.image.width, v.image.colorspace, img.mode, np.asarray(img).tolist())
    elif v.HasField("metadata") and v.metadata.plugin_data.plugin_name == "hparams":
        data = hparams_pb2.HParamsPluginData.FromString(v.metadata.plugin_data.content)
        d["hparams"] = str(data)  # text format prints map entries sorted by key
    else:
        d["rest"] = v.SerializeToString()
    return d


def write_both(tmp_path, calls, **writer_kwargs):
    """Run ``calls(writer, lib)`` on torch's writer and on jtorch's; return both folders' contents."""
    out = []
    for name, Writer, lib in (("torch", TorchWriter, torch), ("jtorch", SummaryWriter, jtorch)):
        log_dir = str(tmp_path / name)
        with Writer(log_dir, **writer_kwargs) as w:
            calls(w, lib)
        out.append(log_dir)
    return out


def assert_same_runs(tmp_path, calls, **writer_kwargs):
    t, j = write_both(tmp_path, calls, **writer_kwargs)
    rt, rj = read_run(t), read_run(j)
    assert list(rt) == list(rj)
    for folder in rt:
        assert rt[folder] == rj[folder], folder
    return t, j


def test_crc32c_matches_tensorboard():
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as tb_masked
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import crc32c as tb_crc

    data = np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8).tobytes()
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert crc32c(data) == tb_crc(data)
    assert masked_crc32c(data) == tb_masked(data)


def test_scalars_text_and_purge(tmp_path, rng):
    vals = rng.standard_normal(4)

    def calls(w, lib):
        w.add_scalar("loss/train", float(vals[0]), 0, walltime=5.0)
        w.add_scalar("loss/train", lib.tensor(vals[1]), 1)
        w.add_scalar("loss/np", np.float32(vals[2]), 2)
        w.add_scalar("new", float(vals[3]), 3, new_style=True)
        w.add_scalar("new64", float(vals[3]), 4, new_style=True, double_precision=True)
        w.add_scalar("nostep", 2.5)
        w.add_scalars("run/group", {"a": float(vals[0]), "b/c": 3}, 7, walltime=6.0)
        w.add_text("note", "héllo **md**", 3)
        w.flush()

    t, j = assert_same_runs(tmp_path, calls, purge_step=5, filename_suffix=".x")
    names = [os.path.basename(p) for p in glob.glob(os.path.join(j, "**", "*tfevents*"), recursive=True)]
    assert names and all(n.endswith(".x") for n in names)


def test_scalar_must_be_one_element(tmp_path, rng):
    x = rng.standard_normal(3)
    with TorchWriter(str(tmp_path / "t")) as tw, SummaryWriter(str(tmp_path / "j")) as jw:
        with pytest.raises(AssertionError):
            tw.add_scalar("x", torch.tensor(x))
        with pytest.raises(AssertionError):
            jw.add_scalar("x", jtorch.tensor(x))


@pytest.mark.parametrize("bins,max_bins", [("tensorflow", None), ("auto", None), (10, 4), ("fd", 3)])
def test_histograms(tmp_path, rng, bins, max_bins):
    a = rng.standard_normal((20, 5)).astype(np.float32)
    b = rng.integers(-3, 9, size=50)

    def calls(w, lib):
        w.add_histogram("w", lib.tensor(a), 1, bins=bins, max_bins=max_bins)
        w.add_histogram("ints", b, 2, bins=bins, max_bins=max_bins)
        w.add_histogram("positive", np.abs(a) + 1, 3, bins=bins, max_bins=max_bins)

    assert_same_runs(tmp_path, calls)


def test_histogram_raw_and_errors(tmp_path, rng):
    counts = rng.integers(0, 5, 4).astype(float)

    def calls(w, lib):
        w.add_histogram_raw("raw", -1.0, 2.0, float(counts.sum()), 1.5, 7.25, [0.0, 1.0, 1.5, 2.0],
                            counts.tolist(), global_step=4)

    assert_same_runs(tmp_path, calls)
    with TorchWriter(str(tmp_path / "te")) as tw, SummaryWriter(str(tmp_path / "je")) as jw:
        for w in (tw, jw):
            with pytest.raises(ValueError):
                w.add_histogram("empty", np.zeros(0), 0)
            with pytest.raises(ValueError):
                w.add_histogram_raw("bad", 0, 1, 2, 1, 1, [0.0, 1.0], [1.0])


def test_images(tmp_path, rng):
    chw = rng.random((3, 6, 5)).astype(np.float32)
    hwc_u8 = rng.integers(0, 256, (4, 7, 4)).astype(np.uint8)
    hw = rng.random((5, 3))
    gray = rng.random((1, 4, 4))
    over = rng.standard_normal((3, 4, 4)) * 2  # outside [0, 1]: clipped
    batch = rng.random((10, 1, 3, 2)).astype(np.float32)
    nhwc = rng.integers(0, 256, (3, 4, 2, 3)).astype(np.uint8)

    def calls(w, lib):
        w.add_image("chw", lib.tensor(chw), 0)
        w.add_image("hwc_u8", lib.tensor(hwc_u8), 1, dataformats="HWC")
        w.add_image("hw", hw, 2, dataformats="HW")
        w.add_image("gray", gray, 3)
        w.add_image("over", over, 4)
        w.add_images("batch", lib.tensor(batch), 5)
        w.add_images("nhwc", nhwc, 6, dataformats="NHWC")

    assert_same_runs(tmp_path, calls)
    with TorchWriter(str(tmp_path / "te")) as tw, SummaryWriter(str(tmp_path / "je")) as jw:
        for w in (tw, jw):
            with pytest.raises(AssertionError):
                w.add_image("bad", chw, 0, dataformats="HWC1")


def test_audio_and_custom_scalars(tmp_path, rng, capsys):
    loud = rng.standard_normal(40) * 1.5  # partly outside [-1, 1]: clipped, with torch's notice
    quiet = rng.uniform(-1, 1, (1, 30)).astype(np.float32)

    def calls(w, lib):
        w.add_audio("loud", loud, 2, sample_rate=8000)
        w.add_audio("quiet", lib.tensor(quiet), 3)
        w.add_custom_scalars({"Taiwan": {"twse": ["Multiline", ["twse/0050", "twse/2330"]]},
                              "USA": {"dow": ["Margin", ["dow/aaa", "dow/bbb", "dow/ccc"]],
                                      "nasdaq": ["Margin", ["nasdaq/aaa", "nasdaq/bbb", "nasdaq/ccc"]]}})
        w.add_custom_scalars_multilinechart(["a", "b"], category="cat", title="t")
        w.add_custom_scalars_marginchart(["v", "lo", "hi"])

    assert_same_runs(tmp_path, calls)
    out = capsys.readouterr().out
    assert out.count("warning: audio amplitude out of range, auto clipped.") == 2  # torch's, then jtorch's


def test_pr_curves(tmp_path, rng):
    labels = rng.integers(0, 2, 40)
    preds = rng.random(40)
    weights = rng.random(40)

    def calls(w, lib):
        w.add_pr_curve("pr", lib.tensor(labels), lib.tensor(preds), 0)
        w.add_pr_curve("pr_few", labels, preds, 1, num_thresholds=7, weights=weights)
        w.add_pr_curve("pr_cap", labels, preds, 2, num_thresholds=500)
        w.add_pr_curve_raw("raw", [3, 2], [1, 1], [0, 1], [0, 1], [0.75, 0.66], [1.0, 0.66], 3, num_thresholds=2)

    assert_same_runs(tmp_path, calls)


def test_hparams(tmp_path, rng):
    lr = float(rng.random())

    def calls(w, lib):
        w.add_hparams({"lr": lr, "bsize": 16, "opt": "adam", "nesterov": True, "t": lib.tensor([0.5])},
                      {"hparam/accuracy": 0.75, "hparam/loss": lr}, run_name="trial")
        w.add_hparams({"lr": lr, "opt": "sgd"}, {"hparam/accuracy": 0.5},
                      hparam_domain_discrete={"opt": ["sgd", "adam"]}, global_step=3)

    assert_same_runs(tmp_path, calls)
    with TorchWriter(str(tmp_path / "te")) as tw, SummaryWriter(str(tmp_path / "je")) as jw:
        for w in (tw, jw):
            with pytest.raises(TypeError):
                w.add_hparams([1], {})
            with pytest.raises(ValueError):
                w.add_hparams({"x": [1, 2]}, {"m": 1.0})


def test_embedding_files(tmp_path, rng):
    mat = rng.standard_normal((5, 3)).astype(np.float32)
    label_img = rng.random((5, 3, 4, 4)).astype(np.float32)

    def calls(w, lib):
        w.add_embedding(lib.tensor(mat), metadata=list("abcde"), label_img=lib.tensor(label_img), global_step=2)
        w.add_embedding(mat, metadata=[[i, c] for i, c in enumerate("vwxyz")], metadata_header=["n", "c"],
                        tag="pairs")
        w.add_embedding(mat[:2])

    t, j = write_both(tmp_path, calls)
    files = sorted(os.path.relpath(p, t) for p in glob.glob(os.path.join(t, "**", "*"), recursive=True)
                   if os.path.isfile(p) and "tfevents" not in p)
    assert files == sorted(os.path.relpath(p, j) for p in glob.glob(os.path.join(j, "**", "*"), recursive=True)
                           if os.path.isfile(p) and "tfevents" not in p)
    for f in files:
        a, b = os.path.join(t, f), os.path.join(j, f)
        if f.endswith(".png"):
            assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b))), f
        else:
            assert open(a).read() == open(b).read(), f
    with TorchWriter(str(tmp_path / "te")) as tw, SummaryWriter(str(tmp_path / "je")) as jw:
        for w in (tw, jw):
            with pytest.raises(AssertionError):
                w.add_embedding(mat, metadata=["a"])


def test_default_log_dir_and_lifetime(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_lr0.1")
    assert re.fullmatch(r"runs/[A-Z][a-z]{2}\d\d_\d\d-\d\d-\d\d_" + re.escape(__import__("socket").gethostname())
                        + "_lr0.1", w.log_dir.replace(os.sep, "/"))
    assert w.get_logdir() == w.log_dir
    w.add_scalar("x", 1.0, 0)
    w.close()
    w.close()  # closing twice is fine, as in torch
    (path,) = glob.glob(os.path.join(w.log_dir, "*tfevents*"))
    events = [event_pb2.Event.FromString(r) for r in RawEventFileLoader(path).Load()]
    assert [e.summary.value[0].simple_value for e in events[1:]] == [1.0]
    # queued events reach the file at flush(), before close
    w2 = SummaryWriter("flushed", max_queue=100)
    w2.add_scalar("y", 2.0, 1)
    (p2,) = glob.glob("flushed/*tfevents*")
    assert len(list(RawEventFileLoader(p2).Load())) == 1  # only the file-version event so far
    w2.flush()
    assert len(list(RawEventFileLoader(p2).Load())) == 2
    w2.close()


def test_add_graph_warns(tmp_path):
    model = jtorch.nn.Linear(3, 2)
    with SummaryWriter(str(tmp_path)) as w, pytest.warns(UserWarning, match="no graph"):
        w.add_graph(model, jtorch.randn(1, 3))


def test_figure_needs_matplotlib(tmp_path):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with SummaryWriter(str(tmp_path)) as w, pytest.raises(ImportError):
            w.add_figure("f", object())
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def figure(k):
        fig = plt.figure(figsize=(1, 1))
        plt.plot([0, 1], [k, 0])
        return fig

    def calls(w, lib):
        w.add_figure("fig", figure(1), 0)
        w.add_figure("figs", [figure(1), figure(2), figure(3)], 1)

    assert_same_runs(tmp_path, calls)


def test_works_without_tensorboard_package(tmp_path, monkeypatch):
    """Unlike torch's, jtorch's writer needs no ``tensorboard`` package (only viewing the logs does): with
    the package made unimportable every kind of summary still writes."""
    import sys

    for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")]:
        monkeypatch.setitem(sys.modules, name, None)
    with SummaryWriter(str(tmp_path)) as w:
        w.add_scalar("x", 1.0, 0)
        w.add_histogram("h", np.arange(5.0), 0)
        w.add_image("i", np.ones((3, 2, 2)), 0)
        w.add_hparams({"a": 1}, {"m": 2.0})
        w.add_embedding(np.eye(2), metadata=["p", "q"])
    monkeypatch.undo()
    (path,) = glob.glob(os.path.join(str(tmp_path), "*tfevents*"))
    assert len(list(RawEventFileLoader(path).Load())) == 4
