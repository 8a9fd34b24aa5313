"""ASGD (averaged SGD): the running average of the iterates is kept in state ``ax``."""
import jtorch as torch

from .adam import _check_common, _check_wd
from .optimizer import ADD_ALPHA, Optimizer

__all__ = ["ASGD"]


class ASGD(Optimizer):
    _capturable_tensors = "params, mus, etas,"

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        _check_common(lr)
        _check_wd(weight_decay)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _number_hypers(self, group):
        return {"weight_decay": ADD_ALPHA}

    def step(self, closure=None):
        loss = self._closure_loss(closure)

        def init(state, p, group):
            state["step"] = self._step_tensor()
            lr = group["lr"]
            state["eta"] = (lr.detach().clone().to(torch.float32) if isinstance(lr, torch.Tensor)
                            else torch.tensor(float(lr), dtype=torch.float32))
            state["mu"] = torch.ones((), dtype=torch.float32)
            state["ax"] = torch.zeros_like(p)

        self._step_groups(
            "asgd", init, lambda g: ("step", "eta", "mu", "ax"),
            lambda g: {k: g[k] for k in ("lr", "lambd", "alpha", "t0", "weight_decay")},
            lambda g: dict(maximize=bool(g["maximize"]), wd=bool(g["weight_decay"] != 0)))
        return loss
