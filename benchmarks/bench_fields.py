"""Fields from ID cards and forms (issue 34 item 3): ``lineocr.fields.extract`` on
ID-card-like photos and form pages, with the 14-digit ID number's exact-match rate, the
share found, and the confidences of wrong values (the review threshold).

Every line is drawn by lineocr's line renderer in **held-out** font families (the
``val`` side of the train/val split, which no bundled model was trained on) and pasted
onto backgrounds no training line had: procedural guilloche (interfering sine waves) and a
colour gradient on the card, a wood-like table under it; then the card is photographed:
perspective (corners moved up to 6 % of its size), turned up to 4 degrees, blurred
(sigma 0.4-1.3), downscaled and saved as JPEG (quality 35-85). Kinds:

* ``card-ar``: Egyptian-style card: an Arabic name over two lines, an address line, the
  ID number in Arabic-Indic digits at the bottom, a photo box;
* ``card-latin``: Latin labels ("Name:", "Date of birth:", "ID No.") and Western digits;
* ``form``: a scanned A5 form page: a heading, labelled lines (name, national ID number,
  date of birth, phone) and a few prose lines, turned up to 3 degrees, blurred, JPEG.

Fields: ``id`` (the named pattern), ``born`` (``{date}`` after the label, forms and Latin
cards), ``name`` (``Name: (?P<value>[A-Za-z ]+)``, forms and Latin cards).

    python benchmarks/bench_fields.py                 # 100 of each kind
    python benchmarks/bench_fields.py --n 30 --id-model arabic-digits --keep /tmp/cards
    python benchmarks/bench_fields.py --n 30 --seed 7    # other images, for development
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from lineocr.data.fonts import FontFace, fonts_split, load_faces
from lineocr.data.render import LineRenderer
from lineocr.fields import REVIEW_THRESHOLD, extract
from lineocr.page import PageReader
from lineocr.runtime import Recognizer

SEED = 34_003
KINDS = ("card-ar", "card-latin", "form")
AR_DIGITS = "٠١٢٣٤٥٦٧٨٩"
AR_NAMES = ["محمد", "أحمد", "محمود", "مصطفى", "إبراهيم", "علي", "حسن", "يوسف", "خالد", "عمر"]
AR_NAMES += ["فاطمة", "مريم", "نور", "سارة", "هدى", "منى", "عبد الله", "عبد الرحمن", "سعيد"]
AR_PLACES = ["القاهرة", "الجيزة", "الإسكندرية", "أسيوط", "المنصورة", "طنطا", "الأقصر", "أسوان"]
AR_STREETS = ["شارع النيل", "شارع الجمهورية", "شارع التحرير", "شارع السلام", "حي الزهور"]
FIRST = ["John", "Mary", "Ahmed", "Laila", "Peter", "Sara", "Omar", "Nadia", "Karim", "Emma"]
LAST = ["Smith", "Hassan", "Brown", "Mansour", "Walker", "Farouk", "Taylor", "Nasser", "Green"]
PROSE = [
    "Please write clearly in block capitals.",
    "Bring this form and your card to the office.",
    "All fields marked with a star are required.",
    "Signature of the applicant and date below.",
    "For office use only: do not write here.",
]


@dataclass
class Sample:
    kind: str
    image: np.ndarray
    truth: dict[str, str]
    results: dict[str, object] = field(default_factory=dict)


def national_id(rng: np.random.Generator) -> str:
    """A 14-digit number shaped like Egypt's: century, birth date, governorate, serial,
    check digit (not a valid check: the reader does not check it)."""
    century = int(rng.choice([2, 3]))
    y, m, d = int(rng.integers(0, 100)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
    gov = int(rng.choice([1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 25, 26, 31, 35, 88]))
    serial = int(rng.integers(0, 10_000))
    return f"{century}{y:02d}{m:02d}{d:02d}{gov:02d}{serial:04d}{int(rng.integers(0, 10))}"


def ar_digits(text: str) -> str:
    return text.translate(str.maketrans("0123456789", AR_DIGITS))


def birth_date(rng: np.random.Generator) -> str:
    day, month = int(rng.integers(1, 29)), int(rng.integers(1, 13))
    return f"{day:02d}/{month:02d}/{int(rng.integers(1950, 2010))}"


# -- drawing ------------------------------------------------------------------------------
def guilloche(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A light security-print background: interfering sine waves over a gradient."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    waves = np.zeros((h, w), np.float32)
    for _ in range(3):
        fx, fy = rng.uniform(0.01, 0.06, size=2)
        waves += np.sin(xx * fx + np.sin(yy * fy) * rng.uniform(2, 6) + rng.uniform(0, 6))
    tone = rng.uniform(200, 235) + rng.uniform(-15, 15) * (xx / w - 0.5)
    out = tone + waves * rng.uniform(3, 9)
    return np.clip(out, 0, 255).astype(np.uint8)


def table(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A darker desk for the card to lie on: a faint grain under a lighting gradient."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grain = np.sin(yy * rng.uniform(0.05, 0.15) + np.sin(xx * 0.01) * 4) * 4
    light = rng.uniform(-25, 25) * (xx / w - 0.5) + rng.uniform(-25, 25) * (yy / h - 0.5)
    return np.clip(rng.uniform(60, 140) + grain + light, 0, 255).astype(np.uint8)


def paste(canvas: np.ndarray, line: np.ndarray, x: int, y: int, *, right: bool = False) -> None:
    """Ink of ``line`` (dark on white) multiplied into ``canvas`` at (x, y); ``right``: x is
    the line's right edge."""
    h, w = line.shape
    if right:
        x -= w
    x, y = max(0, x), max(0, y)
    region = canvas[y : y + h, x : x + w]
    cut = line[: region.shape[0], : region.shape[1]].astype(np.float32) / 255.0
    canvas[y : y + h, x : x + w] = (region.astype(np.float32) * cut).astype(np.uint8)


class Drawer:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.renderer = LineRenderer()
        latin = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:./ -+"
        arabic = "".join(sorted(set("".join(AR_NAMES + AR_PLACES + AR_STREETS))))
        self.latin = fonts_split(load_faces((), latin, required="aAzZ09:./"), "val")
        self.arabic = fonts_split(
            load_faces((), arabic + AR_DIGITS, required="بتث" + AR_DIGITS), "val"
        )
        if not self.latin or not self.arabic:
            raise SystemExit("no held-out fonts found (run scripts/fetch-fonts.sh)")

    def face(self, text: str, arabic: bool) -> FontFace:
        faces = [f for f in (self.arabic if arabic else self.latin) if f.can_render(text)]
        return faces[int(self.rng.integers(len(faces)))]

    def line(self, text: str, height: int, *, arabic: bool = False) -> np.ndarray:
        face = self.face(text, arabic)
        return self.renderer.render(text, face, self.rng, min_height=height, max_height=height + 8)


def card(kind: str, drawer: Drawer, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, str]]:
    h, w = 560, 880
    canvas = guilloche(h, w, rng)
    number = national_id(rng)
    truth = {"id": number}
    if kind == "card-ar":
        canvas[60:300, 40:230] = np.minimum(canvas[60:300, 40:230], 120)  # the photo
        first = " ".join(rng.choice(AR_NAMES, size=2))
        rest = " ".join(rng.choice(AR_NAMES, size=2))
        address = f"{rng.choice(AR_STREETS)} {rng.choice(AR_PLACES)}"
        y = 60
        for text in (first, rest, address):
            img = drawer.line(text, 46, arabic=True)
            paste(canvas, img, w - 40, y, right=True)
            y += img.shape[0] + 18
        img = drawer.line(ar_digits(number), 52, arabic=True)
        paste(canvas, img, w - 60, h - 40 - img.shape[0], right=True)
    else:
        canvas[60:300, w - 230 : w - 40] = np.minimum(canvas[60:300, w - 230 : w - 40], 120)
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        born = birth_date(rng)
        truth |= {"name": name, "born": born}
        y = 50
        for text in (f"Name: {name}", f"Date of birth: {born}", "Nationality: Egyptian"):
            img = drawer.line(text, 40)
            paste(canvas, img, 40, y)
            y += img.shape[0] + 20
        img = drawer.line(f"ID No. {number}", 48)
        paste(canvas, img, 40, h - 40 - img.shape[0])
    return photograph(canvas, rng), truth


def photograph(card_img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The card on a table, seen at an angle, blurred, downscaled and JPEG-compressed."""
    h, w = card_img.shape
    pad = 60
    big_h, big_w = h + 2 * pad, w + 2 * pad
    scene = table(big_h, big_w, rng)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    move = rng.uniform(-0.06, 0.06, size=(4, 2)) * np.float32([w, h])
    dst = (src + pad + move).astype(np.float32)
    angle = np.deg2rad(rng.uniform(-4, 4))
    centre = dst.mean(axis=0)
    rot = np.float32([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = ((dst - centre) @ rot.T + centre).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(card_img, matrix, (big_w, big_h), borderValue=0)
    inside = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, (big_w, big_h)) > 127
    scene[inside] = warped[inside]
    return degrade_photo(scene, rng, scale=(0.7, 1.0))


def degrade_photo(
    image: np.ndarray, rng: np.random.Generator, *, scale: tuple[float, float]
) -> np.ndarray:
    sigma = rng.uniform(0.4, 1.3)
    out = cv2.GaussianBlur(image, (0, 0), sigma)
    f = rng.uniform(*scale)
    out = cv2.resize(out, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    noise = rng.normal(0, rng.uniform(0.5, 3), out.shape)
    out = np.clip(out.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(35, 86))])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


def form(drawer: Drawer, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, str]]:
    h, w = 1240, 874  # A5 at 150 dpi
    page = np.clip(rng.normal(rng.uniform(225, 250), 3, (h, w)), 0, 255).astype(np.uint8)
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    number, born = national_id(rng), birth_date(rng)
    digits = [int(rng.integers(0, 3)), int(rng.integers(0, 10))]
    phone = f"+20 1{digits[0]}{digits[1]} {rng.integers(100, 999)} {rng.integers(1000, 9999)}"
    lines = [
        ("APPLICATION FOR A RESIDENCE PERMIT", 40),
        (str(rng.choice(PROSE)), 30),
        (f"Name: {name}", 32),
        (f"National ID number: {number}", 32),
        (f"Date of birth: {born}", 32),
        (f"Phone: {phone}", 32),
        (str(rng.choice(PROSE)), 30),
        (str(rng.choice(PROSE)), 30),
    ]
    y = 80
    for text, height in lines:
        img = drawer.line(text, height)
        paste(page, img, 70, y)
        y += img.shape[0] + int(rng.integers(28, 60))
    angle = rng.uniform(-3, 3)
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    page = cv2.warpAffine(page, turn, (w, h), borderValue=int(page[0, 0]))
    return degrade_photo(page, rng, scale=(0.85, 1.0)), {"id": number, "name": name, "born": born}


FIELDS = {"id": "id", "born": "Date of birth: {date}", "name": r"Name: (?P<value>[A-Za-z ]+)"}


def compose(kind: str, drawer: Drawer, rng: np.random.Generator) -> Sample:
    image, truth = form(drawer, rng) if kind == "form" else card(kind, drawer, rng)
    return Sample(kind, image, truth)


# -- measuring ----------------------------------------------------------------------------
def summary(samples: Sequence[Sample], name: str, threshold: float) -> dict[str, object]:
    rows = [s for s in samples if name in s.truth]
    right = wrong = missing = 0
    wrong_conf: list[float] = []
    right_conf: list[float] = []
    for s in rows:
        found = s.results.get(name)
        if found is None:
            missing += 1
        elif found["value"] == s.truth[name]:  # type: ignore[index]
            right += 1
            right_conf.append(float(found["confidence"]))  # type: ignore[index]
        else:
            wrong += 1
            wrong_conf.append(float(found["confidence"]))  # type: ignore[index]
    n = len(rows)
    accepted = sum(c >= threshold for c in right_conf) + sum(c >= threshold for c in wrong_conf)
    return {
        "n": n,
        "exact": right / max(1, n),
        "wrong": wrong,
        "null": missing,
        "max_wrong_confidence": max(wrong_conf, default=0.0),
        "wrong_confidences": sorted(round(c, 4) for c in wrong_conf),
        "accepted_at_threshold": accepted / max(1, n),
        "wrong_at_threshold": sum(c >= threshold for c in wrong_conf),
        "right_confidence_quartiles": [
            round(float(q), 4) for q in np.quantile(right_conf, [0.1, 0.25, 0.5])
        ]
        if right_conf
        else [],
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100, help="samples of each kind")
    p.add_argument("--model", default="printed", help="the page's recogniser")
    p.add_argument("--id-model", default=None, help="another recogniser for the ID number")
    p.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    p.add_argument("--threshold", type=float, default=REVIEW_THRESHOLD)
    p.add_argument("--keep", type=Path, help="write the composed images to this folder")
    p.add_argument("--json", type=Path, help="write the summary here")
    p.add_argument("--seed", type=int, default=SEED, help="another set of images (for development)")
    opts = p.parse_args(argv)
    rng = np.random.default_rng(opts.seed)
    drawer = Drawer(rng)
    rec = Recognizer.load(opts.model)
    recognizers = {"id": Recognizer.load(opts.id_model)} if opts.id_model else None
    reader = PageReader(rec)
    samples = [compose(kind, drawer, rng) for kind in opts.kinds for _ in range(opts.n)]
    start = time.perf_counter()
    for i, s in enumerate(samples):
        if opts.keep is not None:
            opts.keep.mkdir(parents=True, exist_ok=True)
            Image.fromarray(s.image).save(opts.keep / f"{s.kind}-{i:03d}.png")
        wanted = {k: v for k, v in FIELDS.items() if k in s.truth}
        found = extract(s.image, wanted, rec, recognizers=recognizers, reader=reader)
        s.results = {k: None if f is None else f.to_dict() for k, f in found.items()}
        got = s.results.get("id")
        if got is None or got["value"] != s.truth["id"]:  # type: ignore[index]
            print(f"  {s.kind}-{i:03d}: id {s.truth['id']} -> {got}", file=sys.stderr)
    wall = time.perf_counter() - start
    report: dict[str, object] = {
        "model": opts.model,
        "id_model": opts.id_model or opts.model,
        "threshold": opts.threshold,
        "images_per_s": len(samples) / wall,
    }
    print(
        f"model {opts.model}, ID model {opts.id_model or opts.model}, {opts.n} per kind, "
        f"review threshold {opts.threshold}; {len(samples) / wall:.2f} images/s"
    )
    print(
        "| kind | field | n | exact | wrong | null | max conf. of a wrong value "
        "| accepted (conf >= t) | wrong accepted |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind in [*opts.kinds, "all"]:
        group = [s for s in samples if kind in ("all", s.kind)]
        for name in FIELDS:
            r = summary(group, name, opts.threshold)
            if not r["n"]:
                continue
            report[f"{kind}/{name}"] = r
            print(
                f"| {kind} | {name} | {r['n']} | {100 * r['exact']:.1f} % | {r['wrong']} "
                f"| {r['null']} "
                f"| {r['max_wrong_confidence']:.3f} | {100 * r['accepted_at_threshold']:.1f} % "
                f"| {r['wrong_at_threshold']} |"
            )
    if opts.json is not None:
        opts.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
