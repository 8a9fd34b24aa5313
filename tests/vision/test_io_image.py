"""jtorch.vision.io image codecs. torchvision's compiled codecs cannot be loaded here (tv.py), so
the oracle is Pillow (which wraps the same libjpeg-turbo, giflib and libwebp) on the same bytes,
round trips, and torchvision's documented behaviour and error types. The PNG mode conversions
were also checked once against libpng itself, driven the way torchvision drives it."""
import io as pyio
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageOps

import jtorch
import jtorch.vision.io as tio
from tv import torchvision

tv = torchvision()


def _bytes_tensor(data):
    return jtorch.from_numpy(np.frombuffer(data, np.uint8).copy())


def _pil_bytes(im, **save_args):
    buf = pyio.BytesIO()
    im.save(buf, **save_args)
    return buf.getvalue()


def _chw(array):
    return (array[:, :, None] if array.ndim == 2 else array).transpose(2, 0, 1)


def _same(tensor, expected, dtype="torch.uint8"):
    assert isinstance(tensor, jtorch.Tensor) and str(tensor.dtype) == dtype
    assert tuple(tensor.shape) == expected.shape
    np.testing.assert_array_equal(tensor.numpy(), expected)


def _png16(values):
    """A 16-bit PNG of uint16 (H, W, C) values (Pillow cannot write 16-bit colour PNGs)."""
    h, w, c = values.shape
    rows = values.astype(">u2").reshape(h, w * c).view(np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", w, h, 16, {1: 0, 2: 4, 3: 2, 4: 6}[c], 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_image_read_mode_matches_torchvision():
    assert [(m.name, m.value) for m in tio.ImageReadMode] == [(m.name, m.value) for m in tv.io.ImageReadMode]
    assert tio.ImageReadMode.RGBA is tio.ImageReadMode.RGB_ALPHA


def _png_images(rng):
    palette = Image.fromarray(rng.integers(0, 6, (6, 5), dtype=np.uint8), "P")
    palette.putpalette(rng.integers(0, 256, 18).tolist())
    return {"L": Image.fromarray(rng.integers(0, 256, (6, 5), dtype=np.uint8)),
            "LA": Image.fromarray(rng.integers(0, 256, (6, 5, 2), dtype=np.uint8), "LA"),
            "RGB": Image.fromarray(rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)),
            "RGBA": Image.fromarray(rng.integers(0, 256, (6, 5, 4), dtype=np.uint8)),
            "P": palette,
            "1": Image.fromarray(rng.integers(0, 2, (6, 5)).astype(bool))}


def test_decode_png_unchanged_is_pillows_pixels(rng):
    for name, im in _png_images(rng).items():
        data = _bytes_tensor(_pil_bytes(im, format="PNG"))
        expected = np.asarray(im.convert("L") if name == "1" else im)  # palette images: their indices
        _same(tio.decode_png(data), _chw(expected))
        _same(tio.decode_image(data), _chw(expected))


def test_decode_png_modes(rng):
    gray_dtypes = {"L", "1"}
    for name, im in _png_images(rng).items():
        data = _bytes_tensor(_pil_bytes(im, format="PNG"))
        rgba = np.asarray(im.convert("RGBA"))
        rgb = tio.decode_png(data, tio.ImageReadMode.RGB).numpy()
        np.testing.assert_array_equal(rgb, _chw(rgba[..., :3]))
        alpha = tio.decode_png(data, "rgb_alpha").numpy()[3]
        if name in ("LA", "RGBA", "P"):
            np.testing.assert_array_equal(alpha, rgba[..., 3])
        else:  # libpng's filler: (1 << bit depth) - 1 of the file
            assert (alpha == (1 if name == "1" else 255)).all()
        gray = tio.decode_png(data, "GRAY").numpy()[0]
        gray_alpha = tio.decode_png(data, tio.ImageReadMode.GRAY_ALPHA).numpy()
        np.testing.assert_array_equal(gray_alpha[0], gray)
        if name in gray_dtypes or name == "LA":
            np.testing.assert_array_equal(gray, np.asarray(im.convert("L")))
        else:  # libpng's weights (0.2989, 0.587, 0.1141), truncated; Pillow's differ by at most 1
            assert np.abs(gray.astype(int) - np.asarray(im.convert("RGB").convert("L"), int)).max() <= 1
            flat = rgba[..., :3].copy()
            flat[...] = flat[..., :1]  # gray pixels stay exactly as they are
            flat_png = _bytes_tensor(_pil_bytes(Image.fromarray(flat), format="PNG"))
            np.testing.assert_array_equal(tio.decode_png(flat_png, "GRAY").numpy()[0], flat[..., 0])


def test_png_16_bit(rng):
    gray = rng.integers(0, 65536, (5, 4), dtype=np.uint16)
    data = _bytes_tensor(_pil_bytes(Image.fromarray(gray), format="PNG"))
    _same(tio.decode_png(data), gray[None], "torch.uint16")
    for channels in (2, 3, 4):
        values = rng.integers(0, 65536, (5, 4, channels), dtype=np.uint16)
        _same(tio.decode_image(_bytes_tensor(_png16(values))), _chw(values), "torch.uint16")
    rgb = rng.integers(0, 65536, (5, 4, 3), dtype=np.uint16)
    rgba = tio.decode_png(_bytes_tensor(_png16(rgb)), "RGBA").numpy()
    np.testing.assert_array_equal(rgba[:3], _chw(rgb))
    assert (rgba[3] == 65535).all()


def test_encode_png_round_trips(rng):
    for channels in (1, 3):
        image = jtorch.from_numpy(rng.integers(0, 256, (channels, 7, 9), dtype=np.uint8))
        for level in (0, 6, 9):
            encoded = tio.encode_png(image, compression_level=level)
            assert str(encoded.dtype) == "torch.uint8" and encoded.dim() == 1
            _same(tio.decode_png(encoded), image.numpy())
            with Image.open(pyio.BytesIO(encoded.numpy().tobytes())) as im:
                np.testing.assert_array_equal(_chw(np.asarray(im)), image.numpy())


def test_jpeg_decode_is_pillows_decode(rng):
    pixels = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    data = _pil_bytes(Image.fromarray(pixels), format="JPEG", quality=85)
    tensor = _bytes_tensor(data)
    with Image.open(pyio.BytesIO(data)) as im:
        expected = _chw(np.asarray(im))
    _same(tio.decode_jpeg(tensor), expected)
    _same(tio.decode_image(tensor, "RGB"), expected)
    with Image.open(pyio.BytesIO(data)) as im:  # libjpeg's gray output is the luma plane (not gray(RGB))
        im.draft("YCbCr", im.size)
        luma = np.asarray(im)[..., 0]
    _same(tio.decode_jpeg(tensor, mode=tio.ImageReadMode.GRAY), luma[None])
    gray_data = _pil_bytes(Image.fromarray(pixels[..., 0]), format="JPEG")
    with Image.open(pyio.BytesIO(gray_data)) as im:
        expected_gray = np.asarray(im)
    _same(tio.decode_jpeg(_bytes_tensor(gray_data)), expected_gray[None])
    _same(tio.decode_jpeg(_bytes_tensor(gray_data), "RGB"), np.repeat(expected_gray[None], 3, 0))
    # a list decodes each element
    out = tio.decode_jpeg([tensor, _bytes_tensor(gray_data)])
    assert isinstance(out, list) and len(out) == 2
    _same(out[0], expected)
    _same(out[1], expected_gray[None])


def test_cmyk_jpeg(rng):
    cmyk = Image.fromarray(rng.integers(0, 256, (8, 6, 4), dtype=np.uint8), "CMYK")
    data = _pil_bytes(cmyk, format="JPEG", quality=95)
    with Image.open(pyio.BytesIO(data)) as im:
        stored = np.asarray(im)  # Pillow inverts libjpeg's (Adobe) CMYK samples
        rgb = im.convert("RGB")
    tensor = _bytes_tensor(data)
    _same(tio.decode_jpeg(tensor), _chw(255 - stored))  # UNCHANGED: libjpeg's 4 channels
    _same(tio.decode_jpeg(tensor, "RGB"), _chw(np.asarray(rgb)))  # converted as Pillow converts
    _same(tio.decode_image(tensor, "GRAY"), _chw(np.asarray(rgb.convert("L"))))


def test_encode_jpeg_matches_pillow(rng):
    pixels = rng.integers(0, 256, (3, 16, 12), dtype=np.uint8)
    image = jtorch.from_numpy(pixels)
    for quality in (10, 75, 100):
        encoded = tio.encode_jpeg(image, quality=quality)
        expected = _pil_bytes(Image.fromarray(pixels.transpose(1, 2, 0)), format="JPEG", quality=quality)
        assert encoded.numpy().tobytes() == expected
    gray = jtorch.from_numpy(pixels[:1])
    out = tio.encode_jpeg([image, gray])
    assert [tuple(tio.decode_jpeg(o).shape) for o in out] == [(3, 16, 12), (1, 16, 12)]
    assert tio.encode_jpeg(image).numpy().tobytes() == _pil_bytes(
        Image.fromarray(pixels.transpose(1, 2, 0)), format="JPEG", quality=75)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_exif_orientation(rng, fmt):
    pixels = rng.integers(0, 256, (6, 4, 3), dtype=np.uint8)
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        data = _pil_bytes(Image.fromarray(pixels), format=fmt, exif=exif.tobytes())
        with Image.open(pyio.BytesIO(data)) as im:
            plain = _chw(np.asarray(im.convert("RGB")))
            oriented = _chw(np.asarray(ImageOps.exif_transpose(im).convert("RGB")))
        tensor = _bytes_tensor(data)
        _same(tio.decode_image(tensor), plain)
        _same(tio.decode_image(tensor, apply_exif_orientation=True), oriented)
        decoder = tio.decode_jpeg if fmt == "JPEG" else tio.decode_png
        _same(decoder(tensor, apply_exif_orientation=True), oriented)


def _palette_frames(rng, count, colours=6, shape=(7, 9)):
    palette = rng.integers(0, 256, (colours, 3), dtype=np.uint8)
    indices = [rng.integers(0, colours, shape, dtype=np.uint8) for _ in range(count)]
    for later in indices[1:]:  # later frames change a block only: the writer stores just that part
        keep = np.ones(shape, bool)
        keep[2:5, 3:7] = False
        later[keep] = indices[0][keep]
    images = []
    for frame in indices:
        im = Image.fromarray(frame, "P")
        im.putpalette(palette.reshape(-1).tolist())
        images.append(im)
    return palette, indices, images


@pytest.mark.parametrize("disposal,shape", [(1, (7, 9)), (2, (7, 9)), (1, (20, 18))])  # 16+ rows: interlaced
def test_decode_gif_animation(rng, disposal, shape):
    """Whatever the writer's partial frames and transparency, the frames come back as drawn."""
    palette, indices, images = _palette_frames(rng, 4, shape=shape)
    data = _pil_bytes(images[0], format="GIF", save_all=True, append_images=images[1:], disposal=disposal,
                      optimize=False)
    out = tio.decode_gif(_bytes_tensor(data))
    _same(out, np.stack([palette[i].transpose(2, 0, 1) for i in indices]))
    _same(tio.decode_image(_bytes_tensor(data), "GRAY"), out.numpy())  # GIFs ignore the mode


def test_decode_gif_single_frame_and_transparency(rng):
    palette, indices, images = _palette_frames(rng, 1)
    data = _pil_bytes(images[0], format="GIF")
    out = tio.decode_gif(_bytes_tensor(data))
    _same(out, palette[indices[0]].transpose(2, 0, 1))  # one frame: (3, H, W)
    with Image.open(pyio.BytesIO(data)) as im:
        np.testing.assert_array_equal(out.numpy(), np.asarray(im.convert("RGB")).transpose(2, 0, 1))
    # transparent pixels of the first frame show the background colour (the screen's entry)
    data = _pil_bytes(images[0], format="GIF", transparency=2, background=4)
    expected = palette[np.where(indices[0] == 2, 4, indices[0])]
    _same(tio.decode_gif(_bytes_tensor(data)), expected.transpose(2, 0, 1))


def _lzw(indices, min_size=3):
    """GIF LZW data that never grows its 4-bit codes: a clear code before every 6 pixels."""
    clear, end, bits = 1 << min_size, (1 << min_size) + 1, []
    flat = [int(v) for v in np.asarray(indices).reshape(-1)]
    for start in range(0, len(flat), 6):
        for code in [clear] + flat[start:start + 6]:
            bits += [(code >> k) & 1 for k in range(4)]
    bits += [(end >> k) & 1 for k in range(4)]
    bits += [0] * (-len(bits) % 8)
    raw = bytes(sum(bit << k for k, bit in enumerate(bits[i:i + 8])) for i in range(0, len(bits), 8))
    blocks = b"".join(bytes([len(raw[i:i + 255])]) + raw[i:i + 255] for i in range(0, len(raw), 255))
    return bytes([min_size]) + blocks + b"\x00"


def _gif_frame(indices, left=0, top=0, disposal=0, transparent=None, local_table=None):
    flags = (disposal << 2) | (transparent is not None)
    control = b"\x21\xf9\x04" + bytes([flags, 0, 0, transparent or 0, 0])
    h, w = indices.shape
    packed = 0x82 if local_table is not None else 0
    table = local_table.tobytes() if local_table is not None else b""
    return control + b"\x2c" + struct.pack("<HHHHB", left, top, w, h, packed) + table + _lzw(indices)


def test_decode_gif_compositing(rng):
    """torchvision's rules on a hand-made GIF: a frame starts from the previous one when its own
    disposal is 'do not dispose', else from the background colour; transparent pixels are
    skipped; frames may be smaller than the screen, placed at an offset, with their own colours."""
    palette = rng.integers(0, 256, (8, 3), dtype=np.uint8)
    local = rng.integers(0, 256, (8, 3), dtype=np.uint8)
    h, w, background = 4, 5, 6
    first = rng.integers(0, 6, (h, w), dtype=np.uint8)
    patch = np.array([[1, 7, 2], [7, 7, 3]], np.uint8)  # 7: transparent
    corner = np.array([[4, 5], [0, 1]], np.uint8)
    data = (b"GIF89a" + struct.pack("<HHBBB", w, h, 0xF2, background, 0) + palette.tobytes()
            + _gif_frame(first) + _gif_frame(patch, left=2, top=1, disposal=1, transparent=7)
            + _gif_frame(corner, disposal=2) + _gif_frame(corner, left=3, top=2, disposal=1, local_table=local)
            + b"\x3b")
    frames = [palette[first]]
    second = frames[0].copy()
    second[1:3, 2:5] = np.where((patch == 7)[..., None], second[1:3, 2:5], palette[patch])
    frames.append(second)
    third = np.broadcast_to(palette[background], (h, w, 3)).copy()
    third[:2, :2] = palette[corner]
    frames.append(third)
    fourth = third.copy()
    fourth[2:4, 3:5] = local[corner]
    frames.append(fourth)
    _same(tio.decode_gif(_bytes_tensor(data)), np.stack(frames).transpose(0, 3, 1, 2))
    with Image.open(pyio.BytesIO(data)) as im:  # the hand-made file is a valid GIF
        assert im.n_frames == 4
    with pytest.raises(RuntimeError):
        tio.decode_gif(_bytes_tensor(data[:40]))  # truncated
    with pytest.raises(RuntimeError):
        tio.decode_gif(_bytes_tensor(b"GIF90a" + data[6:]))  # not a GIF


def test_decode_webp(rng):
    rgba = rng.integers(0, 256, (6, 5, 4), dtype=np.uint8)
    with_alpha = _bytes_tensor(_pil_bytes(Image.fromarray(rgba), format="WEBP", lossless=True, exact=True))
    _same(tio.decode_webp(with_alpha), _chw(rgba))
    _same(tio.decode_image(with_alpha), _chw(rgba))
    _same(tio.decode_webp(with_alpha, "RGB"), _chw(rgba[..., :3]))
    no_alpha = _bytes_tensor(_pil_bytes(Image.fromarray(rgba[..., :3]), format="WEBP", lossless=True, exact=True))
    _same(tio.decode_webp(no_alpha), _chw(rgba[..., :3]))
    rgba_out = tio.decode_webp(no_alpha, tio.ImageReadMode.RGB_ALPHA).numpy()
    np.testing.assert_array_equal(rgba_out[:3], _chw(rgba[..., :3]))
    assert (rgba_out[3] == 255).all()
    _same(tio.decode_webp(no_alpha, "GRAY"), _chw(rgba[..., :3]))  # gray modes: as UNCHANGED
    _same(tio.decode_webp(with_alpha, "GRAY_ALPHA"), _chw(rgba))
    frames = [Image.fromarray(rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)) for _ in range(2)]
    animated = _pil_bytes(frames[0], format="WEBP", save_all=True, append_images=frames[1:], lossless=True)
    with pytest.raises(RuntimeError, match="Animated"):
        tio.decode_webp(_bytes_tensor(animated))


def test_files_and_atomic_writes(tmp_path, rng):
    image = jtorch.from_numpy(rng.integers(0, 256, (3, 5, 4), dtype=np.uint8))
    tio.write_png(image, tmp_path / "a.png")
    tio.write_jpeg(image, str(tmp_path / "a.jpg"), quality=90)
    assert sorted(os.listdir(tmp_path)) == ["a.jpg", "a.png"]  # no temporary files left behind
    raw = tio.read_file(tmp_path / "a.png")
    assert raw.numpy().tobytes() == (tmp_path / "a.png").read_bytes()
    assert raw.numpy().tobytes() == tio.encode_png(image).numpy().tobytes()
    assert tio.read_file(str(tmp_path / "a.jpg")).numpy().tobytes() == tio.encode_jpeg(image, 90).numpy().tobytes()
    _same(tio.read_image(tmp_path / "a.png"), image.numpy())
    _same(tio.decode_image(str(tmp_path / "a.png"), "GRAY"), tio.decode_png(raw, "GRAY").numpy())
    tio.write_file(tmp_path / "b.bin", raw)
    assert (tmp_path / "b.bin").read_bytes() == raw.numpy().tobytes()
    tio.write_file(tmp_path / "b.bin", raw[:10])  # overwriting replaces the file
    assert (tmp_path / "b.bin").read_bytes() == raw.numpy().tobytes()[:10]
    assert sorted(os.listdir(tmp_path)) == ["a.jpg", "a.png", "b.bin"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert os.stat(tmp_path / "a.png").st_mode & 0o777 == 0o666 & ~umask  # a normal file, not a private temp


def test_errors(tmp_path, rng):
    image = jtorch.from_numpy(rng.integers(0, 256, (3, 5, 4), dtype=np.uint8))
    png = tio.encode_png(image)
    jpeg = tio.encode_jpeg(image)
    with pytest.raises(RuntimeError):
        tio.read_file(tmp_path / "missing.png")
    with pytest.raises(RuntimeError):
        tio.read_file(tmp_path)  # a directory
    with pytest.raises(RuntimeError):
        tio.write_file(tmp_path / "no_such_dir" / "a.png", png)
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(RuntimeError):
        tio.read_file(tmp_path / "empty")
    for bad in (png.to(jtorch.int64), png.reshape(1, -1), png[:0]):
        for decoder in (tio.decode_png, tio.decode_jpeg, tio.decode_image, tio.decode_gif, tio.decode_webp):
            with pytest.raises(RuntimeError):
                decoder(bad)
    with pytest.raises(RuntimeError):
        tio.decode_png(jpeg)  # not a PNG
    with pytest.raises(RuntimeError):
        tio.decode_jpeg(png)  # not a JPEG
    with pytest.raises(RuntimeError):
        tio.decode_image(_bytes_tensor(b"BM" + bytes(40)))  # a BMP: unsupported
    with pytest.raises(RuntimeError):
        tio.decode_png(png[:40])  # truncated
    with pytest.raises(RuntimeError):
        tio.decode_jpeg(_bytes_tensor(b"\xff\xd8\xff" + rng.integers(0, 256, 64, dtype=np.uint8).tobytes()))
    with pytest.raises(RuntimeError):
        tio.decode_jpeg(jpeg, "RGBA")
    with pytest.raises(KeyError):
        tio.decode_png(png, "CMYK")
    with pytest.raises(ValueError):
        tio.decode_jpeg([])
    with pytest.raises(ValueError):
        tio.decode_jpeg([jpeg, b"not a tensor"])
    for bad in (image.float(), image[:2], image[0]):  # dtype, channels, dims
        for encode in (tio.encode_png, tio.encode_jpeg):
            with pytest.raises(RuntimeError):
                encode(bad)
    with pytest.raises(RuntimeError):
        tio.encode_png(image, compression_level=10)
    for quality in (0, 101):
        with pytest.raises(ValueError):
            tio.encode_jpeg(image, quality=quality)
    with pytest.raises(ValueError):
        tio.encode_jpeg([])
    with pytest.raises(RuntimeError):
        tio.write_file(tmp_path / "x", png.to(jtorch.int32))
    with pytest.raises(RuntimeError):
        tio.write_file(tmp_path / "x", png.reshape(1, -1))
    assert not (tmp_path / "x").exists()
