"""Optimizer base: param groups, per-parameter state, hooks, and state dicts in torch's layout.

A state dict has torch's structure (``{"state": {index: {...}}, "param_groups": [...]}`` with
parameters as integer indices and torch's key names), so it moves between torch and jtorch
(tensors converted through numpy, or given as numpy arrays / real torch tensors).
"""
import functools
import weakref
from collections import OrderedDict, defaultdict
from copy import deepcopy
from itertools import chain

import jax
import numpy as np

import jtorch as torch
from jtorch._dtype import scalar_type_name
from jtorch._ops import optim_ops
from jtorch.utils.hooks import RemovableHandle

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]


class _RequiredParameter:
    """Singleton marking a hyper-parameter the user must give (torch.optim.optimizer.required)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _nonzero(v):
    """A hyper-parameter's ``!= 0`` test. jtorch.compile lifts a hyper-parameter that a scheduler
    moves (OneCycleLR's momentum) to a traced scalar only while it is nonzero, and guards on that."""
    if isinstance(v, torch.Tensor):  # a tensor hyper-parameter's test is a static option too
        return bool(v != 0)
    return isinstance(v, jax.core.Tracer) or v != 0


# the arguments torch's steps hand hyper-parameters to as numbers, as its TypeError names them
# (see Optimizer._number_hypers)
ADD_ALPHA = "add(): argument 'alpha'"  # grad.add(param, alpha=weight_decay)
ADD_ALPHA_ = "add_(): argument 'alpha'"
ADDCDIV_VALUE = "addcdiv_(): argument 'value'"
ADDCMUL_VALUE = "addcmul_(): argument 'value'"
# (torch's foreach kernels: one call for all the parameters, whose argument parser words it otherwise)
FOREACH_ADD_ALPHA = "_foreach_add() received an invalid combination of arguments - got (list, list, alpha=Tensor)"
FOREACH_ADD_ALPHA_ = "_foreach_add_() received an invalid combination of arguments - got (list, list, alpha=Tensor)"


def _coupled_wd(group):
    """The weight decay torch adds to the gradient (``grad.add(param, alpha=weight_decay)``), if coupled."""
    return {} if group.get("decoupled_weight_decay") else {"weight_decay": ADD_ALPHA}


# devices of jtorch tensors that fused kernels and CUDA-graph capture (capturable=True) support
_FUSED_DEVICES = ("cpu", "cuda")
_CAPTURABLE_DEVICES = ("cuda",)

_global_pre_hooks = OrderedDict()
_global_post_hooks = OrderedDict()


def _register(hooks, hook, prepend=False):
    h = RemovableHandle(hooks)
    hooks[h.id] = hook
    if prepend:
        hooks.move_to_end(h.id, last=False)
    return h


def register_optimizer_step_pre_hook(hook):
    """A pre-hook ``hook(optimizer, args, kwargs)`` run before every optimizer's step."""
    return _register(_global_pre_hooks, hook)


def register_optimizer_step_post_hook(hook):
    return _register(_global_post_hooks, hook)


def _with_hooks(step):
    """Wrap a subclass's ``step`` so step pre/post hooks run around it (once per class)."""
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        for hook in chain(_global_pre_hooks.values(), self._optimizer_step_pre_hooks.values()):
            res = hook(self, args, kwargs)
            if res is not None:
                if isinstance(res, tuple) and len(res) == 2:
                    args, kwargs = res
                else:
                    raise RuntimeError(f"{step} must return None or a tuple of (new_args, new_kwargs), but got {res}.")
        out = step(self, *args, **kwargs)
        for hook in chain(self._optimizer_step_post_hooks.values(), _global_post_hooks.values()):
            hook(self, args, kwargs)
        return out
    wrapper._hooked = True
    return wrapper


def _to_jtorch(value):
    """State values from elsewhere (numpy arrays, real torch tensors) as jtorch tensors."""
    if isinstance(value, torch.Tensor) or isinstance(value, (bool, int, float, str, type(None))):
        return value
    # copied (torch.tensor), not shared with numpy: a shared host buffer would be refreshed on every step
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return torch.tensor(value.detach().cpu().numpy())
    if isinstance(value, (np.ndarray, np.generic)):
        return torch.tensor(np.asarray(value))
    return value


class Optimizer:
    """Base class of all optimizers (torch.optim.Optimizer)."""

    _instances = weakref.WeakSet()  # lets jtorch.compile find optimizers and lift their lr
    _tensor_step = True             # ``state["step"]`` is a float32 tensor (LBFGS, SparseAdam: no)

    def __init__(self, params, defaults):
        Optimizer._instances.add(self)
        self.defaults = defaults
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        self._optimizer_state_dict_pre_hooks = OrderedDict()
        self._optimizer_state_dict_post_hooks = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks = OrderedDict()
        self._optimizer_load_state_dict_post_hooks = OrderedDict()
        self._patch_step_function()
        if isinstance(params, torch.Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {params.type()}")
        self.state = defaultdict(dict)
        self.param_groups = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def _patch_step_function(self):
        cls = self.__class__
        if not getattr(cls.step, "_hooked", False):
            cls.step = _with_hooks(cls.step)

    # ---------------------------------------------------------------- pickling / repr
    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks", "_optimizer_state_dict_pre_hooks",
                     "_optimizer_state_dict_post_hooks", "_optimizer_load_state_dict_pre_hooks",
                     "_optimizer_load_state_dict_post_hooks"):
            self.__dict__.setdefault(name, OrderedDict())
        self._patch_step_function()
        # state dicts from older torch versions: options added since get their defaults, and a
        # Python-number ``step`` becomes torch 2.x's 0-dim float32 tensor
        for group in self.param_groups:
            for k, v in self.defaults.items():
                if v is not required:
                    group.setdefault(k, v)
        # torch's base class adds ``differentiable`` to the defaults only: an optimizer without that option
        # (Adafactor, SparseAdam, LBFGS) keeps its param groups' keys
        self.defaults.setdefault("differentiable", False)
        if self._tensor_step:
            for st in self.state.values():
                if isinstance(st, dict) and "step" in st and not isinstance(st["step"], torch.Tensor):
                    st["step"] = torch.tensor(float(st["step"]), dtype=torch.float32)

    def __repr__(self):
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"

    # ---------------------------------------------------------------- groups
    def add_param_group(self, param_group):
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, torch.Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        param_group["params"] = params
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        for p in params:
            if not isinstance(p, torch.Tensor):
                mod = type(p).__module__
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + (type(p).__name__ if mod == "builtins" else f"{mod}.{type(p).__name__}"))
            if not self.defaults.get("differentiable", None) and not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        ids = [id(p) for p in params]
        if len(ids) != len(set(ids)):
            import warnings
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                txt = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {txt} to the optimizer")
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ---------------------------------------------------------------- stepping
    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    g = p.grad
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    g.zero_()

    def step(self, closure=None):
        raise NotImplementedError

    def _check_fused(self, fused, foreach, differentiable):
        """torch's argument checks for optimizers that accept ``fused=`` (the parameters' dtypes are checked
        at the first step, by ``_check_fused_params``, as torch does)."""
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    # the error a fused kernel gives for a complex parameter (SGD's and Adagrad's differ from the dtype check)
    _fused_complex_error = None

    def _check_fused_params(self, group, params):
        """``fused=True`` at step time: floating-point parameters only, with torch's error for the others."""
        if not group.get("fused"):
            return
        for p in params:
            if p.is_complex() and self._fused_complex_error is not None:
                exc, msg = self._fused_complex_error
                raise exc(msg.format(dtype=scalar_type_name(p.dtype)))
            if not p.is_floating_point():
                raise RuntimeError("`fused=True` requires all the params to be floating point Tensors of supported "
                                   f"devices: {list(_FUSED_DEVICES)} but {p.dtype} and {p.device.type}")

    # what torch's capturable assertion names besides the parameters (ASGD: "params, mus, etas,")
    _capturable_tensors = "params"

    def _check_capturable(self, group, params):
        """``capturable=True`` keeps the step count on the parameters' device for CUDA-graph capture; torch
        asserts at each eager step that this device supports capture (the CPU does not), and skips the check
        while compiling, as jtorch.compile does here."""
        if group.get("capturable") and not torch.compiler.is_compiling():
            if any(p.device.type not in _CAPTURABLE_DEVICES for p in params):
                raise AssertionError(f"If capturable=True, {self._capturable_tensors} and state_steps must be on "
                                     f"supported devices: {list(_CAPTURABLE_DEVICES)}.")

    def _closure_loss(self, closure):
        if closure is None:
            return None
        with torch.enable_grad():
            return closure()

    def _number_hypers(self, group):
        """The hyper-parameters torch's step hands to an op as a Python number with ``group``'s options, and
        that op's argument: a tensor there that requires grad is torch's TypeError. (A number computed from
        one, such as ``-lr``, requires grad only when the step records autograd: ``differentiable=True``.)"""
        return {}

    def _check_number_hypers(self, group):
        for name, where in self._number_hypers(group).items():
            v = group[name]
            if not any(isinstance(x, torch.Tensor) and x.requires_grad for x in (v if isinstance(v, tuple) else (v,))):
                continue
            # (torch applies no weight decay of 0; tested last: reading a tensor's value waits for the device)
            if name != "weight_decay" or _nonzero(v):
                raise TypeError(where if where.startswith("_foreach") else f"{where} must be Number, not Tensor")

    # whether a ``foreach=True`` step records autograd (torch's foreach SGD does; its other foreach kernels
    # refuse ``differentiable=True``)
    _foreach_differentiable = False

    def _run_kernel(self, name, group, tensors, hp, **statics):
        """Apply update rule ``name`` (jtorch/_ops/optim_ops.py) to ``group``'s ``tensors``, in place; with
        ``differentiable=True`` recorded in autograd (grad mode on, as torch runs such a step)."""
        differentiable = group.get("differentiable")
        if differentiable and group.get("foreach") and not self._foreach_differentiable:
            raise AssertionError("_foreach ops don't support autograd")  # (torch's first check there)
        self._check_number_hypers(group)
        if not differentiable:
            with torch.no_grad():
                optim_ops.run(name, tensors, hp, **statics)
            return
        with torch.enable_grad():
            optim_ops.run_differentiable(name, tensors, hp, **statics)

    def _step_groups(self, kernel, init, keys, hp, statics):
        """The common step: lazily initialise each parameter's state with ``init(state, p, group)``,
        then run update rule ``kernel`` over the group's tensors ``keys(group)`` with
        hyper-parameters ``hp(group)`` (traced) and options ``statics(group)`` (static)."""
        for group in self.param_groups:
            params, grads = self._with_grad(group)
            if not params:
                continue
            for p in params:
                state = self.state[p]
                if len(state) == 0:
                    init(state, p, group)
            self._check_capturable(group, params)
            tensors = {"param": params, "grad": grads}
            tensors.update({k: [self.state[p][k] for p in params] for k in keys(group)})
            self._run_kernel(kernel, group, tensors, hp(group), **statics(group))

    # sparse gradients (nn.Embedding(sparse=True)): optimizers whose update on the summed dense gradient
    # is torch's sparse update set _sparse_ok (SGD, Adagrad); the others raise torch's message
    _sparse_ok = False
    _sparse_message = None

    # whether the step below happens only with differentiable=True (SGD's happens either way)
    _grad_decay_differentiable_only = True

    def _decay_grads_in_place(self, group, params, grads):
        """torch's differentiable SGD and Adam steps (SGD's plain one too) add a weight decay tensor that
        requires grad to each gradient in place (``grad.addcmul_(param.clone(), weight_decay)``), unless
        ``maximize`` made the gradient a new tensor first: ``p.grad`` then holds the decayed gradient, recorded
        in autograd when differentiable. Whether it did so (the update rule then adds no weight decay)."""
        wd = group["weight_decay"]
        if not ((group["differentiable"] or not self._grad_decay_differentiable_only) and
                isinstance(wd, torch.Tensor) and wd.requires_grad and _nonzero(wd)
                and not group["maximize"] and not group.get("decoupled_weight_decay")):
            return False
        with torch.set_grad_enabled(bool(group["differentiable"])):
            for p, g in zip(params, grads):
                g.addcmul_(p.clone(), wd)
        return True

    def _with_grad(self, group):
        """The group's parameters that have a gradient (the others are skipped, as in torch)."""
        params = [p for p in group["params"] if p.grad is not None]
        grads = [p.grad for p in params]
        for k, g in enumerate(grads):
            if g.is_sparse:
                if not self._sparse_ok:
                    raise RuntimeError(self._sparse_message or f"{type(self).__name__} does not support sparse "
                                                               "gradients")
                grads[k] = g.to_dense()
        return params, grads

    @staticmethod
    def _step_tensor():
        # torch keeps ``step`` as a 0-dim float32 tensor (so it can be captured in graphs)
        return torch.tensor(0.0, dtype=torch.float32)

    # ---------------------------------------------------------------- hooks
    def register_step_pre_hook(self, hook):
        return _register(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        return _register(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend=False):
        return _register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        return _register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        return _register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        return _register(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # ---------------------------------------------------------------- state dicts
    def state_dict(self):
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        index = {}
        groups = []
        start = 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, torch.Tensor) else k): v for k, v in self.state.items()}
        sd = {"state": state, "param_groups": groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            res = hook(self, sd)
            if res is not None:
                sd = res
        return sd

    @staticmethod
    def _cast_state(param, value, key=None):
        """Loaded state follows its parameter's dtype and device (``step`` keeps its own)."""
        value = _to_jtorch(value)
        if isinstance(value, torch.Tensor):
            if key == "step":
                return value
            if param.is_floating_point():
                return value.to(dtype=param.dtype, device=param.device)
            return value.to(device=param.device)
        if isinstance(value, dict):
            return {k: Optimizer._cast_state(param, v, k) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(Optimizer._cast_state(param, v) for v in value)
        return value

    def load_state_dict(self, state_dict):
        state_dict = state_dict.copy()
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            res = hook(self, state_dict)
            if res is not None:
                state_dict = res
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        id_map = dict(zip(chain.from_iterable(s["params"] for s in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                p = id_map[k]
                state[p] = self._cast_state(p, v)
            else:
                state[k] = v
        new_groups = []
        for g, s in zip(groups, saved_groups):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            new_groups.append(s)
        self.__setstate__({"state": state, "param_groups": new_groups})
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)
