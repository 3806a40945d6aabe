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
    python benchmarks/bench_documents.py [--pages 10] [--workers 2] [--keep DIR]
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
from dataclasses import dataclass
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


def extracted(pdf: Path, *options: str) -> list[str]:
    out = subprocess.run(["pdftotext", *options, str(pdf), "-"], capture_output=True, check=True)
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


@dataclass
class Run:
    """One engine's searchable PDF of the document, timed, and its extracted text."""

    name: str
    wall: float
    size_mb: float
    text: list[str]  # pdftotext, a page each
    raw: list[str]  # pdftotext -raw: in the order of the PDF's content


def run(name: str, argv: Sequence[str], out: Path) -> Run:
    wall = timed([*argv, str(out)])
    return Run(name, wall, out.stat().st_size / 1e6, extracted(out), extracted(out, "-raw"))


def report(truths: Sequence[str], runs: Sequence[Run], scan_mb: float) -> None:
    """The tables of docs/documents.md: per page, then the means, speed and size."""
    n = len(truths)
    chars = sum(len(collapse(t)) for t in truths)
    cer = {r.name: [page_cer(t, r.text[i]) for i, t in enumerate(truths)] for r in runs}
    raw = {r.name: [page_cer(t, r.raw[i]) for i, t in enumerate(truths)] for r in runs}
    missed = {r.name: [words_missed(t, r.text[i]) for i, t in enumerate(truths)] for r in runs}
    print(f"{n} A4 pages at {DPI} dpi ({chars:,} characters), scanned look, JPEG in a PDF")
    print(f"({scan_mb:.1f} MB); {os.cpu_count()} cores; page CER, whitespace collapsed")
    print()
    print("| page | " + " | ".join(f"{r.name}: CER / words missed" for r in runs) + " |")
    print("|---|" + "---|" * len(runs))
    for i in range(n):
        cells = [f"{100 * cer[r.name][i]:.2f} % / {100 * missed[r.name][i]:.1f} %" for r in runs]
        print(f"| {i + 1} ({KINDS[i % len(KINDS)]}) | " + " | ".join(cells) + " |")
    print()
    print("| | " + " | ".join(r.name for r in runs) + " |")
    print("|---|" + "---|" * len(runs))
    rows = {
        "CER, `pdftotext`": [f"{100 * np.mean(cer[r.name]):.2f} %" for r in runs],
        "CER, `pdftotext -raw`": [f"{100 * np.mean(raw[r.name]):.2f} %" for r in runs],
        "words missed (any order)": [f"{100 * np.mean(missed[r.name]):.1f} %" for r in runs],
        "pages/s": [f"{n / r.wall:.3f}" for r in runs],
        "wall time": [f"{r.wall:.1f} s" for r in runs],
        "output size": [f"{r.size_mb:.1f} MB" for r in runs],
    }
    for label, cells in rows.items():
        print(f"| {label} | " + " | ".join(cells) + " |")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pages", type=int, default=10)
    p.add_argument("--model", default="printed")
    p.add_argument("--workers", type=int, default=2, help="also lineocr with --workers N")
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
        lineocr = [sys.executable, "-m", "lineocr", "read", "-m", opts.model, "--format", "pdf"]
        runs = [run("lineocr", [*lineocr, str(scan), "--output"], folder / "lineocr.pdf")]
        if opts.workers > 1:
            name = f"lineocr --workers {opts.workers}"
            argv = [*lineocr, "--workers", str(opts.workers), str(scan), "--output"]
            runs.append(run(name, argv, folder / "lineocr-workers.pdf"))
        # --output-type pdf: a plain PDF as lineocr writes (the default, PDF/A, adds a
        # Ghostscript pass); --jobs: every core.
        jobs = str(os.cpu_count() or 1)
        peer = [str(ocrmypdf), "-l", "eng", "--output-type", "pdf", "--jobs", jobs, str(scan)]
        runs.append(run("ocrmypdf (Tesseract 5)", peer, folder / "ocrmypdf.pdf"))
        scan_mb = scan.stat().st_size / 1e6
    report(truths, runs, scan_mb)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
