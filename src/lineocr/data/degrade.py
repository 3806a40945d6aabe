"""Image degradations for synthetic lines, each usable alone, and the named style presets.

Every operation is ``op(img, rng, **params) -> img`` on a uint8 grayscale line (ink dark,
paper light); those that draw random details take them from ``rng``. A pipeline is a list of
*steps* written as text, ``"op:p=0.5,sigma=0.4~1.2"``: the op name, then ``p`` (probability the
step runs, default 1) and parameters, each a number or a ``lo~hi`` range sampled uniformly per
line. Presets are such lists, so a dataset's ``synth.json`` records the exact pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import cv2
import numpy as np

Op = Callable[..., np.ndarray]


class DegradeError(ValueError):
    """A malformed step or an unknown op; the message names it."""


def _u8(img: np.ndarray) -> np.ndarray:
    return np.clip(img, 0, 255).astype(np.uint8)


def _paper_value(img: np.ndarray) -> int:
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    return int(np.median(border))


def _ink_value(img: np.ndarray) -> int:
    return int(img.min())


# -- geometry ------------------------------------------------------------------------------
def warp_affine(img: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Apply a 2x2 linear map about the image centre, growing the canvas so no ink is cut."""
    h, w = img.shape
    corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=np.float64) @ m.T
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    out_w, out_h = int(np.ceil(hi[0] - lo[0])), int(np.ceil(hi[1] - lo[1]))
    matrix = np.hstack([m, -lo[:, None]]).astype(np.float32)
    return cv2.warpAffine(
        img,
        matrix,
        (max(1, out_w), max(1, out_h)),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=_paper_value(img),
    )


def rotate(
    img: np.ndarray, rng: np.random.Generator, degrees: float = 1.0, drift: float = 0.6
) -> np.ndarray:
    """Rotate by ``degrees``, limited so a long line's ends differ by at most ``drift`` line
    heights. A whole page scanned or copied crooked turns every line by the same angle:
    0.3-1.5 degrees moves the end of a 70-character line by 0.3-1.2 line heights."""
    h, w = img.shape
    limit = np.degrees(np.arctan2(max(0.0, float(drift)) * h, max(w, 1)))
    a = np.radians(float(np.clip(degrees, -limit, limit)))
    m = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return warp_affine(img, m)


def shear(img: np.ndarray, rng: np.random.Generator, amount: float = 0.2) -> np.ndarray:
    """Horizontal shear (slanted, italic-like text); ``amount`` is dx per unit of height."""
    return warp_affine(img, np.array([[1.0, -float(amount)], [0.0, 1.0]]))


def perspective(img: np.ndarray, rng: np.random.Generator, strength: float = 0.05) -> np.ndarray:
    """Move the corners by up to ``strength`` line heights (a page photographed at an angle)."""
    h, w = img.shape
    d = float(strength) * h
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    dst = src + rng.uniform(-d, d, size=(4, 2)).astype(np.float32)
    dst -= dst.min(axis=0)
    out_w, out_h = int(np.ceil(dst[:, 0].max())), int(np.ceil(dst[:, 1].max()))
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(
        img,
        matrix,
        (max(1, out_w), max(1, out_h)),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=_paper_value(img),
    )


# -- ink ------------------------------------------------------------------------------------
def ink_bleed(
    img: np.ndarray, rng: np.random.Generator, amount: float = 0.6, radius: float = 1
) -> np.ndarray:
    """Thicken strokes (ink spreading into paper, a dark photocopy): blend with a minimum
    filter (radius+1) pixels square, 2x2 by default; a larger ``radius`` for tall lines."""
    k = max(2, round(float(radius)) + 1)
    eroded = cv2.erode(img, np.ones((k, k), np.uint8))
    return cv2.addWeighted(img, 1.0 - float(amount), eroded, float(amount), 0)


def fade(img: np.ndarray, rng: np.random.Generator, amount: float = 0.4) -> np.ndarray:
    """Patchy faded ink (worn toner, dry pen): lighten ink by up to ``amount`` in blotches."""
    h, w = img.shape
    field = smooth_noise(rng, h, w, cell=max(4, h // 2))
    paper = _paper_value(img)
    f = img.astype(np.float32)
    return _u8(f + (paper - f) * float(amount) * field)


def contrast(
    img: np.ndarray, rng: np.random.Generator, ink: float = 30, paper: float = 220
) -> np.ndarray:
    """Map black to the ``ink`` level and white to the ``paper`` level."""
    # np.linspace(ink, paper, 256) as linspace computes it (ramp * step + start, the last
    # value exactly paper), without its argument handling: a third of this step's time.
    lut = _RAMP * ((float(paper) - float(ink)) / 255) + float(ink)
    lut[-1] = float(paper)
    return cv2.LUT(img, _u8(lut))


_RAMP = np.arange(256, dtype=np.float64)


def binarize(
    img: np.ndarray,
    rng: np.random.Generator,
    level: float = 0.5,
    scale: float = 1.0,
    jitter: float = 0.0,
) -> np.ndarray:
    """A 1-bit (black and white) scan, as fax machines, copiers and archive scanners make:
    sampled at ``scale`` of the line's resolution (0.4 puts a 40-pixel line through a
    16-pixel bilevel scan, blocky when shown back at full size), ``jitter`` grey levels of
    noise before the threshold (ragged edges), and the threshold ``level`` of the way from
    the darkest ink to the paper: low breaks up and drops thin strokes and hairline serifs,
    high thickens strokes until counters close."""
    h, w = img.shape
    f = float(np.clip(scale, 0.2, 1.0))
    work = img
    if f < 0.999:
        size = (max(1, round(w * f)), max(1, round(h * f)))
        work = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    values = work.astype(np.float32)
    if jitter > 0:
        values += rng.standard_normal(values.shape, dtype=np.float32) * np.float32(jitter)
    ink, paper = float(work.min()), float(_paper_value(work))
    threshold = ink + float(np.clip(level, 0.0, 1.0)) * max(paper - ink, 1.0)
    bilevel = np.where(values < threshold, 0, 255).astype(np.uint8)
    if f < 0.999:
        bilevel = cv2.resize(bilevel, (w, h), interpolation=cv2.INTER_NEAREST)
    return bilevel


def invert(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light text on a dark background."""
    return 255 - img


# -- background -------------------------------------------------------------------------
def smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Low-frequency noise in [0, 1]: random values on a coarse grid, bicubically enlarged."""
    gh, gw = max(2, h // cell + 2), max(2, w // cell + 2)
    grid = rng.random((gh, gw), dtype=np.float32)
    return np.clip(cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)


@lru_cache(maxsize=1)
def _paper_bank() -> tuple[np.ndarray, ...]:
    """A few paper textures (grain, mottling, fibres) made once per process from a fixed seed."""
    rng = np.random.default_rng(20240611)
    bank = []
    for _ in range(4):
        h, w = 192, 1536
        tex = 0.5 * smooth_noise(rng, h, w, 48) + 0.3 * smooth_noise(rng, h, w, 12)
        tex += 0.2 * cv2.GaussianBlur(rng.random((h, w), dtype=np.float32), (0, 0), 0.7)
        for _ in range(60):  # fibres
            x, y = int(rng.integers(w)), int(rng.integers(h))
            a, n = rng.uniform(0, np.pi), int(rng.integers(8, 40))
            end = (int(x + n * np.cos(a)), int(y + n * np.sin(a)))
            cv2.line(tex, (x, y), end, float(rng.uniform(0.6, 1.0)), 1, cv2.LINE_AA)
        tex -= tex.min()
        bank.append((tex / max(float(tex.max()), 1e-6)).astype(np.float32))
    return tuple(bank)


def paper(img: np.ndarray, rng: np.random.Generator, strength: float = 0.08) -> np.ndarray:
    """Darken by a paper texture: grain, mottling and fibres, up to ``strength`` of the level."""
    h, w = img.shape
    bank = _paper_bank()
    tex = bank[int(rng.integers(len(bank)))]
    th, tw = tex.shape
    if h > th or w > tw:
        tex = cv2.resize(tex, (max(w, tw), max(h, th)), interpolation=cv2.INTER_LINEAR)
        th, tw = tex.shape
    y, x = int(rng.integers(th - h + 1)), int(rng.integers(tw - w + 1))
    window = tex[y : y + h, x : x + w]
    return _u8(img.astype(np.float32) * (1.0 - float(strength) * window))


def lighting(img: np.ndarray, rng: np.random.Generator, strength: float = 0.3) -> np.ndarray:
    """Uneven illumination: a linear gradient in a random direction plus a soft shadow or glare."""
    h, w = img.shape
    xs = np.arange(w, dtype=np.float32)
    ys = np.arange(h, dtype=np.float32)
    a = rng.uniform(0, 2 * np.pi)
    gx = xs / max(w, 1) * np.float32(np.cos(a))
    gy = ys / max(h, 1) * np.float32(np.sin(a) * 4 * h / max(w, 1))
    lo = gx.min() + gy.min()
    span = max(float(gx.max() + gy.max() - lo), 1e-6)
    cx, cy = rng.uniform(0, w), rng.uniform(-h, 2 * h)
    radius = rng.uniform(0.3, 1.2) * w
    # Both terms are separable, so the full-size field is two outer sums/products.
    bx = np.exp(-((xs - cx) ** 2) / (2 * radius**2)).astype(np.float32)
    by = np.exp(-(((ys - cy) * 3) ** 2) / (2 * radius**2)).astype(np.float32)
    sign = 1.0 if rng.random() < 0.7 else -1.0  # shadow (darker) or glare (lighter)
    s = float(strength)
    gain = 1.0 - s * 0.6 * ((gy[:, None] + gx[None, :]) - lo) / span
    gain -= (s * 0.4 * sign) * (by[:, None] * bx[None, :])
    return _u8(img * gain)


def clutter(img: np.ndarray, rng: np.random.Generator, count: float = 6) -> np.ndarray:
    """CAPTCHA-like background clutter: arcs, short strokes and dots in the ink's colour."""
    out = img.copy()
    h, w = img.shape
    ink = _ink_value(img)
    for _ in range(int(count)):
        kind = int(rng.integers(3))
        colour = int(np.clip(ink + rng.integers(0, 80), 0, 255))
        if kind == 0:
            center = (int(rng.integers(w)), int(rng.integers(h)))
            axes = (
                int(rng.integers(max(2, w // 10), max(3, w // 2))),
                int(rng.integers(2, max(3, h))),
            )
            start = int(rng.integers(0, 180))
            cv2.ellipse(
                out,
                center,
                axes,
                0,
                start,
                start + int(rng.integers(40, 180)),
                colour,
                int(rng.integers(1, 3)),
                cv2.LINE_AA,
            )
        elif kind == 1:
            p0 = (int(rng.integers(w)), int(rng.integers(h)))
            p1 = (
                p0[0] + int(rng.integers(-h, h + 1)),
                p0[1] + int(rng.integers(-h // 2, h // 2 + 1)),
            )
            cv2.line(out, p0, p1, colour, 1, cv2.LINE_AA)
        else:
            for _ in range(int(rng.integers(5, 30))):
                cv2.circle(
                    out,
                    (int(rng.integers(w)), int(rng.integers(h))),
                    int(rng.integers(0, 2)),
                    colour,
                    -1,
                )
    return out


def strike(
    img: np.ndarray, rng: np.random.Generator, count: float = 1, thickness: float = 1
) -> np.ndarray:
    """Lines drawn through the text (crossed-out text, CAPTCHA strike lines, form rules)."""
    out = img.copy()
    h, w = img.shape
    ink = _ink_value(img)
    for _ in range(max(1, int(count))):
        y0, y1 = rng.uniform(0.25 * h, 0.75 * h, size=2)
        x0, x1 = rng.uniform(0, 0.2 * w), rng.uniform(0.8 * w, w)
        cv2.line(
            out, (int(x0), int(y0)), (int(x1), int(y1)), ink, max(1, round(thickness)), cv2.LINE_AA
        )
    return out


# -- optics and sensor --------------------------------------------------------------------
def gaussian_blur(img: np.ndarray, rng: np.random.Generator, sigma: float = 1.0) -> np.ndarray:
    """Out-of-focus or scanner blur."""
    return cv2.GaussianBlur(img, (0, 0), max(0.05, float(sigma)))


def motion_blur(
    img: np.ndarray, rng: np.random.Generator, length: float = 5, angle: float = 0
) -> np.ndarray:
    """Camera shake: a line kernel of ``length`` pixels at ``angle`` degrees."""
    k = max(2, round(length))
    size = k | 1
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    dx, dy = np.cos(np.radians(angle)) * k / 2, np.sin(np.radians(angle)) * k / 2
    cv2.line(
        kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA
    )
    kernel /= max(float(kernel.sum()), 1e-6)
    return cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REPLICATE)


def low_resolution(img: np.ndarray, rng: np.random.Generator, factor: float = 0.5) -> np.ndarray:
    """Downsample by ``factor`` and back up: a low-dpi scan or a distant photo."""
    h, w = img.shape
    f = float(np.clip(factor, 0.1, 1.0))
    small = cv2.resize(
        img, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA
    )
    interp = cv2.INTER_NEAREST if rng.random() < 0.3 else cv2.INTER_LINEAR
    return cv2.resize(small, (w, h), interpolation=interp)


def sharpen(
    img: np.ndarray, rng: np.random.Generator, amount: float = 1.5, sigma: float = 1.0
) -> np.ndarray:
    """Unsharp masking, with the halos of over-sharpened images."""
    blurred = cv2.GaussianBlur(img, (0, 0), max(0.1, float(sigma)))
    return cv2.addWeighted(img, 1.0 + float(amount), blurred, -float(amount), 0)


@lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    """Standard normal values drawn once per process; lines take windows at random offsets
    (drawing fresh normals for every pixel is the slowest step of a scan otherwise)."""
    return np.random.default_rng(7).standard_normal(1 << 21, dtype=np.float32)


def noise(img: np.ndarray, rng: np.random.Generator, sigma: float = 8) -> np.ndarray:
    """Gaussian sensor noise of ``sigma`` grey levels."""
    bank = _noise_bank()
    n = img.size
    if n > bank.size // 2:
        values = rng.standard_normal(n, dtype=np.float32)
    else:
        start = int(rng.integers(bank.size - n))
        values = bank[start : start + n]
    return _u8(img + values.reshape(img.shape) * np.float32(sigma))


def speckle(img: np.ndarray, rng: np.random.Generator, amount: float = 0.002) -> np.ndarray:
    """Dust and toner specks: ``amount`` of the pixels become dark or light dots."""
    out = img.copy()
    h, w = img.shape
    n = int(amount * h * w)
    if n:
        ys, xs = rng.integers(h, size=n), rng.integers(w, size=n)
        dark = rng.random(n) < 0.7
        out[ys[dark], xs[dark]] = _ink_value(img)
        out[ys[~dark], xs[~dark]] = 255
    return out


def jpeg(img: np.ndarray, rng: np.random.Generator, quality: float = 50) -> np.ndarray:
    """JPEG compression artefacts at ``quality`` (1-100)."""
    q = int(np.clip(quality, 1, 100))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
    if not ok:  # pragma: no cover - cv2 encodes any uint8 image
        return img
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


OPS: dict[str, Op] = {
    "rotate": rotate,
    "shear": shear,
    "perspective": perspective,
    "ink_bleed": ink_bleed,
    "fade": fade,
    "contrast": contrast,
    "binarize": binarize,
    "invert": invert,
    "paper": paper,
    "lighting": lighting,
    "clutter": clutter,
    "strike": strike,
    "gaussian_blur": gaussian_blur,
    "motion_blur": motion_blur,
    "low_resolution": low_resolution,
    "sharpen": sharpen,
    "noise": noise,
    "speckle": speckle,
    "jpeg": jpeg,
}
# Geometric ops draw from their own random stream, so that presets with the same geometry
# (``blurred`` and ``sharpened``) put the same text at the same place.
GEOMETRIC_OPS = frozenset({"rotate", "shear", "perspective"})


@dataclass(frozen=True)
class Step:
    """One pipeline step: op name, probability, and (name, low, high) parameter ranges."""

    op: str
    p: float = 1.0
    params: tuple[tuple[str, float, float], ...] = ()

    @cached_property
    def ranged(self) -> int:
        """How many parameters are drawn from a range (each line draws one value for each)."""
        return sum(hi > lo for _, lo, hi in self.params)

    def __str__(self) -> str:
        parts = [] if self.p == 1.0 else [f"p={self.p:g}"]
        parts += [f"{k}={lo:g}" if lo == hi else f"{k}={lo:g}~{hi:g}" for k, lo, hi in self.params]
        return self.op + (":" + ",".join(parts) if parts else "")


def parse_step(spec: str) -> Step:
    """``"gaussian_blur:p=0.5,sigma=0.4~1.2"`` -> :class:`Step` (validated against the op)."""
    name, _, rest = spec.strip().partition(":")
    name = name.strip()
    if name not in OPS:
        raise DegradeError(f"unknown degradation {name!r}; known: {', '.join(sorted(OPS))}")
    fn = OPS[name]
    accepted = fn.__code__.co_varnames[2 : fn.__code__.co_argcount]
    p = 1.0
    params: list[tuple[str, float, float]] = []
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise DegradeError(f"step {spec!r}: {item!r} is not key=value")
        lo_s, tilde, hi_s = value.partition("~")
        try:
            lo = float(lo_s)
            hi = float(hi_s) if tilde else lo
        except ValueError:
            raise DegradeError(f"step {spec!r}: {key}={value!r} is not a number or lo~hi") from None
        if hi < lo:
            raise DegradeError(f"step {spec!r}: range {value!r} has high < low")
        if key == "p":
            if not 0.0 <= lo <= 1.0 or tilde:
                raise DegradeError(f"step {spec!r}: p must be one number in [0, 1]")
            p = lo
        elif key in accepted:
            params.append((key, lo, hi))
        else:
            raise DegradeError(
                f"step {spec!r}: {name} takes {', '.join(accepted) or 'no parameters'}"
                f" (and p), not {key!r}"
            )
    return Step(name, p, tuple(params))


def parse_steps(specs: Sequence[str]) -> tuple[Step, ...]:
    return tuple(parse_step(s) for s in specs)


def apply_steps(
    img: np.ndarray,
    steps: Sequence[Step],
    rng: np.random.Generator,
    geometry_rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Run ``steps`` in order. Each step always draws its coin and parameters, so changing one
    step's probability does not shift the random draws of the others."""
    for step in steps:
        r = geometry_rng if geometry_rng is not None and step.op in GEOMETRIC_OPS else rng
        # The coin, then one uniform value per ranged parameter, drawn in one call: the same
        # values as r.random() and r.uniform(lo, hi) one by one (uniform is lo + (hi - lo) *
        # the next double), with a tenth of the calls into NumPy.
        draws = r.random(1 + step.ranged).tolist()
        if draws[0] < step.p:
            kwargs: dict[str, float] = {}
            k = 1
            for name, lo, hi in step.params:
                if hi > lo:
                    kwargs[name] = lo + (hi - lo) * draws[k]
                    k += 1
                else:
                    kwargs[name] = lo
            img = OPS[step.op](img, r, **kwargs)
    return img


PRESETS: dict[str, tuple[str, ...]] = {
    # Crisp black on white, as rendered (slight ink and paper grey variation).
    "clean": ("contrast:p=0.5,ink=0~40,paper=225~255",),
    # A flatbed or sheet-fed office scan: slight skew, toner variation, paper grain, a
    # little blur and noise, sometimes JPEG.
    "scan": (
        "rotate:p=0.5,degrees=-1.2~1.2",
        "ink_bleed:p=0.25,amount=0.3~1",
        "fade:p=0.25,amount=0.2~0.6",
        "contrast:ink=0~70,paper=195~250",
        "paper:p=0.7,strength=0.03~0.12",
        "lighting:p=0.3,strength=0.05~0.2",
        "gaussian_blur:p=0.6,sigma=0.3~0.9",
        "low_resolution:p=0.2,factor=0.55~0.85",
        "noise:p=0.8,sigma=2~9",
        "speckle:p=0.3,amount=0.0005~0.003",
        "jpeg:p=0.4,quality=35~90",
    ),
    # A phone photo of a page: perspective, uneven light and shadow, low contrast, focus and
    # motion blur, strong noise and JPEG; rarely light text on a dark background.
    "photo": (
        "perspective:p=0.8,strength=0.03~0.12",
        "rotate:p=0.7,degrees=-3~3",
        "contrast:ink=20~110,paper=150~235",
        "paper:p=0.5,strength=0.05~0.15",
        "lighting:p=0.9,strength=0.15~0.45",
        "motion_blur:p=0.25,length=2~5,angle=0~180",
        "gaussian_blur:p=0.6,sigma=0.5~1.4",
        "low_resolution:p=0.4,factor=0.45~0.8",
        "noise:sigma=4~14",
        "jpeg:p=0.8,quality=20~75",
        "invert:p=0.05",
    ),
    # Printed pages as scanners and copiers deliver them (not in ``mix``: name it): the
    # whole long line turned by up to 1.5 degrees, toner bleed, small type scanned at a low
    # resolution, and often a 1-bit (black and white) scan whose threshold breaks up thin
    # strokes and serifs or thickens them; sometimes JPEG.
    "print": (
        "rotate:p=0.6,degrees=-1.5~1.5,drift=1.3",
        "ink_bleed:p=0.3,amount=0.4~1,radius=1~3",
        "contrast:ink=0~60,paper=195~250",
        "paper:p=0.4,strength=0.03~0.1",
        "gaussian_blur:p=0.5,sigma=0.3~1.1",
        "low_resolution:p=0.35,factor=0.25~0.6",
        "binarize:p=0.45,level=0.25~0.7,scale=0.35~1,jitter=0~30",
        "noise:p=0.4,sigma=2~8",
        "speckle:p=0.2,amount=0.0005~0.002",
        "jpeg:p=0.35,quality=25~85",
    ),
    # Soft, out-of-focus lines (the "blurred" half of a blurred/sharpened pair).
    "blurred": (
        "contrast:ink=0~60,paper=205~255",
        "gaussian_blur:sigma=1.1~2.2",
        "low_resolution:p=0.3,factor=0.6~0.9",
        "noise:sigma=1~6",
        "jpeg:p=0.3,quality=50~90",
    ),
    # The same lines through an unsharp mask: hard edges with halos (the "sharpened" half).
    "sharpened": (
        "contrast:ink=0~60,paper=205~255",
        "gaussian_blur:sigma=0.5~1.0",
        "sharpen:amount=1.2~3,sigma=0.8~1.6",
        "noise:sigma=1~5",
        "jpeg:p=0.3,quality=50~90",
    ),
}
# ``mix`` draws one of these per line (with these weights; ``print`` is named on its own,
# so that a ``mix`` dataset's lines stay what they were).
MIX_WEIGHTS = {"clean": 0.15, "scan": 0.35, "photo": 0.25, "blurred": 0.125, "sharpened": 0.125}
