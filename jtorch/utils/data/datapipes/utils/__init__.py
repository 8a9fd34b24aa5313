"""Helpers of the DataPipes: file streams (``common``), decoders (``decoder``), snapshots (``snapshot``)."""
from . import common, decoder, snapshot  # noqa: F401
