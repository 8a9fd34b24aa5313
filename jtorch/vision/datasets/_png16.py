"""Decoding 16-bit PNGs, which PIL reduces to 8 bits for colour images (KITTI and HD1K store
optical flow in the 3 channels of 16-bit RGB PNGs)."""
import io
import struct
import zlib

import numpy as np
from PIL import Image

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type -> samples per pixel (gray, RGB, gray+alpha, RGBA)


def _unfilter(raw, height, row_bytes, bpp):
    """Undo the per-row PNG filters (None, Sub, Up, Average, Paeth) of the inflated data."""
    rows = np.frombuffer(raw, np.uint8).reshape(height, row_bytes + 1)
    out = np.zeros((height, row_bytes), np.uint8)
    prev = np.zeros(row_bytes, np.int32)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        if kind == 0:
            cur = line
        elif kind == 1:  # Sub: a running sum along each byte lane of the pixels
            lanes = line.reshape(-1, bpp)
            cur = (np.cumsum(lanes, axis=0) % 256).reshape(-1)
        elif kind == 2:  # Up
            cur = (line + prev) % 256
        elif kind in (3, 4):  # Average, Paeth: each pixel depends on the one decoded before it
            cur = np.zeros(row_bytes, np.int32)
            for x in range(0, row_bytes, bpp):
                a = cur[x - bpp:x] if x else np.zeros(bpp, np.int32)
                b = prev[x:x + bpp]
                if kind == 3:
                    pred = (a + b) // 2
                else:
                    c = prev[x - bpp:x] if x else np.zeros(bpp, np.int32)
                    p = a + b - c
                    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
                    pred = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
                cur[x:x + bpp] = (line[x:x + bpp] + pred) % 256
        else:
            raise ValueError(f"Invalid PNG filter type {kind}")
        out[y] = cur
        prev = cur
    return out


def _opened(source):
    """``Image.open`` of a path, or of the encoded bytes themselves."""
    return Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)


def read_png_16(path):
    """A 16-bit PNG (a path, or its bytes) as a uint16 (C, H, W) array.

    Pillow's C decoder undoes the row filters; for 16-bit RGB it keeps only each sample's high
    byte, so the image is decoded twice, unpacking the high bytes and then (reading the samples
    as little-endian) the low bytes. Files this does not fit are decoded in numpy (much slower).
    """
    fast = _read_with_pillow(path)
    return fast if fast is not None else decode_png_16(path)


def _with_rawmode(tile, rawmode):
    return tile._replace(args=rawmode) if hasattr(tile, "_replace") else (tile[0], tile[1], tile[2], rawmode)


def _read_with_pillow(path):
    with _opened(path) as im:
        if im.format != "PNG":
            return None
        if im.mode in ("I;16", "I;16B"):  # 16-bit gray: Pillow keeps all 16 bits
            return np.asarray(im).astype(np.uint16)[None]
        tiles = list(im.tile)
        if im.mode != "RGB" or len(tiles) != 1 or tiles[0][0] != "zip" or tiles[0][3] != "RGB;16B":
            return None
    planes = []
    for rawmode in ("RGB;16B", "RGB;16L"):  # the high bytes, then the low bytes
        with _opened(path) as im:
            im.tile = [_with_rawmode(tiles[0], rawmode)]
            try:
                im.load()
            except (OSError, ValueError, KeyError):  # a Pillow without this unpacker
                return None
            planes.append(np.asarray(im).astype(np.uint16))
    return ((planes[0] << 8) | planes[1]).transpose(2, 0, 1)


def decode_png_16(path):
    """A non-interlaced 16-bit PNG (a path, or its bytes) as a uint16 (C, H, W) array, decoded in numpy."""
    if isinstance(path, (bytes, bytearray)):
        data = bytes(path)
    else:
        with open(path, "rb") as f:
            data = f.read()
    if data[:8] != _SIGNATURE:
        raise ValueError(f"{path} is not a PNG file")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length  # length, type, body, crc
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, colour, _, _, interlace = header
    if depth != 16 or colour not in _CHANNELS or interlace:
        raise ValueError(f"{path}: only non-interlaced 16-bit gray/RGB(A) PNGs are read here")
    channels = _CHANNELS[colour]
    pixels = _unfilter(zlib.decompress(b"".join(idat)), height, width * channels * 2, channels * 2)
    return pixels.view(">u2").reshape(height, width, channels).astype(np.uint16).transpose(2, 0, 1)
