"""torchvision.io: image codecs (on Pillow) and video reading/writing (on PyAV, an optional
dependency imported when a video function is first used)."""
from .image import (ImageReadMode, decode_avif, decode_gif, decode_heic, decode_image, decode_jpeg, decode_png,
                    decode_webp, encode_jpeg, encode_png, read_file, read_image, write_file, write_jpeg, write_png)
from .video import read_video, read_video_timestamps, write_video
from .video_reader import VideoReader

__all__ = ["ImageReadMode", "decode_image", "decode_jpeg", "decode_png", "decode_avif", "decode_heic",
           "decode_webp", "decode_gif", "encode_jpeg", "encode_png", "read_file", "read_image", "write_file",
           "write_jpeg", "write_png", "read_video", "read_video_timestamps", "write_video", "VideoReader"]
