"""Rprop (resilient backpropagation): per-element step sizes adapted from gradient signs."""
import jtorch as torch

from .adam import _check_common
from .optimizer import Optimizer

__all__ = ["Rprop"]


class Rprop(Optimizer):
    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, foreach=None,
                 maximize=False, differentiable=False):
        _check_common(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)

        def init(state, p, group):
            state["step"] = self._step_tensor()
            state["prev"] = torch.zeros_like(p)
            # complex parameters step per component (view_as_real): both start at lr
            lr = group["lr"]
            if isinstance(lr, torch.Tensor) and lr.requires_grad:  # (torch fills step_size with lr as a number)
                raise TypeError("full_like(): argument 'fill_value' (position 2) must be Number, not Tensor")
            state["step_size"] = torch.full_like(p.grad, complex(lr, lr) if p.is_complex() else lr)

        self._step_groups(
            "rprop", init, lambda g: ("step", "prev", "step_size"),
            lambda g: {"etaminus": g["etas"][0], "etaplus": g["etas"][1], "step_size_min": g["step_sizes"][0],
                       "step_size_max": g["step_sizes"][1]},
            lambda g: dict(maximize=bool(g["maximize"])))
        return loss
