"""Adagrad with torch's learning-rate decay ``lr / (1 + (step - 1) * lr_decay)``."""
import jtorch as torch

from .adam import _check_common, _check_wd
from .optimizer import ADD_ALPHA, ADDCDIV_VALUE, Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    _sparse_ok = True  # entries a sparse gradient lacks get a zero update, as torch's sparse path
    _fused_complex_error = (RuntimeError, "`fused` does not support sparse grad or complex param")
    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_common(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        _check_wd(weight_decay)
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        self._check_fused(fused, foreach, differentiable)
        # unlike the other optimizers, torch creates Adagrad's state eagerly
        for group in self.param_groups:
            for p in group["params"]:
                self._init(self.state[p], p, group)

    def _init(self, state, p, group):
        state["step"] = self._step_tensor()
        # complex parameters accumulate per component (view_as_real): both start at the value
        v = group["initial_accumulator_value"]
        state["sum"] = torch.full_like(p, complex(v, v) if p.is_complex() else v)

    def share_memory(self):
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["sum"].share_memory_()

    def _number_hypers(self, group):
        recorded = {"lr": ADDCDIV_VALUE, "lr_decay": ADDCDIV_VALUE} if group["differentiable"] else {}
        return {"weight_decay": ADD_ALPHA, **recorded}

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            if group.get("fused"):
                with_grad = [p for p in group["params"] if p.grad is not None]
                self._check_fused_params(group, with_grad)
                if any(p.grad.is_sparse for p in with_grad):
                    raise RuntimeError(self._fused_complex_error[1])
        self._step_groups(
            "adagrad", self._init, lambda g: ("step", "sum"),
            lambda g: {k: g[k] for k in ("lr", "lr_decay", "eps", "weight_decay")},
            lambda g: dict(maximize=bool(g["maximize"]), wd=bool(g["weight_decay"] != 0)))
        return loss
