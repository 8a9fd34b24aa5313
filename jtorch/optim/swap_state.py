"""torch.optim.swap_in_optimizer_params_and_state: run optimizer APIs on other parameter and state
tensors for the duration of a ``with`` block, then put the live ones back."""
import contextlib
from collections import defaultdict

__all__ = ["swap_in_optimizer_params_and_state"]


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(optimizer, swapin_parameters, swapin_optim_state):
    """``swapin_parameters``: tensors in the order of the optimizer's parameters (a dict, e.g. from
    ``model.named_parameters()``, or a sequence). ``swapin_optim_state``: an
    ``optimizer.state_dict()``-shaped dict; its state tensors are used (and updated in place) as they are."""
    if not optimizer.state:
        raise RuntimeError("swap_in_optimizer_params_and_state requires initialized optimizer state.")
    new_params = list(swapin_parameters.values()) if isinstance(swapin_parameters, dict) else list(swapin_parameters)
    groups = optimizer.param_groups
    n_live = sum(len(g["params"]) for g in groups)
    if len(new_params) != n_live:
        raise ValueError(f"swapin_parameters has {len(new_params)} tensors but the optimizer has {n_live} parameters")
    in_groups = swapin_optim_state["param_groups"]
    if len(in_groups) != len(groups):
        raise ValueError("swapin_optim_state has a different number of parameter groups than the optimizer")
    saved_groups = [dict(g) for g in groups]
    saved_state = optimizer.state
    state = defaultdict(dict)
    it = iter(new_params)
    for g, sg in zip(groups, in_groups):
        if len(sg["params"]) != len(g["params"]):
            raise ValueError("swapin_optim_state's parameter groups do not match the optimizer's")
        params = [next(it) for _ in g["params"]]
        g.update({k: v for k, v in sg.items() if k != "params"})
        g["params"] = params
        for p, pid in zip(params, sg["params"]):
            if pid in swapin_optim_state["state"]:
                state[p] = swapin_optim_state["state"][pid]
    optimizer.state = state
    try:
        yield
    finally:
        for g, saved in zip(groups, saved_groups):
            g.clear()
            g.update(saved)
        optimizer.state = saved_state
