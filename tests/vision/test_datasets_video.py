"""VideoClips, HMDB51, UCF101 and Kinetics against torchvision's on the same small videos.

torchvision 0.28 decodes these with TorchCodec, which is not installed here. Its clip indexing,
resampling, fold selection and labels are pure Python, so the test gives it a minimal
stand-in ``torchcodec`` on top of PyAV (frame count, average fps, frames by index, audio by
time) and compares everything else with torchvision's own code."""
import csv
import os
import pickle
import sys
import tarfile
import types
import warnings

import av  # in the "test" extra: these tests never skip for want of it
import numpy as np
import pytest

import jtorch
import jtorch.vision.datasets as JD
from jtorch.vision.datasets.video_utils import VideoClips, unfold
from tv import torchvision

tv = torchvision()
import torch  # noqa: E402  (after tv.py has prepared it)
from torchvision.datasets import video_utils as tv_video_utils  # noqa: E402


# ---- a stand-in torchcodec for torchvision (PyAV underneath) -----------------------------------

class _Metadata:
    def __init__(self, num_frames, average_fps):
        self.num_frames, self.average_fps = num_frames, average_fps


class _Frames:
    def __init__(self, data):
        self.data = data


class _VideoDecoder:
    def __init__(self, path, dimension_order="NCHW"):
        with av.open(path) as container:
            stream = container.streams.video[0]
            frames = sorted(container.decode(stream), key=lambda f: f.pts)
            self._frames = [f.to_rgb().to_ndarray() for f in frames]
            self.metadata = _Metadata(len(frames), float(stream.average_rate))
        self._order = dimension_order

    def get_frames_at(self, indices):
        data = np.stack([self._frames[i] for i in indices])
        return _Frames(torch.from_numpy(data if self._order == "NHWC" else data.transpose(0, 3, 1, 2).copy()))


class _AudioDecoder:
    def __init__(self, path):
        with av.open(path) as container:
            if not container.streams.audio:
                raise ValueError("no audio stream")
            stream = container.streams.audio[0]
            self._rate = stream.rate
            chunks = [(float(f.pts * f.time_base), f.to_ndarray()) for f in container.decode(stream)]
        self._chunks = chunks

    def get_samples_played_in_range(self, start_seconds, stop_seconds):
        kept = []
        for begin, samples in self._chunks:
            times = begin + np.arange(samples.shape[1]) / self._rate
            kept.append(samples[:, (times >= start_seconds) & (times < stop_seconds)])
        return _Frames(torch.from_numpy(np.concatenate(kept, axis=1).astype(np.float32)))


@pytest.fixture
def fake_torchcodec(monkeypatch):
    module = types.SimpleNamespace(decoders=types.SimpleNamespace(VideoDecoder=_VideoDecoder,
                                                                  AudioDecoder=_AudioDecoder))
    monkeypatch.setitem(sys.modules, "torchcodec", module)


# ---- small videos ------------------------------------------------------------------------------

def _write_video(path, rng, num_frames, fps, codec="mpeg4", audio_rate=None):
    """A random RGB video (16x16) written with PyAV, optionally with a mono AAC track."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with av.open(path, mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width = stream.height = 16
        stream.pix_fmt = "yuv420p"
        if audio_rate is not None:
            audio = container.add_stream("aac", rate=audio_rate)
            samples = (rng.standard_normal((1, audio_rate * num_frames // fps)) * 0.1).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = audio_rate
            container.mux(audio.encode(frame))
            container.mux(audio.encode())
        for pixels in rng.integers(0, 256, (num_frames, 16, 16, 3), dtype=np.uint8):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode())


def _same_tensor(j, t):
    assert isinstance(j, jtorch.Tensor), type(j)
    assert str(j.dtype) == str(t.dtype) and tuple(j.shape) == tuple(t.shape), (j.dtype, j.shape, t.dtype, t.shape)
    np.testing.assert_array_equal(j.numpy(), t.numpy())


def _same_clips(j, t):
    """The same metadata and clips, clip by clip (both VideoClips)."""
    assert j.video_paths == t.video_paths and j.video_fps == t.video_fps
    for a, b in zip(j.video_pts, t.video_pts, strict=True):
        _same_tensor(a, b)
    assert j.num_clips() == t.num_clips() and j.num_videos() == t.num_videos() and len(j) == len(t)
    assert j.cumulative_sizes == t.cumulative_sizes
    for a, b in zip(j.clips, t.clips, strict=True):
        _same_tensor(a, b)
    for a, b in zip(j.resampling_idxs, t.resampling_idxs, strict=True):
        if isinstance(b, torch.Tensor):
            _same_tensor(a, b)
        else:
            assert a == b


def _same_item(j, t):
    assert len(j) == len(t)
    for a, b in zip(j, t):
        if isinstance(b, torch.Tensor):
            _same_tensor(a, b)
        else:
            assert a == b, (a, b)


@pytest.fixture(scope="module")
def clip_videos(tmp_path_factory):
    rng = np.random.default_rng(3)
    root = tmp_path_factory.mktemp("clips")
    paths = [str(root / "a.avi"), str(root / "b.mp4"), str(root / "c.avi")]
    _write_video(paths[0], rng, 8, 8)
    _write_video(paths[1], rng, 10, 10, codec="libx264", audio_rate=8000)
    _write_video(paths[2], rng, 3, 6)  # too short for most clip lengths
    return paths


def test_unfold_matches_torchvision(rng):
    values = rng.integers(0, 100, 13)
    for size, step, dilation in [(4, 1, 1), (3, 2, 1), (2, 3, 2), (13, 1, 1), (14, 1, 1), (3, 5, 3)]:
        _same_tensor(unfold(jtorch.from_numpy(values), size, step, dilation),
                     tv_video_utils.unfold(torch.from_numpy(values), size, step, dilation))
    with pytest.raises(ValueError):
        unfold(jtorch.zeros(2, 2), 1, 1)


@pytest.mark.parametrize("num_frames,step,frame_rate", [(4, 2, None), (3, 1, 5), (2, 3, 4), (5, 2, 12)])
def test_video_clips_match_torchvision(clip_videos, fake_torchcodec, num_frames, step, frame_rate):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the short video has no clip
        ours = VideoClips(clip_videos, num_frames, step, frame_rate, num_workers=0)
        theirs = tv_video_utils.VideoClips(clip_videos, num_frames, step, frame_rate, num_workers=0)
    _same_clips(ours, theirs)
    for idx in range(ours.num_clips()):
        assert ours.get_clip_location(idx) == theirs.get_clip_location(idx)
    for idx in sorted({0, ours.num_clips() // 2, ours.num_clips() - 1}):
        _same_item(ours.get_clip(idx), theirs.get_clip(idx))
    with pytest.raises(IndexError):
        ours.get_clip(ours.num_clips())


def test_video_clips_recompute_subset_pickle(clip_videos, fake_torchcodec):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = VideoClips(clip_videos, 3, 2, output_format="tchw", num_workers=0)
        theirs = tv_video_utils.VideoClips(clip_videos, 3, 2, output_format="tchw", num_workers=0)
        _same_item(ours.get_clip(4), theirs.get_clip(4))  # TCHW frames, and the audio of video b
        assert ours.get_clip(4)[1].shape[1] > 0
        ours.compute_clips(2, 1, 7)
        theirs.compute_clips(2, 1, 7)
        _same_clips(ours, theirs)
        _same_clips(ours.subset([2, 0]), theirs.subset([2, 0]))
        again = pickle.loads(pickle.dumps(ours))
        _same_clips(again, theirs)
        precomputed = VideoClips(clip_videos, 2, 1, 7, _precomputed_metadata=ours.metadata, num_workers=0)
        _same_clips(precomputed, theirs)
    with pytest.raises(ValueError):
        VideoClips(clip_videos, 2, output_format="HWC", num_workers=0)


def test_clip_samplers(clip_videos, fake_torchcodec):
    from torchvision.datasets import samplers as tv_samplers
    from jtorch.vision.datasets import samplers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = VideoClips(clip_videos, 3, 1, num_workers=0)
        theirs = tv_video_utils.VideoClips(clip_videos, 3, 1, num_workers=0)
    for per_video in (1, 2, 7):
        uniform = samplers.UniformClipSampler(ours, per_video)
        expected = tv_samplers.UniformClipSampler(theirs, per_video)
        assert list(uniform) == list(expected) and len(uniform) == len(expected)
        randomly = samplers.RandomClipSampler(ours, per_video)
        picked = list(randomly)
        assert len(picked) == len(randomly) == len(tv_samplers.RandomClipSampler(theirs, per_video))
        assert len(set(picked)) == len(picked)
        for video in range(ours.num_videos()):  # at most per_video clips of each video
            start = ours.cumulative_sizes[video - 1] if video else 0
            mine = [i for i in picked if start <= i < ours.cumulative_sizes[video]]
            assert len(mine) == min(per_video, len(ours.clips[video]))
    with pytest.raises(TypeError):
        samplers.UniformClipSampler(theirs, 2)

    dataset = list(range(14))
    inner = tv_samplers.UniformClipSampler(theirs, 2)
    for replicas, group in [(4, 1), (4, 2), (3, 7), (5, 1)]:
        for rank in range(replicas):
            mine = samplers.DistributedSampler(dataset, replicas, rank, group_size=group)
            expected = tv_samplers.DistributedSampler(dataset, replicas, rank, group_size=group)
            assert list(mine) == list(expected) and len(mine) == len(expected)
        shuffled = [list(samplers.DistributedSampler(dataset, replicas, r, shuffle=True, group_size=group))
                    for r in range(replicas)]
        assert sorted(set(sum(shuffled, []))) == dataset and all(len(s) == len(mine) for s in shuffled)
    sampler_of_sampler = samplers.DistributedSampler(samplers.UniformClipSampler(ours, 2), 2, 1)
    assert list(sampler_of_sampler) == list(tv_samplers.DistributedSampler(inner, 2, 1))
    with pytest.raises(ValueError):
        samplers.DistributedSampler(dataset, 2, 0, group_size=4)


# ---- the datasets ------------------------------------------------------------------------------

def _class_tree(root, rng, layout, ext):
    """root/<class>/<name>.<ext> for {class: [(name, frames, fps)]}."""
    for cls, videos in layout.items():
        for name, frames, fps in videos:
            _write_video(os.path.join(root, cls, f"{name}.{ext}"), rng, frames, fps)


def _same_dataset(ours, theirs, items=None):
    assert ours.classes == theirs.classes
    assert [(os.fspath(p), c) for p, c in ours.samples] == [(os.fspath(p), c) for p, c in theirs.samples]
    assert len(ours) == len(theirs)
    _same_clips(ours.video_clips, theirs.video_clips)
    assert ours.metadata["video_paths"] == theirs.metadata["video_paths"]
    for idx in items if items is not None else range(len(theirs)):
        _same_item(ours[idx], theirs[idx])


_LAYOUT = {"brush_hair": [("b1", 8, 8), ("b2", 6, 6)], "cartwheel": [("c1", 9, 8), ("c2", 8, 8)]}


def test_hmdb51(tmp_path, rng, fake_torchcodec):
    root, splits = tmp_path / "videos", tmp_path / "splits"
    _class_tree(root, rng, _LAYOUT, "avi")
    splits.mkdir()
    for fold in (1, 2, 3):
        for cls, videos in _LAYOUT.items():
            lines = [f"{name}.avi {1 + (i + fold) % 2}" for i, (name, _, _) in enumerate(videos)]
            lines.append("not_downloaded.avi 0")  # tag 0: in neither split
            (splits / f"{cls}_test_split{fold}.txt").write_text("\n".join(lines) + "\n")
    for fold, train in [(1, True), (1, False), (2, True), (3, False)]:
        kwargs = dict(frames_per_clip=4, step_between_clips=2, fold=fold, train=train)
        ours = JD.HMDB51(str(root), str(splits), **kwargs)  # 1 worker: read in this process
        theirs = tv.datasets.HMDB51(str(root), str(splits), num_workers=0, **kwargs)
        assert ours.indices == theirs.indices and (ours.fold, ours.train) == (fold, train)
        _same_dataset(ours, theirs, items=range(min(len(theirs), 3)))
    ours = JD.HMDB51(str(root), str(splits), 3, frame_rate=4, train=False, output_format="TCHW",
                     transform=lambda v: v[:, :1], num_workers=0)
    theirs = tv.datasets.HMDB51(str(root), str(splits), 3, frame_rate=4, train=False, output_format="TCHW",
                                transform=lambda v: v[:, :1], num_workers=0)
    _same_dataset(ours, theirs)
    with pytest.raises(ValueError):
        JD.HMDB51(str(root), str(splits), 4, fold=4)


def test_ucf101(tmp_path, rng, fake_torchcodec):
    layout = {"ApplyEyeMakeup": [("v_ApplyEyeMakeup_g01_c01", 8, 8), ("v_ApplyEyeMakeup_g02_c01", 7, 7)],
              "Archery": [("v_Archery_g01_c01", 9, 9)]}
    root, lists = tmp_path / "UCF-101", tmp_path / "ucfTrainTestlist"
    _class_tree(root, rng, layout, "avi")
    lists.mkdir()
    names = [f"{cls}/{name}.avi" for cls, videos in layout.items() for name, _, _ in videos]
    (lists / "trainlist01.txt").write_text(f"{names[0]} 1\n{names[2]} 2\n")
    (lists / "testlist01.txt").write_text(f"{names[1]}\n")
    (lists / "trainlist02.txt").write_text(f"{names[1]} 1\n")
    for fold, train in [(1, True), (1, False), (2, True)]:
        kwargs = dict(frames_per_clip=3, step_between_clips=3, fold=fold, train=train, num_workers=0)
        ours = JD.UCF101(str(root), str(lists), **kwargs)
        theirs = tv.datasets.UCF101(str(root), str(lists), **kwargs)
        assert ours.indices == theirs.indices
        _same_dataset(ours, theirs, items=range(min(len(theirs), 3)))
    with pytest.raises(ValueError):
        JD.UCF101(str(root), str(lists), 3, fold=0)
    with pytest.raises(FileNotFoundError):
        JD.UCF101(str(root), str(lists), 3, fold=3, num_workers=0)  # no list file for fold 3


def test_kinetics(tmp_path, rng, fake_torchcodec):
    root = tmp_path / "kinetics"
    _class_tree(root / "val", rng, {"abseiling": [("x1", 8, 8)], "archery": [("y1", 6, 6), ("y2", 8, 8)]}, "mp4")
    _write_video(str(root / "val" / "archery" / "y3.mp4"), rng, 8, 8, codec="libx264", audio_rate=8000)
    (root / "val" / "archery" / "notes.txt").write_text("not a video")
    kwargs = dict(frames_per_clip=4, step_between_clips=4, split="val", num_workers=0)
    ours, theirs = JD.Kinetics(str(root), **kwargs), tv.datasets.Kinetics(str(root), **kwargs)
    _same_dataset(ours, theirs)
    assert ours.split_folder == theirs.split_folder and ours[0][0].shape[1] == 3  # TCHW by default
    ours = JD.Kinetics(str(root / "val"), 3, frame_rate=4, _legacy=True, num_workers=0, extensions=("mp4",))
    theirs = tv.datasets.Kinetics(str(root / "val"), 3, frame_rate=4, _legacy=True, num_workers=0,
                                  extensions=("mp4",))
    _same_dataset(ours, theirs)
    assert ours[0][0].shape[-1] == 3  # the legacy layout is read as THWC
    with pytest.raises(ValueError):
        JD.Kinetics(str(root), 4, num_classes="500", split="val")
    with pytest.raises(ValueError):
        JD.Kinetics(str(root), 4, split="validation")
    with pytest.raises(ValueError):
        JD.Kinetics(str(root / "val"), 4, _legacy=True, download=True)


def test_kinetics_download(tmp_path, rng, fake_torchcodec, monkeypatch):
    """The download path, served from file:// URLs in the official layout: a list of archive
    URLs, archives of <ytid>_<start>_<end>.mp4 videos, and the annotation CSV."""
    server = tmp_path / "server"
    rows = [("abc", 10, 20, "riding a bike"), ("def", 0, 10, "riding a bike"), ("ghi", 5, 15, "playing (cards)")]
    archives = []
    for part, chunk in enumerate([rows[:2], rows[2:]]):
        archive = server / f"part {part}.tar.gz"  # a space: the URLs are quoted as torchvision does
        os.makedirs(server, exist_ok=True)
        with tarfile.open(archive, "w:gz") as tar:
            for ytid, start, end, _ in chunk:
                video = server / "raw" / f"{ytid}_{start:06}_{end:06}.mp4"
                _write_video(str(video), rng, 8, 8)
                tar.add(video, arcname=video.name)
        archives.append(f"file://{archive}")
    (server / "k400_train_path.txt").write_text("\n".join(archives) + "\n")
    with open(server / "train.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
        for ytid, start, end, label in rows:
            writer.writerow([label, ytid, start, end, "train"])
    monkeypatch.setattr(JD.Kinetics, "_TAR_URLS", {"400": f"file://{server}/k400_{{split}}_path.txt"})
    monkeypatch.setattr(JD.Kinetics, "_ANNOTATION_URLS", {"400": f"file://{server}/{{split}}.csv"})

    root = tmp_path / "data"
    ours = JD.Kinetics(str(root), 4, step_between_clips=4, download=True, num_workers=0)
    assert sorted(os.listdir(root)) == ["annotations", "files", "tars", "train"]
    assert sorted(os.listdir(root / "train")) == ["playing_cards", "riding_a_bike"]
    assert sorted(os.listdir(root / "train" / "riding_a_bike")) == ["abc_000010_000020.mp4", "def_000000_000010.mp4"]
    theirs = tv.datasets.Kinetics(str(root), 4, step_between_clips=4, num_workers=0)
    _same_dataset(ours, theirs)
    assert [label for _, _, label in (ours[i] for i in range(len(ours)))] == [0, 0, 1, 1, 1, 1]
    # once the split folder exists nothing is fetched again
    monkeypatch.setattr(JD.Kinetics, "_TAR_URLS", {"400": "file:///nonexistent/{split}.txt"})
    again = JD.Kinetics(str(root), 4, step_between_clips=4, download=True, num_workers=0)
    assert len(again) == len(ours)
