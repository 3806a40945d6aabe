import cv2
import numpy as np
import pytest

from lineocr.preprocess import (
    DEFAULT_OPS,
    MAX_OPS_PIXELS,
    OPS,
    OPS_HEIGHT_FACTOR,
    PARAM_RANGES,
    PreprocessError,
    PreprocessSpec,
    _median_uint8,
    apply_ops,
    collate,
    ink_box,
    ops_input,
    to_model_input,
    trim,
)
from tests.render import render


def test_prepare_keeps_aspect_ratio_and_normalises_ink_to_one():
    img = render("Hello", size=48)
    spec = PreprocessSpec(height=32, ops=())
    line = to_model_input(img, spec)
    assert line.shape[0] == 32
    assert abs(line.shape[1] - round(img.shape[1] * 32 / img.shape[0])) <= 1
    assert line.dtype == np.float32
    assert line.min() >= 0.0 and line.max() <= 1.0
    # paper (white) -> 0, ink (black) -> ~1
    assert line[0, 0] == pytest.approx(0.0)
    assert line.max() > 0.9


def test_width_is_clamped():
    spec = PreprocessSpec(height=32, min_width=40, max_width=100, ops=())
    assert to_model_input(np.full((32, 4), 255, np.uint8), spec).shape == (32, 40)
    assert to_model_input(np.full((32, 1000), 255, np.uint8), spec).shape == (32, 100)


def test_auto_invert_makes_light_on_dark_dark_on_light():
    img = render("Hi")
    spec = PreprocessSpec(ops=("auto_invert",))
    np.testing.assert_allclose(
        to_model_input(255 - img, spec), to_model_input(img, spec), atol=1e-6
    )


def test_auto_invert_median_is_numpys_median() -> None:
    rng = np.random.default_rng(0)
    for _ in range(500):
        shape = (int(rng.integers(1, 6)), int(rng.integers(1, 7)))
        img = rng.integers(0, 256, size=shape, dtype=np.uint8)
        if rng.random() < 0.5:  # few levels: ties at the middle, e.g. 127 and 128
            img = rng.choice(np.array([0, 127, 128, 255], np.uint8), size=shape)
        assert _median_uint8(img) == np.median(img)
        view = img[:, ::2]  # a strided view (as a crop or flip can pass on)
        assert _median_uint8(view) == np.median(view)


@pytest.mark.parametrize("op", sorted(OPS))
def test_every_op_returns_uint8_image(op):
    img = render("Text 123", size=28)
    out = OPS[op](img)
    assert out.dtype == np.uint8 and out.ndim == 2 and out.size > 0


def test_binarisation_gives_two_levels():
    img = render("Text", size=28)
    for op in ("otsu", "sauvola"):
        assert set(np.unique(OPS[op](img))) <= {0, 255}


def test_crop_trims_margins():
    img = np.full((60, 200), 255, np.uint8)
    img[20:30, 50:120] = 0
    out = OPS["crop"](img, margin=2)
    assert out.shape == (14, 74)


def test_ink_box_finds_the_text_in_noise_and_uneven_light():
    rng = np.random.default_rng(0)
    line = render("Wide margins", size=28)
    h, w = line.shape
    img = np.full((5 * h, w + 200), 255, np.float32)
    img[2 * h : 3 * h, 100 : 100 + w] = line
    img *= np.linspace(0.55, 1.0, img.shape[1])[None, :]  # a shadow over the left side
    img += rng.normal(0, 8, img.shape)
    noisy = np.clip(img, 0, 255).astype(np.uint8)
    ys, xs = np.nonzero(line < 128)
    top, bottom, left, right = ink_box(noisy)
    assert abs(top - (2 * h + ys.min())) <= 2 and abs(bottom - (2 * h + ys.max() + 1)) <= 2
    assert abs(left - (100 + xs.min())) <= 2 and abs(right - (100 + xs.max() + 1)) <= 2
    assert ink_box(np.full((40, 100), 200, np.uint8)) is None  # blank paper: no ink


def test_trim_cuts_wide_margins_and_leaves_training_like_crops_alone():
    img = np.full((300, 600), 255, np.uint8)
    img[100:140, 200:400] = 0  # ink 40 px tall: a frame of 3-px strokes
    img[103:137, 203:397] = 255
    out = trim(img, top=0.2, bottom=0.25, side=0.5, over=0.75)
    # 8 and 10 px above and below, 20 px left and right (the 5x5 filter adds up to 2 px).
    assert abs(out.shape[0] - (40 + 8 + 10)) <= 3 and abs(out.shape[1] - (200 + 20 + 20)) <= 5
    tight = img[94:148, 190:410]  # margins of 0.15-0.25 ink heights, as training lines have
    assert trim(tight).shape == tight.shape
    # A margin of 0.6 ink heights (a loosely cut line) is cut to the defaults' 0.1 / 0.15 /
    # 0.3 of the ink height; the 0.25 one below it is left as it is.
    loose = img[76:150, 176:424]
    out = trim(loose)
    assert abs(out.shape[0] - (40 + 4 + 10)) <= 4 and abs(out.shape[1] - (200 + 12 + 12)) <= 5
    blank = np.full((50, 80), 255, np.uint8)
    assert trim(blank) is blank


def test_ink_box_ignores_specks_on_the_paper():
    rng = np.random.default_rng(1)
    line = render("Specks", size=28)
    h, w = line.shape
    img = np.full((5 * h, w + 4 * h), 235, np.uint8)
    img[2 * h : 3 * h, 2 * h : 2 * h + w] = np.minimum(line, 235)
    ys, xs = np.nonzero(line < 128)
    specks = rng.integers(0, (img.shape[0] - 2, img.shape[1] - 2), size=(60, 2))
    for y, x in specks:
        if not (h <= y < 4 * h and h <= x < 3 * h + w):  # a line height or more away
            img[y : y + 2, x : x + 2] = 30  # scanner dust: dark 2x2 specks
    top, bottom, left, right = ink_box(img)
    assert abs(top - (2 * h + ys.min())) <= 2 and abs(bottom - (2 * h + ys.max() + 1)) <= 2
    assert abs(left - (2 * h + xs.min())) <= 2 and abs(right - (2 * h + xs.max() + 1)) <= 2
    # A dot as small, but close under the text (a diacritic, a full stop), is ink.
    dot = 2 * h + ys.max() + h // 4
    img[dot : dot + 3, 2 * h + w // 2 : 2 * h + w // 2 + 3] = 30
    assert abs(ink_box(img)[1] - (dot + 3)) <= 2


def test_ink_box_finds_loosely_cut_lines_under_photo_grain():
    # Grain lifts the paper's closing to its brightest grains, so grainy paper itself
    # measures 20-35 levels dark: a threshold from zero counted it as ink and the box
    # spanned the whole image on about a third of these lines.
    from lineocr.data.synth import LineSynthesizer, SynthConfig

    tight = LineSynthesizer(SynthConfig(lang="latin", style="photo"), seed=5)
    loose = LineSynthesizer(SynthConfig(lang="latin", style="photo", loose=1.0), seed=5)
    found = 0
    for i in range(24):  # the same text, font and size, with 0.5-2 line heights of paper
        y0, y1, _, _ = ink_box(loose.sample(i)[0])
        found += y1 - y0 <= tight.sample(i)[0].shape[0]
    assert found >= 20  # 23 here; 14 with the threshold measured from zero


def test_ink_box_of_a_uniform_pattern_is_the_pattern():
    # Stripes: most of the image is as dark as the darkest spot, so the paper's median
    # darkness is the maximum; the box is still found (it was an empty mask and a crash).
    for step in (2, 3, 4):
        img = np.full((40, 64), 255, np.uint8)
        img[:, ::step] = 0
        top, bottom, left, right = ink_box(img)
        assert (top, bottom) == (0, 40) and left <= 2 and right >= 56
        assert trim(img).shape == img.shape


def test_trim_restores_a_line_in_a_wide_canvas_to_its_crop_scale():
    line = render("Scale", size=28)
    h, w = line.shape
    canvas = np.full((6 * h, w + 6 * h), 255, np.uint8)
    canvas[3 * h : 4 * h, 3 * h : 3 * h + w] = line
    # In the model's 32-px input the text fills about 1 / (1 + 0.1 + 0.15) of the height,
    # as in training lines (70-90 %), instead of a sixth of it.
    rows = {
        ops: int((to_model_input(canvas, PreprocessSpec(ops=ops)) > 0.5).any(axis=1).sum())
        for ops in (("auto_invert",), ("auto_invert", "trim"))
    }
    assert rows[("auto_invert",)] <= 8 and 18 <= rows[("auto_invert", "trim")] <= 28


def test_deskew_straightens_a_rotated_line():
    import cv2

    img = np.full((120, 400), 255, np.uint8)
    img[55:65, 40:360] = 0
    rot = cv2.warpAffine(
        img, cv2.getRotationMatrix2D((200, 60), 5, 1.0), (400, 120), borderValue=255
    )
    out = OPS["deskew"](rot)
    rows = np.nonzero((out < 128).any(axis=1))[0]
    rows_rot = np.nonzero((rot < 128).any(axis=1))[0]
    assert (rows.max() - rows.min()) < (rows_rot.max() - rows_rot.min()) / 2


def _text_line(width: int = 900, height: int = 40, angle: float = 0.0) -> np.ndarray:
    """A long line of glyph-like dark blocks (text height 16 px) drifting ``angle`` degrees."""
    rng = np.random.default_rng(5)
    img = np.full((height + int(width * abs(np.tan(np.radians(angle)))) + 8, width), 235, np.uint8)
    base = 4 + (int(width * np.tan(np.radians(-angle))) if angle < 0 else 0)
    for x in range(10, width - 20, 14):
        top = base + round(x * np.tan(np.radians(angle))) + int(rng.integers(0, 6))
        img[top + 8 : top + 24, x : x + 9] = 30
    return img


def test_deskew_levels_a_long_skewed_line_without_cutting_ink():
    skewed = _text_line(angle=1.5)
    out = OPS["deskew"](skewed)
    rows = np.nonzero((out < 128).any(axis=1))[0]
    assert rows.max() - rows.min() < 32  # the ink's band: 16-px blocks, 6 px of jitter
    assert (out < 128).sum() == pytest.approx((skewed < 128).sum(), rel=0.02)


@pytest.mark.parametrize("light", ["even", "uneven"])
def test_deskew_leaves_level_and_short_lines_alone(light):
    level = _text_line()
    if light == "uneven":  # a shadow across the line: not a tilt
        level = (level * np.linspace(0.55, 1.0, level.shape[1])[None, :]).astype(np.uint8)
    assert OPS["deskew"](level) is level
    short = _text_line(width=120, angle=1.5)  # drifts 3 px: under half its text height
    assert OPS["deskew"](short) is short


def test_spec_parses_and_validates_ops():
    spec = PreprocessSpec(ops=("sauvola:window=31,k=0.3", "unsharp"))
    assert PreprocessSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(PreprocessError, match="unknown preprocessing op"):
        PreprocessSpec(ops=("sharpen_magic",))
    with pytest.raises(PreprocessError, match="takes"):
        PreprocessSpec(ops=("otsu:k=3",))
    with pytest.raises(PreprocessError, match="not a number"):
        PreprocessSpec(ops=("sauvola:k=abc",))
    with pytest.raises(PreprocessError, match="unknown preprocess keys"):
        PreprocessSpec.from_dict({"hieght": 32})
    # Values an op fails on (OpenCV asserts on a zero sigma) or that cost without bound.
    for op in (
        "unsharp:sigma=0",
        "deblur:sigma=-1",
        "crop:margin=-5",
        "trim:over=0",
        "deblur:iterations=1e9",
        "sauvola:k=nan",
        "unsharp:amount=inf",
    ):
        with pytest.raises(PreprocessError, match="must be within"):
            PreprocessSpec(ops=(op,))


def test_a_spec_without_ops_gets_the_configs_default_ops(tmp_path):
    """One default: a model card, a YAML config and the dataclass agree (a card without
    ``ops`` gave no ops at all while a config without them gave auto_invert)."""
    from lineocr.config import Config, load_config

    (tmp_path / "c.yaml").write_text("preprocess: {height: 32}\n", encoding="utf-8")
    assert PreprocessSpec.from_dict({"height": 32}).ops == DEFAULT_OPS
    assert PreprocessSpec.from_dict({}) == PreprocessSpec() == Config().preprocess
    assert load_config(tmp_path / "c.yaml").preprocess.ops == DEFAULT_OPS
    assert PreprocessSpec.from_dict({"ops": []}).ops == ()  # no ops, when said


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"height": "32"}, "height"),
        ({"max_width": 20.5}, "max_width"),
        ({"width_multiple": True}, "width_multiple"),
        ({"ops": "auto_invert"}, "ops"),
        ({"ops": 5}, "ops"),
        ({"ops": ["auto_invert", 7]}, "ops"),
        (["height", 32], "preprocess"),
    ],
)
def test_a_spec_of_wrong_types_is_an_error_naming_the_field(data, field):
    with pytest.raises(PreprocessError, match=field):  # was a bare TypeError
        PreprocessSpec.from_dict(data)


@pytest.mark.parametrize("op", [op for op in OPS if op not in ("otsu", "auto_invert")])
def test_every_op_runs_at_the_ends_of_its_parameter_ranges(op):
    img = render("Range 42", size=30)
    for (name, key), (low, high) in PARAM_RANGES.items():
        if name == op:
            for value in (low, high):
                out = apply_ops(img, [f"{op}:{key}={value:g}"])
                assert out.dtype == np.uint8 and out.ndim == 2 and out.size > 0


def test_extreme_shapes_are_scaled_down_before_the_ops():
    """A 40x40,000 strip took trim a minute, a 1x25,000,000 one asked OpenCV for terabytes:
    the ops see at most OPS_HEIGHT_FACTOR x the input height and about MAX_OPS_PIXELS
    pixels, aspect kept."""
    spec = PreprocessSpec(ops=("auto_invert", "trim", "deskew"))
    for shape in [(40_000, 40), (2_000_000, 1), (3000, 3000), (1200, 9000)]:
        img = np.full(shape, 230, np.uint8)
        img[shape[0] // 3 : shape[0] // 2, shape[1] // 4 : shape[1] // 2] = 20
        small = ops_input(img, spec)
        assert small.shape[0] <= OPS_HEIGHT_FACTOR * spec.height
        assert small.size <= MAX_OPS_PIXELS or small.shape[0] == 1
        if min(small.shape) > 100:  # aspect kept
            assert small.shape[1] / small.shape[0] == pytest.approx(shape[1] / shape[0], rel=0.01)
        assert to_model_input(img, spec).shape[0] == spec.height
    line = render("Normal line", size=36)
    assert ops_input(line, spec) is line


def test_the_ops_see_a_large_image_at_the_resolution_training_stores():
    """Training keeps images at most 8x the input height (data.batching.stored) and runs
    the ops on that; reading must run them on the same, or ops with sizes in pixels act
    differently on a high-resolution scan than on what the model learned from."""
    from lineocr.data.batching import stored

    spec = PreprocessSpec(ops=("auto_invert", "trim", "sauvola"))
    small = np.pad(render("Scanned 300 dpi", size=40), 30, constant_values=255)
    big = cv2.resize(small, None, fx=9, fy=9, interpolation=cv2.INTER_CUBIC)
    assert big.shape[0] > OPS_HEIGHT_FACTOR * spec.height
    kept = stored(big, spec)
    assert kept.shape[0] == OPS_HEIGHT_FACTOR * spec.height
    np.testing.assert_array_equal(to_model_input(big, spec), to_model_input(kept, spec))


def test_collate_pads_with_paper_to_width_multiple():
    spec = PreprocessSpec(height=32, ops=())
    lines = [to_model_input(render("a"), spec), to_model_input(render("a much longer line"), spec)]
    batch, widths = collate(lines, spec)
    assert batch.shape[:3] == (2, 1, 32)
    assert batch.shape[3] % 4 == 0 and batch.shape[3] >= widths.max()
    assert (batch[0, 0, :, widths[0] :] == 0).all()
    np.testing.assert_array_equal(batch[1, 0, :, : widths[1]], lines[1])


def test_training_and_inference_preprocessing_are_identical():
    """The trainer's dataset and the runtime call the same function; prove the arrays
    they produce for the same image are byte-identical."""
    from lineocr.data.batching import Example, LineDataset, make_collate

    spec = PreprocessSpec(height=32, ops=("auto_invert", "unsharp"))
    images = [render("Hello 42"), render("wide line of text")]
    examples = [Example(img, "x", (1,), "src") for img in images]
    batch = make_collate(spec)([LineDataset(examples, spec)[i] for i in range(2)])
    inference, widths = collate([to_model_input(img, spec) for img in images], spec)
    np.testing.assert_array_equal(batch.images.numpy(), inference)
    np.testing.assert_array_equal(batch.widths.numpy(), widths)
