"""Adafactor: factored second moments (row and column statistics for matrices)."""
import jtorch as torch

from .optimizer import Optimizer, _nonzero

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params, grads = self._with_grad(group)
            if not params:
                continue
            for p in params:
                if p.is_complex():
                    raise RuntimeError("Adafactor does not support complex parameters")
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = self._step_tensor()
                    g = p.grad
                    if g.dim() > 1:
                        state["row_var"] = g.new_zeros(list(g.shape[:-1]) + [1])
                        state["col_var"] = g.new_zeros(list(g.shape[:-2]) + [1, g.shape[-1]])
                    else:
                        state["variance"] = torch.zeros_like(g)
            mats = [p for p in params if p.grad.dim() > 1]
            vecs = [p for p in params if p.grad.dim() <= 1]
            tensors = {"param": params, "grad": grads, "step": [self.state[p]["step"] for p in params],
                       "row_var": [self.state[p]["row_var"] for p in mats],
                       "col_var": [self.state[p]["col_var"] for p in mats],
                       "variance": [self.state[p]["variance"] for p in vecs]}
            eps1, eps2 = group["eps"]
            # eps1 defaults to the machine epsilon of each parameter's dtype
            eps1 = [torch.finfo(p.dtype).eps if eps1 is None else eps1 for p in params]
            hp = {"lr": group["lr"], "beta2_decay": group["beta2_decay"], "eps1": eps1,
                  "eps2": eps2, "d": group["d"], "weight_decay": group["weight_decay"]}
            self._run_kernel("adafactor", group, tensors, hp, maximize=bool(group["maximize"]),
                             wd=_nonzero(group["weight_decay"]))
        return loss
