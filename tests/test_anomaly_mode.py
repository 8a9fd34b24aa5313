"""torch.autograd.detect_anomaly / set_detect_anomaly: NaN gradients raise torch's RuntimeError."""
import warnings

import pytest
import torch

import jtorch


def _nan_backward(m):
    x = m.tensor([0.0, 1.0, 4.0], requires_grad=True)
    (x.sqrt() * 0).sum().backward()  # 0 * inf = nan in SqrtBackward's output
    return x


def test_detect_anomaly_raises_on_nan():
    for m in (torch, jtorch):
        with pytest.warns(UserWarning):
            ctx = m.autograd.detect_anomaly()
        with ctx:
            assert m.is_anomaly_enabled() and m.is_anomaly_check_nan_enabled()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with pytest.raises(RuntimeError, match="returned nan values in its 0th output"):
                    _nan_backward(m)
            # finite gradients pass
            y = m.tensor([1.0, 2.0], requires_grad=True)
            (y * y).sum().backward()
            assert y.grad.tolist() == [2.0, 4.0]
        assert not m.is_anomaly_enabled()
        x = _nan_backward(m)  # off again: NaN gradients flow through
        assert x.grad.isnan().tolist() == [True, False, False]


def test_detect_anomaly_without_nan_check():
    for m in (torch, jtorch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with m.autograd.detect_anomaly(check_nan=False):
                assert m.is_anomaly_enabled() and not m.is_anomaly_check_nan_enabled()
                x = _nan_backward(m)
        assert x.grad.isnan().tolist() == [True, False, False]


def test_set_detect_anomaly():
    for m in (torch, jtorch):
        m.autograd.set_detect_anomaly(True)
        assert m.is_anomaly_enabled()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(RuntimeError):
                _nan_backward(m)
        m.autograd.set_detect_anomaly(False)
        assert not m.is_anomaly_enabled()
        with m.autograd.set_detect_anomaly(True):
            assert m.is_anomaly_enabled()
        assert not m.is_anomaly_enabled()
        m.set_anomaly_enabled(True, False)
        assert m.is_anomaly_enabled() and not m.is_anomaly_check_nan_enabled()
        m.set_anomaly_enabled(False)


def test_variable_removed():
    for m in (torch, jtorch):
        with pytest.raises(RuntimeError):
            m.autograd.variable(m.ones(2))


def test_engine_flags():
    for m in (torch, jtorch):
        assert m.autograd.is_multithreading_enabled()
        with m.autograd.set_multithreading_enabled(False):
            assert not m.autograd.is_multithreading_enabled()
        assert m.autograd.is_multithreading_enabled()
        m.autograd.set_multithreading_enabled(False)
        assert not m.autograd.is_multithreading_enabled()
        m.autograd.set_multithreading_enabled(True)
        assert m.autograd.is_view_replay_enabled() is False
        assert m.autograd.is_tensor_like(m.ones(1)) and not m.autograd.is_tensor_like(3)
    assert jtorch.autograd.kineto_available() is False
