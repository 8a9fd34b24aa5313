"""StreamReader: the contents of streams, whole or in chunks."""
from ..datapipe import IterDataPipe
from ..utils.common import StreamWrapper


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
