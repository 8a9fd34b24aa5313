"""torch.backends: flags that torch programs set; on XLA they are accepted and recorded."""
from . import cudnn, mps, cuda, cpu, mkldnn, opt_einsum, quantized  # noqa: F401
