"""Line ground truth of whole pages: PAGE-XML (2013-2019 schemas: ``TextLine/Coords``)
and ALTO (``TextLine`` ``HPOS VPOS WIDTH HEIGHT``) read into line polygons, and PAGE-XML
written for the pages ``lineocr synth --pages`` composes.

Files from users are untrusted: they are parsed with ``defusedxml`` (no entity expansion,
no external references) and a file that is not what it says is a :class:`TruthError`
naming it. Torch-free.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

Polygon = tuple[tuple[float, float], ...]

PAGE_NS = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
MAX_XML_BYTES = 64 << 20


class TruthError(ValueError):
    """A ground-truth file that cannot be read; the message names it."""


@dataclass(frozen=True)
class TruthLine:
    polygon: Polygon  # at least 3 points, the page image's pixels
    text: str = ""


@dataclass(frozen=True)
class PageTruth:
    """One page's lines: the image file, its size as the file says, the lines."""

    image: Path
    size: tuple[int, int] | None  # width, height (None: ALTO without a page size)
    lines: tuple[TruthLine, ...]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse(path: Path) -> ET.Element:
    from defusedxml import ElementTree as SafeET
    from defusedxml.common import DefusedXmlException

    try:
        if path.stat().st_size > MAX_XML_BYTES:
            raise TruthError(f"{path}: larger than {MAX_XML_BYTES >> 20} MiB")
        root: ET.Element = SafeET.parse(str(path)).getroot()
    except DefusedXmlException as exc:
        raise TruthError(f"{path}: refused ({type(exc).__name__}: entities or DTDs)") from None
    except ET.ParseError as exc:
        raise TruthError(f"{path}: not well-formed XML ({exc})") from None
    except OSError as exc:
        raise TruthError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return root


def _points(text: str, path: Path) -> Polygon:
    pts = []
    for pair in text.split():
        try:
            x, y = pair.split(",")
            pts.append((float(x), float(y)))
        except ValueError:
            raise TruthError(f"{path}: bad Coords points {text[:60]!r}") from None
    return tuple(pts)


def _image_beside(path: Path, named: str | None) -> Path:
    """The page image a ground-truth file names (relative to its folder), or else the image
    of the same stem beside it."""
    if named:
        candidate = path.parent / named
        if candidate.is_file():
            return candidate
        candidate = path.parent / Path(named).name
        if candidate.is_file():
            return candidate
    for suffix in IMAGE_SUFFIXES:
        candidate = path.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    raise TruthError(f"{path}: no page image found (named {named!r}, or {path.stem}.png/.jpg/...)")


def read_page_xml(path: str | Path) -> PageTruth:
    """The text lines of a PAGE-XML file (any schema version: elements matched by local
    name). A line's polygon is its ``Coords/@points`` (or, in the 2010 schema, its ``Point``
    children); lines with fewer than 3 points are skipped."""
    path = Path(path)
    root = _parse(path)
    page = next((e for e in root.iter() if _local(e.tag) == "Page"), None)
    if page is None:
        raise TruthError(f"{path}: not PAGE-XML (no Page element)")
    try:
        size = (int(page.get("imageWidth", "0")), int(page.get("imageHeight", "0")))
    except ValueError:
        raise TruthError(f"{path}: bad imageWidth/imageHeight") from None
    lines = []
    for line in (e for e in page.iter() if _local(e.tag) == "TextLine"):
        coords = next((c for c in line if _local(c.tag) == "Coords"), None)
        if coords is None:
            continue
        if coords.get("points"):
            polygon = _points(coords.get("points", ""), path)
        else:
            polygon = tuple(
                (float(p.get("x", 0)), float(p.get("y", 0)))
                for p in coords
                if _local(p.tag) == "Point"
            )
        if len(polygon) < 3:
            continue
        text = ""
        for equiv in (c for c in line if _local(c.tag) == "TextEquiv"):
            uni = next((u for u in equiv if _local(u.tag) == "Unicode"), None)
            if uni is not None and uni.text:
                text = uni.text
                break
        lines.append(TruthLine(polygon, text))
    image = _image_beside(path, page.get("imageFilename"))
    return PageTruth(image, size if all(size) else None, tuple(lines))


def read_alto(path: str | Path) -> PageTruth:
    """The text lines of an ALTO file (v2-v4) as rectangles from ``HPOS VPOS WIDTH HEIGHT``
    (pixels: a ``MeasurementUnit`` other than ``pixel`` is refused, it needs the scan's
    resolution); a line's text is its ``String/@CONTENT`` joined by spaces."""
    path = Path(path)
    root = _parse(path)
    if _local(root.tag) != "alto":
        raise TruthError(f"{path}: not ALTO (root element {_local(root.tag)!r})")
    unit = next((e.text for e in root.iter() if _local(e.tag) == "MeasurementUnit"), None)
    if unit and unit.strip().lower() != "pixel":
        raise TruthError(f"{path}: MeasurementUnit {unit.strip()!r}; only pixel is read")
    named = next((e.text for e in root.iter() if _local(e.tag) == "fileName"), None)
    page = next((e for e in root.iter() if _local(e.tag) == "Page"), None)
    size = None
    if page is not None and page.get("WIDTH") and page.get("HEIGHT"):
        try:
            size = (round(float(page.get("WIDTH", 0))), round(float(page.get("HEIGHT", 0))))
        except ValueError:
            raise TruthError(f"{path}: bad Page WIDTH/HEIGHT") from None
    lines = []
    for line in (e for e in root.iter() if _local(e.tag) == "TextLine"):
        try:
            x, y = float(line.get("HPOS", "")), float(line.get("VPOS", ""))
            w, h = float(line.get("WIDTH", "")), float(line.get("HEIGHT", ""))
        except ValueError:
            raise TruthError(f"{path}: a TextLine without numeric HPOS/VPOS/WIDTH/HEIGHT") from None
        words = [s.get("CONTENT", "") for s in line if _local(s.tag) == "String"]
        polygon = ((x, y), (x + w, y), (x + w, y + h), (x, y + h))
        lines.append(TruthLine(polygon, " ".join(w for w in words if w)))
    image = _image_beside(path, named.strip() if named else None)
    return PageTruth(image, size, tuple(lines))


def read_truth(path: str | Path) -> PageTruth:
    """PAGE-XML or ALTO, told apart by the root element."""
    path = Path(path)
    root = _parse(path)
    if _local(root.tag) == "alto":
        return read_alto(path)
    if _local(root.tag) == "PcGts":
        return read_page_xml(path)
    raise TruthError(f"{path}: neither PAGE-XML (PcGts) nor ALTO (alto) ground truth")


def truth_files(folder: str | Path) -> list[Path]:
    """The ``.xml`` files in ``folder`` (recursively), sorted."""
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise TruthError(f"{folder}: no such folder or file")
    return sorted(p for p in folder.rglob("*.xml") if p.is_file())


def _fmt(v: float) -> str:
    return str(round(v))


def page_xml(
    image_name: str,
    size: tuple[int, int],
    blocks: Sequence[Sequence[TruthLine]],
) -> str:
    """A PAGE-XML 2019 document: one TextRegion per block (its Coords the lines' hull box),
    one TextLine per line with Coords and TextEquiv."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<PcGts xmlns="{PAGE_NS}">',
        "  <Metadata><Creator>lineocr</Creator></Metadata>",
        f'  <Page imageFilename={quoteattr(image_name)} imageWidth="{size[0]}" '
        f'imageHeight="{size[1]}">',
    ]
    n = 0
    for b, lines in enumerate(blocks):
        if not lines:
            continue
        xs = [p[0] for ln in lines for p in ln.polygon]
        ys = [p[1] for ln in lines for p in ln.polygon]
        x0, y0, x1, y1 = _fmt(min(xs)), _fmt(min(ys)), _fmt(max(xs)), _fmt(max(ys))
        out.append(f'    <TextRegion id="r{b}">')
        out.append(f'      <Coords points="{x0},{y0} {x1},{y0} {x1},{y1} {x0},{y1}"/>')
        for ln in lines:
            pts = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in ln.polygon)
            out.append(f'      <TextLine id="l{n}">')
            out.append(f'        <Coords points="{pts}"/>')
            text = ln.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            out.append(f"        <TextEquiv><Unicode>{text}</Unicode></TextEquiv>")
            out.append("      </TextLine>")
            n += 1
        out.append("    </TextRegion>")
    out += ["  </Page>", "</PcGts>", ""]
    return "\n".join(out)
