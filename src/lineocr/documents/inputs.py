"""Documents as page images: PDF pages rasterised with PDFium (pypdfium2), the frames of a
multi-page TIFF, each page named ``path#page`` (1-based).

Torch-free and cheap to list: :func:`document_pages` opens a document only to count and
measure its pages, so that ``lineocr read`` can hand the pages out one by one (to its
threads and ``--workers`` processes) and :func:`load_page` renders just the one asked for.
Hostile documents stop here with one :class:`~lineocr.images.ImageError` line each:
encrypted, broken, more pages than a limit, a page whose raster would pass the pixel limit.
"""

from __future__ import annotations

import math
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from lineocr.images import DEFAULT_MAX_PIXELS, ImageError, load_image

DEFAULT_DPI = 300.0
MIN_DPI = 72.0  # below this a page is too coarse to read: a page that needs less is refused
DEFAULT_MAX_PAGES = 1000  # pages read from one document unless --max-pages says otherwise
PDF_SUFFIXES = frozenset({".pdf"})
TIFF_SUFFIXES = frozenset({".tif", ".tiff"})
DocumentKind = Literal["pdf", "tiff"]

# PDFium may not be entered by two threads at once, not even for two documents (pypdfium2's
# documentation): `lineocr read` loads its inputs on a thread pool, so every call holds this.
_PDFIUM = threading.Lock()
PDFIUM_LOCK = _PDFIUM  # the same lock, for the other users of PDFium in this process


class PageRef(str):
    """One page of a document, as outputs name it (``path#page``): what :func:`load_page`
    needs to load it, so it can travel alone to a thread or a ``--workers`` process. A
    document that cannot be read at all is one reference whose ``error`` says why; its
    name is the path alone."""

    path: str
    kind: DocumentKind
    page: int  # 1-based; 0 with an error about the whole document
    dpi: float  # the resolution this page is rasterised at (a PDF page; TIFF: its own)
    error: str | None

    def __new__(
        cls,
        path: str,
        kind: DocumentKind,
        page: int,
        dpi: float = DEFAULT_DPI,
        error: str | None = None,
    ) -> PageRef:
        self = super().__new__(cls, f"{path}#{page}" if page else path)
        self.path, self.kind, self.page, self.dpi, self.error = path, kind, page, dpi, error
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # pickled whole for a --workers process
        return (PageRef, (self.path, self.kind, self.page, self.dpi, self.error))


@dataclass(frozen=True)
class PageRange:
    """Pages chosen as ``1-3,7,10-`` (1-based, inclusive; ``10-``: from 10 to the end)."""

    spans: tuple[tuple[int, int | None], ...]

    @classmethod
    def parse(cls, text: str) -> PageRange:
        """Raises ValueError with a message naming the bad part."""
        spans: list[tuple[int, int | None]] = []
        for part in text.replace(" ", "").split(","):
            match = re.fullmatch(r"(\d+)(?:(-)(\d*))?", part)
            if not match:
                raise ValueError(f"bad page range {part!r} in {text!r} (want e.g. 1-3,7,10-)")
            first = int(match.group(1))
            last = first if not match.group(2) else int(match.group(3)) if match.group(3) else None
            if first < 1 or (last is not None and last < first):
                raise ValueError(f"bad page range {part!r} in {text!r}: pages count from 1")
            spans.append((first, last))
        return cls(tuple(spans))

    def select(self, count: int) -> list[int]:
        """The pages of a ``count``-page document chosen, in document order, each once."""
        chosen: set[int] = set()
        for first, last in self.spans:
            chosen.update(range(first, min(count, last if last is not None else count) + 1))
        return sorted(chosen)


@dataclass(frozen=True)
class DocumentOptions:
    """How documents become pages: ``dpi`` for PDF pages, the pages chosen, the most pages
    one document may give and the most pixels one page may have."""

    dpi: float = DEFAULT_DPI
    pages: PageRange | None = None
    max_pages: int = DEFAULT_MAX_PAGES
    max_pixels: int = DEFAULT_MAX_PIXELS


def document_kind(path: str) -> DocumentKind | None:
    """``"pdf"`` or ``"tiff"`` for a file that is one (by its first bytes, whatever its
    name), None for anything else, a missing or unreadable file included (reading it
    says why)."""
    try:
        with Path(path).open("rb") as f:
            head = f.read(1024)
    except (OSError, ValueError):
        return None
    if b"%PDF-" in head:  # the header may follow some bytes of junk, as PDF readers allow
        return "pdf"
    if head[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        return "tiff"
    return None


def document_pages(path: str, options: DocumentOptions, notes: list[str]) -> list[PageRef] | None:
    """The pages of the document ``path`` to read, or None when it is not a document (an
    image, or a TIFF of one frame: read as an image, under its own name). A document that
    cannot be read is one :class:`PageRef` with its ``error``; warnings (a page set at a
    lower resolution to fit the pixel limit) are appended to ``notes``."""
    kind = document_kind(path)
    if kind is None:
        return None
    try:
        if kind == "pdf":
            return _pdf_pages(path, options, notes)
        frames = _tiff_frame_count(path, options.max_pages + 1)
        if frames <= 1:
            return None
        numbers = _chosen(frames, options, exact=frames <= options.max_pages)
        return [PageRef(path, "tiff", n) for n in numbers]
    except ImageError as exc:
        return [PageRef(path, kind, 0, error=exc.reason)]
    except Exception as exc:  # a library's failure on a hostile file costs only this file
        return [PageRef(path, kind, 0, error=_unexpected(f"cannot read the {kind.upper()}", exc))]


def _unexpected(what: str, exc: Exception) -> str:
    return f"{what}: {type(exc).__name__}: {exc}"[:300]


def _chosen(count: int, options: DocumentOptions, *, exact: bool = True) -> list[int]:
    """The page numbers chosen of ``count`` (at least ``count`` when not ``exact``)."""
    numbers = options.pages.select(count) if options.pages else list(range(1, count + 1))
    if options.pages and not numbers and exact:
        raise ImageError("", f"has {count} page{'s' * (count != 1)}: --pages chooses none of them")
    # Counted only up to one past the limit: a choice that reaches the last page counted
    # may reach further.
    beyond = not exact and (not numbers or numbers[-1] >= count)
    if beyond or len(numbers) > options.max_pages:
        many = f"{count:,} pages" if exact else f"more than {options.max_pages:,} pages"
        raise ImageError(
            "",
            f"{many}, more than the limit of {options.max_pages:,}: choose some with --pages "
            "or raise --max-pages",
            kind="too_large",
        )
    return numbers


def _open_pdf(path: str) -> Any:
    """The PDFium document (call with :data:`_PDFIUM` held); errors as one-line reasons."""
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        message = str(exc)
        if "password" in message.lower() or "security" in message.lower():
            raise ImageError(
                path, "encrypted PDF (a password is needed to open it)", kind="unsupported"
            ) from None
        detail = message.removeprefix("Failed to load document ").strip("(). ")
        raise ImageError(path, f"not a readable PDF: {detail or 'broken file'}") from None
    except (OSError, ValueError) as exc:  # pragma: no cover - the file went away meanwhile
        raise ImageError(path, f"cannot read file: {exc}") from None


def _pdf_pages(path: str, options: DocumentOptions, notes: list[str]) -> list[PageRef]:
    with _PDFIUM:
        pdf = _open_pdf(path)
        try:
            count = len(pdf)
            if count == 0:
                raise ImageError(path, "PDF without pages", kind="empty")
            numbers = _chosen(count, options)
            sizes = [pdf.get_page_size(n - 1) for n in numbers]
        finally:
            pdf.close()
    refs = []
    for n, (width, height) in zip(numbers, sizes, strict=True):
        dpi = fitting_dpi(width, height, options.dpi, options.max_pixels)
        if dpi < options.dpi and dpi >= MIN_DPI:
            notes.append(
                f"page {n} ({width:,.0f} x {height:,.0f} pt) is read at {dpi:.0f} dpi, not "
                f"{options.dpi:g}, to stay within the limit of {options.max_pixels:,} pixels"
            )
        # A page that fits only below MIN_DPI keeps the dpi asked for: loading it says why not.
        refs.append(PageRef(path, "pdf", n, dpi if dpi >= MIN_DPI else options.dpi))
    return refs


def raster_size(width_pt: float, height_pt: float, dpi: float) -> tuple[int, int]:
    """The pixels a page of ``width_pt`` x ``height_pt`` points has at ``dpi``."""
    return (max(1, math.ceil(width_pt * dpi / 72.0)), max(1, math.ceil(height_pt * dpi / 72.0)))


def fitting_dpi(width_pt: float, height_pt: float, dpi: float, max_pixels: int) -> float:
    """``dpi``, or the highest resolution (in whole dpi) at which the page's raster stays
    within ``max_pixels``."""
    w, h = raster_size(width_pt, height_pt, dpi)
    if w * h <= max_pixels:
        return dpi
    fit = math.floor(dpi * math.sqrt(max_pixels / (w * h)))
    while fit > 0 and math.prod(raster_size(width_pt, height_pt, fit)) > max_pixels:
        fit -= 1
    return float(fit)


def load_page(ref: PageRef, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The page as a 2-D uint8 grey array, as :func:`~lineocr.images.load_image` gives
    an image. Raises :class:`ImageError` (naming ``path#page``) for a page that cannot be
    read or whose raster would pass ``max_pixels``."""
    if ref.error is not None:
        raise ImageError(ref, ref.error, kind="unreadable")
    try:
        if ref.kind == "pdf":
            return _render_pdf_page(ref, max_pixels)
        return _tiff_frame(ref, max_pixels)
    except ImageError:
        raise
    except Exception as exc:  # a library's failure on a hostile page costs only this page
        raise ImageError(ref, _unexpected("cannot read the page", exc)) from None


def _render_pdf_page(ref: PageRef, max_pixels: int) -> np.ndarray:
    with _PDFIUM:
        pdf = _open_pdf(ref.path)
        try:
            if ref.page > len(pdf):
                raise ImageError(ref, f"no page {ref.page}: the PDF has {len(pdf)}")
            page = pdf[ref.page - 1]
            width, height = page.get_size()
            w, h = raster_size(width, height, ref.dpi)
            if w * h > max_pixels:
                fit = fitting_dpi(width, height, ref.dpi, max_pixels)
                raise ImageError(
                    ref,
                    f"page too large: {width:,.0f} x {height:,.0f} pt is {w:,} x {h:,} pixels "
                    f"at {ref.dpi:g} dpi, more than the limit of {max_pixels:,} "
                    f"(it would fit at {fit:g} dpi, too coarse to read)",
                    kind="too_large",
                )
            bitmap = page.render(scale=ref.dpi / 72.0, grayscale=True)
            image = np.array(bitmap.to_numpy(), dtype=np.uint8)  # a copy: PDFium's goes
        finally:
            pdf.close()
    if image.ndim == 3:  # a build that renders grey as BGRx: keep one channel
        image = np.ascontiguousarray(image[:, :, 0])
    return image


def _open_tiff(path: str) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(path, formats=["TIFF"])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageError(path, "image too large", kind="too_large") from None
        except OSError as exc:
            raise ImageError(path, f"not a readable TIFF: {exc}") from None
        except Exception as exc:  # Pillow raises many types on hostile headers
            raise ImageError(path, f"cannot read TIFF header: {exc}") from None


def _frames(img: Image.Image, limit: int, path: str) -> Iterator[int]:
    """Frame indexes reached by seeking one by one, at most ``limit`` (Pillow's
    ``n_frames`` walks every frame of the file first, however many)."""
    for index in range(limit):
        try:
            img.seek(index)
        except EOFError:
            return
        except Exception as exc:
            if index == 0:
                raise ImageError(path, f"corrupt TIFF: {exc}") from None
            return  # a broken chain of frames ends the document where it breaks
        yield index


def _tiff_frame_count(path: str, limit: int) -> int:
    """The frames of the TIFF, counted up to ``limit``."""
    with _open_tiff(path) as img:
        return sum(1 for _ in _frames(img, limit, path))


def _tiff_frame(ref: PageRef, max_pixels: int) -> np.ndarray:
    with _open_tiff(ref.path) as img:
        if sum(1 for _ in _frames(img, ref.page, ref)) < ref.page:
            raise ImageError(ref, f"no page {ref.page} in the TIFF")
        # One frame alone, checked and converted as every image is (pixel limit first).
        return load_image(img, name=ref, max_pixels=max_pixels)


def iter_pages(
    path: str | Path, options: DocumentOptions | None = None
) -> Iterator[tuple[str, np.ndarray]]:
    """(name, grey page) for each page of a PDF or TIFF, or the one image of any other
    file: the Python API's way to read what ``lineocr read`` reads. Raises
    :class:`ImageError` for a document or page that cannot be read."""
    options = options or DocumentOptions()
    notes: list[str] = []
    refs: Sequence[PageRef] | None = document_pages(str(path), options, notes)
    if refs is None:
        yield str(path), load_image(path, max_pixels=options.max_pixels)
        return
    for ref in refs:
        yield str(ref), load_page(ref, options.max_pixels)
