"""RMSprop (torch's form: eps added after the square root; optional centering and momentum)."""
import jtorch as torch

from .adam import _check_common, _check_wd
from .optimizer import ADD_ALPHA, ADD_ALPHA_, ADDCDIV_VALUE, ADDCMUL_VALUE, Optimizer, _nonzero

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_common(lr, eps)
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        _check_wd(weight_decay)
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered, weight_decay=weight_decay,
                        capturable=capturable, foreach=foreach, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _number_hypers(self, group):
        if not group["differentiable"]:
            return {"weight_decay": ADD_ALPHA}
        return {"weight_decay": ADD_ALPHA, "lr": ADD_ALPHA_ if group["momentum"] > 0 else ADDCDIV_VALUE,
                "alpha": ADDCMUL_VALUE}

    def step(self, closure=None):
        loss = self._closure_loss(closure)

        def init(state, p, group):
            state["step"] = self._step_tensor()
            state["square_avg"] = torch.zeros_like(p)
            if _nonzero(group["momentum"]):
                state["momentum_buffer"] = torch.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = torch.zeros_like(p)

        def keys(group):
            return (("step", "square_avg") + (("momentum_buffer",) if _nonzero(group["momentum"]) else ())
                    + (("grad_avg",) if group["centered"] else ()))

        self._step_groups(
            "rmsprop", init, keys,
            lambda g: {k: g[k] for k in ("lr", "alpha", "eps", "weight_decay", "momentum")},
            lambda g: dict(maximize=bool(g["maximize"]), wd=bool(g["weight_decay"] != 0),
                           centered=bool(g["centered"]), momentum=bool(g["momentum"] > 0)))
        return loss
