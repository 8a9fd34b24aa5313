"""torch's optimizer database (optim_db) against jtorch, through scripts/conformance_optim.py's comparison:
every config (CPU configs with foreach / differentiable / fused, the CUDA-only capturable configs, which must
raise torch's error on CPU tensors, sparse-gradient configs), every error input and every LR scheduler
combination, 3 steps on small seeded parameters."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import conformance_optim as co  # noqa: E402

STEPS = 3  # the state dict reloads after step 1 and must continue identically at steps 2 and 3

# (optimizer, config label) -> why jtorch still differs; each must still differ (a fix removes its entry)
KNOWN_DIFFERENCES = {}

_INFOS = co.optim_infos()
CONFIGS = [(info, c) for info in _INFOS for c in co.optim_configs(info)]
ERRORS = [(info, e) for info in _INFOS for e in co.error_cases(info)]
SCHEDULERS = [(info, s) for info in _INFOS for s in info.scheduler_inputs]


def _check(key, msg):
    if key in KNOWN_DIFFERENCES:
        assert msg is not None, f"{key} now agrees with torch: remove it from KNOWN_DIFFERENCES"
    else:
        assert msg is None, msg


@pytest.mark.parametrize("info,config", CONFIGS, ids=[f"{i.name}-{c.label}" for i, c in CONFIGS])
def test_config_matches_torch(info, config):
    if config.kind == "cuda":
        _assert_torch_refuses_on_cpu(info, config)
    _check((info.name, config.label), co.run_config(info, config, steps=STEPS))


def _assert_torch_refuses_on_cpu(info, config):
    """A CUDA-only config (capturable=True) cannot apply to CPU tensors: torch asserts at the step, so
    run_config's agreement means jtorch raised the same exception type there too."""
    import torch
    p = torch.zeros(2, 2, requires_grad=True)
    p.grad = torch.ones(2, 2)
    with pytest.raises(AssertionError, match="capturable=True"):
        info.optim_cls([p], **config.kwargs).step()


def test_known_differences_are_configs():
    labels = {(i.name, c.label) for i, c in CONFIGS}
    assert set(KNOWN_DIFFERENCES) <= labels, set(KNOWN_DIFFERENCES) - labels


@pytest.mark.parametrize("info,case", ERRORS,
                         ids=[f"{i.name}-{e.optimizer_error_input.desc}" for i, e in ERRORS])
def test_error_input_matches_torch(info, case):
    msg = co.run_error(info, case)
    assert msg is None, msg


@pytest.mark.parametrize("info,scheds", SCHEDULERS,
                         ids=[f"{i.name}-{co.scheduler_label(s)}" for i, s in SCHEDULERS])
def test_schedulers_match_torch(info, scheds):
    msg = co.run_schedulers(info, scheds, steps=STEPS)
    assert msg is None, msg
