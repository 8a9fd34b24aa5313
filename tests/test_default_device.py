"""torch.set_default_device / get_default_device and ``with torch.device(...)`` for factory functions."""
import pytest
import torch

import jtorch


@pytest.fixture(autouse=True)
def _reset():
    yield
    jtorch.set_default_device(None)
    torch.set_default_device(None)


def test_default_device_cpu():
    for m in (torch, jtorch):
        assert m.get_default_device() == m.device("cpu")
        m.set_default_device("cpu")
        assert m.get_default_device() == m.device("cpu")
        for t in (m.zeros(2), m.tensor([1.0]), m.arange(3), m.eye(2), m.full((2,), 3.0), m.linspace(0, 1, 3)):
            assert t.device == m.device("cpu")
        m.set_default_device(None)
        assert m.get_default_device() == m.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available() or jtorch.cuda.is_available(), reason="checks the no-GPU errors")
def test_cuda_default_without_gpu_raises():
    for m in (torch, jtorch):
        with pytest.raises(AssertionError):
            with m.device("cuda"):
                m.zeros(2)
        assert m.get_default_device() == m.device("cpu")  # the context manager restored it
        m.set_default_device("cuda")
        with pytest.raises(AssertionError):
            m.ones(2)
        with pytest.raises(AssertionError):
            m.get_default_device()
        m.set_default_device(None)


def test_device_context_nests():
    outer, inner = jtorch.device("cpu"), jtorch.device("cpu", 0)
    with outer as d:
        assert d is outer and jtorch.get_default_device() is outer
        with inner:
            assert jtorch.get_default_device() is inner
            assert jtorch.zeros(1).device.type == "cpu"
        assert jtorch.get_default_device() is outer
    assert jtorch.get_default_device() == jtorch.device("cpu")
    # *_like follow their input, not the default
    with jtorch.device("cpu"):
        assert jtorch.zeros_like(jtorch.ones(2)).device.type == "cpu"
