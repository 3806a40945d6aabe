"""A disk cache of what font discovery learns about each font file (its faces' families and
cmaps, and which characters each face really draws), so that ``lineocr synth`` and
``lineocr train --synth`` do not read hundreds of font files on every start.

Reading the cmaps of the ~770 installed font files and drawing the probe glyphs took 25 s
of a 3,000-line ``lineocr synth`` run (cProfile, on a loaded machine): longer than writing
the lines. The cache is one JSON file (no pickle), ``$LINEOCR_CACHE_DIR`` or
``$XDG_CACHE_HOME/lineocr`` or ``~/.cache/lineocr``; an entry is keyed by the file's path,
size and modification time and by the Pillow, FreeType and Raqm versions that drew the
probes, so a changed font or library is read again. ``LINEOCR_CACHE_DIR=off`` turns it off;
a cache that cannot be read or written is ignored.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

CACHE_FILE = "fonts-v2.json"
_state: dict[str, Any] = {"data": None, "dirty": False}


def cache_file() -> Path | None:
    """Where the cache lives, or None when turned off."""
    folder = os.environ.get("LINEOCR_CACHE_DIR")
    if folder == "off":
        return None
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
        folder = str(Path(base) / "lineocr")
    return Path(folder) / CACHE_FILE


def _data() -> dict[str, Any]:
    if _state["data"] is None:
        data: dict[str, Any] = {"records": {}, "checks": {}}
        path = cache_file()
        if path is not None:
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(loaded, dict) and loaded.get("libraries") == _libraries():
                    data = loaded
            except (OSError, ValueError):
                pass
        data["libraries"] = _libraries()
        _state["data"] = data
    result: dict[str, Any] = _state["data"]
    return result


def _libraries() -> str:
    from PIL import __version__ as pillow
    from PIL import features

    freetype, raqm = features.version("freetype2"), features.version("raqm")
    return f"pillow {pillow}, freetype {freetype}, raqm {raqm}"


def file_key(path: str) -> str | None:
    try:
        stat = os.stat(path)  # noqa: PTH116 - one call for size and time
    except OSError:
        return None
    return f"{path}|{stat.st_size}|{stat.st_mtime_ns}"


def cmap_runs(cmap: AbstractSet[int]) -> list[list[int]]:
    """A cmap's code points as [first, last] runs (a font's cmap is mostly ranges)."""
    runs: list[list[int]] = []
    for code in sorted(cmap):
        if runs and runs[-1][1] == code - 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return runs


class CodepointRuns(AbstractSet[int]):
    """A cmap read back from the cache: its code points as sorted runs, tested by bisection.

    Font discovery only asks whether a few code points are in each of the ~770 cmaps;
    expanding their runs into frozensets (678,000 code points) was most of the time
    ``LineSynthesizer`` took to start with a warm cache (0.08 of 0.13 CPU-s).
    """

    __slots__ = ("_ends", "_starts")

    def __init__(self, runs: list[list[int]]) -> None:
        self._starts = tuple(int(first) for first, _ in runs)
        self._ends = tuple(int(last) for _, last in runs)

    def __contains__(self, code: object) -> bool:
        if not isinstance(code, int):
            return False
        i = bisect.bisect_right(self._starts, code) - 1
        return i >= 0 and code <= self._ends[i]

    def __iter__(self) -> Iterator[int]:
        for first, last in zip(self._starts, self._ends, strict=True):
            yield from range(first, last + 1)

    def __len__(self) -> int:
        return sum(last - first + 1 for first, last in zip(self._starts, self._ends, strict=True))

    # Equal to another CodepointRuns of the same runs only, and hashed by its runs: records
    # are hashed on every glyph-check lookup, and a set's hash walks every code point.
    def __eq__(self, other: object) -> bool:
        if isinstance(other, CodepointRuns):
            return (self._starts, self._ends) == (other._starts, other._ends)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._starts, self._ends))


def runs_cmap(runs: list[list[int]]) -> CodepointRuns:
    return CodepointRuns(runs)


def get_records(path: str) -> list[Any] | None:
    """The faces cached for a font file: [[index, family, name, cmap runs], ...]."""
    key = file_key(path)
    found = _data()["records"].get(key) if key else None
    return found if isinstance(found, list) else None


def put_records(path: str, faces: list[Any]) -> None:
    key = file_key(path)
    if key:
        _data()["records"][key] = faces
        _state["dirty"] = True


def _check_key(path: str, index: int, chars: str) -> str | None:
    key = file_key(path)
    if key is None:
        return None
    digest = hashlib.sha256(chars.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{key}|{index}|{digest}"


def get_check(path: str, index: int, chars: str) -> tuple[str, bool] | None:
    """(the characters the face draws, whether it localises digits), if cached."""
    key = _check_key(path, index, chars)
    found = _data()["checks"].get(key) if key else None
    if isinstance(found, list) and len(found) == 2:
        return str(found[0]), bool(found[1])
    return None


def put_check(path: str, index: int, chars: str, covered: str, localized: bool) -> None:
    key = _check_key(path, index, chars)
    if key:
        _data()["checks"][key] = [covered, localized]
        _state["dirty"] = True


def save() -> None:
    """Write the cache if it learnt something (to a temporary file, then renamed)."""
    path = cache_file()
    if path is None or not _state["dirty"]:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.getpid()}")
        temp.write_text(json.dumps(_data(), ensure_ascii=False), encoding="utf-8")
        temp.replace(path)
        _state["dirty"] = False
    except OSError:
        pass
