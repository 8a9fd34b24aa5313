"""GIF decoding with torchvision's compositing rules.

Pillow composites animated GIFs its own way (the previous frame's disposal, its own handling of
transparency in the first frame), so the file's blocks are walked here, each frame's LZW data is
decoded to palette indices by Pillow (as a one-frame GIF of its own), and the frames are drawn
as torchvision draws them: on a canvas of max(screen, first frame) size, starting from the
previous frame when the frame's own disposal is "do not dispose" and from the background colour
otherwise, skipping the frame's transparent index.
"""
import io
import struct

import numpy as np
from PIL import Image

_NOT_GIF = 103  # giflib's D_GIF_ERR_NOT_GIF_FILE
_READ_FAILED = 102  # giflib's D_GIF_ERR_READ_FAILED
_DO_NOT_DISPOSE = 1
# a palette whose entries are all distinct colours: Pillow then keeps the frame in "P" mode
_INDEX_PALETTE = bytes(v for i in range(256) for v in (i, 255 - i, 128))


class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise RuntimeError(f"DGifSlurp() failed - {_READ_FAILED}")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def sub_blocks(self):
        """The raw sub-block bytes (length-prefixed, through the zero terminator)."""
        start = self.pos
        while True:
            size = self.take(1)[0]
            if size == 0:
                return self.data[start:self.pos]
            self.take(size)


def _colour_table(reader, packed):
    if not packed & 0x80:
        return None
    entries = 2 << (packed & 0x07)
    table = np.zeros((256, 3), np.uint8)  # indices past the table read as black
    table[:entries] = np.frombuffer(reader.take(3 * entries), np.uint8).reshape(entries, 3)
    return table


def _frames(data):
    """Screen size, background index, global table and [(left, top, w, h, table, indices,
    disposal, transparent index or -1)] of a GIF file."""
    if len(data) < 13 or data[:6] not in (b"GIF87a", b"GIF89a"):
        raise RuntimeError(f"DGifOpenFileName() failed - {_NOT_GIF}")
    reader = _Reader(data)
    reader.take(6)
    width, height, packed, background, _ = struct.unpack("<HHBBB", reader.take(7))
    global_table = _colour_table(reader, packed)
    frames, disposal, transparent = [], 0, -1
    while True:
        kind = reader.take(1)[0]
        if kind == 0x3B:  # trailer
            break
        if kind == 0x21:  # extension
            label = reader.take(1)[0]
            body = reader.sub_blocks()
            if label == 0xF9 and len(body) >= 6:  # graphic control: disposal, transparency
                flags, index = body[1], body[4]
                disposal = (flags >> 2) & 0x07
                transparent = index if flags & 0x01 else -1
            continue
        if kind != 0x2C:
            raise RuntimeError(f"DGifSlurp() failed - {_READ_FAILED}")
        left, top, w, h, packed = struct.unpack("<HHHHB", reader.take(9))
        table = _colour_table(reader, packed)
        lzw = reader.take(1) + reader.sub_blocks()
        frames.append((left, top, w, h, table if table is not None else global_table,
                       _indices(w, h, packed & 0x40, lzw), disposal, transparent))
        disposal, transparent = 0, -1
    if not frames:
        raise RuntimeError("GIF file should contain at least one image!")
    return width, height, background, global_table, frames


def _indices(w, h, interlaced, lzw):
    """A frame's palette indices, decoded by Pillow from a GIF holding only that frame."""
    screen = struct.pack("<HHBBB", w, h, 0xF7, 0, 0) + _INDEX_PALETTE
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, w, h, 0x40 if interlaced else 0)
    single = b"GIF89a" + screen + descriptor + lzw + b"\x3b"
    try:
        with Image.open(io.BytesIO(single)) as im:
            im.load()
            return np.array(im.convert("P") if im.mode != "P" else im)
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise RuntimeError(f"DGifSlurp() failed - {_READ_FAILED} ({e})") from None


def decode_gif_frames(data):
    """The (N, 3, H, W) uint8 frames of a GIF, composited as torchvision does."""
    width, height, background, global_table, frames = _frames(data)
    first = frames[0]
    out_h, out_w = max(height, first[3]), max(width, first[2])
    bg = global_table[background] if global_table is not None else np.zeros(3, np.uint8)
    out = np.zeros((len(frames), out_h, out_w, 3), np.uint8)
    for i, (left, top, w, h, table, indices, disposal, transparent) in enumerate(frames):
        if table is None:
            raise RuntimeError("Global and local color maps are missing. This should never happen!")
        if i > 0 and disposal == _DO_NOT_DISPOSE:
            out[i] = out[i - 1]
        else:
            out[i, :height, :width] = bg
        # the part of the frame that lands on the canvas
        y0, x0 = max(top, 0), max(left, 0)
        y1, x1 = min(top + h, out_h), min(left + w, out_w)
        if y1 <= y0 or x1 <= x0:
            continue
        part = indices[y0 - top:y1 - top, x0 - left:x1 - left]
        region = out[i, y0:y1, x0:x1]
        drawn = part != transparent
        region[drawn] = table[part[drawn]]
    return out.transpose(0, 3, 1, 2)
