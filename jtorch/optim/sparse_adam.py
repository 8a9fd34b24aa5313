"""SparseAdam: lazy Adam that only updates the entries a sparse gradient specifies
(``nn.Embedding(sparse=True)``); dense gradients are refused, as in torch.
"""
from .adam import _check_betas
from .optimizer import Optimizer

import jtorch as torch

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    _tensor_step = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))
        sparse_params = [[i, j] for i, g in enumerate(self.param_groups)
                         for j, p in enumerate(g["params"]) if p.is_sparse]
        complex_params = [[i, j] for i, g in enumerate(self.param_groups)
                          for j, p in enumerate(g["params"]) if p.is_complex()]
        if sparse_params:
            raise ValueError(f"Sparse params at indices {sparse_params}: SparseAdam requires dense parameter tensors")
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not support complex "
                             "parameters")

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads, present = [], []
            for p in params:
                if not p.grad.is_sparse:
                    raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam instead")
                g = p.grad.coalesce()  # duplicates summed; the specified entries are the ones updated
                grads.append(g.to_dense())
                ones = torch.ones(g._values().shape, dtype=torch.bool, device=g.device)
                present.append(torch.sparse_coo_tensor(g._indices(), ones, tuple(g.shape)).to_dense())
            for p in params:
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0  # a Python int in torch's SparseAdam
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
            tensors = {"param": params, "grad": grads, "present": present, "exp_avg": [self.state[p]["exp_avg"] for p in params],
                       "exp_avg_sq": [self.state[p]["exp_avg_sq"] for p in params]}
            beta1, beta2 = group["betas"]
            hp = {"lr": group["lr"], "beta1": beta1, "beta2": beta2, "eps": group["eps"],
                  "steps": [self.state[p]["step"] for p in params]}
            self._run_kernel("sparse_adam", group, tensors, hp, maximize=bool(group.get("maximize", False)))
        return loss
