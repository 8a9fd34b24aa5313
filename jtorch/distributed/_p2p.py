"""Point-to-point transfers: send/recv, isend/irecv (Work handles), P2POp and batch_isend_irecv.

A transfer is a message on a direct connection from the sender to the receiver (_p2p_net.py):
the sender writes the tensor's bytes as its N-th message to DST with TAG and returns; the
receiver's process reads every message into its mailbox as it comes, and its N-th receive from
SRC with TAG takes message (SRC, TAG, N). So sends are buffered and never wait for the receiver,
any order of sends and receives between two ranks pairs up as in torch (per peer and tag, in
call order), and a receive waits at most the group's timeout, less when its peer failed.
"""
import time

import jax
import numpy as np

from . import _p2p_net, _runtime
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


def _post_send(tensor, dst, tag):
    me = _resolve(None).my_rank
    n = _sent.get((dst, tag), 0)
    _sent[(dst, tag)] = n + 1
    j = _runtime.joined()
    _p2p_net.send(j["agent"], me, dst, tag, n, np.asarray(tensor._value), j["timeout"])


class _RecvWork(Work):
    """A posted receive: completes when its message has arrived and is written into the tensor."""

    def __init__(self, tensor, src, tag, timeout):
        super().__init__([tensor])
        self._tensor, self._src, self._tag, self._timeout = tensor, src, tag, timeout
        self._done = False
        if src is None:
            self._key = None  # any source: resolved when a message arrives
        else:
            n = _received.get((src, tag), 0)
            _received[(src, tag)] = n + 1
            self._key = (src, tag, n)

    def _candidates(self):
        if self._key is not None:
            return [self._key]
        me = _resolve(None).my_rank
        return [(s, self._tag, _received.get((s, self._tag), 0)) for s in _resolve(None).ranks if s != me]

    def _take(self, key, got):
        if self._key is None:  # any source: this message is the next one from its sender
            self._src = key[0]
            _received[(key[0], self._tag)] = key[2] + 1
        t = self._tensor
        if got.size != t.numel():
            raise RuntimeError(f"recv: the message from rank {self._src} has {got.size} elements, the receiving "
                               f"tensor {tuple(t.shape)} has {t.numel()}")
        # device_put of a fresh host buffer can alias it (jnp.asarray copies: 100 ms for 64 MiB)
        arr = jax.device_put(got.reshape(tuple(t.shape)), next(iter(t._value.devices())))
        t._set_array(arr if arr.dtype == t._value.dtype else arr.astype(t._value.dtype))
        self._done = True

    def _try(self):
        """Take the message if it is there (never blocks). Returns whether done."""
        if self._done:
            return True
        for key in self._candidates():
            got = _p2p_net.take(key)
            if got is not None:
                self._take(key, got)
                return True
        return False

    def wait(self, timeout=None):
        if self._done:
            return True
        secs = (timeout or self._timeout).total_seconds()
        deadline = time.monotonic() + secs
        slice_s = 0.05
        while True:  # in slices: between them, a peer that failed ends the wait
            found = _p2p_net.wait(self._candidates(), max(0.0, min(slice_s, deadline - time.monotonic())))
            if found is not None:
                self._take(*found)
                return True
            failed = _runtime.peer_failure()
            if failed is not None and (self._src is None or failed[0] == self._src):
                raise _runtime._peer_failed_error(*failed)
            if time.monotonic() >= deadline:
                raise self._timed_out(secs)
            slice_s = 0.25

    def _timed_out(self, secs):
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
