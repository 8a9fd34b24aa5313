"""torchvision.io's image functions: encoded bytes as uint8 1-D tensors, images as CHW tensors.

torchvision decodes with libjpeg-turbo, libpng, giflib and libwebp. Pillow wraps the same
libjpeg-turbo and libwebp, so JPEG and WebP pixels are Pillow's; PNG colour conversions follow
the libpng transforms torchvision asks for (done here in numpy), 16-bit PNGs, which Pillow
reduces to 8 bits, are decoded by ``datasets._png16``, and GIF frames are composited by
torchvision's rules in ``_gif``.
"""
import enum
import io
import os
import struct

import numpy as np
from PIL import Image, UnidentifiedImageError

import jtorch as torch
from ..datasets._png16 import read_png_16
from ..._atomic import atomic_path
from ._gif import decode_gif_frames


class ImageReadMode(enum.Enum):
    """The channels to decode to; every ``mode`` argument also takes these names as strings."""
    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = RGB_ALPHA


def _mode(mode):
    return ImageReadMode[mode.upper()] if isinstance(mode, str) else mode


# ---- files ------------------------------------------------------------------------------------

def read_file(path):
    """The bytes of a file as a uint8 1-D tensor."""
    path = os.fspath(path)
    try:
        size = os.stat(path).st_size
    except OSError as e:
        raise RuntimeError(f"[Errno {e.errno}] {e.strerror}: '{path}'") from None
    if size == 0:
        raise RuntimeError("Expected a non empty file")
    try:
        with open(path, "rb") as f:
            return torch.from_numpy(np.frombuffer(f.read(), np.uint8).copy())
    except OSError as e:  # a directory, no permission
        raise RuntimeError(f"[Errno {e.errno}] {e.strerror}: '{path}'") from None


def _atomic_write(filename, data):
    with atomic_path(filename) as tmp:
        try:
            f = open(tmp, "xb")
        except OSError:
            raise RuntimeError("Error opening output file") from None
        with f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def _check_cpu(tensor, message):
    device = getattr(tensor, "device", None)
    if device is not None and getattr(device, "type", "cpu") != "cpu":
        raise RuntimeError(message)


def write_file(filename, data):
    """Write the uint8 1-D tensor ``data`` to ``filename``."""
    _check_cpu(data, "Input tensor should be on CPU")
    if data.dtype != torch.uint8:
        raise RuntimeError("Input tensor dtype should be uint8")
    if data.dim() != 1:
        raise RuntimeError("Input data should be a 1-dimensional tensor")
    _atomic_write(filename, data.numpy().tobytes())


# ---- decoding ---------------------------------------------------------------------------------

def _encoded_bytes(data):
    """The bytes of an encoded image given as a uint8 1-D tensor (torchvision's checks)."""
    if data.dtype != torch.uint8:
        raise RuntimeError(f"Input tensor must have uint8 data type, got {data.dtype}")
    if data.dim() != 1 or data.numel() == 0:
        raise RuntimeError(f"Input tensor must be 1-dimensional and non-empty, got {data.dim()} dims "
                           f" and {data.numel()} numels.")
    return data.numpy().tobytes()


def _open(data, kind):
    """Pillow's image of the bytes, fully loaded; any failure is torchvision's RuntimeError."""
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except (OSError, SyntaxError, ValueError, EOFError, UnidentifiedImageError) as e:
        raise RuntimeError(f"Could not decode the {kind} image: {e}") from None
    return im


def _tensor(array):
    """A tensor owning a contiguous copy (Pillow's arrays are read-only views)."""
    return torch.from_numpy(np.array(array, order="C"))


def _to_tensor(hwc):
    return _tensor(hwc.transpose(2, 0, 1))


def _hwc(array):
    return array[:, :, None] if array.ndim == 2 else array


_EXIF_ORIENTATION = 0x0112


def _orient(chw, im):
    """Apply the image's EXIF orientation (1-8) to a (C, H, W) array."""
    try:
        orientation = im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # a malformed EXIF block leaves the image as it is
        return chw
    flip_w = lambda a: a[:, :, ::-1]  # noqa: E731
    flip_h = lambda a: a[:, ::-1, :]  # noqa: E731
    transpose = lambda a: a.transpose(0, 2, 1)  # noqa: E731
    steps = {2: [flip_w], 3: [flip_w, flip_h], 4: [flip_h], 5: [transpose],
             6: [transpose, flip_w], 7: [transpose, flip_w, flip_h], 8: [transpose, flip_h]}
    for step in steps.get(orientation, []):
        chw = step(chw)
    return chw


def _finish(hwc, im, apply_exif_orientation):
    chw = hwc.transpose(2, 0, 1)
    return _tensor(_orient(chw, im) if apply_exif_orientation else chw)


# libpng's rgb_to_gray with the weights torchvision asks for (0.2989, 0.587): 15-bit integer
# coefficients; 8-bit results are truncated, 16-bit ones rounded; gray pixels stay as they are.
_GRAY_RED, _GRAY_GREEN = 29890 * 32768 // 100000, 58700 * 32768 // 100000
_GRAY_BLUE = 32768 - _GRAY_RED - _GRAY_GREEN


def _png_rgb_to_gray(rgb, sixteen_bit):
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    total = _GRAY_RED * r + _GRAY_GREEN * g + _GRAY_BLUE * b
    gray = (total + 16384) >> 15 if sixteen_bit else total >> 15
    return np.where((r == g) & (r == b), r, gray).astype(rgb.dtype)


def _png_pixels(data):
    """(H, W, C) samples as stored (palette images: their indices), bit depth, colour type, image."""
    if len(data) < 8:
        raise RuntimeError("Content is too small for png!")
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise RuntimeError("Content is not png!")
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise RuntimeError("Out of bound read in decode_png. Probably, the input image is corrupted")
    depth, colour = struct.unpack(">BB", data[24:26])
    im = _open(data, "PNG")
    if depth == 16:
        try:
            return read_png_16(data).transpose(1, 2, 0), depth, colour, im
        except (ValueError, OSError, KeyError) as e:
            raise RuntimeError(f"Could not decode the PNG image: {e}") from None
    if im.mode == "1":
        return _hwc(np.asarray(im.convert("L"))), depth, colour, im
    return _hwc(np.asarray(im)), depth, colour, im


def _png_convert(pixels, depth, colour, im, mode):
    """torchvision's libpng transforms for each read mode (tRNS is used for palettes only)."""
    sixteen_bit = pixels.dtype == np.uint16
    # the filler alpha is (1 << bit depth) - 1 of the file: 1, 3 or 15 for 1/2/4-bit gray images
    opaque = (1 << depth) - 1 if depth < 8 else np.iinfo(pixels.dtype).max
    if colour == 3:  # palette: expand to RGBA (alpha from tRNS), then treat as RGBA
        pixels, colour = np.asarray(im.convert("RGBA")), 6
    channels = pixels.shape[2]
    colour_in = colour in (2, 6)
    colour_part = pixels[..., :3] if colour_in else pixels[..., :1]
    alpha = pixels[..., -1:] if channels in (2, 4) else np.full(pixels.shape[:2] + (1,), opaque, pixels.dtype)
    if mode in (ImageReadMode.GRAY, ImageReadMode.GRAY_ALPHA):
        gray = _png_rgb_to_gray(colour_part, sixteen_bit)[..., None] if colour_in else colour_part
        return gray if mode == ImageReadMode.GRAY else np.concatenate([gray, alpha], axis=2)
    if mode in (ImageReadMode.RGB, ImageReadMode.RGB_ALPHA):
        rgb = colour_part if colour_in else np.repeat(colour_part, 3, axis=2)
        return rgb if mode == ImageReadMode.RGB else np.concatenate([rgb, alpha], axis=2)
    raise RuntimeError("The provided mode is not supported for PNG files")


def decode_png(input, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=False):
    """A PNG's pixels as a (C, H, W) tensor: uint8, or uint16 for 16-bit files. UNCHANGED keeps
    the stored channels (palette images give their 1-channel indices)."""
    mode = _mode(mode)
    pixels, depth, colour, im = _png_pixels(_encoded_bytes(input))
    if mode != ImageReadMode.UNCHANGED:
        pixels = _png_convert(pixels, depth, colour, im, mode)
    return _finish(pixels, im, apply_exif_orientation)


def _decode_one_jpeg(data, mode, apply_exif_orientation):
    if len(data) < 2 or data[:2] != b"\xff\xd8":
        head = data[:2] + b"\x00" * (2 - len(data[:2]))
        raise RuntimeError(f"Not a JPEG file: starts with 0x{head[0]:02x} 0x{head[1]:02x}")
    if mode in (ImageReadMode.GRAY_ALPHA, ImageReadMode.RGB_ALPHA):
        raise RuntimeError("The provided mode is not supported for JPEG files")
    try:
        im = Image.open(io.BytesIO(data))
        if mode == ImageReadMode.GRAY and im.mode == "RGB":
            im.draft("L", im.size)  # libjpeg's own YCbCr -> gray: the luma plane, as torchvision gets
        im.load()
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise RuntimeError(f"Could not decode the JPEG image: {e}") from None
    if im.mode == "CMYK":
        # UNCHANGED: libjpeg's 4 channels, which Pillow stores inverted (Adobe's convention); RGB
        # and GRAY: torchvision converts with Pillow's own formulas
        if mode == ImageReadMode.UNCHANGED:
            pixels = 255 - np.asarray(im)
        else:
            rgb = im.convert("RGB")
            pixels = np.asarray(rgb.convert("L") if mode == ImageReadMode.GRAY else rgb)
    else:
        pixels = np.asarray(im)
    pixels = _hwc(pixels)
    if mode == ImageReadMode.RGB and pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    return _finish(pixels, im, apply_exif_orientation)


def decode_jpeg(input, mode=ImageReadMode.UNCHANGED, device="cpu", apply_exif_orientation=False):
    """A JPEG (or a list of them) as uint8 (C, H, W) tensor(s) with 1 or 3 channels."""
    mode = _mode(mode)
    device = torch.device(device) if isinstance(device, str) else device
    if isinstance(input, list):
        if len(input) == 0:
            raise ValueError("Input list must contain at least one element")
        if not all(isinstance(t, torch.Tensor) for t in input):
            raise ValueError("All elements of the input list must be tensors.")
        if not all(t.device.type == "cpu" for t in input):
            raise ValueError("Input list must contain tensors on CPU.")
        return [decode_jpeg(t, mode, device, apply_exif_orientation) for t in input]
    if input.device.type != "cpu":
        raise ValueError("Input tensor must be a CPU tensor")
    out = _decode_one_jpeg(_encoded_bytes(input), mode, apply_exif_orientation)
    return out if device.type == "cpu" else out.to(device)


def decode_gif(input):
    """A GIF's frames as uint8 RGB: (3, H, W) for one frame, (N, 3, H, W) for several."""
    frames = decode_gif_frames(_encoded_bytes(input))
    return _tensor(frames[0] if len(frames) == 1 else frames)


def decode_webp(input, mode=ImageReadMode.UNCHANGED):
    """A (still) WebP as a uint8 (C, H, W) tensor: RGB, or RGBA when the file has alpha (RGB and
    RGB_ALPHA force either; the gray modes read as UNCHANGED, as in torchvision)."""
    mode = _mode(mode)
    data = _encoded_bytes(input)
    im = _open(data, "WebP")
    if im.format != "WEBP":
        raise RuntimeError("WebPGetFeatures failed with error code 3")  # VP8_STATUS_BITSTREAM_ERROR
    if getattr(im, "n_frames", 1) > 1:
        raise RuntimeError("Animated webp files are not supported.")
    has_alpha = im.mode in ("RGBA", "LA") or "transparency" in im.info
    if mode == ImageReadMode.RGB_ALPHA or (mode != ImageReadMode.RGB and has_alpha):
        return _to_tensor(np.asarray(im.convert("RGBA")))
    return _to_tensor(np.asarray(im.convert("RGB")))


_FORMATS = "Unsupported image file. Only jpeg, png, webp and gif are currently supported. For avif and " \
           "heic format, please rely on `decode_avif` and `decode_heic` directly."


def decode_image(input, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=False):
    """Decode a JPEG, PNG, GIF or WebP (a path, or its bytes as a uint8 1-D tensor), told apart by
    its first bytes. GIFs ignore ``mode``."""
    if not isinstance(input, torch.Tensor):
        input = read_file(str(input))
    mode = _mode(mode)
    _check_cpu(input, "Expected a CPU tensor")
    if input.dtype != torch.uint8:
        raise RuntimeError("Expected a torch.uint8 tensor")
    if input.dim() != 1 or input.numel() == 0:
        raise RuntimeError("Expected a non empty 1-dimensional tensor")
    head = input[:15].numpy().tobytes()
    if head[:3] == b"\xff\xd8\xff":
        return decode_jpeg(input, mode, apply_exif_orientation=apply_exif_orientation)
    if head[:4] == b"\x89PNG":
        return decode_png(input, mode, apply_exif_orientation)
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return decode_gif(input)
    if len(head) == 15 and head[:4] == b"RIFF" and head[8:15] == b"WEBPVP8":
        return decode_webp(input, mode)
    raise RuntimeError(_FORMATS)


def read_image(path, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=False):
    """``decode_image`` of the file's bytes."""
    return decode_image(read_file(path), mode, apply_exif_orientation=apply_exif_orientation)


def _unsupported(name):
    def decode(input, mode=ImageReadMode.UNCHANGED):
        raise RuntimeError(f"In order to enable the {name} decoding capabilities of torchvision, you need to "
                           "`pip install torchvision-extra-decoders`; jtorch has no such decoder.")
    decode.__name__ = f"decode_{name.lower()}"
    return decode


decode_avif = _unsupported("AVIF")
decode_heic = _unsupported("HEIC")


# ---- encoding ---------------------------------------------------------------------------------

def _hwc_image(input):
    """The (H, W, C) numpy of a uint8 (C, H, W) tensor with 1 or 3 channels (torchvision's checks)."""
    _check_cpu(input, "Input tensor should be on CPU")
    if input.dtype != torch.uint8:
        raise RuntimeError("Input tensor dtype should be uint8")
    if input.dim() != 3:
        raise RuntimeError("Input data should be a 3-dimensional tensor")
    if input.shape[0] not in (1, 3):
        raise RuntimeError(f"The number of channels should be 1 or 3, got: {input.shape[0]}")
    hwc = np.ascontiguousarray(input.numpy().transpose(1, 2, 0))
    return hwc[:, :, 0] if hwc.shape[2] == 1 else hwc


def _encoded(im, **save_args):
    buf = io.BytesIO()
    im.save(buf, **save_args)
    return torch.from_numpy(np.frombuffer(buf.getvalue(), np.uint8).copy())


def encode_png(input, compression_level=6):
    """A uint8 (1 or 3, H, W) tensor as the bytes of a PNG file."""
    if not 0 <= compression_level <= 9:
        raise RuntimeError("Compression level should be between 0 and 9")
    return _encoded(Image.fromarray(_hwc_image(input)), format="PNG", compress_level=compression_level)


def encode_jpeg(input, quality=75):
    """A uint8 (1 or 3, H, W) tensor (or a list of them) as the bytes of JPEG file(s)."""
    if quality < 1 or quality > 100:
        raise ValueError("Image quality should be a positive number between 1 and 100")
    if isinstance(input, list):
        if not input:
            raise ValueError("encode_jpeg requires at least one input tensor when a list is passed")
        return [encode_jpeg(image, quality) for image in input]
    return _encoded(Image.fromarray(_hwc_image(input)), format="JPEG", quality=quality)


def write_png(input, filename, compression_level=6):
    """Save a uint8 (1 or 3, H, W) tensor as a PNG file."""
    write_file(filename, encode_png(input, compression_level))


def write_jpeg(input, filename, quality=75):
    """Save a uint8 (1 or 3, H, W) tensor as a JPEG file."""
    write_file(filename, encode_jpeg(input, quality))
