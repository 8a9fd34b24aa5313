"""The iterable-style DataPipes, by their short names; each also has a functional form
(``dp.map(fn)``, ``dp.batch(4)``, ...) registered here."""
from ..datapipe import IterDataPipe
from .callable import CollatorIterDataPipe as Collator, MapperIterDataPipe as Mapper
from .combinatorics import SamplerIterDataPipe as Sampler, ShufflerIterDataPipe as Shuffler
from .combining import (ConcaterIterDataPipe as Concater, DemultiplexerIterDataPipe as Demultiplexer,
                        ForkerIterDataPipe as Forker, MultiplexerIterDataPipe as Multiplexer,
                        ZipperIterDataPipe as Zipper)
from .filelister import FileListerIterDataPipe as FileLister
from .fileopener import FileOpenerIterDataPipe as FileOpener
from .routeddecoder import RoutedDecoderIterDataPipe as RoutedDecoder
from .streamreader import StreamReaderIterDataPipe as StreamReader
from .grouping import (BatcherIterDataPipe as Batcher, GrouperIterDataPipe as Grouper,
                       UnBatcherIterDataPipe as UnBatcher)
from .selecting import FilterIterDataPipe as Filter
from .sharding import ShardingFilterIterDataPipe as ShardingFilter
from .utils import IterableWrapperIterDataPipe as IterableWrapper

__all__ = ["Batcher", "Collator", "Concater", "Demultiplexer", "FileLister", "FileOpener", "Filter", "Forker",
           "Grouper", "IterableWrapper", "Mapper", "Multiplexer", "RoutedDecoder", "Sampler", "ShardingFilter",
           "Shuffler", "StreamReader", "UnBatcher", "Zipper"]

for _name, _cls in (("map", Mapper), ("collate", Collator), ("shuffle", Shuffler), ("concat", Concater),
                    ("fork", Forker), ("demux", Demultiplexer), ("mux", Multiplexer), ("zip", Zipper),
                    ("list_files", FileLister), ("open_files", FileOpener), ("batch", Batcher),
                    ("unbatch", UnBatcher), ("groupby", Grouper), ("routed_decode", RoutedDecoder),
                    ("filter", Filter), ("sharding_filter", ShardingFilter), ("read_from_stream", StreamReader)):
    if _name not in IterDataPipe.functions:  # a reload must not register twice
        IterDataPipe.register_datapipe_as_function(_name, _cls)
del _name, _cls
