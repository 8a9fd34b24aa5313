"""Adamax (Adam with the infinity norm)."""
import jtorch as torch

from .adam import _check_betas, _check_common, _check_wd
from .optimizer import ADD_ALPHA, ADDCDIV_VALUE, Optimizer

__all__ = ["Adamax"]


class Adamax(Optimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        _check_common(lr, eps)
        _check_betas(betas)
        _check_wd(weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _number_hypers(self, group):
        recorded = {"lr": ADDCDIV_VALUE, "betas": ADDCDIV_VALUE} if group["differentiable"] else {}
        return {"weight_decay": ADD_ALPHA, **recorded}

    def step(self, closure=None):
        loss = self._closure_loss(closure)

        def init(state, p, group):
            state["step"] = self._step_tensor()
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_inf"] = torch.zeros_like(p)

        self._step_groups(
            "adamax", init, lambda g: ("step", "exp_avg", "exp_inf"),
            lambda g: {"lr": g["lr"], "beta1": g["betas"][0], "beta2": g["betas"][1], "eps": g["eps"],
                       "weight_decay": g["weight_decay"]},
            lambda g: dict(maximize=bool(g["maximize"]), wd=bool(g["weight_decay"] != 0)))
        return loss
