"""Where a model input's columns lie on the line image (preprocess.to_model_input_placed):
the same input as to_model_input, and a column of the input traced back lands where the
ops really put it (trimmed margins, a crop, a sheared skew, width clamps)."""

from __future__ import annotations

import numpy as np
import pytest

from lineocr.preprocess import (
    PreprocessSpec,
    crop,
    crop_window,
    ops_output,
    scale_to_model_input,
    to_model_input,
    to_model_input_placed,
    trim,
    trim_window,
)

SPECS = [
    PreprocessSpec(height=32, ops=("auto_invert", "deskew", "trim")),  # the bundled printed
    PreprocessSpec(height=32, ops=("auto_invert", "crop:margin=3")),
    PreprocessSpec(height=48, ops=("trim", "crop", "otsu")),
    PreprocessSpec(height=32, ops=()),
    PreprocessSpec(height=32, max_width=256, ops=("trim",)),  # clamped to its max width
    PreprocessSpec(height=32, min_width=200, ops=("trim",)),  # stretched to its min width
]


def _line(width: int = 1400, height: int = 300, bars=((400, 430), (700, 760), (1000, 1010))):
    """A line with wide paper margins (trim cuts them) and ink bars at known columns,
    tall enough that ops_input scales it down first."""
    image = np.full((height, width), 235, np.uint8)
    for x0, x1 in bars:
        image[120:180, x0:x1] = 20
    return image


def _ink_columns(model_input: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of inked columns of a model input (ink 1.0)."""
    on = model_input.max(axis=0) > 0.5
    edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(int), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: ",".join(s.ops) or "no ops")
def test_placed_input_is_the_model_input(spec: PreprocessSpec) -> None:
    image = _line()
    placed, _ = to_model_input_placed(image, spec)
    assert placed.dtype == np.float32
    # the placed input is what the two halves of the preparation make (as before places)
    assert np.array_equal(placed, scale_to_model_input(ops_output(image, spec), spec))
    assert np.array_equal(placed, to_model_input(image, spec))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: ",".join(s.ops) or "no ops")
def test_columns_traced_back_land_on_the_ink(spec: PreprocessSpec) -> None:
    bars = ((400, 430), (700, 760), (1000, 1010))
    model_input, columns = to_model_input_placed(_line(bars=bars), spec)
    found = _ink_columns(model_input)
    assert len(found) == len(bars)
    # One model column covers 1 / scale image columns: within that and a pixel of blur.
    slack = 1.5 / columns.scale + 1
    for (m0, m1), (x0, x1) in zip(found, bars, strict=True):
        assert columns.to_image(m0) == pytest.approx(x0, abs=slack)
        assert columns.to_image(m1) == pytest.approx(x1, abs=slack)


def test_trim_cuts_the_margin_and_the_columns_say_so() -> None:
    spec = PreprocessSpec(height=32, ops=("trim",))
    strokes = tuple((x, x + 12) for x in range(600, 900, 30))  # letter-like strokes
    model_input, columns = to_model_input_placed(_line(bars=strokes), spec)
    assert columns.left > 500  # most of the 600 px margin is gone
    assert columns.to_image(0) == pytest.approx(columns.left)
    first = _ink_columns(model_input)[0]
    assert columns.to_image(first[0]) == pytest.approx(600, abs=1.5 / columns.scale + 1)


def test_windows_are_what_the_ops_cut() -> None:
    image = _line()
    for op, window_of in ((trim, trim_window), (crop, crop_window)):
        window = window_of(image)
        assert window is not None
        y0, y1, x0, x1 = window
        assert np.array_equal(op(image), image[y0:y1, x0:x1])
    blank = np.full((40, 200), 255, np.uint8)
    assert trim_window(blank) is None and crop_window(blank) is None
    assert trim(blank) is blank


def test_a_sheared_line_keeps_its_columns() -> None:
    """deskew shears a slanted line level: columns stay where they were."""
    spec = PreprocessSpec(height=32, ops=("deskew", "trim"))
    image = np.full((160, 1200), 235, np.uint8)
    strokes = [(x, x + 8) for x in range(200, 1000, 24)]
    for x0, x1 in strokes:
        rise = round(0.08 * (x0 - 200))  # about 4.6 degrees
        image[90 - rise : 120 - rise, x0:x1] = 20
    model_input, columns = to_model_input_placed(image, spec)
    assert model_input.shape[0] == 32
    assert not np.array_equal(model_input, to_model_input(image, spec.with_ops(("trim",))))
    found = _ink_columns(model_input)
    assert len(found) == len(strokes)
    for (m0, m1), (x0, x1) in zip(found, strokes, strict=True):
        assert columns.to_image((m0 + m1) / 2) == pytest.approx(
            (x0 + x1) / 2, abs=2 / columns.scale
        )
