"""The built-in DDP communication hooks. ``process_group`` is the hook's state (None: the
default group); each returns a Future holding the bucket's averaged gradients."""
import jtorch as torch
from jtorch import distributed as dist


def _group_size(process_group):
    return dist.get_world_size(process_group)


def allreduce_hook(process_group, bucket):
    """Average over the group: divide by its size, then sum (as DDP does without a hook)."""
    tensor = bucket.buffer()
    tensor.div_(_group_size(process_group))
    fut = dist.all_reduce(tensor, group=process_group, async_op=True).get_future()
    return fut.then(lambda f: f.value()[0])


def _compress_hook(dtype, process_group, bucket):
    buffer = bucket.buffer()
    compressed = buffer.to(dtype).div_(_group_size(process_group))  # sum in the narrow dtype, as torch
    fut = dist.all_reduce(compressed, group=process_group, async_op=True).get_future()

    def decompress(f):
        buffer.copy_(f.value()[0])  # back to the gradients' dtype, in the bucket's buffer
        return buffer
    return fut.then(decompress)


def fp16_compress_hook(process_group, bucket):
    """Communicate the bucket as float16 (halves the bytes sent), then cast back."""
    return _compress_hook(torch.float16, process_group, bucket)


def bf16_compress_hook(process_group, bucket):
    """Communicate the bucket as bfloat16, then cast back."""
    return _compress_hook(torch.bfloat16, process_group, bucket)
