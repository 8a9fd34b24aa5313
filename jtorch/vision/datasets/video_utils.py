"""VideoClips: every clip of ``clip_length_in_frames`` frames, ``frames_between_clips`` apart, of a
list of videos (torchvision.datasets.video_utils). As in torchvision 0.28, a video's "pts" are
its frame indices 0..N-1 and its fps the stream's average frame rate."""
import bisect
import math
import warnings

import numpy as np

import jtorch as torch
from jtorch.utils.data import DataLoader
from ..io.video import _audio_between, _count_frames, _decode_frame_range


def unfold(tensor, size, step, dilation=1):
    """All windows of ``size`` elements of a 1-D tensor, ``step`` apart, their elements
    ``dilation`` apart: a (num_windows, size) tensor (no windows: (0, size))."""
    if tensor.dim() != 1:
        raise ValueError(f"tensor should have 1 dimension instead of {tensor.dim()}")
    span = dilation * (size - 1) + 1
    count = max((tensor.numel() - span) // step + 1, 0)
    index = np.arange(count)[:, None] * step + np.arange(size)[None, :] * dilation
    return tensor[torch.from_numpy(index.reshape(-1))].reshape(count, size)


class _VideoFrameCounts:
    """(frame indices, fps) of each video: a dataset, so that a DataLoader's workers can share them."""

    def __init__(self, video_paths):
        self.video_paths = video_paths

    def __len__(self):
        return len(self.video_paths)

    def __getitem__(self, idx):
        count, fps = _count_frames(self.video_paths[idx])
        return list(range(count)), fps


def _as_is(batch):
    return batch


class VideoClips:
    """Clips of a list of videos. ``frame_rate`` resamples every video to that rate first (clips
    then count resampled frames); ``output_format`` is "THWC" or "TCHW". The metadata (frame
    indices and fps per video) can be kept and passed back as ``_precomputed_metadata``."""

    def __init__(self, video_paths, clip_length_in_frames=16, frames_between_clips=1, frame_rate=None,
                 _precomputed_metadata=None, num_workers=0, _video_width=0, _video_height=0,
                 _video_min_dimension=0, _video_max_dimension=0, _audio_samples=0, _audio_channels=0,
                 output_format="THWC"):
        self.video_paths = video_paths
        self.num_workers = num_workers
        # accepted for torchvision's signature; the PyAV decoding here does not resize
        self._video_width = _video_width
        self._video_height = _video_height
        self._video_min_dimension = _video_min_dimension
        self._video_max_dimension = _video_max_dimension
        self._audio_samples = _audio_samples
        self._audio_channels = _audio_channels
        self.output_format = output_format.upper()
        if self.output_format not in ("THWC", "TCHW"):
            raise ValueError(f"output_format should be either 'THWC' or 'TCHW', got {output_format}.")
        if _precomputed_metadata is None:
            self._compute_frame_pts()
        else:
            self._init_from_metadata(_precomputed_metadata)
        self.compute_clips(clip_length_in_frames, frames_between_clips, frame_rate)

    def _compute_frame_pts(self):
        self.video_pts, self.video_fps = [], []
        # one worker process cannot overlap anything with the waiting main process: read here then
        workers = self.num_workers if self.num_workers > 1 else 0
        loader = DataLoader(_VideoFrameCounts(self.video_paths), batch_size=16, num_workers=workers,
                            collate_fn=_as_is)
        for batch in loader:
            for pts, fps in batch:
                self.video_pts.append(torch.as_tensor(pts, dtype=torch.long))  # long even when empty
                self.video_fps.append(fps)

    def _init_from_metadata(self, metadata):
        self.video_paths = metadata["video_paths"]
        self.video_pts = metadata["video_pts"]
        self.video_fps = metadata["video_fps"]
        if not len(self.video_paths) == len(self.video_pts) == len(self.video_fps):
            raise ValueError("the precomputed metadata must have one entry per video in each of "
                             "video_paths, video_pts and video_fps")

    @property
    def metadata(self):
        return {"video_paths": self.video_paths, "video_pts": self.video_pts, "video_fps": self.video_fps}

    def subset(self, indices):
        """A VideoClips of the videos at ``indices``, with the same clip settings (nothing is re-read)."""
        metadata = {key: [values[i] for i in indices] for key, values in self.metadata.items()}
        return type(self)(metadata["video_paths"], clip_length_in_frames=self.num_frames,
                          frames_between_clips=self.step, frame_rate=self.frame_rate,
                          _precomputed_metadata=metadata, num_workers=self.num_workers,
                          _video_width=self._video_width, _video_height=self._video_height,
                          _video_min_dimension=self._video_min_dimension,
                          _video_max_dimension=self._video_max_dimension, _audio_samples=self._audio_samples,
                          _audio_channels=self._audio_channels, output_format=self.output_format)

    @staticmethod
    def _resample_video_idx(num_frames, original_fps, new_fps):
        """Which original frames make up the video at ``new_fps``: a slice for whole-number
        ratios, else an index tensor (frames repeat when upsampling)."""
        step = original_fps / new_fps
        if float(step).is_integer():
            return slice(None, None, int(step))
        return torch.from_numpy(np.floor(np.arange(num_frames, dtype=np.float32) * np.float32(step)).astype(np.int64))

    @staticmethod
    def compute_clips_for_video(video_pts, num_frames, step, fps, frame_rate=None):
        """(clips: (num_clips, num_frames) frame indices, resampling index per clip)."""
        if fps is None:
            fps = 1  # no video stream: there are no frames, any rate will do
        if frame_rate is None:
            frame_rate = fps
        resampled = int(math.floor(len(video_pts) * frame_rate / fps))
        idxs = VideoClips._resample_video_idx(resampled, fps, frame_rate)
        clips = unfold(video_pts[idxs], num_frames, step)
        if not clips.numel():
            warnings.warn("There aren't enough frames in the current video to get a clip for the given clip length "
                          "and frames between clips. The video (and potentially others) will be skipped.")
        return clips, ([idxs] * len(clips) if isinstance(idxs, slice) else unfold(idxs, num_frames, step))

    def compute_clips(self, num_frames, step, frame_rate=None):
        """Recompute the clips for another clip length, step or frame rate (fast: no decoding)."""
        self.num_frames, self.step, self.frame_rate = num_frames, step, frame_rate
        self.clips, self.resampling_idxs = [], []
        for video_pts, fps in zip(self.video_pts, self.video_fps):
            clips, idxs = self.compute_clips_for_video(video_pts, num_frames, step, fps, frame_rate)
            self.clips.append(clips)
            self.resampling_idxs.append(idxs)
        self.cumulative_sizes = np.cumsum([len(c) for c in self.clips]).tolist()

    def __len__(self):
        return self.num_clips()

    def num_videos(self):
        return len(self.video_paths)

    def num_clips(self):
        return self.cumulative_sizes[-1]

    def get_clip_location(self, idx):
        """(video index, clip index within that video) of clip ``idx``."""
        video_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        return video_idx, idx - (self.cumulative_sizes[video_idx - 1] if video_idx else 0)

    def get_clip(self, idx):
        """(video, audio (channels, samples), {"video_fps"}, video index) of clip ``idx``."""
        if idx >= self.num_clips():
            raise IndexError(f"Index {idx} out of range ({self.num_clips()} number of clips)")
        video_idx, clip_idx = self.get_clip_location(idx)
        path = self.video_paths[video_idx]
        clip = self.clips[video_idx][clip_idx]
        first, last = int(clip[0].item()), int(clip[-1].item())
        video, fps = _decode_frame_range(path, first, last, self.output_format)
        audio = _audio_between(path, first / fps, (last + 1) / fps)
        info = {"video_fps": fps}
        if self.frame_rate is not None:
            resampling = self.resampling_idxs[video_idx][clip_idx]
            if isinstance(resampling, torch.Tensor):
                resampling = resampling - resampling[0]
            video = video[resampling]
            info["video_fps"] = self.frame_rate
        if len(video) != self.num_frames:
            raise RuntimeError(f"decoded {tuple(video.shape)} for a clip of {self.num_frames} frames of {path}")
        return video, audio, info, video_idx

    def __getstate__(self):
        # the clips are recomputed on unpickling: only the frame indices travel, as one array
        state = self.__dict__.copy()
        state["video_pts_sizes"] = [len(v) for v in self.video_pts]
        pts = [np.asarray(v.numpy(), dtype=np.int64) for v in self.video_pts]
        state["video_pts"] = np.concatenate(pts) if pts else []
        for derived in ("clips", "resampling_idxs", "cumulative_sizes"):
            del state[derived]
        state["_version"] = 2
        return state

    def __setstate__(self, state):
        if "_version" not in state:
            self.__dict__ = state
            return
        pts = np.asarray(state.pop("video_pts"), dtype=np.int64)
        sizes = state.pop("video_pts_sizes")
        bounds = np.cumsum([0] + sizes)
        state["video_pts"] = [torch.from_numpy(pts[a:b].copy()) for a, b in zip(bounds[:-1], bounds[1:])]
        self.__dict__ = state
        self.compute_clips(self.num_frames, self.step, self.frame_rate)
