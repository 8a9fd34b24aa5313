"""File pipes: FileLister (paths), FileOpener (open streams), StreamReader (their bytes),
RoutedDecoder (decoded by extension)."""
from ..datapipe import IterDataPipe
from ..utils.common import StreamWrapper, get_file_binaries_from_pathnames, get_file_pathnames_from_root
from ..utils.decoder import Decoder, basichandlers, extension_extract_fn, imagehandler
from .utils import IterableWrapperIterDataPipe


class FileListerIterDataPipe(IterDataPipe):
    """Paths of the files under ``root`` (a directory, a file, a list of them, or a pipe of them)
    whose names match ``masks``; sorted unless ``non_deterministic``."""

    def __init__(self, root=".", masks="", *, recursive=False, abspath=False, non_deterministic=False, length=-1):
        if isinstance(root, str):
            root = [root]
        if not isinstance(root, IterDataPipe):
            root = IterableWrapperIterDataPipe(root)
        self.datapipe = root
        self.masks = masks
        self.recursive = recursive
        self.abspath = abspath
        self.non_deterministic = non_deterministic
        self.length = length

    def __iter__(self):
        for path in self.datapipe:
            yield from get_file_pathnames_from_root(path, self.masks, self.recursive, self.abspath,
                                                    self.non_deterministic)

    def __len__(self):
        if self.length == -1:
            raise TypeError(f"{type(self).__name__} instance doesn't have valid length")
        return self.length


class FileOpenerIterDataPipe(IterDataPipe):
    """``(path, stream)`` for each path: the file opened in ``mode`` ('r', 'rt', 't', 'rb' or 'b')."""

    def __init__(self, datapipe, mode="r", encoding=None, length=-1):
        self.datapipe = datapipe
        self.mode = mode
        self.encoding = encoding
        if self.mode not in ("b", "t", "rb", "rt", "r"):
            raise ValueError(f"Invalid mode {mode}")
        if "b" in mode and encoding is not None:
            raise ValueError("binary mode doesn't take an encoding argument")
        self.length = length

    def __iter__(self):
        yield from get_file_binaries_from_pathnames(self.datapipe, self.mode, self.encoding)

    def __len__(self):
        if self.length == -1:
            raise TypeError(f"{type(self).__name__} instance doesn't have valid length")
        return self.length


class StreamReaderIterDataPipe(IterDataPipe):
    """``(path, data)``: each stream's contents, whole or in pieces of ``chunk``; streams are closed
    once read."""

    def __init__(self, datapipe, chunk=None):
        self.datapipe = datapipe
        self.chunk = chunk

    def __iter__(self):
        for path, stream in self.datapipe:
            while True:
                data = stream.read(self.chunk) if self.chunk else stream.read()
                if not data:
                    if isinstance(stream, StreamWrapper):
                        stream.autoclose()
                    else:
                        stream.close()
                    break
                yield path, data


class RoutedDecoderIterDataPipe(IterDataPipe):
    """``(path, decoded)``: each stream decoded by the first of ``handlers`` that takes its extension
    (by default text, numbers, JSON, pickles, torch files and images)."""

    def __init__(self, datapipe, *handlers, key_fn=extension_extract_fn):
        self.datapipe = datapipe
        if not handlers:
            handlers = (basichandlers, imagehandler("torch"))
        self.decoder = Decoder(*handlers, key_fn=key_fn)

    def add_handler(self, *handler):
        self.decoder.add_handler(*handler)

    def __iter__(self):
        for path, data in self.datapipe:
            if isinstance(data, StreamWrapper) or hasattr(data, "read"):
                stream = data
                data = stream.read()
                stream.close()
            yield path, self.decoder.decode1(self.decoder.key_fn(path), data)

    def __len__(self):
        if hasattr(self.datapipe, "__len__"):
            return len(self.datapipe)
        raise TypeError(f"{type(self).__name__} instance doesn't have valid length")
