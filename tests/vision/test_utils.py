"""jtorch.vision.utils.make_grid / save_image against torchvision's."""
import os

import numpy as np
import pytest
from PIL import Image

import jtorch.vision.utils as JU
from helpers import assert_close, both
from tv import torchvision

tv = torchvision()
TU = tv.utils


@pytest.mark.parametrize("kw", [{}, {"nrow": 3, "padding": 1, "pad_value": 0.5},
                                {"normalize": True}, {"normalize": True, "value_range": (-1.0, 0.5)},
                                {"normalize": True, "scale_each": True, "nrow": 2}])
def test_make_grid(rng, kw):
    t, j = both(rng.normal(size=(5, 3, 4, 6)).astype(np.float32))
    assert_close(JU.make_grid(j, **kw), TU.make_grid(t, **kw))


def test_make_grid_shapes(rng):
    for shape in [(4, 1, 5, 5), (1, 5, 5), (5, 5), (1, 3, 5, 5)]:
        t, j = both(rng.random(shape).astype(np.float32))
        assert_close(JU.make_grid(j), TU.make_grid(t))
    ts, js = zip(*[both(rng.random((3, 4, 4)).astype(np.float32)) for _ in range(3)])
    assert_close(JU.make_grid(list(js), nrow=2), TU.make_grid(list(ts), nrow=2))
    with pytest.raises(TypeError):
        JU.make_grid(np.zeros((3, 4, 4)))
    with pytest.raises(TypeError):
        JU.make_grid(js[0], normalize=True, value_range=[0, 1])


def test_save_image(rng, tmp_path):
    t, j = both(rng.random((4, 3, 6, 7)).astype(np.float32))
    JU.save_image(j, tmp_path / "j.png", nrow=2)
    TU.save_image(t, tmp_path / "t.png", nrow=2)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "j.png")), np.asarray(Image.open(tmp_path / "t.png")))
    assert sorted(os.listdir(tmp_path)) == ["j.png", "t.png"]  # no temporary file left behind
    # overwriting an existing file replaces it whole
    JU.save_image(j[:1], str(tmp_path / "j.png"))
    assert Image.open(tmp_path / "j.png").size == (7, 6)
    with open(tmp_path / "f.jpg", "wb") as f:
        JU.save_image(j, f, format="PNG")
    assert Image.open(tmp_path / "f.jpg").format == "PNG"
    with pytest.raises(ValueError):
        JU.save_image(j, tmp_path / "x.unknownext")
    assert not any(n.startswith(".tmp") for n in os.listdir(tmp_path))
