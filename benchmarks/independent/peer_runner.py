"""Reads line images with a peer engine; run by the peers' own Python (benchmarks/.venv-peers).

    .venv-peers/bin/python peer_runner.py rapidocr|rapidocr-page|easyocr LANG THREADS < paths

Prints one JSON object a line, ``{"i": N, "text": ...}`` (or ``"error"``), in input order.
Standard library and the peer's package only: it never imports lineocr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable


def rapidocr_reader(lang: str, threads: int) -> Callable[[str], str]:
    """RapidOCR's recogniser alone (the line is the box): its bundled PP-OCRv6 model."""
    from rapidocr import RapidOCR

    engine = RapidOCR(
        params={
            "Global.log_level": "error",
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )

    def read(path: str) -> str:
        result = engine(path, use_det=False, use_cls=False, use_rec=True)
        return " ".join(t for t in (result.txts or ()) if t)

    return read


def easyocr_reader(lang: str, threads: int) -> Callable[[str], str]:
    """EasyOCR's recogniser on the whole line, with models already on disk (no download)."""
    import easyocr
    import torch

    torch.set_num_threads(threads)
    reader = easyocr.Reader([lang], gpu=False, download_enabled=False, verbose=False)

    def read(path: str) -> str:
        return " ".join(reader.recognize(path, detail=0))

    return read


def rapidocr_page_reader(lang: str, threads: int) -> Callable[[str], str]:
    """RapidOCR end to end on a whole page (detector, orientation classifier, recogniser):
    its lines in the order it returns them, one a line."""
    from rapidocr import RapidOCR

    engine = RapidOCR(
        params={
            "Global.log_level": "error",
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )

    def read(path: str) -> str:
        return "\n".join(t for t in (engine(path).txts or ()) if t)

    return read


READERS = {
    "rapidocr": rapidocr_reader,
    "rapidocr-page": rapidocr_page_reader,
    "easyocr": easyocr_reader,
}


def main() -> int:
    name, lang, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    read = READERS[name](lang, threads)
    for i, line in enumerate(sys.stdin):
        path = line.rstrip("\n")
        try:
            record = {"i": i, "text": read(path)}
        except Exception as exc:  # one unreadable line is a failure of that line only
            record = {"i": i, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(record, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
