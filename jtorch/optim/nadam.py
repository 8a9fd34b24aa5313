"""NAdam (Adam with Nesterov momentum and torch's momentum-decay schedule)."""
import jtorch as torch

from .adam import _check_betas, _check_common, _check_wd
from .optimizer import ADDCMUL_VALUE, Optimizer, _coupled_wd

__all__ = ["NAdam"]


class NAdam(Optimizer):
    _capturable_tensors = "params, mu_products"

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check_common(lr, eps)
        _check_betas(betas)
        _check_wd(weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _number_hypers(self, group):
        return {**_coupled_wd(group), **({"betas": ADDCMUL_VALUE} if group["differentiable"] else {})}

    def step(self, closure=None):
        loss = self._closure_loss(closure)

        def init(state, p, group):
            state["step"] = self._step_tensor()
            state["mu_product"] = torch.tensor(1.0, dtype=torch.float32)
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)

        self._step_groups(
            "nadam", init, lambda g: ("step", "mu_product", "exp_avg", "exp_avg_sq"),
            lambda g: {"lr": g["lr"], "beta1": g["betas"][0], "beta2": g["betas"][1], "eps": g["eps"],
                       "weight_decay": g["weight_decay"], "momentum_decay": g["momentum_decay"]},
            lambda g: dict(maximize=bool(g["maximize"]), wd=bool(g["weight_decay"] != 0),
                           decoupled=bool(g["decoupled_weight_decay"])))
        return loss
