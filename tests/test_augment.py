import numpy as np
import pytest

from lineocr.config import AugmentConfig
from lineocr.data import augment
from tests.render import render


@pytest.fixture
def line():
    return render("Augment 42", size=28)


@pytest.mark.parametrize("name", ["affine", "elastic", "morph", "blur", "noise", "contrast"])
def test_each_transform_changes_the_image_and_keeps_its_type(line, name):
    out = getattr(augment, name)(line, np.random.default_rng(1))
    assert out.dtype == np.uint8 and out.ndim == 2
    assert out.shape[0] >= line.shape[0] // 2 and out.shape[1] >= line.shape[1] // 2
    assert out.shape != line.shape or not np.array_equal(out, line)


def test_affine_keeps_all_ink(line):
    out = augment.affine(line, np.random.default_rng(0), rotate=5, shear=0.3, scale=0.0)
    ink_in = (line < 128).sum()
    ink_out = (out < 128).sum()
    assert ink_out > 0.8 * ink_in  # the canvas grows: nothing is cut off


def test_augmenter_is_deterministic_per_seed_and_off_when_disabled(line):
    aug = augment.Augmenter(AugmentConfig(probability=1.0, blur=1.0, noise=1.0))
    a = aug(line, np.random.default_rng(5))
    b = aug(line, np.random.default_rng(5))
    c = aug(line, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)
    off = augment.Augmenter(AugmentConfig(enabled=False))
    assert off(line, np.random.default_rng(5)) is line
