"""SGD with momentum, dampening, Nesterov momentum, weight decay and maximize (torch's update rule)."""
import jtorch as torch

from .optimizer import ADD_ALPHA, ADD_ALPHA_, FOREACH_ADD_ALPHA, FOREACH_ADD_ALPHA_, Optimizer, required, _nonzero

__all__ = ["SGD"]


class SGD(Optimizer):
    _sparse_ok = True  # a sparse gradient's update is the dense update of its sum
    _foreach_differentiable = True
    _fused_complex_error = (NotImplementedError, "\"fused_sgd_kernel\" not implemented for '{dtype}'")
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr is not required and lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                        maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        self._check_fused(fused, foreach, differentiable)

    _buffers_exist = False  # (the group being stepped has a momentum buffer for every parameter)
    _grad_decay_differentiable_only = False

    def _number_hypers(self, group):
        # torch's foreach step adds the weight decay, -lr and (once every buffer exists) 1 - dampening with
        # _foreach_add's alpha; Nesterov momentum is an add's alpha in both steps (in place: on maximize's negated
        # gradients, on the buffers, the parameters)
        foreach, hypers = bool(group["foreach"]), {}
        if foreach:
            hypers["weight_decay"] = FOREACH_ADD_ALPHA_ if group["maximize"] else FOREACH_ADD_ALPHA
            if group["differentiable"]:
                hypers["lr"] = FOREACH_ADD_ALPHA_
        if group["differentiable"] and self._buffers_exist:
            hypers["dampening"] = FOREACH_ADD_ALPHA_ if foreach else ADD_ALPHA_
        if group["nesterov"]:
            hypers["momentum"] = FOREACH_ADD_ALPHA_ if foreach else ADD_ALPHA
        return hypers

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params, grads = self._with_grad(group)
            if not params:
                continue
            self._check_fused_params(group, params)
            momentum = _nonzero(group["momentum"])
            bufs = [self.state[p].get("momentum_buffer") for p in params] if momentum else []
            self._buffers_exist = momentum and all(b is not None for b in bufs)
            self._check_number_hypers(group)  # (before the weight decay changes p.grad in place)
            decayed = not group["foreach"] and self._decay_grads_in_place(group, params, grads)
            tensors = {"param": params, "grad": grads}
            fresh = None
            if momentum:
                # a missing buffer starts as the gradient itself (static flag: no recompiles later)
                fresh = tuple(b is None for b in bufs)
                bufs = [torch.zeros_like(g) if b is None else b for b, g in zip(bufs, grads)]
                for p, b in zip(params, bufs):
                    self.state[p]["momentum_buffer"] = b
                tensors["momentum_buffer"] = bufs
            hp = {"lr": group["lr"], "momentum": group["momentum"], "dampening": group["dampening"],
                  "weight_decay": group["weight_decay"]}
            self._run_kernel("sgd", group, tensors, hp, maximize=bool(group["maximize"]),
                             wd=_nonzero(group["weight_decay"]) and not decayed, nesterov=bool(group["nesterov"]),
                             fresh=fresh)
        return loss
