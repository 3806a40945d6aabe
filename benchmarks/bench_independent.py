"""The independent evaluation: lineocr side by side with Tesseract 5 and RapidOCR (EasyOCR
where installed) on text lines that lineocr's generator never drew.

Lines are set by groff and Pango from real prose fetched from the package registries
(English, western European languages with their accents, Arabic),
rasterised by Ghostscript and Poppler, put through printed-and-scanned profiles, and read
by every engine as a user runs it, one start per engine and set on the same cores
(``benchmarks/independent/``, docs/benchmarks.md). Writes ``report.json`` and ``report.md``
under ``--out``, the line images and their texts under ``--out/sets/``; ``--docs`` also
puts the Markdown table into docs/benchmarks.md.

    make bench-peers    # once: RapidOCR 3.x in benchmarks/.venv-peers
    .venv/bin/python benchmarks/bench_independent.py --out benchmarks/out/indep
    .venv/bin/python benchmarks/bench_independent.py --lines 20 --set latin-groff  # a smoke run
    .venv/bin/python benchmarks/bench_independent.py --set european-groff --set european-pango \
        --model new=runs/x/model.onnx   # accented letters, a candidate beside the bundled ones
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from independent import engines as eng
from independent.report import NORMALISATION, markdown, normalize, score, splice
from independent.sets import SETS, SETS_BY_KEY, LineSet, build_sets
from independent.texts import (
    BENCH_TEXT_SOURCES,
    REFERENCE_DEB,
    SENTENCEPIECE_SDIST,
    SourceUnavailableError,
    deb_version,
    handbook_version,
)
from independent.typeset import TOOLS, missing_tools

ROOT = Path(__file__).resolve().parents[1]
SEED = 20_261_207

# The engines of each kind of set: lineocr's bundled models first, then the peers.
ENGINES_BY_KIND: dict[str, list[eng.Engine]] = {
    "latin": [
        eng.Lineocr("printed"),
        eng.Lineocr("printed-fast"),
        eng.Tesseract("eng"),
        eng.Peer("rapidocr", "en"),
        eng.Peer("easyocr", "en"),
    ],
    "european": [
        eng.Lineocr("printed"),
        eng.Lineocr("printed-fast"),
        eng.Tesseract(eng.BY_LINE),
        eng.Tesseract("fra+deu+spa+ita+por+cat+swe"),
        eng.Peer("rapidocr", "en"),
    ],
    "arabic": [
        eng.Lineocr("printed"),
        eng.Lineocr("printed-fast"),
        eng.Tesseract("ara"),
        eng.Peer("easyocr", "ar"),
    ],
    "ids": [
        eng.Lineocr("arabic-digits"),
        eng.Lineocr("printed"),
        eng.Tesseract("ara"),
        eng.Peer("easyocr", "ar"),
    ],
}
KIND_NOTES = {
    "european": "Tesseract reads each line once with its own language's data (the set knows "
    "it) and once with all seven languages at once, as a user who does not know it; "
    "RapidOCR's bundled PP-OCRv6 recogniser (Chinese and English) has the accented letters "
    "in its alphabet; EasyOCR not run.",
    "arabic": "RapidOCR not run: its wheel bundles only the Chinese/English PP-OCRv6 model "
    "(an Arabic model would be downloaded at run time, which this benchmark does not do).",
    "ids": "RapidOCR not run: no bundled model reads Arabic-Indic digits.",
}


def with_models(
    engines: dict[str, list[eng.Engine]], models: Sequence[str]
) -> dict[str, list[eng.Engine]]:
    """``engines`` with a lineocr engine for each ``NAME=FILE`` of ``models`` put after
    lineocr's bundled models in every kind of set that the ``printed`` model reads."""
    extra: list[eng.Engine] = []
    for item in models:
        name, sep, path = (s.strip() for s in item.partition("="))
        if not sep or not name or not path:
            raise ValueError(f"--model {item!r}: expected NAME=FILE (an .onnx file or run folder)")
        if not Path(path).exists():
            raise ValueError(f"--model {item!r}: no file or folder {path}")
        extra.append(eng.Lineocr(str(Path(path).resolve()), name=name))
    out: dict[str, list[eng.Engine]] = {}
    for kind, listed in engines.items():
        if not any(e.key == "lineocr:printed" for e in listed):
            out[kind] = list(listed)
            continue
        last = max(i for i, e in enumerate(listed) if e.key.startswith("lineocr:"))
        out[kind] = [*listed[: last + 1], *extra, *listed[last + 1 :]]
    return out


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import onnxruntime

    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
    }


def evaluate(line_set: LineSet, engine: eng.Engine, workdir: Path, cores: int) -> dict[str, Any]:
    refs = line_set.references
    run = engine.read(line_set.paths, workdir, cores, line_set.languages)
    s = score(refs, run.texts)
    by_profile: dict[str, Any] = {}
    for profile in dict.fromkeys(str(r["profile"]) for r in line_set.records):
        idx = [i for i, r in enumerate(line_set.records) if r["profile"] == profile]
        p = score([refs[i] for i in idx], [run.texts[i] for i in idx])
        by_profile[profile] = {"lines": len(idx), "cer": p.cer, "exact_match": p.exact_match}
    errors = [
        {"file": line_set.records[i]["file"], "reference": refs[i], "read": run.texts[i]}
        for i in range(len(refs))
        if normalize(refs[i]) != normalize(run.texts[i])
    ]
    return {
        "engine": engine.key,
        "label": engine.label,
        "cer": s.cer,
        "wer": s.wer,
        "exact_match": s.exact_match,
        "char_errors": s.char_errors,
        "chars": s.chars,
        "lines_per_s": len(refs) / run.wall_s,
        "wall_s": run.wall_s,
        "failed": run.failed,
        "by_profile": by_profile,
        "texts": run.texts,
        "first_errors": errors[:12],
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "indep")
    p.add_argument(
        "--cache",
        type=Path,
        default=ROOT / "benchmarks" / "out" / "cache",
        help="downloaded text packages (kept between runs)",
    )
    p.add_argument("--lines", type=int, default=150, help="lines per set (default 150)")
    p.add_argument("--set", action="append", choices=[s.key for s in SETS], help="repeatable")
    p.add_argument(
        "--engine",
        action="append",
        help="only these engine keys (repeatable), "
        "e.g. lineocr:printed, tesseract:eng, tesseract:by-line, rapidocr:en",
    )
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="also read every set that lineocr's printed model reads with this model: an "
        ".onnx file or a run folder, reported as lineocr `NAME` (repeatable); e.g. a "
        "candidate beside the bundled one",
    )
    p.add_argument("--cores", type=int, default=2, help="cores for each engine")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument(
        "--docs",
        type=Path,
        help="also write the Markdown into this file "
        "(between the independent-benchmark markers), e.g. docs/benchmarks.md",
    )
    opts = p.parse_args(argv)
    try:
        opts.engines_by_kind = with_models(ENGINES_BY_KIND, opts.model)
    except ValueError as exc:
        p.error(str(exc))
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    keys = opts.set or [s.key for s in SETS]
    tools = sorted({t for k in keys for t in SETS_BY_KEY[k].tools})
    if missing := missing_tools(tools):
        print(
            f"missing tools; install the Debian packages: {' '.join(missing)} "
            "(scripts/install-system-deps.sh)",
            file=sys.stderr,
        )
        return 2
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > opts.cores:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: opts.cores])

    load_at_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    start = time.perf_counter()
    try:
        line_sets = build_sets(keys, opts.out, opts.cache, opts.lines, opts.seed)
    except SourceUnavailableError as exc:
        print(f"a text source could not be fetched: {exc}", file=sys.stderr)
        return 2
    build_s = time.perf_counter() - start
    print(f"built {sum(len(s.records) for s in line_sets)} lines in {build_s:.0f} s", flush=True)

    engines_used: dict[str, eng.Engine] = {}
    skipped: dict[str, str] = {}
    sets_out = []
    workdir = opts.out / "work"
    for line_set in line_sets:
        results = []
        for engine in opts.engines_by_kind[line_set.spec.kind]:
            if opts.engine and engine.key not in opts.engine:
                continue
            if engine.key not in engines_used and engine.key not in skipped:
                reason = engine.skip_reason()
                if reason:
                    skipped[engine.key] = reason
                else:
                    engines_used[engine.key] = engine
            if engine.key in skipped:
                continue
            r = evaluate(line_set, engine, workdir, opts.cores)
            print(
                f"{line_set.spec.key:14s} {engine.key:22s} CER {100 * r['cer']:6.2f} %  "
                f"exact {100 * r['exact_match']:6.2f} %  {r['lines_per_s']:7.1f} lines/s",
                flush=True,
            )
            results.append(r)
        profiles: dict[str, int] = {}
        for rec in line_set.records:
            profiles[str(rec["profile"])] = profiles.get(str(rec["profile"]), 0) + 1
        sets_out.append(
            {
                "key": line_set.spec.key,
                "title": line_set.spec.title,
                "lines": len(line_set.records),
                "profiles": profiles,
                "note": KIND_NOTES.get(line_set.spec.kind, ""),
                "results": results,
            }
        )

    command = (
        "python benchmarks/bench_independent.py"
        + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    )
    report = {
        "date": datetime.date.today().isoformat(),
        "command": command,
        "seed": opts.seed,
        "cores": opts.cores,
        "machine": machine(),
        "load_average_at_start": load_at_start,
        "build_s": build_s,
        "normalisation": NORMALISATION,
        "text_sources": [vars(s) for s in BENCH_TEXT_SOURCES],
        "debian_handbook_version": handbook_version(opts.cache),
        "debian_reference_version": deb_version(opts.cache, REFERENCE_DEB.format(lang="en")),
        "sentencepiece_version": SENTENCEPIECE_SDIST.split("==")[1],
        "tools": {name: TOOLS[name][1] for name in tools},
        "engines": [
            {"key": k, "label": e.label, "version": e.version()} for k, e in engines_used.items()
        ],
        "engines_skipped": [{"key": k, "label": k, "reason": r} for k, r in skipped.items()],
        "sets": sets_out,
    }
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / "report.json").write_text(
        json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8"
    )
    md = markdown(report)
    (opts.out / "report.md").write_text(md, encoding="utf-8")
    if opts.docs:
        splice(opts.docs, md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
