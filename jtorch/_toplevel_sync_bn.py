"""The kernels torch's SyncBatchNorm is built from (CUDA-only in torch; any device here), written with
jtorch ops so they are differentiable like the rest:

batch_norm_stats            per-channel mean and 1/sqrt(biased var + eps) of one process's batch
batch_norm_gather_stats*    combine every process's (mean, invstd, count) into the global ones and update
                            the running statistics (unbiased variance, as torch)
batch_norm_elemt            normalise with given statistics: (x - mean) * invstd * weight + bias
batch_norm_backward_reduce  per-channel sums of dy and dy * (x - mean), and the weight/bias gradients
batch_norm_backward_elemt   the input gradient from the globally reduced sums
batch_norm_update_stats     mean and biased variance of the batch, updating running statistics in place
"""
import jtorch as torch

__all__ = ["batch_norm_stats", "batch_norm_gather_stats", "batch_norm_gather_stats_with_counts", "batch_norm_elemt",
           "batch_norm_backward_reduce", "batch_norm_backward_elemt", "batch_norm_update_stats"]


def _acc(t):
    """Statistics of half inputs are kept in float32, as torch's kernels accumulate."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def _dims(x):
    if x.dim() < 2:
        raise RuntimeError(f"Expected input to have at least 2 dimensions (N, C, ...), got {x.dim()}")
    return [d for d in range(x.dim()) if d != 1]


def _channel(v, x):
    """A per-channel vector shaped to broadcast against x (N, C, ...)."""
    return v.reshape([1, -1] + [1] * (x.dim() - 2))


def batch_norm_stats(input, eps):
    x = _acc(input)
    dims = _dims(x)
    mean = x.mean(dims)
    var = x.var(dims, correction=0)
    return mean, torch.rsqrt(var + eps)


def batch_norm_gather_stats_with_counts(input, mean, invstd, running_mean, running_var, momentum, eps, counts):
    counts = counts.to(mean.dtype).reshape(-1, 1)
    total = counts.sum()
    var = invstd.pow(-2) - eps  # each process's biased variance
    gmean = (counts * mean).sum(0) / total
    gvar = (counts * (var + (mean - gmean) ** 2)).sum(0) / total
    with torch.no_grad():
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(gmean.to(running_mean.dtype), alpha=momentum)
        if running_var is not None:
            unbiased = gvar * total / (total - 1)
            running_var.mul_(1 - momentum).add_(unbiased.to(running_var.dtype), alpha=momentum)
    return gmean, torch.rsqrt(gvar + eps)


def batch_norm_gather_stats(input, mean, invstd, running_mean, running_var, momentum, eps, count):
    counts = torch.full((mean.shape[0],), float(count), dtype=mean.dtype, device=mean.device)
    return batch_norm_gather_stats_with_counts(input, mean, invstd, running_mean, running_var, momentum, eps, counts)


def batch_norm_elemt(input, weight, bias, mean, invstd, eps, *, out=None):
    y = (input - _channel(mean, input)) * _channel(invstd, input)
    if weight is not None:
        y = y * _channel(weight, input)
    if bias is not None:
        y = y + _channel(bias, input)
    y = y.to(input.dtype)
    return y if out is None else out.copy_(y)


def batch_norm_backward_reduce(grad_out, input, mean, invstd, weight, input_g, weight_g, bias_g):
    dims = _dims(input)
    dy = _acc(grad_out)
    xmu = _acc(input) - _channel(mean, input)
    sum_dy = dy.sum(dims)
    sum_dy_xmu = (dy * xmu).sum(dims)
    grad_weight = (sum_dy_xmu * invstd).to(weight.dtype if weight is not None else mean.dtype) if weight_g else None
    grad_bias = sum_dy.to(weight.dtype if weight is not None else mean.dtype) if bias_g else None
    if not input_g:
        sum_dy = sum_dy_xmu = None
    return sum_dy, sum_dy_xmu, grad_weight, grad_bias


def batch_norm_backward_elemt(grad_out, input, mean, invstd, weight, sum_dy, sum_dy_xmu, count):
    total = count.sum().to(mean.dtype)
    mean_dy = _channel(sum_dy / total, input)
    mean_dy_xmu = _channel(sum_dy_xmu / total, input)
    inv = _channel(invstd, input)
    xmu = _acc(input) - _channel(mean, input)
    g = (_acc(grad_out) - mean_dy - xmu * inv * inv * mean_dy_xmu) * inv
    if weight is not None:
        g = g * _channel(weight, input)
    return g.to(input.dtype)


def batch_norm_update_stats(input, running_mean, running_var, momentum):
    x = _acc(input)
    dims = _dims(x)
    mean = x.mean(dims)
    var = x.var(dims, correction=0)
    n = x.numel() // x.shape[1]
    with torch.no_grad():
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(mean.to(running_mean.dtype), alpha=momentum)
        if running_var is not None:
            running_var.mul_(1 - momentum).add_((var * n / max(n - 1, 1)).to(running_var.dtype), alpha=momentum)
    return mean, var
