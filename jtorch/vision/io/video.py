"""Reading and writing whole videos with PyAV (torchvision.io.read_video/write_video).

PyAV is optional (``pip install jtorch[video]``): it is imported on first use, and its absence
is reported with torchvision's message.
"""
import functools
import math
import os
import re
import warnings
from fractions import Fraction

import numpy as np

import jtorch as torch
from ..._atomic import atomic_path

_NO_AV = ("PyAV is not installed, and is necessary for the video operations in torchvision.\n"
          "See https://github.com/mikeboers/PyAV#installation for instructions on how to\n"
          "install PyAV on your system.\n")


def _av():
    """The ``av`` module, imported on first use."""
    try:
        import av
    except ImportError:
        raise ImportError(_NO_AV) from None
    return av


def _av_error(av):
    return getattr(av, "AVError", None) or av.FFmpegError


# ---- writing ----------------------------------------------------------------------------------

_SAMPLE_DTYPES = {"dbl": "<f8", "dblp": "<f8", "flt": "<f4", "fltp": "<f4", "s16": "<i2", "s16p": "<i2",
                  "s32": "<i4", "s32p": "<i4", "u8": "u1", "u8p": "u1"}


def _no_picture_type(av):
    """PyAV's "no picture type": an enum member in recent PyAV, a string in older ones."""
    picture_type = getattr(av.video.frame, "PictureType", None)
    return picture_type.NONE if picture_type is not None else "NONE"


def _numpy(array, dtype=None):
    array = array.numpy() if hasattr(array, "numpy") else np.asarray(array)
    return array if dtype is None else array.astype(dtype)


def write_video(filename, video_array, fps, video_codec="libx264", options=None, audio_array=None,
                audio_fps=None, audio_codec=None, audio_options=None):
    """Write a uint8 (T, H, W, C) RGB video, and optionally a (channels, samples) audio track.

    The file is written beside ``filename`` and renamed into place once complete."""
    av = _av()
    frames = _numpy(video_array, np.uint8)
    if isinstance(fps, float):
        fps = int(np.round(fps))  # PyAV takes whole frame rates (or Fractions) only
    with atomic_path(filename) as tmp, av.open(tmp, mode="w") as container:  # format from the extension
        stream = container.add_stream(video_codec, rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "rgb24" if video_codec == "libx264rgb" else "yuv420p"
        stream.options = options or {}
        if audio_array is not None:
            _write_audio(av, container, audio_array, audio_fps, audio_codec, audio_options)
        for image in frames:
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pict_type = _no_picture_type(av)  # let the encoder choose
            container.mux(stream.encode(frame))
        container.mux(stream.encode())  # flush


def _write_audio(av, container, audio_array, audio_fps, audio_codec, audio_options):
    stream = container.add_stream(audio_codec, rate=audio_fps)
    stream.options = audio_options or {}
    samples = _numpy(audio_array)
    layout = "stereo" if samples.shape[0] > 1 else "mono"
    sample_format = stream.format.name
    samples = samples.astype(np.dtype(_SAMPLE_DTYPES[sample_format]))
    frame = av.AudioFrame.from_ndarray(samples, format=sample_format, layout=layout)
    frame.sample_rate = audio_fps
    container.mux(stream.encode(frame))
    container.mux(stream.encode())


# ---- reading ----------------------------------------------------------------------------------

def _to_stream_units(start, end, pts_unit, time_base):
    """[start, end] in the stream's time base: seconds are floored/ceiled outwards."""
    if pts_unit != "sec":
        return start, end
    start = int(math.floor(start * (1 / time_base)))
    if end != float("inf"):
        end = int(math.ceil(end * (1 / time_base)))
    return start, end


def _packs_b_frames(stream):
    """False for DivX files whose B-frames are not packed (these need no decode-ahead buffer)."""
    extradata = stream.codec_context.extradata
    if not extradata or b"DivX" not in extradata:
        return True
    tail = extradata[extradata.find(b"DivX"):]
    match = re.search(rb"DivX(\d+)Build(\d+)(\w)", tail) or re.search(rb"DivX(\d+)b(\d+)(\w)", tail)
    return True if match is None else match.group(3) == b"p"


def _read_from_stream(container, start, end, pts_unit, stream, selector):
    """The frames of ``stream`` with ``start <= pts <= end``, led by the last frame before
    ``start`` when no frame starts exactly there (that frame is still on screen at ``start``)."""
    av = _av()
    start, end = _to_stream_units(start, end, pts_unit, stream.time_base)
    buffered = stream.type == "video" and _packs_b_frames(stream)
    lookahead = 5  # frames decoded past ``end``: with B-frames, later packets carry earlier pts
    seek_to = max(start - 1, 0)
    if buffered:
        seek_to = max(seek_to - lookahead, 0)
    try:
        container.seek(seek_to, any_frame=False, backward=True, stream=stream)
    except _av_error(av):
        return []
    frames, extra = {}, 0
    try:
        for frame in container.decode(**selector):
            frames[frame.pts] = frame
            if frame.pts >= end:
                if buffered and extra < lookahead:
                    extra += 1
                    continue
                break
    except _av_error(av):
        pass  # keep what was decoded before the damage
    kept = [frames[pts] for pts in sorted(frames) if start <= pts <= end]
    if frames and start > 0 and start not in frames:
        earlier = [pts for pts in frames if pts < start]
        if earlier:
            kept.insert(0, frames[max(earlier)])
    return kept


def _trim_audio(samples, audio_frames, start, end):
    """Cut the concatenated samples of ``audio_frames`` down to the pts range [start, end]."""
    first, last = audio_frames[0].pts, audio_frames[-1].pts
    total = samples.shape[1]
    pts_per_sample = (last - first + 1) / total
    begin, stop = 0, total
    if first < start:
        begin = int((start - first) / pts_per_sample)
    if last > end:
        stop = int((end - last) / pts_per_sample)
    return samples[:, begin:stop]


def read_video(filename, start_pts=0, end_pts=None, pts_unit="pts", output_format="THWC"):
    """The video frames (uint8, THWC or TCHW), audio samples (float, (channels, samples)) and
    ``{"video_fps", "audio_fps"}`` of a file, between ``start_pts`` and ``end_pts`` inclusive."""
    output_format = output_format.upper()
    if output_format not in ("THWC", "TCHW"):
        raise ValueError(f"output_format should be either 'THWC' or 'TCHW', got {output_format}.")
    filename = os.fspath(filename)
    if not os.path.exists(filename):
        raise RuntimeError(f"File not found: {filename}")
    av = _av()
    if end_pts is None:
        end_pts = float("inf")
    if end_pts < start_pts:
        raise ValueError(f"end_pts should be larger than start_pts, got start_pts={start_pts} and end_pts={end_pts}")
    if pts_unit == "pts":
        warnings.warn("The pts_unit 'pts' gives wrong results. Please use pts_unit 'sec'.")

    info, video_frames, audio_frames, audio_time_base = {}, [], [], Fraction(0, 1)
    try:
        with av.open(filename, metadata_errors="ignore") as container:
            if container.streams.audio:
                audio_time_base = container.streams.audio[0].time_base
            if container.streams.video:
                stream = container.streams.video[0]
                video_frames = _read_from_stream(container, start_pts, end_pts, pts_unit, stream, {"video": 0})
                if stream.average_rate is not None:
                    info["video_fps"] = float(stream.average_rate)
            if container.streams.audio:
                stream = container.streams.audio[0]
                audio_frames = _read_from_stream(container, start_pts, end_pts, pts_unit, stream, {"audio": 0})
                info["audio_fps"] = stream.rate
            video = [frame.to_rgb().to_ndarray() for frame in video_frames]
            audio = [frame.to_ndarray() for frame in audio_frames]
    except _av_error(av):
        video, audio = [], []  # an unreadable file reads as empty, as in torchvision

    vframes = torch.from_numpy(np.stack(video)) if video else torch.empty((0, 1, 1, 3), dtype=torch.uint8)
    if audio:
        samples = np.concatenate(audio, axis=1)
        start, end = _to_stream_units(start_pts, end_pts, pts_unit, audio_time_base)
        aframes = torch.from_numpy(np.ascontiguousarray(_trim_audio(samples, audio_frames, start, end)))
    else:
        aframes = torch.empty((1, 0), dtype=torch.float32)
    if output_format == "TCHW":
        vframes = vframes.permute(0, 3, 1, 2)
    return vframes, aframes, info


def read_video_timestamps(filename, pts_unit="pts"):
    """The sorted pts of the first video stream's packets (Fractions of seconds with
    ``pts_unit='sec'``) and its average frame rate (None without a video stream)."""
    av = _av()
    if pts_unit == "pts":
        warnings.warn("The pts_unit 'pts' gives wrong results. Please use pts_unit 'sec'.")
    pts, fps, time_base = [], None, None
    try:
        with av.open(os.fspath(filename), metadata_errors="ignore") as container:
            if container.streams.video:
                stream = container.streams.video[0]
                time_base = stream.time_base
                try:
                    pts = sorted(p.pts for p in container.demux(video=0) if p.pts is not None)
                except _av_error(av):
                    warnings.warn(f"Failed decoding frames for file {filename}")
                if stream.average_rate is not None:
                    fps = float(stream.average_rate)
    except _av_error(av):
        warnings.warn(f"Failed to open container for {filename}; Caught error: unreadable")
    if pts_unit == "sec":
        pts = [p * time_base for p in pts]
    return pts, fps


# ---- frame-indexed access (what VideoClips needs) ---------------------------------------------

def _frame_pts(container, stream):
    """The sorted pts of every frame of ``stream``, from its packets (nothing is decoded)."""
    container.seek(0)
    pts = sorted(p.pts for p in container.demux(stream) if p.pts is not None)
    container.seek(0)
    return pts


@functools.lru_cache(maxsize=256)
def _cached_frame_pts(filename, size, mtime):
    """``_frame_pts`` of a file's first video stream, kept while the file is unchanged: every
    clip of a video needs it to find its frames."""
    with _av().open(filename, metadata_errors="ignore") as container:
        return tuple(_frame_pts(container, container.streams.video[0]))


def _count_frames(filename):
    """(number of video frames, average frame rate) of a file; (0, None) when it has no readable
    video stream."""
    av = _av()
    try:
        with av.open(os.fspath(filename), metadata_errors="ignore") as container:
            if not container.streams.video:
                return 0, None
            stream = container.streams.video[0]
            fps = float(stream.average_rate) if stream.average_rate is not None else None
            return len(_frame_pts(container, stream)), fps
    except _av_error(av):
        warnings.warn(f"Failed decoding frames for file {filename}")
        return 0, None


def _decode_frame_range(filename, first, last, output_format="THWC"):
    """Frames ``first`` to ``last`` (inclusive, counted in presentation order) as uint8 THWC/TCHW,
    and the stream's average frame rate."""
    av = _av()
    with av.open(os.fspath(filename), metadata_errors="ignore") as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate)
        status = os.stat(filename)
        wanted = _cached_frame_pts(os.fspath(filename), status.st_size, status.st_mtime_ns)[first:last + 1]
        frames = {}
        if wanted:
            container.seek(wanted[0], backward=True, any_frame=False, stream=stream)  # the key frame before
            for frame in container.decode(stream):
                if frame.pts in frames or frame.pts is None:
                    continue
                if wanted[0] <= frame.pts <= wanted[-1]:
                    frames[frame.pts] = frame.to_rgb().to_ndarray()
                if len(frames) == len(wanted):
                    break
        video = np.stack([frames[p] for p in wanted if p in frames]) if frames else np.zeros((0, 1, 1, 3), np.uint8)
    if output_format == "TCHW":
        video = video.transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(video)), fps


def _audio_between(filename, start_sec, stop_sec):
    """The float32 (channels, samples) audio samples played in [start_sec, stop_sec) of the first
    audio stream; (1, 0) when there is none."""
    av = _av()
    empty = torch.empty((1, 0), dtype=torch.float32)
    try:
        with av.open(os.fspath(filename), metadata_errors="ignore") as container:
            if not container.streams.audio:
                return empty
            stream = container.streams.audio[0]
            to_float = av.AudioResampler(format="fltp", layout=stream.layout, rate=stream.rate)
            # decoded from the start: after a seek, codecs with overlapping frames (AAC, MP3)
            # give different first samples
            pieces = []
            for frame in container.decode(stream):
                begin = float(frame.pts * frame.time_base) if frame.pts is not None else 0.0
                if begin >= stop_sec:
                    break
                for out in to_float.resample(frame):
                    samples = out.to_ndarray()
                    times = begin + np.arange(samples.shape[1]) / stream.rate
                    pieces.append(samples[:, (times >= start_sec) & (times < stop_sec)])
                    begin = times[-1] + 1 / stream.rate if len(times) else begin
    except _av_error(av):
        return empty
    if not pieces:
        return empty
    return torch.from_numpy(np.ascontiguousarray(np.concatenate(pieces, axis=1), dtype=np.float32))
