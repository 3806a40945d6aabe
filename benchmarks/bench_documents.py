"""A scanned PDF made searchable: ``lineocr read --format pdf`` side by side with
``ocrmypdf`` (Tesseract 5) on the same file, by hand (not in CI).

The document: 10 A4 pages at 300 dpi composed from prose lineocr's generator never drew
(Botchan, set by Pango and groff as :mod:`bench_pages` sets it: one column, two columns
under a heading, skewed, unevenly lit), given a scanner's look (noise, a slight blur, JPEG
at quality 75) and wrapped as an image-only PDF, one JPEG per page, as a copier writes it.
Each engine's searchable PDF is read back with ``pdftotext``; page CER is the edit
distance of a page's text, whitespace collapsed, over the reference's length (so text
extracted out of order counts as errors); words missed is the share of the page's words
not found in the extracted text in any order (a check on how much of the CER is order).

    make bench-peers   # ocrmypdf into benchmarks/.venv-peers
    python benchmarks/bench_documents.py [--pages 10] [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pages import DPI, collapse, compose, page_cer
from independent.texts import fetch_botchan
from independent.typeset import missing_tools

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / "benchmarks" / ".venv-peers" / "bin"
SEED = 34_034
A4 = (2480, 3508)  # pixels at 300 dpi
KINDS = ("single", "groff", "two-column", "skewed", "uneven-light")
EMBEDDINGS = dict.fromkeys(range(0x202A, 0x202F))  # bidi marks pdftotext adds


def scanned(page: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """The page on an A4 sheet at 300 dpi, slightly blurred and noisy, JPEG-compressed."""
    sheet = np.full((A4[1], A4[0]), 250, np.uint8)
    h, w = min(page.shape[0], A4[1] - 150), min(page.shape[1], A4[0] - 150)
    sheet[150 : 150 + h, 150 : 150 + w] = np.minimum(page[:h, :w], 250)
    image = Image.fromarray(sheet).filter(ImageFilter.GaussianBlur(0.7))
    noisy = np.asarray(image, np.float32) + rng.normal(0, 6, (A4[1], A4[0]))
    buf = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=75)
    return Image.open(io.BytesIO(buf.getvalue()))


def image_pdf(path: Path, pages: Sequence[Image.Image]) -> None:
    from fpdf import FPDF

    pdf = FPDF(unit="pt")
    for image in pages:
        size = (image.width * 72 / DPI, image.height * 72 / DPI)
        pdf.add_page(format=size)
        pdf.image(image, x=0, y=0, w=size[0], h=size[1])  # the JPEG as it is
    pdf.output(str(path))


def extracted(pdf: Path) -> list[str]:
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True)
    return out.stdout.decode("utf-8").translate(EMBEDDINGS).split("\f")


def words_missed(truth: str, text: str) -> float:
    from collections import Counter

    want, got = Counter(truth.split()), Counter(text.split())
    return 1 - sum((want & got).values()) / max(1, sum(want.values()))


def timed(argv: Sequence[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return wall


def report(
    truths: Sequence[str],
    texts: tuple[Sequence[str], Sequence[str]],
    walls: tuple[float, float],
    sizes: Sequence[float],
) -> None:
    """The tables of docs/documents.md: per page, then speed and size."""
    our_text, their_text = texts
    our_wall, their_wall = walls
    n = len(truths)
    our_cer = [page_cer(t, our_text[i]) for i, t in enumerate(truths)]
    their_cer = [page_cer(t, their_text[i]) for i, t in enumerate(truths)]
    our_missed = [words_missed(t, our_text[i]) for i, t in enumerate(truths)]
    their_missed = [words_missed(t, their_text[i]) for i, t in enumerate(truths)]
    chars = sum(len(collapse(t)) for t in truths)
    print(f"{n} A4 pages at {DPI} dpi ({chars:,} characters), scanned look, JPEG in a PDF")
    print(f"({sizes[0]:.1f} MB); {os.cpu_count()} cores; pdftotext page CER, whitespace collapsed")
    print("| page | lineocr CER | ocrmypdf CER | lineocr words missed | ocrmypdf words missed |")
    print("|---|---|---|---|---|")
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        print(
            f"| {i + 1} ({kind}) | {100 * our_cer[i]:.2f} % | {100 * their_cer[i]:.2f} % "
            f"| {100 * our_missed[i]:.1f} % | {100 * their_missed[i]:.1f} % |"
        )
    print(
        f"| **mean** | {100 * np.mean(our_cer):.2f} % | {100 * np.mean(their_cer):.2f} % "
        f"| {100 * np.mean(our_missed):.1f} % | {100 * np.mean(their_missed):.1f} % |"
    )
    print()
    print("| | lineocr `read --format pdf` | ocrmypdf (Tesseract 5, `-l eng`) |")
    print("|---|---|---|")
    print(f"| pages/s | {n / our_wall:.3f} | {n / their_wall:.3f} |")
    print(f"| wall time | {our_wall:.1f} s | {their_wall:.1f} s |")
    print(f"| output size | {sizes[1]:.1f} MB | {sizes[2]:.1f} MB |")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pages", type=int, default=10)
    p.add_argument("--model", default="printed")
    p.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / "out" / "cache")
    p.add_argument("--keep", type=Path, help="keep the scanned and searchable PDFs here")
    opts = p.parse_args(argv)
    ocrmypdf = PEERS / "ocrmypdf"
    missing = missing_tools(["groff", "gs", "pango-view", "pdftotext"])
    if shutil.which("tesseract") is None:
        missing.append("tesseract-ocr")
    if missing or not ocrmypdf.is_file():
        print(f"needs: {', '.join(missing) or 'make bench-peers (ocrmypdf)'}", file=sys.stderr)
        return 2
    text = fetch_botchan(opts.cache)
    rng = np.random.default_rng(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        folder = opts.keep or workdir
        folder.mkdir(parents=True, exist_ok=True)
        truths, images = [], []
        for i in range(opts.pages):
            page = compose(KINDS[i % len(KINDS)], text, rng, workdir)
            truths.append(page.truth)
            images.append(scanned(page.image, rng))
        scan = folder / "scan.pdf"
        image_pdf(scan, images)
        ours, theirs = folder / "lineocr.pdf", folder / "ocrmypdf.pdf"
        env_jobs = str(os.cpu_count() or 1)
        lineocr = [sys.executable, "-m", "lineocr", "read", "-m", opts.model, "--format", "pdf"]
        our_wall = timed([*lineocr, "--output", str(ours), str(scan)])
        # --output-type pdf: a plain PDF as lineocr writes (the default, PDF/A, adds a
        # Ghostscript pass); --jobs: every core, as lineocr's ONNX Runtime uses them.
        peer = [str(ocrmypdf), "-l", "eng", "--output-type", "pdf", "--jobs", env_jobs]
        their_wall = timed([*peer, str(scan), str(theirs)])
        our_text, their_text = extracted(ours), extracted(theirs)
        sizes = [f.stat().st_size / 1e6 for f in (scan, ours, theirs)]
    report(truths, (our_text, their_text), (our_wall, their_wall), sizes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
