"""Hostile-input battery against `lineocr serve` on loopback: every case must get a 4xx JSON
error, the server must keep serving (a good request after each case), and its memory must
stay bounded over repeated rounds. Optionally a schemathesis run against /openapi.json
(no 5xx allowed).

    python benchmarks/hostile_inputs.py                   # 3 rounds of the battery
    python benchmarks/hostile_inputs.py --rounds 5 --schemathesis-seconds 60

Bounded in count and time; binds 127.0.0.1 only; the server it starts is always stopped.
Exit status 1 if any case was not a 4xx, the server stopped serving, or memory grew more
than --max-rss-growth-mb.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_serve import ServerProcess, line_png, resolve_model


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A PNG header claiming ``width`` x ``height`` with a few bytes of pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _chunk(b"IEND", b"")
    )


def real_bomb(side: int = 6000) -> bytes:
    """A genuine 36 MP white PNG: tens of KB on the wire, 36 MB once decoded."""
    raw = (b"\0" + b"\xff" * side) * side
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def encoded(fmt: str, width: int = 60, height: int = 20) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((height, width), 200, np.uint8)).save(buf, fmt)
    return buf.getvalue()


def jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(encoded("JPEG"))
    i = data.index(b"\xff\xc0")  # baseline SOF0: height, width as big-endian u16
    data[i + 5 : i + 9] = struct.pack(">HH", height, width)
    return bytes(data)  # the pixel data is for 60 x 20: only the header is huge


def cases(good: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(name, httpx request arguments). Every one of them must be answered 4xx."""
    files = lambda name, data, ctype="image/png": {  # noqa: E731
        "files": {"files": (name, data, ctype)}
    }
    mp = "multipart/form-data; boundary=xyz"
    rng = np.random.default_rng(0)
    return [
        ("empty body (json)", {"content": b"", "headers": {"content-type": "application/json"}}),
        ("empty body (multipart)", {"content": b"", "headers": {"content-type": mp}}),
        ("no content type", {"content": good}),
        (
            "wrong content type (text/plain)",
            {"content": b"hello", "headers": {"content-type": "text/plain"}},
        ),
        ("raw image/png body", {"content": good, "headers": {"content-type": "image/png"}}),
        ("urlencoded form", {"data": {"model": "x"}}),
        ("malformed multipart", {"content": b"--xyz\r\ngarbage", "headers": {"content-type": mp}}),
        (
            "multipart without boundary",
            {"content": b"abc", "headers": {"content-type": "multipart/form-data"}},
        ),
        ("empty file", files("empty.png", b"")),
        ("zero-size image", files("zero.png", png_claiming(0, 0))),
        ("truncated PNG", files("cut.png", good[: len(good) // 2])),
        ("corrupt PNG header", files("bad.png", b"\x89PNG\r\n\x1a\n" + os.urandom(200))),
        ("random bytes", files("random.bin", rng.bytes(4096))),
        (
            "decompression bomb (header 100k x 100k)",
            files("bomb.png", png_claiming(100_000, 100_000)),
        ),
        ("decompression bomb (real 36 MP PNG)", files("bomb36.png", real_bomb())),
        ("huge dimensions (65535 x 65535 PNG)", files("huge.png", png_claiming(65535, 65535))),
        ("huge dimensions (JPEG 65500 x 65500)", files("huge.jpg", jpeg_claiming(65500, 65500))),
        ("GIF (not served)", files("a.gif", encoded("GIF"), "image/gif")),
        ("PDF", files("a.pdf", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n", "application/pdf")),
        ("EPS", files("a.eps", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")),
        ("text as image/png", files("a.png", b"just text")),
        ("unknown model", {**files("a.png", good), "data": {"model": "no-such-model"}}),
        ("bad pattern", {**files("a.png", good), "data": {"pattern": "(unclosed"}}),
        ("exponential pattern", {**files("a.png", good), "data": {"pattern": "(a|b)*a(a|b){16}"}}),
        ("unknown lexicon", {**files("a.png", good), "data": {"lexicon": "nope"}}),
        ("bad decoder", {**files("a.png", good), "data": {"decoder": "quantum"}}),
        ("beam width too large", {**files("a.png", good), "data": {"beam_width": "100000"}}),
        ("unknown preprocess op", {**files("a.png", good), "data": {"preprocess": "rm -rf"}}),
        (
            "preprocess DoS parameter",
            {**files("a.png", good), "data": {"preprocess": "deblur:iterations=1e12"}},
        ),
        ("unknown form field", {**files("a.png", good), "data": {"admin": "1"}}),
        (
            "too many files",
            {"files": [("files", (f"{i}.png", good, "image/png")) for i in range(40)]},
        ),
        (
            "body over 10 MB",
            {"content": b"0" * (11 * 1024 * 1024), "headers": {"content-type": "application/json"}},
        ),
        (
            "invalid JSON",
            {"content": b'{"images": [', "headers": {"content-type": "application/json"}},
        ),
        ("JSON wrong types", {"json": {"images": "all of them", "model": 3}}),
        ("JSON bad base64", {"json": {"images": [{"data": "%%%not-base64%%%"}]}}),
        (
            "JSON base64 of random bytes",
            {"json": {"images": [{"data": base64.b64encode(rng.bytes(512)).decode()}]}},
        ),
        (
            "JSON deeply nested",
            {
                "content": b"[" * 10000 + b"]" * 10000,
                "headers": {"content-type": "application/json"},
            },
        ),
        (
            "JSON too many images",
            {"json": {"images": [{"data": base64.b64encode(good).decode()}] * 40}},
        ),
    ]


def run_battery(server: ServerProcess, good: bytes, rounds: int) -> dict[str, Any]:
    failures: list[str] = []
    table: dict[str, int] = {}
    rss = [server.rss_mb()]
    with httpx.Client(base_url=server.url, timeout=60) as http:

        def check() -> bool:
            ok = http.post("/v1/ocr", files={"files": ("ok.png", good, "image/png")})
            return ok.status_code == 200

        for _ in range(rounds):
            for name, kwargs in cases(good):
                try:
                    r = http.post("/v1/ocr", **kwargs)
                    status = r.status_code
                    body_ok = r.headers.get("content-type", "").startswith("application/json") and (
                        "error" in r.json()
                    )
                    leaked = "Traceback" in r.text or 'File "' in r.text
                except httpx.HTTPError as exc:
                    status, body_ok, leaked = 0, False, False
                    failures.append(f"{name}: {type(exc).__name__}")
                table[name] = status
                if not 400 <= status < 500 or not body_ok or leaked:
                    failures.append(f"{name}: {status}")
                if not server.alive() or not check():
                    failures.append(f"{name}: server stopped serving")
                    return {"cases": table, "failures": failures, "rss_mb": rss}
            rss.append(server.rss_mb())
    return {"cases": table, "failures": failures, "rss_mb": [round(x, 1) for x in rss]}


def run_schemathesis(url: str, seconds: int) -> dict[str, Any]:
    exe = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    if not Path(exe).exists():
        return {"skipped": "schemathesis not installed (pip install schemathesis)"}
    cmd = [
        exe,
        "run",
        f"{url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-time",
        str(seconds),
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--no-color",
    ]
    t0 = time.monotonic()
    try:
        run = subprocess.run(
            cmd, capture_output=True, text=True, timeout=seconds + 120, check=False
        )
    except subprocess.TimeoutExpired:
        return {"passed": False, "output": "schemathesis did not finish in time"}
    out = run.stdout + run.stderr
    summary = [
        ln
        for ln in out.splitlines()
        if any(k in ln for k in ("passed", "failed", "error", "Test cases", "Operations", "5"))
    ]
    return {
        "passed": run.returncode == 0,
        "seconds": round(time.monotonic() - t0, 1),
        "summary": summary[-8:],
        "output_tail": out[-3000:] if run.returncode else "",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="bundled name or .onnx path (default: see bench_serve)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-rss-growth-mb", type=float, default=150.0)
    parser.add_argument(
        "--schemathesis-seconds", type=int, default=60, help="0 to skip the schemathesis run"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    good = line_png()
    with tempfile.TemporaryDirectory() as tmp:
        model = resolve_model(args.model, Path(tmp))
        with ServerProcess(model, "--threads", "1") as server:
            battery = run_battery(server, good, args.rounds)
            schema = (
                run_schemathesis(server.url, args.schemathesis_seconds)
                if args.schemathesis_seconds > 0
                else {"skipped": "--schemathesis-seconds 0"}
            )
            alive = server.alive()
            log = server.output()
    rss = battery["rss_mb"]
    growth = rss[-1] - rss[1] if len(rss) > 2 else 0.0  # after the first round's warm-up
    result = {
        "model": Path(model).name,
        "rounds": args.rounds,
        "cases": len(battery["cases"]),
        "statuses": battery["cases"],
        "failures": battery["failures"],
        "rss_mb": rss,
        "rss_growth_after_round_1_mb": round(growth, 1),
        "server_alive": alive,
        "schemathesis": schema,
        "tracebacks_in_server_log": log.count("Traceback"),
    }
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    bad = (
        battery["failures"]
        or not alive
        or growth > args.max_rss_growth_mb
        or schema.get("passed") is False
    )
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
