"""RoutedDecoder: stream contents decoded by their file extension."""
from ..datapipe import IterDataPipe
from ..utils.common import StreamWrapper
from ..utils.decoder import Decoder, basichandlers, extension_extract_fn, imagehandler


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
