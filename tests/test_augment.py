import dataclasses

import numpy as np
import pytest

from lineocr.config import AugmentConfig
from lineocr.data import augment
from tests.render import render


@pytest.fixture
def line():
    return render("Augment 42", size=28)


@pytest.mark.parametrize(
    "name", ["affine", "elastic", "warp", "morph", "blur", "noise", "contrast"]
)
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


def test_stretch_changes_the_width_alone_within_its_bounds_both_ways():
    """``stretch`` 0.25 draws width factors in [0.8, 1.25], narrower as often as wider; the
    height is kept, and with stretch 0 the random stream is the one configs had before."""
    img = np.full((40, 200), 255, np.uint8)
    img[10:30, 50:150] = 0  # a 100x20 block of ink
    factors = []
    for seed in range(40):
        out = augment.affine(img, np.random.default_rng(seed), rotate=0, shear=0, scale=0,
                             stretch=0.25)  # fmt: skip
        ys, xs = np.nonzero(out < 128)
        assert ys.max() - ys.min() + 1 == 20  # the height is the block's
        factors.append((xs.max() - xs.min() + 1) / 100)
    assert min(factors) >= 0.8 - 0.02 and max(factors) <= 1.25 + 0.02
    assert min(factors) < 0.9 and max(factors) > 1.12  # both ways, not a fixed factor
    assert 10 <= sum(f < 1 for f in factors) <= 30
    plain = augment.affine(img, np.random.default_rng(3), rotate=2, shear=0.1, scale=0.1)
    same = augment.affine(img, np.random.default_rng(3), rotate=2, shear=0.1, scale=0.1,
                          stretch=0.0)  # fmt: skip
    np.testing.assert_array_equal(plain, same)


def test_augmenter_stretches_when_asked(line):
    only_stretch = AugmentConfig(
        probability=1.0, rotate=0, shear=0, scale=0, perspective=0, morph=0, contrast=0,
        blur=0, noise=0, stretch=0.3,
    )  # fmt: skip
    widths = {augment.Augmenter(only_stretch)(line, np.random.default_rng(s)).shape[1]
              for s in range(6)}  # fmt: skip
    assert len(widths) > 1 and all(w != line.shape[1] for w in widths)


def test_warp_moves_ink_by_at_most_its_amount():
    """A dot of ink lands within ``amount`` line heights of where it was (plus the pixel
    of interpolation), and a shape keeps about its ink: the glyph bends, it is not cut."""
    h, w = 40, 200
    for seed in range(5):
        img = np.full((h, w), 255, np.uint8)
        img[18:22, 98:102] = 0
        out = augment.warp(img, np.random.default_rng(seed), amount=0.1)
        assert out.shape == img.shape
        ys, xs = np.nonzero(out < 128)
        assert len(ys) > 0
        assert np.abs(xs - 99.5).max() <= 0.1 * h + 2 + 1
        assert np.abs(ys - 19.5).max() <= 0.1 * h + 2 + 1
    line = render("Warp 1234", size=28)
    out = augment.warp(line, np.random.default_rng(3))
    assert 0.7 < (out < 128).sum() / (line < 128).sum() < 1.3


def test_augmenter_applies_warp_only_when_asked(line):
    nothing_else = AugmentConfig(
        probability=1.0, rotate=0, shear=0, scale=0, perspective=0, morph=0, contrast=0,
        blur=0, noise=0,
    )  # fmt: skip
    plain = augment.Augmenter(nothing_else)
    warped = augment.Augmenter(dataclasses.replace(nothing_else, warp=1.0))
    assert np.array_equal(plain(line, np.random.default_rng(2)), line)
    assert not np.array_equal(warped(line, np.random.default_rng(2)), line)


def test_augmenter_is_deterministic_per_seed_and_off_when_disabled(line):
    aug = augment.Augmenter(AugmentConfig(probability=1.0, blur=1.0, noise=1.0))
    a = aug(line, np.random.default_rng(5))
    b = aug(line, np.random.default_rng(5))
    c = aug(line, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)
    off = augment.Augmenter(AugmentConfig(enabled=False))
    assert off(line, np.random.default_rng(5)) is line


def test_perspective_moves_corners_by_four_times_its_value_on_half_the_lines(line, monkeypatch):
    """What docs/training.md says of ``augment.perspective``: each corner moves by up to
    4 x perspective line heights, on about half of the augmented lines (the setting is not
    the displacement itself)."""
    strengths = []

    def perspective(img, rng, strength):
        strengths.append(strength)
        return img

    monkeypatch.setattr(augment.degrade, "perspective", perspective)
    only_perspective = AugmentConfig(
        probability=1.0, rotate=0, shear=0, scale=0, perspective=0.02, morph=0, contrast=0,
        blur=0, noise=0,
    )  # fmt: skip
    aug = augment.Augmenter(only_perspective)
    rng = np.random.default_rng(0)
    for _ in range(400):
        aug(line, rng)
    assert strengths == pytest.approx([0.08] * len(strengths))
    assert 160 < len(strengths) < 240  # half of 400

    # And degrade.perspective moves a corner by at most `strength` line heights per axis.
    monkeypatch.undo()
    h, w = line.shape
    for seed in range(10):
        out = augment.degrade.perspective(line, np.random.default_rng(seed), strength=0.08)
        assert out.shape[0] <= h + 2 * 0.08 * h + 1 and out.shape[1] <= w + 2 * 0.08 * h + 1
