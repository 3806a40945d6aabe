"""Hostile-input battery against `lineocr serve` on loopback: every case must get a 4xx JSON
error, the server must keep serving (a good request after each case), and its memory must
stay bounded over repeated rounds. Optionally a schemathesis run against /openapi.json
(no 5xx allowed), and a slow-client case: N sockets that send part of a request head and
then nothing, held while good requests are sent; each good request must be answered 200
within the request timeout, and the server's log must grow by less than 1 MB.

    python benchmarks/hostile_inputs.py                   # 3 rounds of the battery
    python benchmarks/hostile_inputs.py --rounds 5 --schemathesis-seconds 60
    python benchmarks/hostile_inputs.py --rounds 0 --schemathesis-seconds 0 \
        --slow-sockets 3000 --slow-hold-s 20 [--server-nofile 2048]
    python benchmarks/hostile_inputs.py --documents-only     # hostile PDFs and TIFFs
    python benchmarks/hostile_inputs.py --rounds 0 --schemathesis-seconds 0 \
        --marks-pages 6 [--marks-timeout-s 3]

The documents battery runs `lineocr read` (no server) on hostile documents beside a good
PDF: encrypted, truncated, junk after a PDF header, 5,000 pages, a 200 x 200 inch page, a
TIFF of 5,000 frames. Each must be one error line, the good PDF read, the whole run within
--documents-max-s seconds and --documents-max-rss-mb of peak memory.

The marks-pages case sends crafted pages (3000 x 3000 letter-sized marks with dots, ~20 KB
as PNG, seconds of layout each) at once to a server whose request timeout is
--marks-timeout-s, with a one-line request among them: each page must be answered (read,
or 503 page_timeout) within its timeout and a little, never 500, the line answered 200, and
the page threads free afterwards: a small page sent next is read (200), not held up behind
layouts nobody waits for.

Bounded in count and time; binds 127.0.0.1 only; the server it starts is always stopped.
Exit status 1 if any case was not a 4xx, the server stopped serving, memory grew more
than --max-rss-growth-mb, the slow-client case failed, or the documents battery did.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
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
from bench_serve import ServerProcess, line_png, multipart_request, read_response, resolve_model


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
        ("bad extract pattern", {**files("a.png", good), "data": {"extract": "x=(unclosed"}}),
        (
            "exponential extract pattern",
            {**files("a.png", good), "data": {"extract": "x=(a|b)*a(a|b){16}"}},
        ),
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


def marks_page_png(side: int = 3000) -> bytes:
    """The crafted page of tests/pages_helpers.marks_page: letter-sized marks on a 16 x 14
    grid, a dot under each (40,000 line pieces at 3000 px), as a PNG of about 20 KB."""
    page = np.full((side, side), 255, np.uint8)
    for y in range(4, side - 12, 14):
        for x in range(2, side - 8, 16):
            page[y : y + 7, x : x + 5] = 0
            page[y + 9, x + 2] = 0
    buf = io.BytesIO()
    Image.fromarray(page).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def small_page(line: bytes, lines: int = 4) -> bytes:
    """A small page: the line image ``lines`` times, one under another."""
    image = np.asarray(Image.open(io.BytesIO(line)).convert("L"))
    h, w = image.shape
    page = np.full((lines * h * 2 + h, w + 2 * h), 255, np.uint8)
    for k in range(lines):
        page[h + 2 * k * h : 2 * h + 2 * k * h, h : h + w] = image
    buf = io.BytesIO()
    Image.fromarray(page).save(buf, "PNG")
    return buf.getvalue()


def run_marks_pages(model: str, good: bytes, args: argparse.Namespace) -> dict[str, Any]:
    """Crafted pages at once on a server with a short request timeout, a line among them:
    each page answered within its timeout (+2 s), the line 200, then a page read again."""
    timeout = args.marks_timeout_s
    page = marks_page_png()
    extra = ("--threads", "1", "--timeout", str(timeout))
    with (
        ServerProcess(model, *extra) as server,
        httpx.Client(base_url=server.url, timeout=timeout + 30) as http,
    ):

        def post_page(_: int, data: bytes = page) -> tuple[int, float, str]:
            started = time.perf_counter()
            r = http.post(
                "/v1/ocr",
                data={"layout": "page"},
                files={"files": ("marks.png", data, "image/png")},
            )
            code = (r.json().get("error") or {}).get("code", "") if r.status_code != 200 else ""
            return r.status_code, time.perf_counter() - started, code

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(args.marks_pages + 1) as pool:
            pages = list(pool.map(post_page, range(args.marks_pages)))
        line = http.post("/v1/ocr", files={"files": ("ok.png", good, "image/png")})
        again = post_page(0, small_page(good))  # read in time once the page threads are free
        alive = server.alive()
        log = server.output()
    failures = [
        f"page {i}: {status} {code} after {s:.1f} s"
        for i, (status, s, code) in enumerate(pages)
        if status not in (200, 503) or s > timeout + 2.0
    ]
    if again[0] != 200:  # the threads still laying out the crafted pages
        failures.append(f"a small page after them: {again[0]} {again[2]} after {again[1]:.1f} s")
    if line.status_code != 200:
        failures.append(f"line: {line.status_code}")
    if not alive or "Traceback" in log:
        failures.append("server stopped or logged a traceback")
    return {
        "page_bytes": len(page),
        "request_timeout_s": timeout,
        "pages": [{"status": st, "seconds": round(s, 2), "code": c} for st, s, c in pages],
        "page_after": {"status": again[0], "seconds": round(again[1], 2), "code": again[2]},
        "line_status": line.status_code,
        "failures": failures,
        "passed": not failures,
    }


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


SLOW_HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"  # and then nothing
MAX_SLOW_SOCKETS = 30_000
LOG_LIMIT_BYTES = 1024 * 1024


def raise_own_fd_limit(needed: int) -> int:
    """This process's soft open-files limit raised towards ``needed`` (up to the hard)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, needed)) if hard != resource.RLIM_INFINITY else max(soft, needed)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


async def good_request(host: str, port: int, request: bytes, timeout: float) -> tuple[str, float]:
    """One complete POST /v1/ocr on a new connection: its status (or error) and seconds."""
    t0 = time.monotonic()
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.write(request)
        status, _ = await asyncio.wait_for(read_response(reader), timeout - (time.monotonic() - t0))
        outcome = str(status)
    except (TimeoutError, asyncio.TimeoutError):
        outcome = "timeout"
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        outcome = type(exc).__name__
    finally:
        if writer is not None:
            writer.close()
    return outcome, time.monotonic() - t0


async def slow_clients(
    server: ServerProcess, sockets: int, hold_s: float, image: bytes, timeout: float
) -> dict[str, Any]:
    """Open ``sockets`` connections that send part of a head and then nothing, hold them
    ``hold_s`` seconds while a good request goes every half second, then close them all."""
    host, port = server.url.removeprefix("http://").split(":")
    request = multipart_request(host, int(port), image)
    errors: dict[str, int] = {}
    opened: list[float] = []
    closed_after: list[float] = []  # seconds each slow socket lived until the server closed it
    writers: list[asyncio.StreamWriter] = []
    gate = asyncio.Semaphore(256)  # connects in flight: within the listen backlog

    async def hold_one() -> None:
        async with gate:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, int(port)), 10
                )
                writer.write(SLOW_HEAD)
                await writer.drain()
            except (OSError, TimeoutError, asyncio.TimeoutError) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                return
        writers.append(writer)
        start = time.monotonic()
        opened.append(start)
        with contextlib.suppress(OSError):
            await reader.read()  # b"" (or an answer, then the end) once the server closes it
        closed_after.append(time.monotonic() - start)

    start = time.monotonic()
    holders = [asyncio.create_task(hold_one()) for _ in range(sockets)]
    good: list[tuple[str, float]] = []
    peak_fds = 0
    while time.monotonic() - start < hold_s:
        peak_fds = max(peak_fds, server.open_files())
        good.append(await good_request(host, int(port), request, timeout))
        await asyncio.sleep(0.5)
    still_open = len(writers) - len(closed_after)
    for writer in writers:
        writer.close()
    for task in holders:
        task.cancel()
    await asyncio.gather(*holders, return_exceptions=True)
    statuses: dict[str, int] = {}
    for outcome, _ in good:
        statuses[outcome] = statuses.get(outcome, 0) + 1
    latencies = sorted(seconds for _, seconds in good)
    return {
        "slow_sockets": sockets,
        "opened": len(opened),
        "connect_errors": errors,
        "open_seconds": round(opened[-1] - start, 1) if opened else None,
        "closed_by_server": len(closed_after),
        "still_open_at_end": still_open,
        "closed_after_s_median": round(float(np.median(closed_after)), 2) if closed_after else None,
        "server_open_files_peak": peak_fds,
        "good_requests": len(good),
        "good_statuses": statuses,
        "good_p50_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
        "good_max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
    }


def run_slow_clients(server: ServerProcess, args: argparse.Namespace) -> dict[str, Any]:
    sockets = min(args.slow_sockets, MAX_SLOW_SOCKETS)
    raise_own_fd_limit(sockets + 256)
    log_before = len(server.output().encode())
    result = asyncio.run(
        slow_clients(server, sockets, min(args.slow_hold_s, 120.0), line_png(), 30.0)
    )
    time.sleep(2.0)  # the server's last log lines
    grown = server.output().encode()[log_before:].decode(errors="replace")
    ok = result["good_statuses"].get("200", 0)
    result.update(
        server_log_bytes=len(grown.encode()),
        server_log_lines=grown.count("\n"),
        server_log_tracebacks=grown.count("Traceback"),
        server_log_tail=grown.splitlines()[-6:],
        passed=ok == result["good_requests"] > 0 and len(grown.encode()) < LOG_LIMIT_BYTES,
    )
    return result


def hostile_documents(root: Path) -> tuple[Path, dict[str, Path]]:
    """A good 1-page PDF and the hostile documents (name -> file), written under ``root``."""
    import pypdfium2 as pdfium
    from fpdf import FPDF

    def blank(path: Path, pages: int, size: tuple[float, float]) -> Path:
        pdf = pdfium.PdfDocument.new()
        for _ in range(pages):
            pdf.new_page(*size)
        pdf.save(str(path))
        pdf.close()
        return path

    good = root / "good.pdf"
    page = FPDF(unit="pt")
    page.add_page(format=(300, 60))
    page.image(Image.open(io.BytesIO(line_png())), x=10, y=10, h=40)
    page.output(str(good))
    locked = FPDF(unit="pt")
    locked.add_page(format=(200, 100))
    locked.set_encryption(owner_password="owner", user_password="user")
    locked.output(str(root / "encrypted.pdf"))
    long_pdf = blank(root / "5000-pages.pdf", 5000, (612, 792))
    data = long_pdf.read_bytes()
    (root / "truncated.pdf").write_bytes(data[: len(data) // 2])
    (root / "junk.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(100_000))
    frame = Image.new("L", (64, 64), 255)
    frame.save(root / "5000-frames.tif", save_all=True, append_images=[frame] * 4999)
    hostile = {
        "encrypted PDF": root / "encrypted.pdf",
        "truncated PDF": root / "truncated.pdf",
        "junk after a PDF header": root / "junk.pdf",
        "5,000 pages": long_pdf,
        "200 x 200 inch page (PDF bomb)": blank(root / "bomb.pdf", 1, (14400, 14400)),
        "TIFF of 5,000 frames": root / "5000-frames.tif",
    }
    return good, hostile


def run_documents(model: str, max_s: float, max_rss_mb: float) -> dict[str, Any]:
    """`lineocr read` on the hostile documents and a good PDF, in a child process whose
    wall time and peak memory are measured."""
    import resource

    with tempfile.TemporaryDirectory() as tmp:
        good, hostile = hostile_documents(Path(tmp))
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "lineocr", "read", "-m", model, "-f", "tsv", str(good)]
            + [str(p) for p in hostile.values()],
            check=False,
            capture_output=True,
            text=True,
            timeout=max_s * 4,
        )
        seconds = time.monotonic() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    errors = run.stderr.splitlines()
    cases = {}
    for name, path in hostile.items():
        said = [e for e in errors if e.startswith(f"error: {path}")]
        cases[name] = said[0].split(": ", 2)[-1] if len(said) == 1 else f"not one line: {said}"
    good_read = [ln for ln in run.stdout.splitlines() if ln.startswith(f"{good}#1\t")]
    failures = [n for n, why in cases.items() if why.startswith("not one line")]
    if run.returncode != 1:
        failures.append(f"exit status {run.returncode}, not 1")
    if len(good_read) != 1:
        failures.append("the good PDF was not read")
    if "Traceback" in run.stderr:
        failures.append("a traceback")
    if seconds > max_s:
        failures.append(f"took {seconds:.1f} s, more than {max_s:g}")
    if before == 0 and peak_mb > max_rss_mb:  # ru_maxrss covers this child only if first
        failures.append(f"peak memory {peak_mb:.0f} MB, more than {max_rss_mb:g}")
    return {
        "cases": cases,
        "good": good_read[0] if good_read else None,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_mb, 1),
        "failures": failures,
        "passed": not failures,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="bundled name or .onnx path (default: see bench_serve)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-rss-growth-mb", type=float, default=150.0)
    parser.add_argument(
        "--schemathesis-seconds", type=int, default=60, help="0 to skip the schemathesis run"
    )
    parser.add_argument(
        "--slow-sockets", type=int, default=0, help="slow-client case: sockets (0: skip it)"
    )
    parser.add_argument("--slow-hold-s", type=float, default=20.0, help="how long they are held")
    parser.add_argument(
        "--server-nofile", type=int, help="the server's open-files limit (soft and hard)"
    )
    parser.add_argument(
        "--documents", action="store_true", help="also run the hostile-documents battery"
    )
    parser.add_argument(
        "--documents-only", action="store_true", help="only the hostile-documents battery"
    )
    parser.add_argument("--documents-max-s", type=float, default=60.0)
    parser.add_argument("--documents-max-rss-mb", type=float, default=1500.0)
    parser.add_argument(
        "--marks-pages", type=int, default=0, help="crafted pages sent at once (0: skip it)"
    )
    parser.add_argument(
        "--marks-timeout-s", type=float, default=3.0, help="the request timeout for them"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    good = line_png()
    documents = (
        run_documents(args.model or "printed", args.documents_max_s, args.documents_max_rss_mb)
        if args.documents or args.documents_only
        else {"skipped": "no --documents"}
    )
    if args.documents_only:
        print(json.dumps({"documents": documents}, indent=1, ensure_ascii=False))
        return 0 if documents["passed"] else 1
    with tempfile.TemporaryDirectory() as tmp:
        model = resolve_model(args.model, Path(tmp))
        with ServerProcess(model, "--threads", "1", nofile=args.server_nofile) as server:
            battery = run_battery(server, good, args.rounds)
            slow = (
                run_slow_clients(server, args)
                if args.slow_sockets > 0
                else {"skipped": "--slow-sockets 0"}
            )
            schema = (
                run_schemathesis(server.url, args.schemathesis_seconds)
                if args.schemathesis_seconds > 0
                else {"skipped": "--schemathesis-seconds 0"}
            )
            alive = server.alive()
            log = server.output()
        marks = (
            run_marks_pages(model, good, args)
            if args.marks_pages > 0
            else {"skipped": "--marks-pages 0"}
        )
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
        "slow_clients": slow,
        "marks_pages": marks,
        "tracebacks_in_server_log": log.count("Traceback"),
        "documents": documents,
    }
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    bad = (
        battery["failures"]
        or not alive
        or growth > args.max_rss_growth_mb
        or schema.get("passed") is False
        or slow.get("passed") is False
        or documents.get("passed") is False
        or marks.get("passed") is False
    )
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
