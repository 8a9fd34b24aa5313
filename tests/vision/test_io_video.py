"""jtorch.vision.io video functions on small videos written here. torchvision 0.28's read_video and
write_video live in a Meta-internal module (tv.py imports torchvision, but torchvision.io has no
video functions), so the oracle is PyAV decoding the same files directly."""
import os
import sys
import warnings
from fractions import Fraction

import av  # in the "test" extra: these tests never skip for want of it
import numpy as np
import pytest

import jtorch
import jtorch.vision
import jtorch.vision.io as tio
from tv import torchvision



def _av_frames(path):
    """[(pts, time_base, rgb HWC)] of the first video stream, in presentation order."""
    with av.open(path) as container:
        frames = [(f.pts, f.time_base, f.to_rgb().to_ndarray()) for f in container.decode(video=0)]
    return sorted(frames, key=lambda f: f[0])


def _av_audio(path):
    with av.open(path) as container:
        return [(f.pts, f.to_ndarray()) for f in container.decode(audio=0)]


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """A lossless RGB video (libx264rgb, 8 frames, 8 fps) and an mpeg4 one with an AAC track."""
    rng = np.random.default_rng(7)
    root = tmp_path_factory.mktemp("videos")
    pixels = rng.integers(0, 256, (8, 16, 24, 3), dtype=np.uint8)
    lossless = str(root / "lossless.mp4")
    tio.write_video(lossless, jtorch.from_numpy(pixels), 8, video_codec="libx264rgb", options={"crf": "0"})
    audio = (rng.standard_normal((2, 8000)) * 0.1).astype(np.float32)
    with_audio = str(root / "audio.mp4")
    tio.write_video(with_audio, pixels, 8.0, video_codec="mpeg4", audio_array=jtorch.from_numpy(audio),
                    audio_fps=8000, audio_codec="aac")
    return {"pixels": pixels, "lossless": lossless, "audio": with_audio, "root": root}


def test_write_video_is_lossless_with_libx264rgb(videos):
    frames = _av_frames(videos["lossless"])
    assert len(frames) == 8
    np.testing.assert_array_equal(np.stack([f[2] for f in frames]), videos["pixels"])
    with av.open(videos["lossless"]) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == 8 and stream.codec_context.name == "h264"
    assert sorted(os.listdir(videos["root"])) == ["audio.mp4", "lossless.mp4"]  # no temporary files left


def test_write_video_audio_track(videos):
    with av.open(videos["audio"]) as container:
        assert container.streams.video[0].codec_context.name == "mpeg4"
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "aac" and audio.rate == 8000 and audio.channels == 2
    assert len(_av_frames(videos["audio"])) == 8


def test_read_video_whole(videos):
    with pytest.warns(UserWarning, match="pts_unit 'pts'"):
        video, audio, info = tio.read_video(videos["lossless"])
    assert str(video.dtype) == "torch.uint8" and tuple(video.shape) == (8, 16, 24, 3)
    np.testing.assert_array_equal(video.numpy(), videos["pixels"])
    assert str(audio.dtype) == "torch.float32" and tuple(audio.shape) == (1, 0)
    assert info == {"video_fps": 8.0}
    tchw, _, _ = tio.read_video(videos["lossless"], pts_unit="sec", output_format="tchw")
    np.testing.assert_array_equal(tchw.numpy(), videos["pixels"].transpose(0, 3, 1, 2))

    video, audio, info = tio.read_video(videos["audio"], pts_unit="sec")
    np.testing.assert_array_equal(video.numpy(), np.stack([f[2] for f in _av_frames(videos["audio"])]))
    expected_audio = np.concatenate([a for _, a in _av_audio(videos["audio"])], axis=1)
    np.testing.assert_array_equal(audio.numpy(), expected_audio)
    assert info == {"video_fps": 8.0, "audio_fps": 8000}


def _expected_range(frames, start, end):
    """Frames with start <= pts <= end, led by the one before ``start`` if none starts there."""
    kept = [f for f in frames if start <= f[0] <= end]
    before = [f for f in frames if f[0] < start]
    if start > 0 and before and all(f[0] != start for f in frames):
        kept.insert(0, before[-1])
    return np.stack([f[2] for f in kept])


def test_read_video_ranges(videos):
    frames = _av_frames(videos["lossless"])
    pts = [f[0] for f in frames]
    time_base = frames[0][1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for start, end in [(pts[2], pts[5]), (pts[2] + 1, pts[5] - 1), (pts[7], None), (0, pts[0])]:
            video, _, _ = tio.read_video(videos["lossless"], start, end)
            expected = _expected_range(frames, start, float("inf") if end is None else end)
            np.testing.assert_array_equal(video.numpy(), expected)
    for start, end in [(0.25, 0.5), (0.3, 0.6), (0.9, None)]:
        video, _, _ = tio.read_video(videos["lossless"], start, end, pts_unit="sec")
        lo = int(np.floor(start / time_base))
        hi = float("inf") if end is None else int(np.ceil(end / time_base))
        np.testing.assert_array_equal(video.numpy(), _expected_range(frames, lo, hi))


def test_read_video_audio_range(videos):
    video, audio, _ = tio.read_video(videos["audio"], 0.25, 0.5, pts_unit="sec")
    assert video.shape[0] == 3
    chunks = _av_audio(videos["audio"])
    samples = np.concatenate([a for _, a in chunks], axis=1)
    # every returned sample is a run of the decoded track, starting near 0.25 s (2000 samples in)
    n = audio.shape[1]
    starts = [i for i in range(samples.shape[1] - n + 1) if np.array_equal(samples[:, i:i + n], audio.numpy())]
    assert starts and abs(starts[0] - 2000) < 1024 and abs(n - 2000) < 2048


def test_read_video_errors(videos, tmp_path):
    with pytest.raises(ValueError):
        tio.read_video(videos["lossless"], output_format="HWCT")
    with pytest.raises(RuntimeError):
        tio.read_video(str(tmp_path / "missing.mp4"))
    with pytest.raises(ValueError):
        tio.read_video(videos["lossless"], 5, 2)
    with pytest.raises(ValueError):  # PyAV's UnknownCodecError
        tio.write_video(str(tmp_path / "bad.mp4"), np.zeros((2, 16, 16, 3), np.uint8), 8, video_codec="no-such-codec")
    assert os.listdir(tmp_path) == []  # neither the file nor its temporary
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 100)
    video, audio, info = tio.read_video(str(broken), pts_unit="sec")  # unreadable: empty, like torchvision
    assert tuple(video.shape) == (0, 1, 1, 3) and tuple(audio.shape) == (1, 0) and info == {}


def test_read_video_timestamps(videos):
    with av.open(videos["lossless"]) as container:
        stream = container.streams.video[0]
        expected = sorted(p.pts for p in container.demux(stream) if p.pts is not None)
        time_base = stream.time_base
    with pytest.warns(UserWarning):
        pts, fps = tio.read_video_timestamps(videos["lossless"])
    assert pts == expected and fps == 8.0
    seconds, _ = tio.read_video_timestamps(videos["lossless"], pts_unit="sec")
    assert seconds == [p * time_base for p in expected]
    assert all(isinstance(s, Fraction) for s in seconds) and seconds[:2] == [0, Fraction(1, 8)]


def test_video_reader(videos):
    frames = _av_frames(videos["lossless"])
    reader = tio.VideoReader(videos["lossless"])
    items = list(reader)
    assert [item["pts"] for item in items] == [float(f[0] * f[1]) for f in frames]
    for item, frame in zip(items, frames):
        np.testing.assert_array_equal(item["data"].numpy(), frame[2].transpose(2, 0, 1))
    assert reader.get_metadata() == {"video": {"fps": [8.0], "duration": [1.0]}}
    with pytest.warns(UserWarning):
        reader.seek(0.5)
    assert next(reader)["pts"] <= 0.5  # the key frame at or before 0.5 s
    reader.seek(0, keyframes_only=True)
    assert next(reader)["pts"] == 0.0
    reader.close()

    with tio.VideoReader(tio.read_file(videos["audio"]), "audio") as reader:
        chunks = _av_audio(videos["audio"])
        items = list(reader)
        assert len(items) == len(chunks)
        np.testing.assert_array_equal(items[1]["data"].numpy(), chunks[1][1].T)
        metadata = reader.get_metadata()
        assert metadata["video"]["fps"] == [8.0] and metadata["audio"]["framerate"] == [8000.0]
        reader.set_current_stream("video:0")
        assert tuple(next(reader)["data"].shape) == (3, 16, 24)


def test_video_backend():
    assert jtorch.vision.get_video_backend() == torchvision().get_video_backend() == "pyav"
    jtorch.vision.set_video_backend("pyav")
    assert jtorch.vision.get_video_backend() == "pyav"


def test_av_missing(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "av", None)
    (tmp_path / "a.mp4").write_bytes(b"\x00")
    with pytest.raises(ImportError, match="PyAV is not installed"):
        tio.read_video(str(tmp_path / "a.mp4"), pts_unit="sec")
    with pytest.raises(ImportError, match="PyAV is not installed"):
        tio.write_video(str(tmp_path / "b.mp4"), np.zeros((1, 2, 2, 3), np.uint8), 1)
