"""The engines, each run as a user runs it, on a list of line images; one start per set.

- lineocr: ``lineocr read -m MODEL --format jsonl --workers CORES -`` (default options);
- Tesseract 5: ``tesseract LIST stdout -l LANG --psm 7``, CORES processes side by side with
  ``OMP_THREAD_LIMIT=1``, each reading a share of the list; on a set that knows each
  line's language, also once per language with that language's data (``by-line``);
- RapidOCR 3.x and EasyOCR (optional): :mod:`peer_runner` in the peers' own environment
  (``make bench-peers``), recogniser only, CORES intra-op threads.

Wall times include each engine's start-up (model loading), as a user pays it.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PEERS_PYTHON = ROOT / "benchmarks" / ".venv-peers" / "bin" / "python"
PEER_RUNNER = Path(__file__).resolve().with_name("peer_runner.py")
PAGE_SEPARATOR = "@@INDEPENDENT-PAGE@@"
# Tesseract's language data for a line's language (ISO 639-1), for ``Tesseract(BY_LINE)``.
BY_LINE = "by-line"
TESSERACT_LANGUAGES = {
    "en": "eng",
    "fr": "fra",
    "de": "deu",
    "es": "spa",
    "it": "ita",
    "pt": "por",
    "ca": "cat",
    "sv": "swe",
}


@dataclass
class EngineRun:
    texts: list[str]  # one per input path, "" where the engine failed
    wall_s: float
    failed: int


def lineocr_argv() -> list[str]:
    script = Path(sys.executable).parent / "lineocr"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "lineocr"]


def parse_lineocr_jsonl(stdout: str, paths: Sequence[Path]) -> tuple[list[str], int]:
    """Texts in the order of ``paths`` from ``lineocr read --format jsonl`` output; a path
    with an error record or none at all counts as failed (empty text)."""
    by_path: dict[str, str] = {}
    errors = 0
    for line in stdout.splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        if "error" in record:
            errors += 1
            continue
        by_path[record["path"]] = record.get("text", "")
    texts = [by_path.get(str(p), "") for p in paths]
    missing = sum(str(p) not in by_path for p in paths)
    return texts, max(errors, missing)


def parse_tesseract_pages(stdout: str, n: int) -> list[str] | None:
    """The text of each of ``n`` images from one ``tesseract LIST stdout`` run with
    ``page_separator`` set, whitespace collapsed; None when the count does not match."""
    pages = stdout.split(PAGE_SEPARATOR)
    if pages and not pages[-1].strip() and len(pages) == n + 1:
        pages = pages[:-1]
    if len(pages) != n:
        return None
    return [" ".join(p.split()) for p in pages]


def parse_peer_jsonl(stdout: str, n: int) -> tuple[list[str], int]:
    """Texts by input index from :mod:`peer_runner` output; missing or error lines fail."""
    texts = [""] * n
    ok = [False] * n
    for line in stdout.splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        i = int(record["i"])
        if 0 <= i < n and "error" not in record:
            texts[i], ok[i] = record.get("text", ""), True
    return texts, n - sum(ok)


def _timed(
    argv: Sequence[str], stdin: str = "", env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.perf_counter()
    proc = subprocess.run(
        list(argv),
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    return proc, time.perf_counter() - start


class Engine:
    """One engine as a user runs it; ``key`` names it in reports."""

    key: str = ""
    label: str = ""

    def skip_reason(self) -> str | None:
        return None

    def version(self) -> str:
        return ""

    def read(
        self,
        paths: Sequence[Path],
        workdir: Path,
        cores: int,
        languages: Sequence[str] | None = None,
    ) -> EngineRun:
        """The engine's text of each of ``paths``; ``languages``: each line's language
        where the set knows it (only Tesseract ``by-line`` uses it)."""
        raise NotImplementedError


class Lineocr(Engine):
    """``model``: a bundled model's name, or an ``.onnx`` file or run folder (what
    ``lineocr read -m`` takes) reported as ``name``."""

    def __init__(self, model: str, name: str | None = None) -> None:
        self.model = model
        self.key = f"lineocr:{name or model}"
        self.label = f"lineocr `{name or model}`"

    def version(self) -> str:
        from lineocr import __version__

        return __version__

    def read(
        self,
        paths: Sequence[Path],
        workdir: Path,
        cores: int,
        languages: Sequence[str] | None = None,
    ) -> EngineRun:
        argv = [
            *lineocr_argv(),
            "read",
            "-m",
            self.model,
            "--format",
            "jsonl",
            "--workers",
            str(cores),
            "--no-progress",
            "-",
        ]
        proc, wall = _timed(argv, "\n".join(map(str, paths)) + "\n")
        texts, failed = parse_lineocr_jsonl(proc.stdout, paths)
        return EngineRun(texts, wall, failed)


class Tesseract(Engine):
    """``lang``: Tesseract's ``-l`` (``eng``, ``fra+deu``...), or :data:`BY_LINE`: each line
    read with its own language's data (:data:`TESSERACT_LANGUAGES`), as a user who knows
    each document's language runs it."""

    def __init__(self, lang: str, executable: str = "tesseract") -> None:
        self.lang = lang
        self.executable = executable
        self.key = f"tesseract:{lang}"
        self.label = (
            "Tesseract, each line's language (`--psm 7`)"
            if lang == BY_LINE
            else f"Tesseract `{lang}` (`--psm 7`)"
        )

    def needed(self) -> list[str]:
        """The language data this engine reads with."""
        if self.lang == BY_LINE:
            return sorted(set(TESSERACT_LANGUAGES.values()))
        return self.lang.split("+")

    def skip_reason(self) -> str | None:
        if shutil.which(self.executable) is None:
            return "tesseract is not installed (scripts/install-system-deps.sh)"
        langs = subprocess.run(
            [self.executable, "--list-langs"], capture_output=True, text=True, check=False
        ).stdout.split()
        missing = [lang for lang in self.needed() if lang not in langs]
        if missing:
            return (
                f"no Tesseract language data {' '.join(missing)} (scripts/install-system-deps.sh)"
            )
        return None

    def version(self) -> str:
        out = subprocess.run(
            [self.executable, "--version"], capture_output=True, text=True, check=False
        )
        return (out.stdout or out.stderr).split("\n", 1)[0].strip()

    def read(
        self,
        paths: Sequence[Path],
        workdir: Path,
        cores: int,
        languages: Sequence[str] | None = None,
    ) -> EngineRun:
        if self.lang != BY_LINE:
            return self._read(paths, workdir, cores, self.lang)
        if languages is None or len(languages) != len(paths):
            raise ValueError("Tesseract by-line needs each line's language")
        groups: dict[str, list[int]] = {}
        for i, lang in enumerate(languages):
            if lang not in TESSERACT_LANGUAGES:
                raise ValueError(f"Tesseract by-line: no language data for {lang!r}")
            groups.setdefault(TESSERACT_LANGUAGES[lang], []).append(i)
        texts = [""] * len(paths)
        wall, failed = 0.0, 0
        for code, idx in groups.items():
            run = self._read([paths[i] for i in idx], workdir, cores, code)
            wall += run.wall_s
            failed += run.failed
            for i, text in zip(idx, run.texts, strict=True):
                texts[i] = text
        return EngineRun(texts, wall, failed)

    def _read(self, paths: Sequence[Path], workdir: Path, cores: int, lang: str) -> EngineRun:
        """``paths`` read with ``-l lang``, ``cores`` processes side by side."""
        shards = [s for s in (list(paths[i::cores]) for i in range(cores)) if s]
        commands = []
        for k, shard in enumerate(shards):
            listing = workdir / f"tesseract-{lang}-{k}.txt"
            listing.write_text("\n".join(map(str, shard)) + "\n", encoding="utf-8")
            commands.append(
                [
                    self.executable,
                    str(listing),
                    "stdout",
                    "-l",
                    lang,
                    "--psm",
                    "7",
                    "-c",
                    f"page_separator={PAGE_SEPARATOR}",
                ]
            )
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(len(commands)) as pool:
            futures = [pool.submit(_timed, c, "", {"OMP_THREAD_LIMIT": "1"}) for c in commands]
            procs = [f.result()[0] for f in futures]
        wall = time.perf_counter() - start
        by_path: dict[Path, str] = {}
        failed = 0
        for shard, proc in zip(shards, procs, strict=True):
            texts = parse_tesseract_pages(proc.stdout, len(shard))
            if proc.returncode != 0 or texts is None:
                failed += len(shard)
                texts = [""] * len(shard)
            by_path.update(zip(shard, texts, strict=True))
        return EngineRun([by_path[p] for p in paths], wall, failed)


class Peer(Engine):
    """RapidOCR or EasyOCR in the peers' environment."""

    def __init__(self, name: str, lang: str, python: Path = PEERS_PYTHON) -> None:
        self.name = name
        self.lang = lang
        self.python = python
        self.key = f"{name}:{lang}"
        self.label = {"rapidocr": "RapidOCR (PP-OCRv6)", "easyocr": "EasyOCR"}[name]

    def _module(self) -> str:
        return {"rapidocr": "rapidocr", "easyocr": "easyocr"}[self.name]

    def skip_reason(self) -> str | None:
        if not self.python.is_file():
            return f"no peers environment at {self.python.parent.parent} (make bench-peers)"
        probe = subprocess.run(
            [str(self.python), "-c", f"import {self._module()}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode != 0:
            return f"{self._module()} is not installed in the peers environment"
        return None

    def version(self) -> str:
        out = subprocess.run(
            [
                str(self.python),
                "-c",
                f"import importlib.metadata as m; print(m.version({self._module()!r}))",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout.strip()

    def read(
        self,
        paths: Sequence[Path],
        workdir: Path,
        cores: int,
        languages: Sequence[str] | None = None,
    ) -> EngineRun:
        argv = [str(self.python), str(PEER_RUNNER), self.name, self.lang, str(cores)]
        proc, wall = _timed(argv, "\n".join(map(str, paths)) + "\n")
        texts, failed = parse_peer_jsonl(proc.stdout, len(paths))
        return EngineRun(texts, wall, failed)
