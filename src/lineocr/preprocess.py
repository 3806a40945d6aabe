"""The one line-preprocessing path, shared by training and inference.

A :class:`PreprocessSpec` (stored in every checkpoint and ONNX file) says how a grayscale
line image becomes the model's input: optional enhancement ops, resize to a fixed height
keeping the aspect ratio, and normalisation to ink = 1.0, paper = 0.0 (so padding with
zeros is padding with paper). :func:`to_model_input` does one image; :func:`collate` pads a batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np


class PreprocessError(ValueError):
    """A bad preprocessing spec (unknown op, bad parameter)."""


def _parse_op(op: str) -> tuple[str, dict[str, float]]:
    """``"sauvola:window=25,k=0.2"`` -> ``("sauvola", {"window": 25.0, "k": 0.2})``."""
    name, _, params = op.partition(":")
    name = name.strip()
    kwargs: dict[str, float] = {}
    for item in filter(None, (p.strip() for p in params.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise PreprocessError(f"op {op!r}: parameter {item!r} is not key=value")
        try:
            number = float(value)
        except ValueError:
            raise PreprocessError(f"op {op!r}: {key}={value!r} is not a number") from None
        low, high = PARAM_RANGES.get((name, key), (-math.inf, math.inf))
        if not low <= number <= high:  # NaN fails too
            raise PreprocessError(f"op {op!r}: {key} must be within [{low:g}, {high:g}]")
        kwargs[key] = number
    return name, kwargs


# Each op parameter's valid range: outside it an op fails (a zero or negative sigma, a
# negative margin) or costs without bound (deblur's iterations).
PARAM_RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("sauvola", "window"): (3, 255),
    ("sauvola", "k"): (-1, 1),
    ("sauvola", "r"): (1, 255),
    ("unsharp", "sigma"): (0.1, 20),
    ("unsharp", "amount"): (0, 10),
    ("denoise", "strength"): (0, 100),
    ("normalize_contrast", "clip"): (0.1, 40),
    ("deblur", "sigma"): (0.1, 20),
    ("deblur", "iterations"): (0, 100),
    ("deskew", "max_angle"): (0, 45),
    ("crop", "margin"): (0, 1000),
    ("trim", "top"): (0, 10),
    ("trim", "bottom"): (0, 10),
    ("trim", "side"): (0, 10),
    ("trim", "over"): (0.05, 10),
}


def auto_invert(img: np.ndarray) -> np.ndarray:
    """Light text on a dark background becomes dark on light (the median is the paper)."""
    return 255 - img if light_text(img) else img


def light_text(img: np.ndarray) -> bool:
    """Whether a uint8 line is light ink on dark paper: its median (the paper) is dark."""
    return _median_uint8(img) < 128


def _median_uint8(img: np.ndarray) -> float:
    """``np.median`` of a uint8 image from its histogram: O(pixels), no sort (it runs on
    every line read; OpenCV's histogram is faster than ``np.bincount`` here, see
    docs/runtime.md, Wide margins)."""
    histogram = cv2.calcHist([np.ascontiguousarray(img)], [0], None, [256], [0, 256]).ravel()
    cumulative = np.cumsum(histogram.astype(np.int64))
    n = int(cumulative[-1])
    upper = int(np.searchsorted(cumulative, n // 2 + 1))  # the (n // 2)-th smallest, 0-based
    if n % 2:
        return float(upper)
    lower = int(np.searchsorted(cumulative, n // 2))  # the (n // 2 - 1)-th smallest
    return (lower + upper) / 2


def otsu(img: np.ndarray) -> np.ndarray:
    _, out = cv2.threshold(img, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return out


def sauvola(img: np.ndarray, window: float = 25, k: float = 0.2, r: float = 128) -> np.ndarray:
    """Sauvola local thresholding (robust to uneven lighting)."""
    size = max(3, int(window) | 1)
    f = img.astype(np.float64)
    mean = cv2.boxFilter(f, -1, (size, size), borderType=cv2.BORDER_REFLECT)
    sq = cv2.boxFilter(f * f, -1, (size, size), borderType=cv2.BORDER_REFLECT)
    std = np.sqrt(np.maximum(sq - mean * mean, 0.0))
    threshold = mean * (1.0 + k * (std / r - 1.0))
    return np.where(f > threshold, 255, 0).astype(np.uint8)


def unsharp(img: np.ndarray, sigma: float = 1.0, amount: float = 1.0) -> np.ndarray:
    blurred = cv2.GaussianBlur(img, (0, 0), sigma)
    return cv2.addWeighted(img, 1.0 + amount, blurred, -amount, 0)


def denoise(img: np.ndarray, strength: float = 7) -> np.ndarray:
    return cv2.fastNlMeansDenoising(
        img, None, h=float(strength), templateWindowSize=7, searchWindowSize=21
    )


def normalize_contrast(img: np.ndarray, clip: float = 2.0) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation (CLAHE)."""
    tiles = max(1, min(8, img.shape[1] // max(1, img.shape[0])))
    return cv2.createCLAHE(clipLimit=clip, tileGridSize=(1, tiles)).apply(img)


def deblur(img: np.ndarray, sigma: float = 1.5, iterations: float = 10) -> np.ndarray:
    """Richardson-Lucy deconvolution with a Gaussian point-spread function."""
    observed = img.astype(np.float64) / 255.0 + 1e-3
    estimate = observed.copy()
    for _ in range(int(iterations)):
        blurred = cv2.GaussianBlur(estimate, (0, 0), sigma) + 1e-6
        estimate *= cv2.GaussianBlur(observed / blurred, (0, 0), sigma)
    return np.clip(estimate * 255.0, 0, 255).astype(np.uint8)


def deskew(img: np.ndarray, max_angle: float = 10) -> np.ndarray:
    """Shear a line so that its text runs level: the angle within ``max_angle`` degrees
    fitted through the ink's mean rows along the line (see :func:`_sharpest_angle`), the
    ink found after the paper's uneven light is divided out. Lines within 0.25 degrees, or
    whose text drifts by less than half its height from end to end, are returned as they
    are (the bundled models read such lines as well as level ones: they were trained on
    them); the canvas grows so that no ink is cut."""
    paper = _median_uint8(img)
    dark = img if paper >= 128 else 255 - img
    # The angle is found on a copy at most 48 pixels high (angles survive scaling): the
    # ink mask and the profiles then cost little next to the model.
    scale = min(1.0, 48 / dark.shape[0])
    if scale < 1.0:
        size = (max(1, round(dark.shape[1] * scale)), 48)
        dark = cv2.resize(dark, size, interpolation=cv2.INTER_AREA)
    mask = _ink_mask(dark)
    ys, xs = np.nonzero(mask)
    if len(xs) < 20:
        return img
    if len(xs) > 4000:  # plenty for a profile; evenly spaced, so deterministic
        keep = np.linspace(0, len(xs) - 1, 4000).astype(np.int64)
        ys, xs = ys[keep], xs[keep]
    xf, yf = xs.astype(np.float64), ys.astype(np.float64)
    angle = _sharpest_angle(xf, yf, max_angle)
    # Level enough: under 0.25 degrees, or drifting less than half the text's height along
    # the line (short lines: their angle is a guess, and the models read them anyway).
    low, high = np.quantile(yf - xf * np.tan(np.radians(angle)), (0.05, 0.95))
    text_height = max(float(high - low), 1.0)
    drift = float(np.ptp(xf)) * abs(np.tan(np.radians(angle)))
    if abs(angle) < 0.25 or drift < 0.5 * text_height:
        return img
    # A shear, column by column, to whole pixels: no resampling blur on thin strokes, and
    # over the few degrees of a skewed line the same as a rotation but for glyphs slanted
    # by that angle.
    h, w = img.shape
    shift = -np.tan(np.radians(angle))
    new_h = h + int(np.ceil(abs(shift) * w))
    matrix = np.array([[1.0, 0.0, 0.0], [shift, 1.0, max(0.0, -shift * w)]])
    return cv2.warpAffine(
        img,
        matrix,
        (w, new_h),
        flags=cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=int(paper),
    )


def _ink_mask(dark_on_light: np.ndarray) -> np.ndarray:
    """Ink pixels of a dark-on-light line: the paper's light (a closing wider than the
    strokes) divided out, then Otsu's threshold."""
    side = max(15, (dark_on_light.shape[0] // 2) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    background = cv2.morphologyEx(dark_on_light, cv2.MORPH_CLOSE, kernel)
    flat = cv2.divide(dark_on_light, np.maximum(background, 1), scale=255)
    _, mask = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return mask


def _sharpest_angle(xs: np.ndarray, ys: np.ndarray, max_angle: float) -> float:
    """The rotation (degrees, as ``cv2.getRotationMatrix2D`` takes it) that levels the ink:
    a line fitted through the mean ink row of each stretch of the line (about two text
    heights wide), kept only if it concentrates the ink's rows (sum of squared row counts)
    more than no rotation does; 0 when it does not, or when it exceeds ``max_angle``."""
    low, high = np.quantile(ys, (0.05, 0.95))
    height = max(float(high - low), 1.0)
    stretches = int(np.clip(np.ptp(xs) // (2 * height), 0, 32))
    if stretches < 3:
        return 0.0
    which = ((xs - xs.min()) * (stretches / (np.ptp(xs) + 1))).astype(np.int64)
    counts = np.bincount(which, minlength=stretches)
    valid = counts >= 5
    if valid.sum() < 3:
        return 0.0
    centres = np.bincount(which, weights=xs, minlength=stretches)[valid] / counts[valid]
    rows = np.bincount(which, weights=ys, minlength=stretches)[valid] / counts[valid]
    dx = centres - centres.mean()
    slope = float(np.dot(dx, rows - rows.mean()) / max(float(np.dot(dx, dx)), 1e-9))
    angle = float(np.degrees(np.arctan(slope)))
    if abs(angle) > max_angle:
        return 0.0

    def concentration(a: float) -> int:
        sheared = np.rint(ys - xs * np.tan(np.radians(a))).astype(np.int64)
        counts = np.bincount(sheared - sheared.min())
        return int(np.dot(counts, counts))

    return angle if concentration(angle) > concentration(0.0) else 0.0


Window = tuple[int, int, int, int]  # y0, y1, x0, x1 of what an op keeps of a line


def crop(img: np.ndarray, margin: float = 2) -> np.ndarray:
    """Trim paper margins around the ink, keeping ``margin`` pixels."""
    return _cut_to(img, crop_window(img, margin))


def crop_window(img: np.ndarray, margin: float = 2) -> Window | None:
    """The rows and columns :func:`crop` keeps, ``(y0, y1, x0, x1)``; None: all of them."""
    ink = (255 - img) if _median_uint8(img) >= 128 else img
    ys, xs = np.nonzero(ink > 48)
    if len(xs) == 0:
        return None
    m = int(margin)
    y0, y1 = max(0, ys.min() - m), min(img.shape[0], ys.max() + 1 + m)
    x0, x1 = max(0, xs.min() - m), min(img.shape[1], xs.max() + 1 + m)
    return int(y0), int(y1), int(x0), int(x1)


def _cut_to(img: np.ndarray, window: Window | None) -> np.ndarray:
    if window is None:
        return img
    y0, y1, x0, x1 = window
    return img[y0:y1, x0:x1]


def ink_box(img: np.ndarray, min_contrast: float = 40) -> tuple[int, int, int, int] | None:
    """``(top, bottom, left, right)`` of the ink of a dark-on-light line, robust to paper
    noise, specks and uneven light: each pixel's darkness is measured against the paper
    around it (a grey-level closing takes the strokes away: over 15 px, or an eighth of the
    image height if more, so the thick strokes of a large image go too), box-filtered 5x5,
    and ink is what reaches a quarter of the way from the paper's typical (median) darkness
    to the darkest spot. The box spans the band of rows
    with the most ink and the columns of ink within it; a run of ink rows or columns no
    wider than a filtered speck (7 px) counts only within half the band's height of larger
    ink: a diacritic dot or a full stop is kept, dust on the paper is not. None when nothing
    is ``min_contrast`` darker than its paper."""
    size = max(15, img.shape[0] // 8 | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    paper = cv2.morphologyEx(img, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_REPLICATE)
    dark = cv2.blur(cv2.subtract(paper, img), (5, 5))
    level = int(dark.max())
    if level < min_contrast:
        return None
    # The closing lifts grainy paper to its brightest grains, so paper itself measures dark
    # under a photo's grain: measure from the median, which is paper.
    # (Below the darkest level always, so that the darkest spot is ink even where most of
    # the image is as dark: a pattern of stripes.)
    base = _median_uint8(dark)
    _, mask = cv2.threshold(dark, min(base + (level - base) / 4, level - 1), 1, cv2.THRESH_BINARY)
    row_ink = cv2.reduce(mask, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel()
    runs = _runs(row_ink)
    sums = np.add.reduceat(row_ink, [r0 for r0, _ in runs])  # whole runs: ink rows only
    main = runs[int(np.argmax(sums))]
    reach = max(3, (main[1] - main[0]) // 2)
    top, bottom = _span(runs, main, reach)
    col_runs = _runs(mask[top:bottom].max(axis=0))
    big = [r for r in col_runs if r[1] - r[0] > _SPECK] or col_runs
    left, right = _span(col_runs, (big[0][0], big[-1][1]), reach)
    return top, bottom, left, right


_SPECK = 7  # px: a speck of up to 3x3 pixels after ink_box's 5x5 filter


def _runs(profile: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` of each run of non-zero entries."""
    on = profile > 0
    edges = (np.flatnonzero(on[1:] != on[:-1]) + 1).tolist()
    if on[0]:
        edges.insert(0, 0)
    if on[-1]:
        edges.append(len(on))
    return list(zip(edges[::2], edges[1::2], strict=True))


def _span(runs: list[tuple[int, int]], core: tuple[int, int], reach: int) -> tuple[int, int]:
    """``core`` grown by every run wider than a speck, and by specks within ``reach`` of
    what it has grown to (outwards from the core, so a dot beside a dot is kept)."""
    start, end = core
    for r0, r1 in runs:  # left to right: the runs after the core
        if r0 >= end and (r1 - r0 > _SPECK or r0 - end <= reach):
            end = r1
    for r0, r1 in reversed(runs):  # right to left: the runs before it
        if r1 <= start and (r1 - r0 > _SPECK or start - r1 <= reach):
            start = r0
    return start, end


def trim(
    img: np.ndarray, top: float = 0.1, bottom: float = 0.15, side: float = 0.3, over: float = 0.5
) -> np.ndarray:
    """Cut paper margins wider than those of training lines, never adding any: a margin
    wider than ``over`` times the ink's height is cut to ``top`` / ``bottom`` / ``side``
    times it (about the margins synthetic training lines have; docs/runtime.md, Wide
    margins). A line cut loosely from a page, or sitting in a tall canvas, is then read at
    the scale the model learnt; a line cropped as training lines are is left as it is."""
    return _cut_to(img, trim_window(img, top, bottom, side, over))


def trim_window(
    img: np.ndarray, top: float = 0.1, bottom: float = 0.15, side: float = 0.3, over: float = 0.5
) -> Window | None:
    """The rows and columns :func:`trim` keeps, ``(y0, y1, x0, x1)``; None: all of them."""
    box = ink_box(img)
    if box is None:
        return None
    y0, y1, x0, x1 = box
    h, w = img.shape
    ink_h = y1 - y0

    def cut(margin: int, keep: float) -> int:
        return min(margin, round(keep * ink_h)) if margin > over * ink_h else margin

    return y0 - cut(y0, top), y1 + cut(h - y1, bottom), x0 - cut(x0, side), x1 + cut(w - x1, side)


OPS: dict[str, Callable[..., np.ndarray]] = {
    "auto_invert": auto_invert,
    "crop": crop,
    "trim": trim,
    "deskew": deskew,
    "otsu": otsu,
    "sauvola": sauvola,
    "unsharp": unsharp,
    "denoise": denoise,
    "normalize_contrast": normalize_contrast,
    "deblur": deblur,
}
# The ops that cut a line to a window (the rest keep every column where it was: deskew
# shears rows up and down, the others change pixels only): what a character's place in the
# model's input is traced back through (:func:`to_model_input_placed`).
WINDOW_OPS: dict[str, Callable[..., Window | None]] = {"crop": crop_window, "trim": trim_window}


MAX_HEIGHT = 256  # px: the largest model input height (lineocr's presets read 32 to 64)
# px: the widest model input (default 2,048): a line is 256 x 65,536 floats (64 MiB) at most
# (a card with a far larger max_width or width_multiple would run every read out of memory).
MAX_WIDTH = 65_536
# The ops of a spec that names none: the config's default (``preprocess.ops``), and what a
# model card without an ``ops`` key means (every lineocr version has written the key).
DEFAULT_OPS: tuple[str, ...] = ("auto_invert",)
_INT_FIELDS = ("height", "min_width", "max_width", "width_multiple")


@dataclass(frozen=True)
class PreprocessSpec:
    """How a grayscale line image becomes a model input; serialised with every model.

    ``ops`` are applied in order, each a name from :data:`OPS` with optional parameters,
    e.g. ``("auto_invert", "sauvola:window=31,k=0.3")``.
    """

    height: int = 32
    min_width: int = 16
    max_width: int = 2048
    width_multiple: int = 4
    ops: tuple[str, ...] = DEFAULT_OPS

    def __post_init__(self) -> None:
        for name in _INT_FIELDS:  # a string or a float would fail below with a bare TypeError
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise PreprocessError(f"{name} must be an integer, got {value!r}")
        if isinstance(self.ops, str) or not isinstance(self.ops, (list, tuple)):
            raise PreprocessError(f"ops must be a list of op names, got {self.ops!r}")
        bad_ops = [op for op in self.ops if not isinstance(op, str)]
        if bad_ops:
            raise PreprocessError(f"ops must be op names (strings), got {bad_ops[0]!r}")
        if not 8 <= self.height <= MAX_HEIGHT:
            raise PreprocessError(f"height must be 8 to {MAX_HEIGHT}, got {self.height}")
        if not 1 <= self.min_width <= self.max_width:
            raise PreprocessError("need 1 <= min_width <= max_width")
        if self.max_width > MAX_WIDTH:
            raise PreprocessError(f"max_width must be at most {MAX_WIDTH}, got {self.max_width}")
        if not 1 <= self.width_multiple <= MAX_WIDTH:
            raise PreprocessError(
                f"width_multiple must be 1 to {MAX_WIDTH}, got {self.width_multiple}"
            )
        object.__setattr__(self, "ops", tuple(self.ops))
        for op in self.ops:
            name, kwargs = _parse_op(op)
            if name not in OPS:
                raise PreprocessError(f"unknown preprocessing op {name!r}; known: {sorted(OPS)}")
            fn = OPS[name]
            accepted = fn.__code__.co_varnames[1 : fn.__code__.co_argcount]
            bad = set(kwargs) - set(accepted)
            if bad:
                raise PreprocessError(f"op {name!r} takes {list(accepted)}, not {sorted(bad)}")

    def with_ops(self, ops: Sequence[str]) -> PreprocessSpec:
        return PreprocessSpec(
            self.height, self.min_width, self.max_width, self.width_multiple, tuple(ops)
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ops"] = list(self.ops)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessSpec:
        """The spec of a model card (:meth:`to_dict`'s output); a key it lacks takes the
        default, ``ops`` included (:data:`DEFAULT_OPS`, as a config without it); a wrong
        type is a :class:`PreprocessError` naming the key."""
        if not isinstance(data, dict):
            raise PreprocessError(f"preprocess: expected a mapping, got {type(data).__name__}")
        bad = set(data) - set(cls.__dataclass_fields__)
        if bad:
            raise PreprocessError(f"unknown preprocess keys: {sorted(bad)}")
        return cls(**data)


def apply_ops(img: np.ndarray, ops: Sequence[str]) -> np.ndarray:
    return apply_ops_placed(img, ops)[0]


def apply_ops_placed(img: np.ndarray, ops: Sequence[str]) -> tuple[np.ndarray, int]:
    """:func:`apply_ops`, and the column of ``img`` at which the result starts (what the
    :data:`WINDOW_OPS` cut off at the left, summed)."""
    left = 0
    for op in ops:
        name, kwargs = _parse_op(op)
        if name in WINDOW_OPS:
            window = WINDOW_OPS[name](img, **kwargs)
            img = _cut_to(img, window)
            left += 0 if window is None else window[2]
        else:
            img = OPS[name](img, **kwargs)
    return img, left


def target_width(width: int, height: int, spec: PreprocessSpec) -> int:
    scaled = round(width * spec.height / max(1, height))
    return int(min(spec.max_width, max(spec.min_width, scaled)))


OPS_HEIGHT_FACTOR = 8  # the ops see a line at most 8x the model's input height
MAX_OPS_PIXELS = 1_000_000


def bounded(img: np.ndarray, max_height: int, max_pixels: int = MAX_OPS_PIXELS) -> np.ndarray:
    """``img`` scaled down (aspect kept) to at most ``max_height`` pixels high and
    ``max_pixels`` in all (never below one row or column)."""
    h, w = img.shape
    scale = min(1.0, max_height / h, math.sqrt(max_pixels / (h * w)))
    if scale >= 1.0:
        return img
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def ops_input(img: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """What the ops of ``spec`` are given: ``img`` scaled down to at most
    :data:`OPS_HEIGHT_FACTOR` times the model's input height (256 rows for height 32) and
    :data:`MAX_OPS_PIXELS`, the same at training (where images are stored so) and at
    inference, so that ops with sizes in pixels (trim's closing, a sauvola window, a crop
    margin) act on the resolution the model was trained with. It also bounds the ops' time
    and memory on extreme shapes (a long, thin strip). The model reads lines only
    ``spec.height`` rows high, so nothing it sees is lost."""
    return bounded(img, OPS_HEIGHT_FACTOR * spec.height, MAX_OPS_PIXELS)


def to_model_input(img: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """uint8 grayscale (H, W) -> float32 (spec.height, W') with ink 1.0 and paper 0.0."""
    return to_model_input_placed(img, spec)[0]


@dataclass(frozen=True)
class Columns:
    """Where a model input's columns lie in the line image it was made from: the input's
    column edge ``x`` is the image's ``left + x / scale`` (edges, not pixel centres). The
    preprocessing scales a line uniformly (:func:`ops_input`, then to the model's height)
    and its ops only cut columns off at the left (:data:`WINDOW_OPS`) or keep them where
    they are, so one offset and one scale say it all."""

    left: float
    scale: float  # model-input columns per image column

    def to_image(self, x: float) -> float:
        return self.left + x / self.scale


def to_model_input_placed(img: np.ndarray, spec: PreprocessSpec) -> tuple[np.ndarray, Columns]:
    """:func:`to_model_input`, and where the input's columns lie in ``img``: what a
    character read at some column of the input is traced back to the line's pixels by."""
    if img.dtype != np.uint8 or img.ndim != 2:
        raise PreprocessError(f"expected a 2-D uint8 image, got {img.dtype} {img.shape}")
    small = ops_input(img, spec)
    first = small.shape[1] / img.shape[1]  # cv2.resize: exactly new width / old width
    after_ops, left = apply_ops_placed(small, spec.ops)
    model_input = scale_to_model_input(after_ops, spec)
    second = model_input.shape[1] / after_ops.shape[1]  # target_width's clamps included
    return model_input, Columns(left / first, first * second)


# The earlier name, kept: the docs named it, so code that feeds a lineocr ONNX file
# itself may import it.
prepare = to_model_input


def ops_output(img: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """The first half of :func:`to_model_input`: the uint8 line after the ops of ``spec``."""
    if img.dtype != np.uint8 or img.ndim != 2:
        raise PreprocessError(f"expected a 2-D uint8 image, got {img.dtype} {img.shape}")
    return apply_ops(ops_input(img, spec), spec.ops)


def scale_to_model_input(img: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """The second half of :func:`to_model_input`: an :func:`ops_output` line scaled to the
    model's height, as float32 with ink 1.0 and paper 0.0."""
    h, w = img.shape
    new_w = target_width(w, h, spec)
    interpolation = cv2.INTER_AREA if h > spec.height else cv2.INTER_LINEAR
    resized = cv2.resize(img, (new_w, spec.height), interpolation=interpolation)
    return (1.0 - resized.astype(np.float32) / 255.0).astype(np.float32)


def collate(
    lines: Sequence[np.ndarray], spec: PreprocessSpec, *, margin: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Pad prepared lines on the right with paper to one width (a multiple of
    ``spec.width_multiple``), at least ``margin`` columns beyond the widest line. Returns
    the (N, 1, H, W) batch and each line's width."""
    if not lines:
        raise PreprocessError("cannot collate an empty batch")
    widths = np.array([line.shape[1] for line in lines], dtype=np.int64)
    m = spec.width_multiple
    max_w = int(-(-(int(widths.max()) + margin) // m) * m)
    batch = np.zeros((len(lines), 1, spec.height, max_w), dtype=np.float32)
    for i, line in enumerate(lines):
        batch[i, 0, :, : line.shape[1]] = line
    return batch, widths


@dataclass(frozen=True)
class LineFeed:
    """How a model that takes each line's frames (``onnx.lengths``) is fed, so that a line
    reads the same whatever it is batched with: ``right_context`` columns of paper after
    the line (its CNN features depend on no column beyond), and ``paper_frames`` frames of
    paper its LSTM reads after the line, as training's padding let it."""

    right_context: int
    paper_frames: int
    time_stride: int

    def collate(
        self, lines: Sequence[np.ndarray], spec: PreprocessSpec
    ) -> tuple[np.ndarray, np.ndarray]:
        """The padded batch and each line's frames (int32), paper frames included."""
        paper = self.paper_frames * self.time_stride
        batch, widths = collate(lines, spec, margin=self.right_context + paper)
        frames = -(-(widths + paper) // self.time_stride)
        return batch, frames.astype(np.int32)
