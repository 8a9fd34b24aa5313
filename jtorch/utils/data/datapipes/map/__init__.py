"""The map-style DataPipes, by their short names; functional forms ``map``, ``batch``, ``concat``,
``zip``, ``shuffle`` are registered here."""
from ..datapipe import MapDataPipe
from .pipes import (BatcherMapDataPipe as Batcher, ConcaterMapDataPipe as Concater, MapperMapDataPipe as Mapper,
                    SequenceWrapperMapDataPipe as SequenceWrapper, ShufflerIterDataPipe as Shuffler,
                    ZipperMapDataPipe as Zipper)

__all__ = ["Batcher", "Concater", "Mapper", "SequenceWrapper", "Shuffler", "Zipper"]

for _name, _cls in (("map", Mapper), ("shuffle", Shuffler), ("concat", Concater), ("zip", Zipper),
                    ("batch", Batcher)):
    if _name not in MapDataPipe.functions:
        MapDataPipe.register_datapipe_as_function(_name, _cls)
del _name, _cls
