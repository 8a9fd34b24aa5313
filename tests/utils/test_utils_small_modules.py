"""The small torch.utils modules: weak, deterministic, backcompat, model_zoo, collect_env, show_pickle,
cpp_extension — each checked against torch's behaviour on the same inputs."""
import gc
import io
import pickle

import numpy as np
import pytest
import torch
import torch.utils.backcompat as torch_backcompat
import torch.utils.deterministic as torch_deterministic
from torch.utils import model_zoo as torch_model_zoo
from torch.utils import show_pickle as torch_show_pickle
from torch.utils import weak as torch_weak

import jtorch
import jtorch.utils.backcompat as backcompat
import jtorch.utils.deterministic as deterministic
from jtorch.utils import collect_env, cpp_extension, model_zoo, show_pickle, weak


def weak_dict_story(lib, weak_mod, values):
    """The same sequence of operations on a WeakIdKeyDictionary; what each step observes."""
    a, b = lib.tensor(values), lib.tensor(values)  # equal values, different objects
    d = weak_mod.WeakTensorKeyDictionary()
    d[a] = "a"
    d[b] = "b"
    seen = [len(d), d[a], d[b], a in d, lib.tensor(values) in d, d.get(lib.tensor(values), "none")]
    ref_a, ref_a2 = weak_mod.WeakIdRef(a), weak_mod.WeakIdRef(a)
    seen += [ref_a == ref_a2, hash(ref_a) == hash(ref_a2) == id(a), ref_a() is a, ref_a == weak_mod.WeakIdRef(b)]
    del d[b]
    seen += [len(d), sorted(d.values())]
    del a
    gc.collect()
    seen += [len(d), list(d.values()), ref_a() is None, ref_a == ref_a2]
    return seen


def test_weak_id_key_dictionary_like_torch(rng):
    values = rng.standard_normal(3).tolist()
    assert weak_dict_story(jtorch, weak, values) == weak_dict_story(torch, torch_weak, values)
    assert weak.WeakTensorKeyDictionary is weak.WeakIdKeyDictionary
    t = jtorch.ones(2)
    r = weak.TensorWeakRef(t)
    assert r() is t


def test_deterministic_fill_like_torch():
    assert deterministic.fill_uninitialized_memory is torch_deterministic.fill_uninitialized_memory is True
    makers = [lambda lib: lib.empty(3), lambda lib: lib.empty(2, 2, dtype=lib.int32),
              lambda lib: lib.empty(2, dtype=lib.bool), lambda lib: lib.empty(2, dtype=lib.float64),
              lambda lib: lib.empty(2, dtype=lib.uint8), lambda lib: lib.empty_like(lib.ones(2, 3)),
              lambda lib: lib.ones(2, dtype=lib.int64).new_empty(3), lambda lib: lib.empty_strided((2, 2), (1, 2)),
              lambda lib: lib.empty(2, dtype=lib.complex64)]
    for lib in (torch, jtorch):
        lib.use_deterministic_algorithms(True)
    try:
        for make in makers:
            t, j = make(torch), make(jtorch)
            assert str(j.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
            np.testing.assert_array_equal(j.numpy(), t.numpy())
        for lib, mod in ((torch, torch_deterministic), (jtorch, deterministic)):
            with pytest.raises(RuntimeError, match="expected a bool"):
                mod.fill_uninitialized_memory = 1
        deterministic.fill_uninitialized_memory = False
        assert not jtorch.isnan(jtorch.empty(3)).any()  # then uninitialized: zeros here
    finally:
        deterministic.fill_uninitialized_memory = True
        for lib in (torch, jtorch):
            lib.use_deterministic_algorithms(False)
    assert not jtorch.isnan(jtorch.empty(3)).any()  # the flag fills only with deterministic algorithms on


def test_backcompat_switches_like_torch():
    for name in ("broadcast_warning", "keepdim_warning"):
        ours, theirs = getattr(backcompat, name), getattr(torch_backcompat, name)
        assert ours.enabled is theirs.enabled is False
        ours.enabled = True
        assert ours.enabled is True and ours.get_enabled() is True
        ours.set_enabled(False)
        assert ours.enabled is False


def test_model_zoo_load_url_like_torch(tmp_path, rng):
    w = rng.standard_normal((2, 3)).astype(np.float32)
    src = tmp_path / "weights.pt"
    torch.save({"w": torch.from_numpy(w)}, src)
    assert model_zoo.load_url is jtorch.hub.load_state_dict_from_url
    ours = model_zoo.load_url(src.as_uri(), model_dir=str(tmp_path / "j"), progress=False)
    theirs = torch_model_zoo.load_url(src.as_uri(), model_dir=str(tmp_path / "t"), progress=False)
    assert list(ours) == list(theirs)
    np.testing.assert_array_equal(ours["w"].numpy(), theirs["w"].numpy())


def test_collect_env_reports_jtorch_and_jax(capsys):
    import jax
    info = collect_env.get_env_info()
    assert info.jtorch_version == jtorch.__version__ and info.jax_version == jax.__version__
    text = collect_env.get_pretty_env_info()
    assert f"jtorch version: {jtorch.__version__}" in text and f"JAX version: {jax.__version__}" in text
    collect_env.main()
    out = capsys.readouterr().out
    assert out.startswith("Collecting environment information...\n") and text in out


class Point:
    def __init__(self, x):
        self.x = x


@pytest.mark.parametrize("protocol", [2, 4])
def test_show_pickle_like_torch(tmp_path, rng, protocol):
    values = rng.standard_normal(3).tolist()
    plain = tmp_path / "plain.pkl"
    with open(plain, "wb") as f:
        pickle.dump([Point(values[0]), {1, 2}, frozenset([3]), 2 ** 70, "é", b"xy", (None, True), values], f,
                    protocol=protocol)
    ckpt = tmp_path / "ckpt.pt"
    torch.save({"w": torch.tensor(values), "n": 3}, ckpt)
    jckpt = tmp_path / "jckpt.pt"
    jtorch.save({"w": jtorch.tensor(values), "n": 3}, jckpt)
    for target in (str(plain), f"{ckpt}@*/data.pkl", f"{jckpt}@*/data.pkl"):
        ours, theirs = io.StringIO(), io.StringIO()
        show_pickle.main(["show_pickle", target], ours)
        torch_show_pickle.main(["show_pickle", target], theirs)
        assert ours.getvalue() == theirs.getvalue()
    with pytest.raises(Exception, match="length 2"):
        show_pickle.main(["show_pickle"], io.StringIO())
    with pytest.raises(Exception, match="exactly one match"):
        show_pickle.main(["show_pickle", f"{ckpt}@nothing*"], io.StringIO())


def test_cpp_extension_says_it_cannot_build():
    for fn, args in ((cpp_extension.load, ("ext", ["ext.cpp"])),
                     (cpp_extension.load_inline, ("ext", "int f() { return 1; }")),
                     (cpp_extension.CppExtension, ("ext", ["ext.cpp"])),
                     (cpp_extension.CUDAExtension, ("ext", ["ext.cu"])),
                     (cpp_extension.BuildExtension, ())):
        with pytest.raises(RuntimeError, match="cannot build C\\+\\+"):
            fn(*args)
    assert cpp_extension.is_ninja_available() is False
