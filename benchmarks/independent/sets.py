"""The benchmark's sets of line images: texts + typesetter + rasteriser + scan profile.

Every choice (lines, fonts, sizes, resolutions, margins, degradations) comes from one seed;
the same seed and the same packages give the same images.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from . import texts as tx
from .degrade import BLURRED_PROFILES, PRINTED_PROFILES, SHARP_PROFILES, degrade
from .typeset import (
    GROFF_FAMILIES,
    PANGO_ARABIC_FAMILIES,
    PANGO_LATIN_FAMILIES,
    PageSpec,
    fontconfig_covers,
    fontconfig_has,
    typeset_page,
)

LINES_PER_PAGE = 10


@dataclass(frozen=True)
class SetSpec:
    key: str
    title: str
    kind: str  # latin, european, arabic, ids: which engines read it
    tools: tuple[str, ...]  # typeset.TOOLS it needs


# Pango typesets, Poppler rasterises and finds the line boxes.
PANGO_TOOLS = ("pango-view", "pdftoppm", "pdftotext", "fc-match")

SETS = (
    SetSpec(
        "latin-groff", "Latin prose, groff + Ghostscript", "latin", ("groff", "gs", "pdftotext")
    ),
    SetSpec("latin-pango", "Latin prose, Pango/Cairo + Poppler", "latin", PANGO_TOOLS),
    SetSpec(
        "european-groff",
        "European prose, groff + Ghostscript",
        "european",
        ("groff", "gs", "pdftotext"),
    ),
    SetSpec("european-pango", "European prose, Pango/Cairo + Poppler", "european", PANGO_TOOLS),
    SetSpec("arabic-pango", "Arabic prose, Pango/HarfBuzz + Poppler", "arabic", PANGO_TOOLS),
    SetSpec("ids-sharp", "Arabic-Indic 14-digit IDs, sharp", "ids", PANGO_TOOLS),
    SetSpec("ids-blurred", "Arabic-Indic 14-digit IDs, blurred", "ids", PANGO_TOOLS),
)
SETS_BY_KEY = {s.key: s for s in SETS}


@dataclass
class LineSet:
    spec: SetSpec
    folder: Path
    records: list[dict[str, object]] = field(default_factory=list)  # file, text, font, ...

    @property
    def paths(self) -> list[Path]:
        return [self.folder / str(r["file"]) for r in self.records]

    @property
    def references(self) -> list[str]:
        return [str(r["text"]) for r in self.records]

    @property
    def languages(self) -> list[str]:
        """Each line's language (ISO 639-1), ``""`` where the set does not say."""
        return [str(r.get("language", "")) for r in self.records]


# -- texts -----------------------------------------------------------------------------------


def latin_lines(cache: Path, n: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """``n`` (line, source key) pairs, half from Botchan and half from the handbook."""
    botchan = [
        t for p in tx.gutenberg_paragraphs(tx.fetch_botchan(cache)) if (t := tx.latin_text(p))
    ]
    handbook = [
        t
        for p in tx.docbook_paragraphs(tx.fetch_handbook(cache) / "en-US")
        if (t := tx.latin_text(p))
    ]
    a = tx.prose_lines(botchan, (n + 1) // 2, rng, tx.latin_line_ok)
    b = tx.prose_lines(handbook, n - len(a), rng, tx.latin_line_ok)
    return tx.interleave([(x, "botchan") for x in a], [(x, "debian-handbook-en") for x in b])


def european_lines(cache: Path, n: int, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    """``n`` (line, source key, language) triples: the handbook's and Debian Reference's
    western European translations (paragraphs that stand untranslated left out), each
    language of each source in turn."""
    groups: list[tuple[tuple[str, str], list[str]]] = []
    handbook = tx.fetch_handbook(cache)
    english = tx.docbook_paragraphs(handbook / "en-US")
    for lang, folder in tx.HANDBOOK_EUROPEAN.items():
        paragraphs = tx.translated(tx.docbook_paragraphs(handbook / folder), english)
        groups.append(
            (("debian-handbook-eu", lang), [t for p in paragraphs if (t := tx.european_text(p))])
        )
    reference = tx.fetch_reference(cache, tx.REFERENCE_EUROPEAN)
    english = tx.reference_paragraphs(reference, "en")
    for lang in tx.REFERENCE_EUROPEAN:
        paragraphs = tx.translated(tx.reference_paragraphs(reference, lang), english)
        groups.append(
            (("debian-reference-eu", lang), [t for p in paragraphs if (t := tx.european_text(p))])
        )
    mixed = tx.mixed_lines(groups, n, rng, tx.latin_line_ok)
    return [(line, source, lang) for line, (source, lang) in mixed]


def arabic_lines(cache: Path, n: int, rng: np.random.Generator) -> list[str]:
    paragraphs = [
        tx.arabic_text(p) for p in tx.docbook_paragraphs(tx.fetch_handbook(cache) / "ar-MA")
    ]
    return tx.prose_lines(paragraphs, n, rng, tx.arabic_line_ok, widths=(30, 62))


# -- pages -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Typesetting:
    """How a set's pages are typeset: by ``renderer``, in ``fonts`` (a shuffled round), at
    a size (pt) and a resolution (dpi) drawn per page, right to left or not, and with a
    style drawn per page when ``styles`` (else regular)."""

    renderer: str
    fonts: Sequence[str]
    sizes: Sequence[float]
    dpis: Sequence[int]
    rtl: bool = False
    styles: bool = True


@dataclass(frozen=True)
class Scans:
    """The scan profiles a set's lines go through in turn, and the seed of their noise."""

    profiles: Sequence[str]
    seed: int


def page_specs(lines: Sequence[str], how: Typesetting, rng: np.random.Generator) -> list[PageSpec]:
    """Pages of :data:`LINES_PER_PAGE` lines; fonts in a shuffled round, a random size,
    resolution and (when ``how.styles``) style per page: mostly regular, some italic or
    bold."""
    renderer, fonts, sizes, dpis = how.renderer, how.fonts, how.sizes, how.dpis
    order = [fonts[int(i)] for i in rng.permutation(len(fonts))]
    specs = []
    for k, start in enumerate(range(0, len(lines), LINES_PER_PAGE)):
        style = (
            str(rng.choice(["regular", "italic", "bold"], p=[0.8, 0.1, 0.1]))
            if how.styles
            else "regular"
        )
        specs.append(
            PageSpec(
                renderer,
                order[k % len(order)],
                style,
                float(rng.choice(sizes)),
                int(rng.choice(dpis)),
                tuple(lines[start : start + LINES_PER_PAGE]),
                how.rtl,
            )
        )
    return specs


def render_pages(
    specs: Sequence[PageSpec], workdir: Path, rng: np.random.Generator
) -> list[tuple[np.ndarray, PageSpec]]:
    workdir.mkdir(parents=True, exist_ok=True)
    out = []
    for k, spec in enumerate(specs):
        out += [(image, spec) for image in typeset_page(spec, workdir, f"page{k:03d}", rng)]
    return out


def write_set(
    spec: SetSpec,
    folder: Path,
    lines: Sequence[tuple[np.ndarray, PageSpec]],
    labels: Sequence[tuple[str, ...]],
    scans: Scans,
) -> LineSet:
    """Each line through its profile (in turn), written as PNG with a ``lines.jsonl``;
    ``labels``: each line's (text, source), or (text, source, language) where the set
    knows the language (an engine may read each line in its own)."""
    folder.mkdir(parents=True, exist_ok=True)
    line_set = LineSet(spec, folder)
    for i, ((image, page), (text, source, *language)) in enumerate(zip(lines, labels, strict=True)):
        profile = scans.profiles[i % len(scans.profiles)]
        name = f"{i:04d}.png"
        Image.fromarray(degrade(image, profile, scans.seed, i)).save(folder / name)
        line_set.records.append(
            {
                "file": name,
                "text": text,
                "source": source,
                "renderer": page.renderer,
                "font": page.font_name,
                "size_pt": page.size_pt,
                "dpi": page.dpi,
                "profile": profile,
            }
        )
        if language:
            line_set.records[-1]["language"] = language[0]
    with (folder / "lines.jsonl").open("w", encoding="utf-8") as f:
        for r in line_set.records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return line_set


def build_european(keys: Sequence[str], out: Path, cache: Path, n: int, seed: int) -> list[LineSet]:
    """The European sets of ``keys`` (groff and Pango): lines of :func:`european_lines`,
    each with its language; the two sets take the two halves of one mixed sequence, so
    that each holds every language of every source."""
    if "european-groff" not in keys and "european-pango" not in keys:
        return []
    built: list[LineSet] = []
    triples = european_lines(cache, 2 * n, np.random.default_rng([seed, 5]))
    for k, key in enumerate(("european-groff", "european-pango")):
        if key not in keys:
            continue
        rng = np.random.default_rng([seed, 6, k])
        chosen = triples[k * n : (k + 1) * n]
        if key == "european-groff":
            fonts = list(GROFF_FAMILIES)
        else:
            fonts = [
                f
                for f in PANGO_LATIN_FAMILIES
                if fontconfig_has(f) and fontconfig_covers(f, tx.EUROPEAN_CHARS)
            ]
        how = Typesetting(key.split("-")[1], fonts, (9, 10, 11, 12, 14), (150, 200, 300, 400))
        specs = page_specs([t for t, _, _ in chosen], how, rng)
        rendered = render_pages(specs, out / "work" / key, rng)
        built.append(
            write_set(
                SETS_BY_KEY[key],
                out / "sets" / key,
                rendered,
                chosen,
                Scans(PRINTED_PROFILES, seed),
            )
        )
    return built


def build_sets(keys: Sequence[str], out: Path, cache: Path, n: int, seed: int) -> list[LineSet]:
    """The named sets (:data:`SETS`), ``n`` lines each, under ``out/sets``."""
    built: list[LineSet] = []
    work = out / "work"
    if "latin-groff" in keys or "latin-pango" in keys:
        tagged = latin_lines(cache, 2 * n, np.random.default_rng([seed, 1]))
        halves = {"latin-groff": tagged[0::2], "latin-pango": tagged[1::2]}
        for key in ("latin-groff", "latin-pango"):
            if key not in keys:
                continue
            rng = np.random.default_rng([seed, 2, len(key)])
            lines = [t for t, _ in halves[key]]
            if key == "latin-groff":
                how = Typesetting(
                    "groff", list(GROFF_FAMILIES), (9, 10, 11, 12, 14), (150, 200, 300, 400)
                )
                specs = page_specs(lines, how, rng)
            else:
                fonts = [f for f in PANGO_LATIN_FAMILIES if fontconfig_has(f)]
                how = Typesetting("pango", fonts, (9, 10, 11, 12, 14), (150, 200, 300, 400))
                specs = page_specs(lines, how, rng)
            rendered = render_pages(specs, work / key, rng)
            built.append(
                write_set(
                    SETS_BY_KEY[key],
                    out / "sets" / key,
                    rendered,
                    halves[key],
                    Scans(PRINTED_PROFILES, seed),
                )
            )
    built += build_european(keys, out, cache, n, seed)
    arabic_fonts = [f for f in PANGO_ARABIC_FAMILIES if fontconfig_has(f)]
    if "arabic-pango" in keys:
        rng = np.random.default_rng([seed, 3])
        lines = arabic_lines(cache, n, rng)
        how = Typesetting("pango", arabic_fonts, (11, 12, 14, 16), (150, 200, 300), rtl=True)
        specs = page_specs(lines, how, rng)
        rendered = render_pages(specs, work / "arabic-pango", rng)
        built.append(
            write_set(
                SETS_BY_KEY["arabic-pango"],
                out / "sets" / "arabic-pango",
                rendered,
                [(line, "debian-handbook-ar") for line in lines],
                Scans(PRINTED_PROFILES, seed),
            )
        )
    if "ids-sharp" in keys or "ids-blurred" in keys:
        # The same rendered numbers, sharp (clean and scan profiles) and blurred.
        rng = np.random.default_rng([seed, 4])
        ids = tx.national_ids(n, rng)
        how = Typesetting(
            "pango", arabic_fonts, (11, 12, 14, 16), (150, 200, 300), rtl=True, styles=False
        )
        specs = page_specs(ids, how, rng)
        rendered = render_pages(specs, work / "ids", rng)
        for key, profiles in (("ids-sharp", SHARP_PROFILES), ("ids-blurred", BLURRED_PROFILES)):
            if key in keys:
                built.append(
                    write_set(
                        SETS_BY_KEY[key],
                        out / "sets" / key,
                        rendered,
                        [(number, "generated") for number in ids],
                        Scans(profiles, seed),
                    )
                )
    order = {s.key: i for i, s in enumerate(SETS)}
    return sorted(built, key=lambda s: order[s.spec.key])
