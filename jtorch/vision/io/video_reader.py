"""VideoReader: frame-by-frame iteration over one stream of a video (torchvision's PyAV backend)."""
import io
import os
import warnings

import numpy as np

import jtorch as torch
from .video import _av


def _parse_stream(stream):
    """'video' or 'audio:1' -> {'video': 0} / {'audio': 1}."""
    kind, _, index = stream.partition(":")
    return {kind: int(index) if index else 0}


class VideoReader:
    """Iterate the frames of ``src`` (a path, or the file's bytes as a uint8 1-D tensor) in one
    stream. Each item is ``{"data": tensor, "pts": seconds}``: video frames as uint8 (3, H, W),
    audio frames as float (samples, channels)."""

    def __init__(self, src, stream="video", num_threads=0):
        av = _av()
        if isinstance(src, torch.Tensor):
            if src.dtype != torch.uint8 or src.dim() != 1:
                raise ValueError("VideoReader takes a path, or the file's bytes as a uint8 1-D tensor")
            src = io.BytesIO(src.numpy().tobytes())
        elif isinstance(src, bytes):
            src = io.BytesIO(src)
        elif isinstance(src, (str, os.PathLike)):
            src = os.fspath(src)
        else:
            raise TypeError(f"`src` must be either string, Tensor or bytes object. Got {type(src)}")
        self.container = av.open(src, metadata_errors="ignore")
        self.num_threads = num_threads
        self.set_current_stream(stream)

    def __iter__(self):
        return self

    def __next__(self):
        frame = next(self._frames)  # StopIteration ends the iteration
        pts = float(frame.pts * frame.time_base)
        if "video" in self._stream:
            data = torch.from_numpy(np.ascontiguousarray(frame.to_rgb().to_ndarray().transpose(2, 0, 1)))
        elif "audio" in self._stream:
            data = torch.from_numpy(np.ascontiguousarray(frame.to_ndarray().T))
        else:
            data = None
        return {"data": data, "pts": pts}

    def _current(self):
        kind, index = next(iter(self._stream.items()))
        return self.container.streams.get(**{kind: index})[0]

    def seek(self, time_s, keyframes_only=False):
        """Continue from the key frame at or before ``time_s`` seconds."""
        stream = self._current()
        offset = int(round(time_s / stream.time_base))
        if not keyframes_only:
            warnings.warn("Accurate seek is not implemented for pyav backend")
        self.container.seek(offset, backward=True, any_frame=False, stream=stream)
        self._frames = self.container.decode(**self._stream)
        return self

    def get_metadata(self):
        """{'video': {'fps': [...], 'duration': [...]}, 'audio': {'framerate': [...], 'duration': [...]}}
        with one entry per stream, durations in seconds."""
        metadata = {}
        for stream in self.container.streams:
            rate_key = "fps" if stream.type == "video" else "framerate"
            entry = metadata.setdefault(stream.type, {rate_key: [], "duration": []})
            rate = getattr(stream, "average_rate", None) or getattr(stream, "sample_rate", None)
            duration = stream.duration * stream.time_base if stream.duration is not None else 0
            entry["duration"].append(float(duration))
            entry[rate_key].append(float(rate) if rate is not None else float("nan"))
        return metadata

    def set_current_stream(self, stream):
        """Switch to ``stream`` ('video', 'audio', 'video:1', ...), from its beginning."""
        self._stream = _parse_stream(stream)
        self.container.seek(0)  # the demuxer may be at the end of the file after another stream
        self._frames = self.container.decode(**self._stream)
        return True

    def close(self):
        self.container.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
