"""Scoring (every engine alike, with :mod:`lineocr.metrics`) and the Markdown report."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lineocr.metrics import Scores

# What reference and output are compared after, for every engine:
_QUOTES_DASHES = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "`": "'",
        "´": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "″": '"',
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "--",
        "―": "--",
        "−": "-",
    }
)
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")

NORMALISATION = (
    "Unicode NFKC (ligatures and presentation forms to letters); typographic quotes to "
    "' and \" (groff prints ' as a right quote); hyphen and en-dash variants to -, em dash "
    "to --; Arabic-Indic and Persian digits to 0-9 (a digit read in the other script counts "
    "as read); Arabic vowel marks, tatweel and invisible format characters (bidi marks, "
    "zero-width joiners) removed; whitespace collapsed and trimmed. Nothing else: case, "
    "punctuation (the Arabic comma is not a comma) and spaces between words count."
)


def normalize(text: str) -> str:
    """The text as compared, for every engine and the reference alike (:data:`NORMALISATION`)."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_QUOTES_DASHES).translate(_DIGITS)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(_ARABIC_MARKS.sub("", text).split())


def score(references: Sequence[str], hypotheses: Sequence[str]) -> Scores:
    return Scores.compute([normalize(r) for r in references], [normalize(h) for h in hypotheses])


def pct(value: float) -> str:
    return f"{100 * value:.2f} %"


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: the results table, then CER by degradation profile."""
    m = report["machine"]
    lines = [
        f"Run on {report['date']} with `{report['command']}`: {m['cpu']}, "
        f"{report['cores']} cores for each engine ({m['logical_cpus']} logical CPUs, shared), "
        f"Python {m['python']}, ONNX Runtime {m['onnxruntime']}"
        + (
            f"; 1-minute load average {report['load_average_at_start']:.1f} at the start"
            if report.get("load_average_at_start") is not None
            else ""
        )
        + (
            f"; texts from debian-handbook {report['debian_handbook_version']}"
            + (
                f", debian-reference {report['debian_reference_version']}"
                if report.get("debian_reference_version", "?") != "?"
                else ""
            )
            + f" and sentencepiece {report['sentencepiece_version']}"
            if report.get("debian_handbook_version")
            else ""
        )
        + ".",
        "",
        "Engines: " + "; ".join(f"{e['label']} {e['version']}" for e in report["engines"]) + ".",
        "",
    ]
    skipped = [e for e in report["engines_skipped"]]
    if skipped:
        lines += [
            "Skipped: " + "; ".join(f"{e['label']}: {e['reason']}" for e in skipped) + ".",
            "",
        ]
    lines += [
        "| set | lines | engine | CER | WER | exact | lines/s |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for s in report["sets"]:
        for r in s["results"]:
            failed = f" ({r['failed']} failed)" if r["failed"] else ""
            lines.append(
                f"| {s['title']} | {s['lines']} | {r['label']} | {pct(r['cer'])} | "
                f"{pct(r['wer'])} | {pct(r['exact_match'])}{failed} | {r['lines_per_s']:.1f} |"
            )
    profiled = [s for s in report["sets"] if len(s["profiles"]) > 1]
    if profiled:
        lines += ["", "CER by degradation profile (lines per profile in brackets):", ""]
        for s in profiled:
            profiles = s["profiles"]
            lines += [
                f"**{s['title']}**",
                "",
                "| engine | " + " | ".join(f"{p} ({profiles[p]})" for p in profiles) + " |",
                "|---|" + "---:|" * len(profiles),
            ]
            for r in s["results"]:
                cells = [pct(r["by_profile"][p]["cer"]) for p in profiles]
                lines.append(f"| {r['label']} | " + " | ".join(cells) + " |")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


START = "<!-- independent-benchmark:start (written by benchmarks/bench_independent.py) -->"
END = "<!-- independent-benchmark:end -->"


def splice(path: Path, body: str, start: str = START, end: str = END) -> None:
    """Replace what stands between ``start`` and ``end`` in ``path`` by ``body`` (the rest
    of the file kept); the markers are appended when the file has none."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + ("\n\n" if text.strip() else "") + block + "\n"
    path.write_text(text, encoding="utf-8")
