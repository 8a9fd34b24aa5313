"""Downloading, checksums and archive extraction (torchvision.datasets.utils)."""
import bz2
import gzip
import hashlib
import lzma
import os
import pathlib
import re
import tarfile
import urllib.error
import urllib.request
import zipfile
from urllib.parse import urlparse

from ..._atomic import atomic_open

USER_AGENT = "pytorch/vision"


def calculate_md5(fpath, chunk_size=1024 * 1024):
    md5 = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        while chunk := f.read(chunk_size):
            md5.update(chunk)
    return md5.hexdigest()


def check_md5(fpath, md5, **kwargs):
    return md5 == calculate_md5(fpath, **kwargs)


def check_integrity(fpath, md5=None):
    """True when ``fpath`` is a file and (if ``md5`` is given) its checksum matches."""
    if not os.path.isfile(fpath):
        return False
    return md5 is None or check_md5(fpath, md5)


def _urlretrieve(url, filename, chunk_size=1024 * 32):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request) as response, atomic_open(filename) as fh:  # never a truncated file
        total = response.headers.get("Content-Length") if hasattr(response, "headers") else None
        done = 0
        while chunk := response.read(chunk_size):
            fh.write(chunk)
            done += len(chunk)
        if total is not None and done < int(total):
            raise urllib.error.URLError(f"incomplete download of {url}: {done} of {total} bytes")


def download_url(url, root, filename=None, md5=None, max_redirect_hops=3):
    """Download ``url`` into ``root/filename`` unless a file with the right checksum is there."""
    root = os.path.expanduser(root)
    filename = filename or os.path.basename(url)
    fpath = os.fspath(os.path.join(root, filename))
    os.makedirs(root, exist_ok=True)
    if check_integrity(fpath, md5):
        return
    file_id = _google_drive_file_id(url)
    if file_id is not None:
        return download_file_from_google_drive(file_id, root, filename, md5)
    print(f"Downloading {url} to {fpath}")
    try:
        _urlretrieve(url, fpath)  # urllib follows redirects itself
    except (urllib.error.URLError, OSError):
        if url[:5] != "https":
            raise
        _urlretrieve(url.replace("https:", "http:"), fpath)
    if not check_integrity(fpath, md5):
        raise RuntimeError("File not found or corrupted.")


def _google_drive_file_id(url):
    """The file id of a ``https://drive.google.com/file/d/<id>/...`` link, else None."""
    parts = urlparse(url)
    if re.match(r"(drive|docs)[.]google[.]com", parts.netloc) is None:
        return None
    match = re.match(r"/file/d/(?P<id>[^/]*)", parts.path)
    return None if match is None else match.group("id")


def download_file_from_google_drive(file_id, root, filename=None, md5=None):
    """Download the Google Drive file ``file_id`` into ``root/filename`` (default: the id).

    Google Drive answers large files with a confirmation page, which the ``gdown`` package
    handles; like torchvision it is required here and imported only when used."""
    try:
        import gdown
    except ModuleNotFoundError:
        raise RuntimeError("To download files from GDrive, 'gdown' is required. "
                           "You can install it with 'pip install gdown'.") from None
    root = os.path.expanduser(root)
    fpath = os.fspath(os.path.join(root, filename or file_id))
    os.makedirs(root, exist_ok=True)
    if check_integrity(fpath, md5):
        return
    gdown.download(id=file_id, output=fpath, quiet=False, user_agent=USER_AGENT)
    if not check_integrity(fpath, md5):
        raise RuntimeError("File not found or corrupted.")


def list_dir(root, prefix=False):
    root = os.path.expanduser(root)
    dirs = [p for p in os.listdir(root) if os.path.isdir(os.path.join(root, p))]
    return [os.path.join(root, d) for d in dirs] if prefix else dirs


def list_files(root, suffix, prefix=False):
    root = os.path.expanduser(root)
    files = [p for p in os.listdir(root) if os.path.isfile(os.path.join(root, p)) and p.endswith(suffix)]
    return [os.path.join(root, f) for f in files] if prefix else files


_COMPRESSORS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_TAR_SUFFIXES = {".tar": "", ".tgz": "gz", ".tbz": "bz2", ".tbz2": "bz2", ".txz": "xz"}


def _detect_file_type(path):
    """(suffix, archive type or None, compression or None) from the file name."""
    name = os.path.basename(os.fspath(path))
    stem, last = os.path.splitext(name)
    last = last.lower()
    if last in _TAR_SUFFIXES:
        return last, "tar", (f".{_TAR_SUFFIXES[last]}" if _TAR_SUFFIXES[last] else None)
    if last == ".zip":
        return last, "zip", None
    if last in _COMPRESSORS:
        inner = os.path.splitext(stem)[1].lower()
        if inner == ".tar":
            return inner + last, "tar", last
        return last, None, last
    raise RuntimeError(f"File '{name}' has no suffix that tells its archive type or compression. "
                       "Supported: .tar, .tgz, .tbz, .txz, .zip, .gz, .bz2, .xz and .tar.gz/.tar.bz2/.tar.xz")


def _safe_members(tar, to_path):
    root = os.path.realpath(to_path)
    for m in tar.getmembers():
        target = os.path.realpath(os.path.join(to_path, m.name))
        if os.path.commonpath([root, target]) != root:
            raise RuntimeError(f"Archive member {m.name!r} would be extracted outside {to_path}")
        yield m


def extract_archive(from_path, to_path=None, remove_finished=False):
    """Extract a .tar(.gz/.bz2/.xz), .tgz or .zip archive, or decompress a single .gz/.bz2/.xz file.
    Returns the directory (archives) or the decompressed file's path."""
    if to_path is None:
        to_path = os.path.dirname(from_path)
    suffix, archive, compression = _detect_file_type(from_path)
    if archive is None:
        out = os.path.join(to_path, os.path.basename(from_path)[:-len(suffix)])
        with _COMPRESSORS[compression](from_path, "rb") as src, open(out, "wb") as dst:
            while chunk := src.read(1024 * 1024):
                dst.write(chunk)
        result = out
    elif archive == "tar":
        mode = f"r:{compression[1:]}" if compression else "r"
        with tarfile.open(from_path, mode) as tar:
            tar.extractall(to_path, members=_safe_members(tar, to_path))
        result = to_path
    else:
        with zipfile.ZipFile(from_path, "r", compression=zipfile.ZIP_STORED) as z:
            z.extractall(to_path)
        result = to_path
    if remove_finished:
        os.remove(from_path)
    return result if isinstance(from_path, str) else pathlib.Path(result)


def download_and_extract_archive(url, download_root, extract_root=None, filename=None, md5=None,
                                 remove_finished=False):
    download_root = os.path.expanduser(download_root)
    extract_root = extract_root or download_root
    filename = filename or os.path.basename(url)
    download_url(url, download_root, filename, md5)
    extract_archive(os.path.join(download_root, filename), extract_root, remove_finished)


def iterable_to_str(iterable):
    return "'" + "', '".join(str(item) for item in iterable) + "'"


def verify_str_arg(value, arg=None, valid_values=None, custom_msg=None):
    if not isinstance(value, str):
        what = "" if arg is None else f" for argument {arg}"
        raise ValueError(f"Expected type str{what}, but got type {type(value)}.")
    if valid_values is None or value in valid_values:
        return value
    raise ValueError(custom_msg or f"Unknown value '{value}' for argument {arg}. "
                                   f"Valid values are {{{iterable_to_str(valid_values)}}}.")


def _read_pfm(file_name, slice_channels=2):
    """A .pfm image (3-channel 'PF' or 1-channel 'Pf', float32, stored bottom row first; a negative
    scale means little-endian) as a float32 (C, H, W) array of its first ``slice_channels``."""
    import numpy as np

    with open(file_name, "rb") as f:
        header = f.readline().rstrip()
        if header not in (b"PF", b"Pf"):
            raise ValueError("Invalid PFM file")
        dims = re.match(rb"^(\d+)\s(\d+)\s$", f.readline())
        if not dims:
            raise Exception("Malformed PFM header.")
        w, h = (int(d) for d in dims.groups())
        endian = "<" if float(f.readline().rstrip()) < 0 else ">"
        data = np.fromfile(f, dtype=endian + "f")
    channels = 3 if header == b"PF" else 1
    data = np.flip(data.reshape(h, w, channels).transpose(2, 0, 1), axis=1)
    return data[:slice_channels].astype(np.float32)
