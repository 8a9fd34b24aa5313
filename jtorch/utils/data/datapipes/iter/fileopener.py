"""FileOpener: paths to open file streams."""
from ..datapipe import IterDataPipe
from ..utils.common import get_file_binaries_from_pathnames


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
