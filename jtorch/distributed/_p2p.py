"""Point-to-point transfers: send/recv, isend/irecv (Work handles), P2POp and batch_isend_irecv.

A transfer is a message in the key-value store of JAX's coordination service (on rank 0):
the sender puts the tensor's bytes under ``jtorch/p2p/SRC/DST/TAG/N`` (its N-th send to DST
with TAG) and returns at once; the receiver's N-th receive from SRC with TAG waits for that key,
takes it and deletes it. So sends are buffered and never wait for the receiver, any order of
sends and receives between two ranks pairs up as in torch (per peer and tag, in call order), and
a receive waits at most the group's timeout. The data goes through rank 0's coordinator: right
for control messages and pipeline activations of modest size, not a bandwidth path.
"""
import json
import time

import jax.numpy as jnp
import numpy as np

from . import _runtime
from ._types import DistBackendError, Work
from .distributed_c10d import _resolve, _not_member

_sent = {}  # (dst, tag) -> sends so far
_received = {}  # (src, tag) -> receives so far (reserved when the receive is posted)


def _check_tensor(t):
    from ..tensor import Tensor
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `tensor` of type torch.Tensor "
                        f"but got {type(t)} instead.")


def _peer(group, peer, group_peer, what):
    """The peer's global rank (``group_peer`` is a rank within ``group``), checked."""
    g = _resolve(group)
    world = _resolve(None)
    if group_peer is not None:
        if peer is not None:
            raise ValueError(f"Can't specify both {what} and group_{what}")
        if not 0 <= group_peer < g.size():
            raise ValueError(f"Invalid group_{what} {group_peer}: the group has {g.size()} ranks")
        peer = g.ranks[group_peer]
    if peer is None:
        return None
    peer = int(peer)
    if peer not in g.ranks:
        raise ValueError(f"Invalid {what} rank {peer}: not a member of the group {list(g.ranks)}")
    if peer == world.my_rank:
        raise ValueError(f"Invalid {what} rank {peer}: a rank cannot send to or receive from itself")
    return peer


def _key(src, dst, tag, n):
    return f"jtorch/p2p/{src}/{dst}/{tag}/{n}"


def _pack(arr):
    a = np.asarray(arr)
    head = json.dumps({"dtype": str(a.dtype), "shape": list(a.shape)}).encode()
    return len(head).to_bytes(4, "little") + head + np.ascontiguousarray(a).tobytes()


def _unpack(raw):
    n = int.from_bytes(raw[:4], "little")
    head = json.loads(raw[4:4 + n].decode())
    return np.frombuffer(raw[4 + n:], dtype=jnp.dtype(head["dtype"])).reshape(head["shape"])


def _post_send(tensor, dst, tag):
    me = _resolve(None).my_rank
    n = _sent.get((dst, tag), 0)
    _sent[(dst, tag)] = n + 1
    _runtime.client().key_value_set_bytes(_key(me, dst, tag, n), _pack(tensor._value))


class _RecvWork(Work):
    """A posted receive: completes when its message has arrived and is written into the tensor."""

    def __init__(self, tensor, src, tag, timeout):
        super().__init__([tensor])
        self._tensor, self._src, self._tag, self._timeout = tensor, src, tag, timeout
        self._done = False
        me = _resolve(None).my_rank
        if src is None:
            self._key = None  # any source: resolved when a message arrives
        else:
            n = _received.get((src, tag), 0)
            _received[(src, tag)] = n + 1
            self._key = _key(src, me, tag, n)

    def _take(self, raw, key):
        _runtime.client().key_value_delete(key)
        got = _unpack(raw)
        t = self._tensor
        if got.size != t.numel():
            raise RuntimeError(f"recv: the message from rank {self._src} has {got.size} elements, the receiving "
                               f"tensor {tuple(t.shape)} has {t.numel()}")
        t._set_array(jnp.asarray(got.reshape(tuple(t.shape))).astype(t._value.dtype))
        self._done = True

    def _try(self):
        """Take the message if it is there (never blocks). Returns whether done."""
        if self._done:
            return True
        client = _runtime.client()
        me = _resolve(None).my_rank
        if self._key is not None:
            candidates = [(self._src, self._key)]
        else:
            candidates = [(s, _key(s, me, self._tag, _received.get((s, self._tag), 0)))
                          for s in _resolve(None).ranks if s != me]
        for src, key in candidates:
            try:
                raw = client.key_value_try_get_bytes(key)
            except Exception:  # noqa: BLE001  (NOT_FOUND: not sent yet)
                continue
            if self._key is None:
                _received[(src, self._tag)] = _received.get((src, self._tag), 0) + 1
                self._src = src
            self._take(raw, key)
            return True
        return False

    def wait(self, timeout=None):
        if self._done:
            return True
        secs = (timeout or self._timeout).total_seconds()
        deadline = time.monotonic() + secs
        while True:  # in slices: between them, a peer that announced its failure ends the wait
            if self._key is not None:
                left = deadline - time.monotonic()
                try:
                    raw = _runtime.client().blocking_key_value_get_bytes(self._key, max(1, int(min(left, 0.5) * 1000)))
                except Exception:  # noqa: BLE001  (JAX's DEADLINE_EXCEEDED for this slice)
                    raw = None
                if raw is not None:
                    self._take(raw, self._key)
                    return True
            else:
                for _ in range(50):
                    if self._try():
                        return True
                    time.sleep(0.01)
            failed = _runtime.peer_failure()
            if failed is not None:
                raise _runtime._peer_failed_error(*failed)
            if time.monotonic() >= deadline:
                raise self._timed_out(secs)

    def _timed_out(self, secs):
        _runtime.mark_broken()  # the peer does not respond: exit with status 1, not at JAX's shutdown barrier
        src = "any rank" if self._src is None else f"rank {self._src}"
        return DistBackendError(f"Timed out waiting {int(secs * 1000)}ms for recv operation from {src} (tag "
                                f"{self._tag}) to complete: did the peer stop, or not send?")

    def is_completed(self):
        return self._try()

    def is_success(self):
        return self._done

    def source_rank(self):
        return self._src


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Send ``tensor`` to ``dst`` without waiting for its receiver; returns a completed Work
    (the data is already in flight: the tensor may be modified right away)."""
    if _not_member(group):
        return None
    _check_tensor(tensor)
    dst = _peer(group, dst, group_dst, "dst")
    if dst is None:
        raise ValueError("isend: dst (or group_dst) is required")
    _post_send(tensor, dst, int(tag))
    return Work([tensor])


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Post a receive into ``tensor`` from ``src`` (any rank when None); ``wait()`` on the
    returned Work blocks until it arrived (at most the group's timeout)."""
    if _not_member(group):
        return None
    _check_tensor(tensor)
    src = _peer(group, src, group_src, "src")
    return _RecvWork(tensor, src, int(tag), _resolve(group).timeout)


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Send ``tensor`` to ``dst`` (buffered: returns once the data is handed over)."""
    isend(tensor, dst, group, tag, group_dst)


def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into ``tensor`` from ``src`` (any rank when None); returns the sender's rank."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    return work.source_rank()


class P2POp:
    """One isend or irecv for ``batch_isend_irecv``."""

    def __init__(self, op, tensor, peer=None, group=None, tag=0, group_peer=None):
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``torch.distributed.isend`` or "
                             "``torch.distributed.irecv``.")
        _check_tensor(tensor)
        self.op, self.tensor, self.peer, self.tag, self.group_peer = op, tensor, peer, tag, group_peer
        self.group = _resolve(group)

    def __repr__(self):
        return (f"P2POp(op={self.op.__name__}, tensor shape {tuple(self.tensor.shape)}, peer={self.peer}, "
                f"tag={self.tag})")


def batch_isend_irecv(p2p_op_list):
    """Start every op of the list (sends first, so that no receive waits on this rank's own
    sends); returns their Works, in list order."""
    if not isinstance(p2p_op_list, (list, tuple)) or not p2p_op_list:
        raise ValueError("batch_isend_irecv expects a non-empty list of P2POp")
    if not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                         "``torch.distributed.P2POp``.")
    works = [None] * len(p2p_op_list)
    for want in (isend, irecv):
        for i, p in enumerate(p2p_op_list):
            if p.op is want:
                kw = {"group_dst" if want is isend else "group_src": p.group_peer}
                works[i] = want(p.tensor, p.peer, p.group, p.tag, **kw)
    return works
