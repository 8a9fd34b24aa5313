"""torch.distributions' submodules exist with their public names; MixtureSameFamilyConstraint against torch."""
import importlib
import pkgutil

import numpy as np
import pytest
import torch
import torch.distributions as TD

import jtorch
import jtorch.distributions as JD

SUBMODULES = sorted(m.name for m in pkgutil.iter_modules(TD.__path__))


@pytest.mark.parametrize("name", SUBMODULES)
def test_submodule_has_torchs_public_names(name):
    theirs = importlib.import_module("torch.distributions." + name)
    mine = importlib.import_module("jtorch.distributions." + name)
    missing = [n for n in getattr(theirs, "__all__", []) if not hasattr(mine, n)]
    assert not missing
    for n in getattr(theirs, "__all__", []):  # a class re-exported at the top is the same class in the submodule
        if isinstance(getattr(JD, n, None), type) and isinstance(getattr(mine, n), type):
            assert getattr(JD, n) is getattr(mine, n)


def _checks(lib, C, bounds, value, base):
    cons = {"positive": lambda: C.positive,
            "bounds": lambda: C.greater_than(lib.tensor(bounds)),
            "independent": lambda: C.independent(C.greater_than(lib.tensor(bounds)), 1),
            "simplex": lambda: C.simplex}[base]()
    c = C.MixtureSameFamilyConstraint(cons)
    return repr(c), c.is_discrete, c.event_dim, c.check(lib.tensor(value)).numpy()


@pytest.mark.parametrize("base,bounds_shape,value_shape", [("positive", None, ()), ("positive", None, (4,)),
                                                           ("bounds", (3,), (5,)), ("bounds", (3,), (2, 5)),
                                                           ("independent", (3, 2), (2,)),
                                                           ("independent", (3, 2), (4, 2)), ("simplex", None, (3, 2))])
def test_mixture_same_family_constraint(base, bounds_shape, value_shape, rng):
    bounds = rng.standard_normal(bounds_shape) if bounds_shape else None
    value = rng.standard_normal(value_shape)
    if base == "simplex":
        value = np.abs(value) / np.abs(value).sum(-1, keepdims=True) * np.array([[1.0], [1.0], [0.5]])
    rj, dj, ej, cj = _checks(jtorch, JD.constraints, bounds, value, base)
    rt, dt, et, ct = _checks(torch, TD.constraints, bounds, value, base)
    assert (rj, dj, ej) == (rt, dt, et)
    np.testing.assert_array_equal(cj, ct)


def test_mixture_constraint_rejects_non_constraints_and_is_the_mixture_support():
    for C in (TD.constraints, JD.constraints):
        with pytest.raises(AssertionError, match="base_constraint must be a Constraint, got int"):
            C.MixtureSameFamilyConstraint(3)

    def mixture(D, lib):
        return D.MixtureSameFamily(D.Categorical(lib.ones(3)), D.Gamma(lib.ones(3), lib.ones(3)))
    tm, jm = mixture(TD, torch), mixture(JD, jtorch)
    assert repr(jm.support) == repr(tm.support)
    v = [-1.0, 2.0, 0.5]
    np.testing.assert_array_equal(jm.support.check(jtorch.tensor(v)).numpy(), tm.support.check(torch.tensor(v)).numpy())
