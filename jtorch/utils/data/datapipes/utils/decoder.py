"""Decoding file contents by extension: ``Decoder`` tries handlers in turn (``RoutedDecoder``)."""
import io
import json
import os
import pickle
import tempfile

import numpy as np

__all__ = ["Decoder", "ImageHandler", "MatHandler", "audiohandler", "basichandlers", "extension_extract_fn",
           "handle_extension", "imagehandler", "mathandler", "videohandler"]


def extension_extract_fn(pathname):
    """``'dir/a.tar.gz'`` -> ``'gz'``; no extension -> ``''``."""
    ext = os.path.splitext(pathname)[1]
    return ext[1:] if ext else ext


_TEXT = {"txt", "text", "transcript"}
_INT = {"cls", "cls2", "class", "count", "index", "inx", "id"}
_JSON = {"json", "jsn"}
_PICKLE = {"pyd", "pickle"}


def basichandlers(extension, data):
    """Text, integers, JSON, pickles and ``torch.save`` files by their usual extensions; else None."""
    if extension in _TEXT:
        return data.decode("utf-8")
    if extension in _INT:
        return int(data)
    if extension in _JSON:
        return json.loads(data)
    if extension in _PICKLE:
        return pickle.loads(data)
    if extension == "pt":
        import jtorch
        return jtorch.load(io.BytesIO(data))
    return None


def handle_extension(extensions, f):
    """A handler applying ``f`` to data whose key (an extension, as the Decoder passes it) ends
    with one of the space-separated ``extensions`` (``"jpg jpeg"``; multi-part ones like
    ``"seg.png"`` too). As in torch, the first extension at most as long as the key decides."""
    wanted = [e.lower().split(".") for e in extensions.split()]

    def handler(key, data):
        parts = key.lower().split(".")
        for target in wanted:
            if len(target) > len(parts):
                continue
            return f(data) if parts[-len(target):] == target else None
        return None

    return handler


_IMAGE_SPECS = {
    # spec: (kind, pixel type, PIL mode)
    "l8": ("numpy", "uint8", "L"), "rgb8": ("numpy", "uint8", "RGB"), "rgba8": ("numpy", "uint8", "RGBA"),
    "l": ("numpy", "float", "L"), "rgb": ("numpy", "float", "RGB"), "rgba": ("numpy", "float", "RGBA"),
    "torchl8": ("torch", "uint8", "L"), "torchrgb8": ("torch", "uint8", "RGB"),
    "torchrgba8": ("torch", "uint8", "RGBA"), "torchl": ("torch", "float", "L"),
    "torchrgb": ("torch", "float", "RGB"), "torch": ("torch", "float", "RGB"),
    "torchrgba": ("torch", "float", "RGBA"), "pill": ("pil", None, "L"), "pil": ("pil", None, None),
    "pilrgb": ("pil", None, "RGB"), "pilrgba": ("pil", None, "RGBA"),
}
imagespecs = _IMAGE_SPECS


class ImageHandler:
    """Decodes jpg/jpeg/png/ppm/pgm/pbm/pnm bytes with Pillow into what ``imagespec`` names:
    numpy (``l8``, ``rgb8``, ``rgb`` ...: HWC, float ones in [0, 1]), tensors (``torch*``: CHW) or
    PIL images (``pil*``)."""

    def __init__(self, imagespec):
        if imagespec not in _IMAGE_SPECS:
            raise ValueError(f"Invalid imagespec: {imagespec}")
        self.imagespec = imagespec.lower()

    def __call__(self, extension, data):
        if extension.lower() not in ("jpg", "jpeg", "png", "ppm", "pgm", "pbm", "pnm"):
            return None
        try:
            import PIL.Image
        except ImportError as e:
            raise ModuleNotFoundError("Package `PIL` is required to be installed for default image decoder."
                                      "Please use `pip install Pillow` to install the package") from e
        kind, pixels, mode = _IMAGE_SPECS[self.imagespec]
        with io.BytesIO(data) as stream:
            img = PIL.Image.open(stream)
            img.load()
            img = img.convert(mode) if mode is not None else img
        if kind == "pil":
            return img
        arr = np.asarray(img)
        if pixels == "float":
            arr = arr.astype(np.float32) / 255.0
        if kind == "numpy":
            return arr
        import jtorch
        tensor = jtorch.tensor(np.ascontiguousarray(arr))
        return tensor.permute(2, 0, 1) if tensor.ndim == 3 else tensor


def imagehandler(imagespec):
    return ImageHandler(imagespec)


_VIDEO = {"mp4", "ogv", "mjpeg", "avi", "mov", "h264", "mpg", "webm", "wmv"}
_AUDIO = {"flac", "mp3", "sox", "wav", "m4a", "ogg", "wma"}


def videohandler(extension, data):
    """Video files: ``jtorch.vision.io.read_video`` (seconds as the unit) of the bytes."""
    if extension not in _VIDEO:
        return None
    from jtorch.vision.io import read_video
    with tempfile.TemporaryDirectory() as dirname:
        path = os.path.join(dirname, f"file.{extension}")
        with open(path, "wb") as stream:
            stream.write(data)
        return read_video(path, pts_unit="sec")


def audiohandler(extension, data):
    """Audio files need torchaudio, which jtorch does not provide (torch without it raises the same)."""
    if extension not in _AUDIO:
        return None
    raise ModuleNotFoundError("Package `torchaudio` is required to be installed for default audio file loader."
                              "Please use `pip install torchaudio`to install the package")


class MatHandler:
    """MATLAB ``.mat`` files, with ``scipy.io.loadmat(**loadmat_kwargs)``."""

    def __init__(self, **loadmat_kwargs):
        try:
            import scipy.io as sio
        except ImportError as e:
            raise ModuleNotFoundError("Package `scipy` is required to be installed for mat file.Please use "
                                      "`pip install scipy` to install the package") from e
        self.sio = sio
        self.loadmat_kwargs = loadmat_kwargs

    def __call__(self, extension, data):
        if extension != "mat":
            return None
        with io.BytesIO(data) as stream:
            return self.sio.loadmat(stream, **self.loadmat_kwargs)


def mathandler(**loadmat_kwargs):
    return MatHandler(**loadmat_kwargs)


class Decoder:
    """Decodes ``(key, data)`` pairs or dicts of them: the first handler that does not return None
    wins; data no handler takes is returned as is. Streams are read first."""

    def __init__(self, *handler, key_fn=extension_extract_fn):
        self.handlers = list(handler) if handler else []
        self.key_fn = key_fn

    def add_handler(self, *handler):
        if handler:
            self.handlers = list(handler) + self.handlers

    @staticmethod
    def _is_stream_handle(data):
        obj = data.file_obj if hasattr(data, "file_obj") and not isinstance(data, (bytes, str)) else data
        return isinstance(obj, (io.BufferedIOBase, io.RawIOBase))

    def decode1(self, key, data):
        if not data:
            return data
        if Decoder._is_stream_handle(data):
            ds = data
            data = b"".join(data)  # read the whole stream, then close it
            ds.close()
        for f in self.handlers:
            result = f(key, data)
            if result is not None:
                return result
        return data

    def decode(self, data):
        result = {}
        if isinstance(data, tuple):
            data = [data]
        if data is not None:
            for k, v in data:
                if k[0] == "_":  # metadata keys pass through
                    if isinstance(v, bytes):
                        v = v.decode("utf-8")
                    result[k] = v
                    continue
                result[k] = self.decode1(self.key_fn(k), v)
        return result

    def __call__(self, data):
        return self.decode(data)
