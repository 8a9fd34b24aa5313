"""TFRecord framing and the append-only event file. A record is: its length (uint64, little endian), the
masked CRC-32C of those 8 bytes, the data, the masked CRC-32C of the data. Event files are logs that
TensorBoard reads while they grow, so they are appended to (never rewritten) and flushed in whole records."""
import os
import socket
import struct
import threading
import time

from . import _proto


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data):
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))


_file_counter = 0  # torch numbers every event file a process opens: ...<pid>.<n>
_counter_lock = threading.Lock()


class EventFileWriter:
    """One event file in ``log_dir``. Records queue in memory and reach the file when ``max_queue`` of them
    wait, when ``flush_secs`` passed since the last flush (checked as events arrive: no thread), on
    ``flush()`` and on ``close()``."""

    WRITER_NAME = "jtorch.utils.tensorboard"

    def __init__(self, log_dir, max_queue=10, flush_secs=120, filename_suffix=""):
        global _file_counter
        os.makedirs(log_dir, exist_ok=True)
        with _counter_lock:
            number = _file_counter
            _file_counter += 1
        name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}.{number}"
        self.path = os.path.join(log_dir, name + filename_suffix)
        self._file = open(self.path, "ab")
        self._queue = []
        self._max_queue = max_queue
        self._flush_secs = flush_secs
        self._last_flush = time.monotonic()
        self._lock = threading.Lock()
        self.add_event(_proto.event(time.time(), file_version="brain.Event:2", writer_name=self.WRITER_NAME))
        self.flush()

    def add_event(self, event_bytes):
        with self._lock:
            if self._file is None:
                raise RuntimeError("the event file writer was closed")
            self._queue.append(frame(event_bytes))
            due = (len(self._queue) >= self._max_queue
                   or time.monotonic() - self._last_flush >= self._flush_secs)
        if due:
            self.flush()

    def flush(self):
        with self._lock:
            if self._file is None:
                return
            if self._queue:
                self._file.write(b"".join(self._queue))
                self._queue.clear()
            self._file.flush()
            self._last_flush = time.monotonic()

    def close(self):
        self.flush()
        with self._lock:
            if self._file is not None:
                os.fsync(self._file.fileno())
                self._file.close()
                self._file = None

    @property
    def closed(self):
        return self._file is None
