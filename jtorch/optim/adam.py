"""Adam (and AdamW through ``decoupled_weight_decay``), with amsgrad, weight decay and maximize."""
import jtorch as torch

from .optimizer import Optimizer, _coupled_wd, _nonzero

__all__ = ["Adam"]


def _check_betas(betas):
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")


def _check_common(lr, eps=None, weight_decay=None):
    if isinstance(lr, torch.Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps is not None and not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")


def _check_wd(weight_decay):
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def _scalar(x):
    """A 1-element tensor hyper-parameter as a 0-dim tensor (torch keeps it a tensor); numbers as they are."""
    return x.reshape(()) if isinstance(x, torch.Tensor) else x


def _check_tensor_hyper(name, value, foreach, capturable):
    """torch's foreach kernels take a tensor hyper-parameter only when capturable (jtorch has no separate
    foreach path, but refuses what torch refuses)."""
    if isinstance(value, torch.Tensor):
        if foreach and not capturable:
            raise ValueError(f"{name} as a Tensor is not supported for capturable=False and foreach=True")
        if value.numel() != 1:
            raise ValueError(f"Tensor {name} must be 1-element")


class Adam(Optimizer):
    _sparse_message = "Adam does not support sparse gradients, please consider SparseAdam instead"
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        if isinstance(lr, torch.Tensor) and foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True")
        _check_common(lr, eps)
        _check_betas(betas)
        _check_wd(weight_decay)
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], torch.Tensor) and isinstance(betas[1], torch.Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        _check_tensor_hyper("betas[0]", betas[0], foreach, capturable)
        _check_tensor_hyper("betas[1]", betas[1], foreach, capturable)
        betas = tuple(_scalar(b) for b in betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)
        self._check_fused(fused, foreach, differentiable)

    def _number_hypers(self, group):
        # (torch's differentiable step takes a tensor weight decay as a tensor)
        return {} if group["differentiable"] else _coupled_wd(group)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params, grads = self._with_grad(group)
            if not params:
                continue
            amsgrad = bool(group["amsgrad"])
            for p in params:
                state = self.state[p]
                if len(state) == 0:
                    self._check_fused_params(group, [p])
                    state["step"] = self._step_tensor()
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = torch.zeros_like(p)
            self._check_capturable(group, params)
            decayed = self._decay_grads_in_place(group, params, grads)
            keys = ("step", "exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
            tensors = {"param": params, "grad": grads}
            tensors.update({k: [self.state[p][k] for p in params] for k in keys})
            beta1, beta2 = group["betas"]
            hp = {"lr": group["lr"], "beta1": beta1, "beta2": beta2, "eps": group["eps"],
                  "weight_decay": group["weight_decay"]}
            self._run_kernel("adam", group, tensors, hp, maximize=bool(group["maximize"]),
                             wd=_nonzero(group["weight_decay"]) and not decayed,
                             decoupled=bool(group.get("decoupled_weight_decay", False)), amsgrad=amsgrad)
        return loss
