"""A small client for a lineocr server (standard library only, so ``lineocr read --server``
works without the serve extra).

>>> client = OcrClient("http://127.0.0.1:8000")
>>> for result in client.read(["line1.png", "line2.png"], decoder="beam"):
...     print(result["name"], result.get("text"), result.get("error"))

``read`` sends the files in requests of at most the server's images-per-request and body
limits and returns one dict per path, in order: the server's result (``text``,
``confidence``, ``chars``, ``model``, ``timings``) or ``{"ok": False, "error": {...}}`` for
a refused image. An image the server refuses as too many pixels for its request
(``request_too_many_pixels``: "send it in another request") is sent again in a following
request. ``iter_read``
yields the same dicts as each request is answered, reading each file only just before its
request, so memory stays bounded by one request. A :class:`Source` sends bytes made here
(a PDF's page rasterised) in place of a file.

``document`` writes pages read as hOCR, ALTO or PAGE-XML (``POST /v1/documents``) and
``searchable_pdf`` one page and its image as a searchable PDF (``POST /v1/documents/pdf``):

>>> pages = [r for r in client.read(["scan.png"], layout="page")]
>>> alto = client.document(pages, "alto", lang="en")
>>> pdf = client.searchable_pdf(pages[0], "scan.png", dpi=300)
"""

from __future__ import annotations

import json
import mimetypes
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineocr.prediction import Prediction

# The fields of lineocr.serve.schemas.OcrOptions (the client needs no pydantic; a test keeps
# the two equal).
OPTION_FIELDS = (
    "model",
    "decoder",
    "beam_width",
    "pattern",
    "lexicon",
    "preprocess",
    "lm",
    "lm_weight",
    "length_bonus",
    "tta",
    "layout",
    "extract",
)


class ClientError(RuntimeError):
    """The server could not be reached or refused the request as a whole."""

    def __init__(
        self, message: str, status: int | None = None, code: str | None = None, body: Any = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.body = body  # the server's JSON answer, when there was one


class OcrClient:
    def __init__(self, url: str, *, timeout: float = 60.0, batch: int | None = None) -> None:
        try:
            parts = urllib.parse.urlsplit(url)
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError as exc:
            raise ClientError(f"{url!r} is not a valid URL: {exc}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ClientError(f"{url!r} is not an http(s) URL, e.g. http://127.0.0.1:8000")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._batch = batch

    def models(self) -> dict[str, Any]:
        """``GET /v1/models``: the models, lexicons and limits."""
        return self._request("GET", "/v1/models")

    def ready(self) -> bool:
        try:
            return bool(self._request("GET", "/readyz").get("ready"))
        except ClientError:
            return False

    def read(self, paths: Iterable[str | Path | Source], **options: Any) -> list[dict[str, Any]]:
        """Read image files; options as the API's (model, decoder, beam_width, pattern,
        lexicon, preprocess, lm, lm_weight, length_bonus, tta, layout)."""
        return list(self.iter_read(paths, **options))

    def iter_read(
        self, paths: Iterable[str | Path | Source], **options: Any
    ) -> Iterator[dict[str, Any]]:
        """:meth:`read`, one result per path as each request is answered. A file is read
        just before its request is sent, so memory holds one request's files, whatever the
        number of paths; a file larger than the server's whole request limit is refused
        here (``body_too_large``) without being read."""
        unknown = set(options) - set(OPTION_FIELDS)
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}; known: {list(OPTION_FIELDS)}")
        limit, max_body = self._server_limits()
        batch = self._batch or limit
        pending: list[_File] = []
        size = 0  # bytes of the pending request
        # Requests of at most `batch` files and `max_body` bytes, each sent as soon as it
        # is full, so at most one file beyond a request is held.
        for path in paths:
            file = _read_file(path, max_body)
            cost = len(file.data or b"") + _PART_OVERHEAD
            if pending and max_body is not None and size + cost > max_body:
                yield from self._send(pending, options)
                pending, size = [], 0
            pending.append(file)
            size += cost
            if len(pending) >= batch:
                yield from self._send(pending, options)
                pending, size = [], 0
        if pending:
            yield from self._send(pending, options)

    def _send(self, files: list[_File], options: dict[str, Any]) -> list[dict[str, Any]]:
        """One request's results, in order: the server's for the files read, the reason
        for the others."""
        sendable = [(file.name, file.data) for file in files if file.data is not None]
        answers = iter(self._read_each_if_refused(sendable, options) if sendable else [])
        return [
            {"name": file.name, "ok": False, "error": file.error}
            if file.data is None
            else {**next(answers), "name": file.name}
            for file in files
        ]

    def read_bytes(
        self, files: Sequence[tuple[str, bytes]], **options: Any
    ) -> list[dict[str, Any]]:
        """One request with these (name, bytes) files; returns the per-image results."""
        body, content_type = _multipart(files, options)
        try:
            answer = self._request("POST", "/v1/ocr", body, content_type)
        except ClientError as exc:
            # Every image refused: the error answer still has one result per image.
            if not (isinstance(exc.body, dict) and isinstance(exc.body.get("results"), list)):
                raise
            answer = exc.body
        return list(answer["results"])

    def _read_each_if_refused(
        self, files: Sequence[tuple[str, bytes]], options: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """:meth:`read_bytes`; a request refused for its size or time (too large, a reset
        connection, a timeout) is sent again one file at a time, so only the file that
        cannot be read is lost, with an error naming it. Refusals of the options (an unknown
        model, a bad pattern) still raise: they would refuse every file. An image the server
        refused as too many pixels for this request (the others read) is sent again in a
        following request, as the server advises: such images together while fewer are
        refused than were sent, else each alone; refused alone, it keeps that error."""
        try:
            results = self.read_bytes(files, **options)
        except ClientError as exc:
            # A refused connection says the server is gone, not that this request was too
            # large: every file sent alone would be refused the same way.
            if exc.status not in _REQUEST_SIZE_OR_TIME or exc.code == _CONNECTION_REFUSED:
                raise
            if len(files) > 1:
                return [r for one in files for r in self._read_each_if_refused([one], options)]
            name = files[0][0]
            code = exc.code or ("request_failed" if exc.status is None else f"http_{exc.status}")
            error = {"status": exc.status, "code": code, "message": f"{name}: {exc}"}
            return [{"name": name, "ok": False, "error": error}]
        again = [
            i
            for i, result in enumerate(results)
            if (result.get("error") or {}).get("code") == _REQUEST_TOO_MANY_PIXELS
        ]
        if len(files) > 1 and again:  # alone, an image is never sent again: it is over the limit
            # together while the set shrinks (the server read some), else one at a time
            groups = [again] if len(again) < len(files) else [[i] for i in again]
            for group in groups:
                answers = self._read_each_if_refused([files[i] for i in group], options)
                for i, answer in zip(group, answers, strict=True):
                    results[i] = answer
        return results

    def _server_limits(self) -> tuple[int, int | None]:
        """(images per request, body bytes per request) the server takes."""
        try:
            limits = self.models()["limits"]
        except (ClientError, KeyError, TypeError):
            return 16, None
        try:
            batch = int(limits["max_images_per_request"])
        except (KeyError, TypeError, ValueError):
            batch = 16
        try:
            max_body: int | None = int(limits["max_body_bytes"])
        except (KeyError, TypeError, ValueError):
            max_body = None
        return batch, max_body

    def document(
        self, pages: Sequence[dict[str, Any]], format: str, *, lang: str | None = None
    ) -> str:
        """``POST /v1/documents``: ``pages`` (result slots of pages read, as :meth:`read`
        returns them: ``layout`` page; the name and optional page ``number`` of each are
        written into the document) as one hOCR, ALTO or PAGE-XML (one page) document.
        Raises :class:`ClientError` (404: a server older than the endpoint)."""
        body = json.dumps({"format": format, "pages": list(pages), "lang": lang}).encode()
        data = self._call("POST", "/v1/documents", body, "application/json", "*/*")
        return data.decode("utf-8")

    def searchable_pdf(
        self,
        page: dict[str, Any],
        image: str | Path | bytes,
        *,
        name: str | None = None,
        dpi: float = 300.0,
    ) -> bytes:
        """``POST /v1/documents/pdf``: a page read (its result slot) over the image it was
        read from (a path, or its bytes: then ``name`` names it) as a one-page searchable
        PDF; ``dpi``, the image's resolution, sets the page's size. Raises
        :class:`ClientError`."""
        if isinstance(image, bytes):
            data, filename = image, name or "image"
        else:
            data, filename = Path(image).read_bytes(), name or str(image)
        body, content_type = _multipart(
            [(filename, data)], {"page": json.dumps(page), "dpi": repr(float(dpi))}, "file"
        )
        return self._call("POST", "/v1/documents/pdf", body, content_type, "application/pdf")

    def has_documents(self) -> bool:
        """Whether the server writes documents (``POST /v1/documents``, lineocr 0.x with
        issue 34's outputs): asked without sending a page (a GET: 405 where the endpoint
        is, 404 on an older server). Raises :class:`ClientError` when it cannot tell."""
        try:
            self._call("GET", "/v1/documents")
        except ClientError as exc:
            if exc.status == 405:
                return True
            if exc.status == 404:
                return False
            raise
        return True

    def limit(self, name: str, default: int) -> int:
        """One of the server's ``/v1/models`` limits (``default`` when it does not say)."""
        try:
            return int(self.models()["limits"][name])
        except (KeyError, TypeError, ValueError):
            return default

    def _request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> Any:
        return json.loads(self._call(method, path, body, content_type))

    def _call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str | None = None,
        accept: str = "application/json",
    ) -> bytes:
        """The answer's body; an error answer or no answer is a :class:`ClientError`."""
        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as exc:
            try:
                payload = json.loads(exc.read())
            except (ValueError, OSError):
                payload = None
            error = (payload or {}).get("error", {}) if isinstance(payload, dict) else {}
            if not isinstance(error, dict):  # another server's error shape ({"detail": ...})
                error = {}
            message = f"{self.url}{path}: {exc.code} {error.get('message', exc.reason)}"
            raise ClientError(message, exc.code, error.get("code"), payload) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            code = _CONNECTION_REFUSED if isinstance(reason, ConnectionRefusedError) else None
            raise ClientError(f"cannot reach {self.url}: {reason}", code=code) from None


@dataclass(frozen=True)
class ServerPage:
    """A page as a server read it (a result with ``"layout": "page"``): what
    ``lineocr read`` writes for a page read here (:class:`lineocr.page.Page`'s ``text``,
    ``confidence``, ``block_text`` and ``to_dict``), without numpy or OpenCV."""

    result: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.result["text"])

    @property
    def confidence(self) -> float:
        return float(self.result["confidence"])

    @property
    def blocks(self) -> list[list[dict[str, Any]]]:
        """The lines, block by block, in reading order."""
        blocks: dict[int, list[dict[str, Any]]] = {}
        for line in self.result["lines"]:
            blocks.setdefault(int(line["block"]), []).append(line)
        return [blocks[k] for k in sorted(blocks)]

    @property
    def block_text(self) -> str:
        """The lines in reading order, blocks separated by a blank line."""
        return "\n\n".join("\n".join(ln["text"] for ln in block) for block in self.blocks)

    def to_dict(self) -> dict[str, Any]:
        """As :meth:`lineocr.page.Page.to_dict` (a line's characters, and its words'
        quadrilaterals, left out, as there; its words where they were placed)."""
        keys = ("text", "confidence", "box", "polygon", "block")

        def line_dict(line: dict[str, Any]) -> dict[str, Any]:
            out = {k: line[k] for k in keys}
            if line.get("words"):
                word_keys = ("text", "confidence", "box")
                out["words"] = [{k: w[k] for k in word_keys} for w in line["words"]]
            return out

        return {
            "text": self.text,
            "confidence": self.confidence,
            "lines": [line_dict(line) for line in self.result["lines"]],
            "rotation": self.result["rotation"],
            "skew": self.result["skew"],
            "size": self.result["size"],
        }


def read_on_server(  # noqa: PLR0913 - the read's callbacks and what each path sends
    url: str,
    paths: Sequence[str],
    on_result: Callable[[str, Prediction | ServerPage], None],
    on_error: Callable[[str, str], None],
    *,
    model: str | None = None,
    sources: Sequence[str | Source] | None = None,
    layouts: Sequence[str | None] | None = None,
    **options: Any,
) -> None:
    """``lineocr read --server URL``: read ``paths`` on a server, calling back per path in
    order. ``model`` is a model loaded there; the bundled default name ("printed") falls
    back to the server's default model when the server does not have it. ``lexicon`` names
    one of the server's lexicons, ``lm`` one of its language models; a page (``layout``)
    is called back as a :class:`ServerPage`. ``sources``, one per path, is what is sent
    for it (default: the file at the path); ``layouts``, one per path, its ``layout``
    where it is not the one ``options`` give (None: theirs). Raises
    :class:`ClientError` when the server cannot be used at all (unreachable, unknown model,
    bad options)."""
    client = OcrClient(url)
    info = client.models()
    names = [m["name"] for m in info.get("models", [])]
    if model is not None and model not in names:
        from lineocr.zoo import DEFAULT_MODEL

        if model != DEFAULT_MODEL:
            raise ClientError(f"{url} has no model {model!r}; it has: {', '.join(names)}")
        model = None
    for name in ("lexicon", "lm"):  # names of the server's lexicons and language models
        if options.get(name) is not None:
            options[name] = str(options[name])
    sent = {k: v for k, v in {"model": model, **options}.items() if v is not None}
    sent_items = list(paths) if sources is None else list(sources)
    own = [None] * len(paths) if layouts is None else list(layouts)
    start = 0
    while start < len(paths):  # runs of paths read with the same layout, in order
        end = start + 1
        while end < len(paths) and own[end] == own[start]:
            end += 1
        run = sent if own[start] is None else {**sent, "layout": own[start]}
        results = client.iter_read(sent_items[start:end], **run)
        for path, result in zip(paths[start:end], results, strict=True):
            _call_back(path, result, on_result, on_error)
        start = end


def _call_back(
    path: str,
    result: dict[str, Any],
    on_result: Callable[[str, Prediction | ServerPage], None],
    on_error: Callable[[str, str], None],
) -> None:
    if result.get("ok") and result.get("layout") == "page":
        on_result(path, ServerPage(result))
    elif result.get("ok"):
        on_result(path, Prediction.from_dict(result))
    else:
        message = str((result.get("error") or {}).get("message", "not read"))
        name = str(result.get("name", path))
        for prefix in (f"{name}: ", f"{Path(name).name}: "):
            message = message.removeprefix(prefix)
        on_error(path, message)


# Statuses (None: no answer, the connection dropped) of a request refused for its size or the
# time it took rather than for its options.
_REQUEST_SIZE_OR_TIME = frozenset({None, 408, 413, 502, 503, 504})
_CONNECTION_REFUSED = "connection_refused"  # a ClientError's code: no server listens there
# A slot's error code: the image would take its request past the server's pixels per request
# ("send it in another request").
_REQUEST_TOO_MANY_PIXELS = "request_too_many_pixels"
_PART_OVERHEAD = 512  # bytes of multipart headers per file, generously


@dataclass(frozen=True)
class _File:
    """A path to send: its bytes, or (``data`` None) the error result that says why not."""

    name: str
    data: bytes | None
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class Source:
    """An image to send that is made here rather than read from a file (a PDF's page
    rasterised, a TIFF's frame): its ``name`` and ``load``, called just before its request
    is sent, which gives its bytes or raises (``ValueError``, ``OSError``) with the reason
    it cannot, said as that image's error."""

    name: str
    load: Callable[[], bytes]


def _read_file(path: str | Path | Source, max_body: int | None) -> _File:
    """The file's bytes, unless it cannot be read or is larger than a whole request the
    server takes (``max_body``; then it is not read: the server would refuse it)."""
    if isinstance(path, Source):
        try:
            data = path.load()
        except (ValueError, OSError) as exc:
            message = f"{path.name}: {getattr(exc, 'reason', None) or exc}"
            return _File(
                path.name, None, {"status": None, "code": "unreadable_file", "message": message}
            )
        if max_body is not None and len(data) > max_body:
            return _File(path.name, None, _too_large(path.name, len(data), max_body))
        return _File(path.name, data)
    name = str(path)
    path = Path(path)
    try:
        size = path.stat().st_size
        if max_body is not None and size > max_body:
            return _File(name, None, _too_large(name, size, max_body))
        return _File(name, path.read_bytes())
    except OSError as exc:
        message = f"{name}: {exc.strerror or exc}"
        return _File(name, None, {"status": None, "code": "unreadable_file", "message": message})


def _too_large(name: str, size: int, max_body: int) -> dict[str, Any]:
    message = (
        f"{name}: {size:,} bytes, more than the server takes in a request ({max_body:,} bytes)"
    )
    return {"status": 413, "code": "body_too_large", "message": message}


def _multipart(
    files: Sequence[tuple[str, bytes]], options: dict[str, Any], file_field: str = "files"
) -> tuple[bytes, str]:
    boundary = "lineocr-" + secrets.token_hex(16)
    parts: list[bytes] = []

    def field(name: str, value: str) -> None:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )

    for key, value in options.items():
        if value is None:
            continue
        if key == "preprocess":
            for op in value if isinstance(value, (list, tuple)) else [value]:
                field(key, str(op))
        elif key == "extract":  # {NAME: PATTERN} or NAME=PATTERN items: one field each
            items = value.items() if isinstance(value, dict) else None
            for item in [f"{k}={v}" for k, v in items] if items is not None else value:
                field(key, str(item))
        elif isinstance(value, bool):  # as the API's form fields spell it
            field(key, "true" if value else "false")
        else:
            field(key, str(value))
    for name, data in files:
        filename = Path(name).name.replace('"', "_").replace("\r", "_").replace("\n", "_")
        ctype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
            f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
