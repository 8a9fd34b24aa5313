"""Adadelta."""
import jtorch as torch

from .adam import _check_common, _check_wd
from .optimizer import ADD_ALPHA, ADD_ALPHA_, ADDCMUL_VALUE, Optimizer

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        _check_common(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_wd(weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize, capturable=capturable,
                        foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _number_hypers(self, group):
        recorded = {"lr": ADD_ALPHA_, "rho": ADDCMUL_VALUE} if group["differentiable"] else {}
        return {"weight_decay": ADD_ALPHA, **recorded}

    def step(self, closure=None):
        loss = self._closure_loss(closure)

        def init(state, p, group):
            state["step"] = self._step_tensor()
            state["square_avg"] = torch.zeros_like(p)
            state["acc_delta"] = torch.zeros_like(p)

        self._step_groups(
            "adadelta", init, lambda g: ("step", "square_avg", "acc_delta"),
            lambda g: {k: g[k] for k in ("lr", "rho", "eps", "weight_decay")},
            lambda g: dict(maximize=bool(g["maximize"]), wd=bool(g["weight_decay"] != 0)))
        return loss
