"""One TrueType file from a font family's per-script WOFF subsets (used by fetch-fonts.sh).

Fontsource's npm packages ship each Google Fonts family cut into unicode-range subsets
(``arabic``, ``latin``, ...) for web pages. A training line mixes Arabic letters, digits,
Latin and punctuation, so the subsets of one weight are merged back into one face with
fontTools (shaping tables included), and written as plain TrueType that FreeType, Pillow
and fontconfig read.

    python scripts/merge_font_subsets.py OUT.ttf SUBSET.woff [SUBSET.woff ...]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from fontTools.merge import Merger
from fontTools.ttLib import TTFont


def merge_subsets(out: Path, subsets: list[Path]) -> None:
    """Write the face merged from ``subsets`` (WOFF or TrueType) to ``out``."""
    with tempfile.TemporaryDirectory() as tmp:
        plain = []
        for i, path in enumerate(subsets):
            font = TTFont(path)
            font.flavor = None  # WOFF -> sfnt
            target = Path(tmp) / f"{i}.ttf"
            font.save(target)
            plain.append(str(target))
        merged = Merger().merge(plain) if len(plain) > 1 else TTFont(plain[0])
        merged.save(out)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    out, subsets = Path(argv[0]), [Path(a) for a in argv[1:]]
    try:
        merge_subsets(out, subsets)
    except Exception as exc:  # any fontTools failure: one clear line for the shell script
        print(f"lineocr: cannot merge {', '.join(map(str, subsets))}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
