"""scripts/merge_font_subsets.py: per-script WOFF subsets of a face merged into one TrueType."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "merge_font_subsets.py"
_spec = importlib.util.spec_from_file_location("merge_font_subsets", _SCRIPT)
assert _spec is not None and _spec.loader is not None
merge_font_subsets = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(merge_font_subsets)


def _box(width: int, height: int) -> object:
    pen = TTGlyphPen(None)
    pen.moveTo((50, 0))
    pen.lineTo((50, height))
    pen.lineTo((width - 50, height))
    pen.lineTo((width - 50, 0))
    pen.closePath()
    return pen.glyph()


def _subset_woff(path: Path, chars: dict[str, int]) -> Path:
    """A WOFF face mapping each character to a box of its own width (like one web subset)."""
    names = [".notdef", "space", *(f"g{ord(c):04X}" for c in chars)]
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({0x20: "space", **{ord(c): f"g{ord(c):04X}" for c in chars}})
    glyphs = {".notdef": _box(500, 700), "space": TTGlyphPen(None).glyph()}
    glyphs.update({f"g{ord(c):04X}": _box(w, 700) for c, w in chars.items()})
    fb.setupGlyf(glyphs)
    metrics = {".notdef": (500, 50), "space": (250, 0)}
    metrics.update({f"g{ord(c):04X}": (w, 50) for c, w in chars.items()})
    fb.setupHorizontalMetrics(metrics)
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": "Subset Test", "styleName": "Regular"})
    fb.setupOS2()
    fb.setupPost()
    fb.font.flavor = "woff"
    fb.save(str(path))
    return path


def test_subsets_merge_into_one_face_that_draws_both_scripts(tmp_path: Path) -> None:
    arabic = _subset_woff(tmp_path / "t-arabic-400-normal.woff", {"\u0661": 400, "\u0662": 600})
    latin = _subset_woff(tmp_path / "t-latin-400-normal.woff", {"A": 700, "1": 300})
    out = tmp_path / "t-400.ttf"

    assert merge_font_subsets.main([str(out), str(arabic), str(latin)]) == 0

    merged = TTFont(out)
    assert merged.flavor is None  # plain TrueType, not WOFF
    cmap = merged.getBestCmap()
    assert {0x20, 0x661, 0x662, ord("A"), ord("1")} <= set(cmap)
    widths = {c: merged["hmtx"][cmap[ord(c)]][0] for c in "\u0661\u0662A1"}
    assert widths == {"\u0661": 400, "\u0662": 600, "A": 700, "1": 300}
    # FreeType draws characters of both subsets from the one file, each with its own width.
    font = ImageFont.truetype(str(out), 100)
    assert font.getlength("A1") == pytest.approx(100.0)  # (700 + 300) / 1000 em
    img = Image.new("L", (300, 120), 255)
    ImageDraw.Draw(img).text((10, 0), "\u0661A", font=font, fill=0)
    assert (np.asarray(img) < 128).sum() > 1000


def test_a_broken_subset_is_named_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _subset_woff(tmp_path / "ok-latin-400-normal.woff", {"A": 700})
    broken = tmp_path / "bad-arabic-400-normal.woff"
    broken.write_bytes(b"wOFF" + b"\0" * 40)
    out = tmp_path / "out.ttf"

    assert merge_font_subsets.main([str(out), str(broken), str(good)]) == 1
    err = capsys.readouterr().err
    assert str(broken) in err and err.count("\n") == 1
    assert not out.exists()
