"""The HTTP API through httpx's ASGI transport: every endpoint, every error code, the limits,
metrics, models loaded once, micro-batching and draining on shutdown.

Most tests use :class:`StubRecognizer` (``tests/serve_helpers.py``), a deterministic stand-in
with the ``Recognizer`` contract whose text is the decoded image's size ("40x20"), so that each
answer proves the image went through the server's decoding; the tests at the end run the real
runtime on the shared tiny ONNX model.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import struct
import time
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from lineocr.images import ImageError
from lineocr.lm import CharNgramLM
from lineocr.runtime import CancelToken, ReadCancelledError
from lineocr.serve import Settings, SettingsError, create_app
from lineocr.serve.errors import image_error
from lineocr.serve.limits import sniff_format
from tests.serve_helpers import LiveServer, StubRecognizer, counting_loader, serving

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def stub() -> StubRecognizer:
    return StubRecognizer()


@pytest.fixture
async def client(stub: StubRecognizer, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    words = tmp_path / "cities.txt"
    words.write_text("paris\nlondon\n\nparis\n", encoding="utf-8")
    lm = CharNgramLM.fit(["paris london", "london paris"], order=3).save(tmp_path / "lm.json")
    load, _ = counting_loader(stub, StubRecognizer("other"))
    settings = Settings(
        models=("stub", "other"),
        lexicons={"cities": str(words)},
        language_models={"cities": str(lm)},
        max_images_per_request=4,
        batch_timeout_ms=2,
    )
    async with serving(settings, load) as c:
        yield c


# -- images -----------------------------------------------------------------------------


def png(width: int = 40, height: int = 20, fmt: str = "PNG") -> bytes:
    img = np.full((height, width), 255, np.uint8)
    img[height // 4 : -height // 4, 2:-2] = 0
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, fmt)
    return buf.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` with almost no pixel data: decoding
    it would fail, so a 413 proves the size was checked from the header first."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def files(*items: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, data, "application/octet-stream")) for name, data in items]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"]["status"] == status
    assert body["error"]["message"]
    assert "Traceback" not in response.text
    if code is not None:
        assert body["error"]["code"] == code, body
    return body


# -- endpoints --------------------------------------------------------------------------


async def test_health_ready_and_models(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "models": ["stub", "other"], "failed": {}}
    body = (await client.get("/v1/models")).json()
    assert [m["name"] for m in body["models"]] == ["stub", "other"]
    assert [m["default"] for m in body["models"]] == [True, False]
    card = body["models"][0]
    assert card["version"] == "1.2.3" and card["height"] == 32
    assert card["card"]["metrics"] == {"cer": 0.01}
    assert body["lexicons"] == ["cities"]
    assert body["language_models"] == ["cities"]
    assert "otsu" in body["preprocess_ops"]
    assert body["limits"]["max_images_per_request"] == 4
    assert body["limits"]["formats"] == ["PNG", "JPEG", "WEBP", "TIFF", "BMP"]
    assert body["limits"]["tta"] is True


async def test_a_server_without_tta_refuses_it_and_reads_the_rest() -> None:
    stub = StubRecognizer()
    load, _ = counting_loader(stub)
    async with serving(Settings(models=("stub",), allow_tta=False), load) as c:
        refused = await c.post("/v1/ocr", files=files(("a.png", png())), data={"tta": "true"})
        plain = await c.post("/v1/ocr", files=files(("a.png", png())), data={"tta": "false"})
        limits = (await c.get("/v1/models")).json()["limits"]
    assert_error(refused, 422, "tta_disabled")
    assert plain.status_code == 200 and plain.json()["results"][0]["text"] == "40x20"
    assert limits["tta"] is False
    assert [call["options"] for call in stub.calls] == [{}]  # the refused request read nothing
    assert Settings.from_env({"LINEOCR_SERVE_ALLOW_TTA": "false"}).allow_tta is False


async def test_page_docs_and_openapi(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "<canvas" in page.text and "/static/app.js" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    for asset in ("/static/app.js", "/static/style.css", "/favicon.ico"):
        response = await client.get(asset)
        assert response.status_code == 200
        assert "https://" not in response.text
    spec = (await client.get("/openapi.json")).json()
    body = spec["paths"]["/v1/ocr"]["post"]["requestBody"]["content"]
    assert set(body) == {"multipart/form-data", "application/json"}
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower()  # Swagger UI is served by the app: works offline
    assert (await client.get("/docs-assets/swagger-ui-bundle.js")).status_code == 200
    assert (await client.get("/docs-assets/swagger-ui.css")).status_code == 200


async def test_openapi_form_fields_are_the_options_the_server_accepts(
    client: httpx.AsyncClient,
) -> None:
    """The multipart form is described from OcrOptions, the model that checks it: every
    option the server accepts (tta too) is a form field, with the same bounds."""
    from lineocr.serve.schemas import OcrOptions

    spec = (await client.get("/openapi.json")).json()
    body = spec["paths"]["/v1/ocr"]["post"]["requestBody"]["content"]
    form = body["multipart/form-data"]["schema"]["properties"]
    assert set(form) == {"files"} | set(OcrOptions.model_fields)
    assert form["tta"]["type"] == "boolean"
    assert form["beam_width"]["type"] == "integer" and form["beam_width"]["maximum"] == 1024
    assert form["decoder"]["enum"] == ["greedy", "beam"]
    assert form["preprocess"]["type"] == "array" and form["preprocess"]["maxItems"] == 32


async def test_read_one_image_multipart(client: httpx.AsyncClient, stub: StubRecognizer) -> None:
    response = await client.post("/v1/ocr", files=files(("line.png", png(40, 20))))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == {"name": "stub", "version": "1.2.3"}
    (result,) = body["results"]
    assert result["ok"] and result["name"] == "line.png" and result["index"] == 0
    assert result["text"] == "40x20"
    assert [c["char"] for c in result["chars"]] == list("40x20")
    assert [c["confidence"] for c in result["chars"]][:3] == [0.95, 0.7, 0.3]
    assert result["confidence"] == 0.5
    assert result["model"] == {"name": "stub", "version": "1.2.3"}
    assert set(result["timings"]) == {"decode_ms", "queue_ms", "inference_ms", "batch_size"}
    assert body["timings"]["total_ms"] > 0
    assert stub.calls[-1]["options"] == {}


async def test_every_supported_format(client: httpx.AsyncClient) -> None:
    for fmt in ("PNG", "JPEG", "WEBP", "TIFF", "BMP"):
        response = await client.post("/v1/ocr", files=files((f"x.{fmt}", png(30, 12, fmt))))
        assert response.status_code == 200, (fmt, response.text)
        assert response.json()["results"][0]["text"] == "30x12"


async def test_read_json_base64(client: httpx.AsyncClient) -> None:
    payload = {
        "images": [
            {"data": b64(png(50, 10)), "name": "a"},
            {"data": "data:image/png;base64," + b64(png(20, 10))},
            {"data": "not base64!"},
        ],
        "model": "other",
    }
    response = await client.post("/v1/ocr", json=payload)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"]["name"] == "other"
    a, b, c = body["results"]
    assert (a["name"], a["text"]) == ("a", "50x10")
    assert (b["name"], b["text"]) == ("image 2", "20x10")
    assert not c["ok"] and c["error"]["status"] == 400 and c["error"]["code"] == "invalid_base64"


async def test_wrapped_base64_is_read(client: httpx.AsyncClient) -> None:
    # `base64` without -w0 and MIME wrap lines at 76 characters; the whitespace is not data.
    wrapped = base64.encodebytes(png(50, 10)).decode()
    assert "\n" in wrapped
    response = await client.post("/v1/ocr", json={"images": [{"data": wrapped}]})
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["text"] == "50x10"


async def test_query_parameters_are_refused_not_ignored(client: httpx.AsyncClient) -> None:
    body = assert_error(
        await client.post("/v1/ocr?model=nosuch", files=files(("a.png", png()))),
        422,
        "invalid_request",
    )
    assert "query" in body["error"]["message"] and "model" in body["error"]["message"]


async def test_text_in_the_files_field(client: httpx.AsyncClient) -> None:
    body = assert_error(
        await client.post("/v1/ocr", data={"files": "line.png"}, files=files(("a.png", png()))),
        422,
        "invalid_request",
    )
    assert "not a file" in body["error"]["message"]


async def test_broken_image_names_only_the_servers_formats(client: httpx.AsyncClient) -> None:
    # WebP's first bytes with a broken body: the message lists what the server takes.
    data = b"RIFF\x20\x00\x00\x00WEBP"
    body = assert_error(await client.post("/v1/ocr", files=files(("x.webp", data))), 422)
    message = body["error"]["message"]
    assert "WebP" in message and "GIF" not in message and "PPM" not in message


async def test_per_image_errors_keep_the_others(client: httpx.AsyncClient) -> None:
    good = png(40, 20)
    response = await client.post(
        "/v1/ocr",
        files=files(
            ("good.png", good),
            ("notes.txt", b"hello"),
            ("cut.png", good[: len(good) // 2]),
            ("empty.png", b""),
        ),
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["ok"] for r in results] == [True, False, False, False]
    assert results[0]["text"] == "40x20"
    assert [r["error"]["status"] for r in results[1:]] == [415, 422, 400]
    assert [r["name"] for r in results] == ["good.png", "notes.txt", "cut.png", "empty.png"]


async def test_all_images_refused(client: httpx.AsyncClient) -> None:
    body = assert_error(
        await client.post("/v1/ocr", files=files(("a.txt", b"abc"), ("b.bin", b"\x00\x01"))), 415
    )
    assert len(body["results"]) == 2 and not any(r["ok"] for r in body["results"])
    mixed = await client.post("/v1/ocr", files=files(("a.txt", b"abc"), ("b.png", b"")))
    assert_error(mixed, 422, "unreadable_images")


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 400, "empty_image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, 422, "unreadable_image"),  # corrupt header
        (png_header(0, 10), 422, "unreadable_image"),  # zero-size
        (png_header(6000, 5000), 413, "image_too_large"),  # 30 MP from the header
        (png_header(100_000, 100_000), 413, "image_too_large"),  # decompression bomb
        (png(40, 20)[:-30], 422, "unreadable_image"),  # truncated
        (bytes(range(256)) * 8, 415, "unsupported_format"),  # random bytes
        (png(40, 20, "GIF"), 415, "unsupported_format"),  # Pillow reads it; the server does not
        (b"%PDF-1.4\n%...", 415, "unsupported_format"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n", 415, "unsupported_format"),
    ],
    ids=[
        "empty",
        "corrupt",
        "zero-size",
        "30MP",
        "bomb",
        "truncated",
        "random",
        "gif",
        "pdf",
        "eps",
    ],
)
async def test_bad_images(client: httpx.AsyncClient, data: bytes, status: int, code: str) -> None:
    assert_error(await client.post("/v1/ocr", files=files(("x", data))), status, code)
    assert (await client.post("/v1/ocr", files=files(("ok.png", png())))).status_code == 200


async def test_bad_requests(client: httpx.AsyncClient) -> None:
    post = client.post
    assert_error(await post("/v1/ocr", content=b"hi", headers={"content-type": "text/plain"}), 415)
    assert_error(await post("/v1/ocr", content=b"hi"), 415)  # no content type
    assert_error(
        await post("/v1/ocr", content=b"", headers={"content-type": "application/json"}),
        400,
        "empty_body",
    )
    assert_error(
        await post("/v1/ocr", content=b"{nope", headers={"content-type": "application/json"}),
        400,
        "invalid_json",
    )
    assert_error(await post("/v1/ocr", json={"images": []}), 422, "invalid_request")
    assert_error(await post("/v1/ocr", json={"image": "x"}), 422, "invalid_request")
    assert_error(await post("/v1/ocr", json=[1, 2]), 422)
    assert_error(await post("/v1/ocr", data={"model": "stub"}, files={"x": ("", b"")}), 422)
    assert_error(await post("/v1/ocr", data={"model": "stub"}), 415)  # urlencoded form
    boundary = "b0undary"
    assert_error(
        await post(
            "/v1/ocr",
            content=f"--{boundary}--\r\n".encode(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        ),
        400,
        "no_images",
    )
    assert_error(
        await post("/v1/ocr", content=b"garbage", headers={"content-type": "multipart/form-data"}),
        400,
    )
    assert_error(await post("/v1/ocr", files=files(("a.png", png())), data={"colour": "red"}), 422)
    assert_error(await client.get("/v1/ocr"), 405)
    assert_error(await client.get("/nowhere"), 404, "not_found")


async def test_options(client: httpx.AsyncClient, stub: StubRecognizer) -> None:
    img = files(("a.png", png()))
    assert_error(
        await client.post("/v1/ocr", files=img, data={"model": "nope"}), 422, "unknown_model"
    )
    assert_error(
        await client.post("/v1/ocr", files=img, data={"lexicon": "nope"}), 422, "unknown_lexicon"
    )
    assert_error(await client.post("/v1/ocr", files=img, data={"decoder": "magic"}), 422)
    assert_error(await client.post("/v1/ocr", files=img, data={"beam_width": "0"}), 422)
    assert_error(await client.post("/v1/ocr", files=img, data={"beam_width": "1000"}), 422)
    assert_error(
        await client.post("/v1/ocr", files=img, data={"pattern": "("}), 422, "invalid_options"
    )
    assert_error(
        await client.post("/v1/ocr", files=img, data={"pattern": "fails-late"}),
        422,
        "invalid_options",
    )
    assert_error(await client.post("/v1/ocr", files=img, data={"pattern": "x" * 300}), 422)
    for ops in (
        "rm_rf",
        "deblur:iterations=1e9",
        "otsu:window=3",
        "sauvola:k=nan",
        "unsharp:sigma=0",  # OpenCV asserted (a 500) on these
        "deblur:sigma=-5",
        "crop:margin=-100",
        "trim:top=-100,over=0",
    ):
        assert_error(
            await client.post("/v1/ocr", files=img, data={"preprocess": ops}),
            422,
            "invalid_preprocess",
        )

    response = await client.post(
        "/v1/ocr",
        files=img,
        data={
            "decoder": "beam",
            "beam_width": "5",
            "pattern": "[0-9x]+",
            "lexicon": "cities",
            "preprocess": "auto_invert;sauvola:window=31,k=0.3",
        },
    )
    assert response.status_code == 200, response.text
    call = stub.calls[-1]
    assert call["options"] == {
        "decoder": "beam",
        "beam_width": 5,
        "pattern": "[0-9x]+",
        "lexicon": ["paris", "london"],
    }
    assert call["ops"] == ("auto_invert", "sauvola:window=31,k=0.3")
    assert stub.spec.ops == ("auto_invert",)  # the model's own spec is untouched
    response = await client.post(
        "/v1/ocr", json={"images": [{"data": b64(png())}], "preprocess": []}
    )
    assert response.status_code == 200 and stub.calls[-1]["ops"] == ()


async def test_tta_option(client: httpx.AsyncClient, stub: StubRecognizer) -> None:
    img = files(("a.png", png()))
    response = await client.post("/v1/ocr", files=img, data={"tta": "true"})
    assert response.status_code == 200, response.text
    assert stub.calls[-1]["options"] == {"tta": True}
    response = await client.post("/v1/ocr", json={"images": [{"data": b64(png())}], "tta": False})
    assert response.status_code == 200 and "tta" not in stub.calls[-1]["options"]
    response = await client.post("/v1/ocr", files=img, data={"pattern": "[0-9x]+", "tta": "1"})
    assert stub.calls[-1]["options"] == {"pattern": "[0-9x]+", "tta": True}
    assert_error(await client.post("/v1/ocr", files=img, data={"tta": "maybe"}), 422)


async def test_named_language_model(client: httpx.AsyncClient, stub: StubRecognizer) -> None:
    img = files(("a.png", png()))
    response = await client.post(
        "/v1/ocr", files=img, data={"lm": "cities", "lm_weight": "0.7", "length_bonus": "-0.5"}
    )
    assert response.status_code == 200, response.text
    options = stub.calls[-1]["options"]
    assert isinstance(options["lm"], CharNgramLM) and "l" in options["lm"].vocab
    assert options["lm_weight"] == 0.7 and options["length_bonus"] == -0.5
    response = await client.post("/v1/ocr", json={"images": [{"data": b64(png())}], "lm": "cities"})
    assert response.status_code == 200 and "lm_weight" not in stub.calls[-1]["options"]
    # Without lm, a weight reaches the decoder (which refuses it: 422), not dropped silently.
    response = await client.post("/v1/ocr", files=img, data={"lm_weight": "0.7"})
    assert response.status_code == 200 and stub.calls[-1]["options"]["lm_weight"] == 0.7
    assert_error(await client.post("/v1/ocr", files=img, data={"lm": "nope"}), 422, "unknown_lm")
    assert_error(
        await client.post("/v1/ocr", files=img, data={"lm": "cities", "lm_weight": "9"}),
        422,
        "invalid_request",
    )


async def test_pattern_compile_budget(stub: StubRecognizer) -> None:
    load, _ = counting_loader(stub)
    async with serving(Settings(models=("stub",), pattern_budget_s=0.2), load) as c:
        slow = await c.post("/v1/ocr", files=files(("a.png", png())), data={"pattern": "slow"})
        assert_error(slow, 422, "pattern_too_complex")
        ok = await c.post("/v1/ocr", files=files(("a.png", png())), data={"pattern": "[0-9]+"})
        assert ok.status_code == 200


class EvictingRecognizer(StubRecognizer):
    """A decoder cache of one entry, which another request's options empty between this
    request's check and its batch (a cache's eviction, made certain)."""

    def __init__(self) -> None:
        super().__init__()
        self.cache: dict[str, object] = {}
        self.built: list[object] = []
        self.used: list[object] = []

    def decoder(self, **options: Any) -> object:
        key = repr(sorted(options.items()))
        if key not in self.cache:
            self.cache.clear()
            self.cache[key] = decoder = SimpleNamespace(options=options)
            self.built.append(decoder)
        return self.cache[key]

    def read_batch(
        self,
        images: list[np.ndarray],
        *,
        batch_size: int = 32,
        built_decoder: Any = None,
        cancel: CancelToken | None = None,
        **options: Any,
    ):
        self.cache.clear()  # evicted by another request's pattern
        decoder = built_decoder if built_decoder is not None else self.decoder(**options)
        self.used.append(decoder)
        return super().read_batch(images, batch_size=batch_size, cancel=cancel, **decoder.options)


async def test_the_batch_uses_the_decoder_that_was_checked() -> None:
    """Built once, within the budget: a decoder looked up again by the batch could have left
    the cache and be compiled anew, unchecked."""
    rec = EvictingRecognizer()
    load, _ = counting_loader(rec)
    async with serving(Settings(models=("stub",)), load) as c:
        for pattern in ("[0-9]+", "[a-z]+"):
            response = await c.post(
                "/v1/ocr", files=files(("a.png", png())), data={"pattern": pattern}
            )
            assert response.status_code == 200, response.text
    assert len(rec.built) == 2  # one per request: at the check, never in the batch
    assert rec.used == rec.built
    assert [call["options"]["pattern"] for call in rec.calls] == ["[0-9]+", "[a-z]+"]


async def test_only_the_decoders_errors_are_invalid_options(
    stub: StubRecognizer, caplog: pytest.LogCaptureFixture
) -> None:
    """A ValueError or KeyError that is not a DecodeError is a bug, not a bad option: not
    "invalid_options"; logged with its traceback, answered without internals."""
    load, _ = counting_loader(stub)
    async with serving(Settings(models=("stub",)), load, raise_app_exceptions=False) as c:
        late = await c.post(
            "/v1/ocr", files=files(("a.png", png())), data={"pattern": "fails-late"}
        )
        assert_error(late, 422, "invalid_options")  # a DecodeError while reading
        with caplog.at_level("ERROR", logger="lineocr.serve"):
            broken = await c.post("/v1/ocr", files=files(("a.png", png(13, 10))))
            at_check = await c.post(
                "/v1/ocr", files=files(("a.png", png())), data={"pattern": "bug"}
            )
    body = assert_error(broken, 422, "unprocessable_image")
    assert body["error"]["message"] == (
        "a.png: cannot recognise this image (ValueError); the server log has details"
    )
    assert_error(at_check, 500, "internal_error")  # while the decoder was built: the server's
    assert "secret" not in at_check.text and "KeyError" not in at_check.text
    logged = [r for r in caplog.records if r.exc_info]
    assert [r.exc_info[0] for r in logged if r.exc_info] == [ValueError, KeyError]


async def test_disallowed_op(stub: StubRecognizer) -> None:
    load, _ = counting_loader(stub)
    async with serving(Settings(models=("stub",), allowed_ops=("otsu",)), load) as c:
        bad = await c.post(
            "/v1/ocr", json={"images": [{"data": b64(png())}], "preprocess": ["deblur"]}
        )
        assert_error(bad, 422, "invalid_preprocess")
        ok = await c.post(
            "/v1/ocr", json={"images": [{"data": b64(png())}], "preprocess": ["otsu"]}
        )
        assert ok.status_code == 200


# -- limits -----------------------------------------------------------------------------


async def test_body_limit(stub: StubRecognizer) -> None:
    load, _ = counting_loader(stub)
    async with serving(Settings(models=("stub",), max_body_bytes=10_000), load) as c:
        big = files(("big.png", png()), ("pad.png", b"\x89PNG" + b"\0" * 20_000))
        assert_error(await c.post("/v1/ocr", files=big), 413, "body_too_large")

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
            for _ in range(20):
                yield b"x" * 1000

        streamed = await c.post(
            "/v1/ocr", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_error(streamed, 413, "body_too_large")
        assert (await c.post("/v1/ocr", files=files(("a.png", png())))).status_code == 200


async def test_default_body_limit_is_10mb(client: httpx.AsyncClient) -> None:
    assert Settings().max_body_bytes == 10 * 1024 * 1024
    response = await client.post(
        "/v1/ocr",
        content=b"{" + b" " * (10 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    assert_error(response, 413, "body_too_large")


async def test_images_per_request(client: httpx.AsyncClient) -> None:
    five = files(*[(f"{i}.png", png()) for i in range(5)])
    assert_error(await client.post("/v1/ocr", files=five), 413, "too_many_images")
    payload = {"images": [{"data": b64(png())}] * 5}
    assert_error(await client.post("/v1/ocr", json=payload), 413, "too_many_images")
    four = await client.post("/v1/ocr", files=five[:4])
    assert four.status_code == 200 and len(four.json()["results"]) == 4


async def test_pixel_limit_setting(stub: StubRecognizer) -> None:
    load, _ = counting_loader(stub)
    async with serving(Settings(models=("stub",), max_pixels=1000), load) as c:
        assert_error(await c.post("/v1/ocr", files=files(("a.png", png(50, 30)))), 413)
        assert (await c.post("/v1/ocr", files=files(("a.png", png(40, 20))))).status_code == 200


async def test_request_timeout() -> None:
    slow = StubRecognizer(delay=0.5)
    load, _ = counting_loader(slow)
    async with serving(Settings(models=("stub",), request_timeout_s=0.1), load) as c:
        two = files(("a.png", png()), ("b.png", png()))
        assert_error(await c.post("/v1/ocr", files=two), 503, "timeout")
        metrics = (await c.get("/metrics")).text
    # every image under an outcome: a timed-out request's under "timeout"
    assert 'lineocr_images_total{model="stub",outcome="timeout"} 2.0' in metrics


@pytest.mark.parametrize("batching", [True, False])
async def test_a_batch_no_request_waits_for_is_stopped(batching: bool) -> None:
    """A request that timed out stops the batch reading its images (the worker thread was
    held until the batch finished: ~24 s for 4 wide lines at beam 64), so the next request
    is read at once; a batch that also holds a waiting request's image is not stopped."""
    slow = StubRecognizer(delay=30.0)
    load, _ = counting_loader(slow)
    settings = Settings(
        models=("stub",),
        request_timeout_s=1.0,  # the second request too: room for a loaded machine
        inference_workers=1,
        batching=batching,
        batch_timeout_ms=0,
    )
    async with serving(settings, load) as c:
        assert_error(await c.post("/v1/ocr", files=files(("a.png", png()))), 503, "timeout")
        slow.delay = 0.0
        response = await c.post("/v1/ocr", files=files(("b.png", png())))
    assert response.status_code == 200, response.text  # not 503 behind a 30 s batch
    assert slow.cancelled == 1


def stoppable_runner(
    stopped: list[str], wait_s: float = 0.0
) -> Callable[[Any, CancelToken | None], list[str]]:
    """A batcher runner for strings that reads for ``wait_s`` seconds (with none: until its
    token is cancelled, at most 30 s); a read its token stopped appends its names to
    ``stopped`` and raises ReadCancelledError."""

    def run(images: Any, cancel: CancelToken | None = None) -> list[str]:
        end = time.perf_counter() + (wait_s or 30.0)
        while time.perf_counter() < end:
            if cancel is not None and cancel.cancelled:
                stopped.extend(str(img) for img in images)
                cancel.check()
            time.sleep(0.002)
        return [str(img) for img in images]

    return run


async def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.perf_counter() + seconds
    while not condition():
        assert time.perf_counter() < deadline, "timed out waiting"
        await asyncio.sleep(0.005)


async def test_a_batch_is_stopped_only_when_none_of_its_requests_waits() -> None:
    """Two requests share a batch; one times out (cancelled), the other still waits: the
    batch goes on and the waiting request gets its text. Alone in its batch, a request that
    times out stops it."""
    from lineocr.serve.batcher import Batcher, BatchLimits

    stopped: list[str] = []
    shared = stoppable_runner(stopped, wait_s=0.3)
    batcher = Batcher(BatchLimits(max_batch=4, timeout_ms=30, workers=1, max_queue=100))
    await batcher.start()
    try:
        gone = asyncio.create_task(batcher.submit("k", shared, ["gone"], "m"))  # type: ignore[list-item]
        kept = asyncio.create_task(batcher.submit("k", shared, ["kept"], "m"))  # type: ignore[list-item]
        await until(lambda: bool(batcher._reading))  # their batch runs
        gone.cancel()
        [outcome] = await kept
        assert outcome.value == "kept" and stopped == []

        alone = asyncio.create_task(
            batcher.submit("k", stoppable_runner(stopped), ["alone"], "m")  # type: ignore[list-item]
        )
        await until(lambda: bool(batcher._reading))
        alone.cancel()
        await until(lambda: stopped == ["alone"])  # within 30 s only if the token stopped it
    finally:
        await batcher.close(timeout=5)


async def test_shutdown_stops_a_read_with_batching_off() -> None:
    """With batching off a request's group runs in its own task; past the shutdown timeout
    it is stopped too (its thread was left reading)."""
    from lineocr.serve.batcher import Batcher, BatchLimits

    stopped: list[str] = []
    batcher = Batcher(
        BatchLimits(max_batch=4, timeout_ms=0, workers=1, max_queue=100, enabled=False)
    )
    await batcher.start()
    request = asyncio.create_task(
        batcher.submit("k", stoppable_runner(stopped), ["stuck"], "m")  # type: ignore[list-item]
    )
    await until(lambda: bool(batcher._reading))
    await batcher.close(timeout=0.2)
    await until(lambda: stopped == ["stuck"])
    request.cancel()
    with contextlib.suppress(asyncio.CancelledError, ReadCancelledError):
        await request


async def test_a_requests_pixels_are_bounded_the_rest_is_read() -> None:
    """Small uploads of large blank images once took 600 MB: the pixels a request's images
    decode to are counted from their headers, and one past ``max_request_pixels`` gets a
    413 in its slot, not decoded, while the others are read."""
    stub = StubRecognizer()
    load, _ = counting_loader(stub)
    settings = Settings(models=("stub",), max_pixels=1000, max_request_pixels=2000)
    async with serving(settings, load) as c:
        response = await c.post(
            "/v1/ocr",
            files=files(("a.png", png(30, 30)), ("b.png", png(30, 30)), ("c.png", png(30, 30))),
        )
    assert response.status_code == 200, response.text  # as with any image that fails alone
    results = response.json()["results"]
    assert [r["ok"] for r in results] == [True, True, False]
    assert results[2]["error"]["code"] == "request_too_many_pixels"
    assert results[2]["error"]["status"] == 413
    assert "c.png" in results[2]["error"]["message"] and "2,000" in results[2]["error"]["message"]
    assert sum(call["n"] for call in stub.calls) == 2  # the third was never decoded or read


async def test_pixels_in_flight_wait_for_room() -> None:
    from lineocr.serve.limits import PixelBudget

    budget = PixelBudget(100)
    await budget.acquire(60)
    second = asyncio.create_task(budget.acquire(60))
    await asyncio.sleep(0.01)
    assert not second.done() and budget.held == 60  # 120 > 100: it waits
    budget.release(60)
    await asyncio.wait_for(second, 1)
    assert budget.held == 60
    budget.release(60)
    await budget.acquire(500)  # more than the budget, nothing held: let in
    waiting = asyncio.create_task(budget.acquire(1))
    await asyncio.sleep(0.01)
    waiting.cancel()  # a request timing out while it waits takes nothing
    with pytest.raises(asyncio.CancelledError):
        await waiting
    budget.release(500)
    assert budget.held == 0 and not budget._waiters


def gauge(metrics: str, name: str) -> float:
    return float(
        next(line for line in metrics.splitlines() if line.startswith(name + " ")).split()[1]
    )


async def test_metrics_show_the_pixels_in_flight_and_the_requests_waiting() -> None:
    slow = StubRecognizer(delay=2.0)  # room for the checks below on a loaded machine
    load, _ = counting_loader(slow)
    settings = Settings(
        models=("stub",), max_pixels_in_flight=1000, max_request_pixels=1000, batch_timeout_ms=0
    )
    async with serving(settings, load) as c:
        state = c.app.state.lineocr  # type: ignore[attr-defined]
        first = asyncio.create_task(c.post("/v1/ocr", files=files(("a.png", png(40, 20)))))
        await until(lambda: bool(slow.calls))  # being read
        second = asyncio.create_task(c.post("/v1/ocr", files=files(("b.png", png(30, 20)))))
        await until(lambda: state.pixels.waiting == 1)
        during = (await c.get("/metrics")).text
        slow.delay = 0.0
        assert [r.status_code for r in await asyncio.gather(first, second)] == [200, 200]
        after = (await c.get("/metrics")).text
    # 800 pixels held by the first; the second's 600 would pass 1,000: it waits
    assert gauge(during, "lineocr_pixels_in_flight") == 800
    assert gauge(during, "lineocr_requests_waiting_for_pixels") == 1
    assert gauge(after, "lineocr_pixels_in_flight") == 0
    assert gauge(after, "lineocr_requests_waiting_for_pixels") == 0


async def test_head_is_answered_as_get_without_a_body(client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/", "/v1/models", "/metrics", "/static/app.js"):
        got, head = await client.get(path), await client.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"" and got.content, path
        assert head.headers["content-type"] == got.headers["content-type"], path
    assert (await client.head("/v1/ocr")).status_code == 405  # POST only, as for GET


async def test_unexpected_errors_are_json_without_internals() -> None:
    """Whatever fails while one image is read is that image's 422, never a 500."""
    broken = StubRecognizer(crash=True)
    load, _ = counting_loader(broken)
    async with serving(Settings(models=("stub",)), load) as c:
        response = await c.post("/v1/ocr", files=files(("a.png", png())))
        body = assert_error(response, 422, "unprocessable_image")
        assert body["error"]["message"].startswith("a.png: ")
        assert "secret" not in response.text and "/home" not in response.text
        assert "server log" in body["error"]["message"]


async def test_client_disconnect_is_not_a_server_error(stub: StubRecognizer) -> None:
    load, _ = counting_loader(stub)
    app = create_app(Settings(models=("stub",)), loader=load)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}  # the client is gone before its body arrived

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/ocr",
        "raw_path": b"/v1/ocr",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    async with app.router.lifespan_context(app):
        await app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert b"client_disconnected" in sent[1]["body"]


# -- models, readiness ------------------------------------------------------------------


async def test_models_loaded_once(stub: StubRecognizer) -> None:
    load, loads = counting_loader(stub, StubRecognizer("b"))
    async with serving(Settings(models=("stub", "b")), load) as c:
        for _ in range(3):
            await c.post("/v1/ocr", files=files(("a.png", png())), data={"model": "b"})
            await c.post("/v1/ocr", files=files(("a.png", png())))
        await c.get("/readyz")
        await c.get("/v1/models")
    assert loads == ["stub", "b"]


async def test_failed_models_are_reported(stub: StubRecognizer) -> None:
    load, _ = counting_loader(stub)
    async with serving(Settings(models=("missing", "stub")), load) as c:
        ready = (await c.get("/readyz")).json()
        assert ready["ready"] and ready["models"] == ["stub"]
        assert "missing" in ready["failed"] and "no model missing" in ready["failed"]["missing"]
    async with serving(Settings(models=("missing",)), load) as c:
        response = await c.get("/readyz")
        assert response.status_code == 503 and response.json()["ready"] is False
        assert (await c.get("/healthz")).status_code == 200
        assert_error(await c.post("/v1/ocr", files=files(("a.png", png()))), 503, "no_models")


# -- metrics ----------------------------------------------------------------------------


async def test_metrics(client: httpx.AsyncClient) -> None:
    await client.post("/v1/ocr", files=files(("a.png", png())))
    await client.post("/v1/ocr", files=files(("a.txt", b"nope")))
    await client.get("/nowhere/at/all")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'lineocr_http_requests_total{method="POST",route="/v1/ocr",status="200"} 1.0' in text
    assert 'lineocr_http_requests_total{method="POST",route="/v1/ocr",status="415"} 1.0' in text
    assert 'route="other"' in text  # unknown paths share one label value
    assert 'lineocr_http_errors_total{status="415"} 1.0' in text
    assert 'lineocr_http_errors_total{status="404"} 1.0' in text
    assert 'lineocr_http_request_duration_seconds_count{route="/v1/ocr"} 2.0' in text
    assert "lineocr_batch_size_count 1.0" in text
    assert 'lineocr_images_total{model="stub",outcome="ok"} 1.0' in text
    assert 'lineocr_images_total{model="stub",outcome="unsupported_format"} 1.0' in text
    assert "lineocr_models_loaded 2.0" in text
    rate = next(line for line in text.splitlines() if line.startswith("lineocr_images_per_second"))
    assert float(rate.split()[-1]) > 0


# -- batching and shutdown --------------------------------------------------------------


async def test_concurrent_requests_share_batches() -> None:
    slow = StubRecognizer(delay=0.03)
    load, _ = counting_loader(slow)
    async with serving(Settings(models=("stub",), max_batch=8, batch_timeout_ms=20), load) as c:
        responses = await asyncio.gather(
            *(c.post("/v1/ocr", files=files((f"{i}.png", png(20 + i, 10)))) for i in range(16))
        )
    assert all(r.status_code == 200 for r in responses)
    texts = [r.json()["results"][0]["text"] for r in responses]
    assert texts == [f"{20 + i}x10" for i in range(16)]  # each answer is its own image's
    sizes = [call["n"] for call in slow.calls]
    assert sum(sizes) == 16 and max(sizes) > 1 and max(sizes) <= 8
    reported = [r.json()["results"][0]["timings"]["batch_size"] for r in responses]
    assert max(reported) == max(sizes)


async def test_a_failing_image_costs_only_its_own_result() -> None:
    slow = StubRecognizer(delay=0.03)
    load, _ = counting_loader(slow)
    async with serving(Settings(models=("stub",), max_batch=8, batch_timeout_ms=30), load) as c:
        widths = [20, 13, 30, 40]
        responses = await asyncio.gather(
            *(c.post("/v1/ocr", files=files(("a.png", png(w, 10)))) for w in widths)
        )
    assert [r.status_code for r in responses] == [200, 422, 200, 200]
    assert [r.json()["results"][0].get("text") for r in responses] == [
        "20x10",
        None,
        "30x10",
        "40x10",
    ]
    # A ValueError that is not the decoder's DecodeError is not the client's options' fault.
    failed = assert_error(responses[1], 422, "unprocessable_image")
    assert failed["error"]["message"].startswith("a.png: cannot recognise this image")
    assert "13 pixels wide" not in responses[1].text
    assert max(call["n"] for call in slow.calls) > 1  # they did share a batch first


async def test_different_options_do_not_share_a_batch() -> None:
    slow = StubRecognizer(delay=0.03)
    load, _ = counting_loader(slow)
    async with serving(Settings(models=("stub",), batch_timeout_ms=30), load) as c:
        responses = await asyncio.gather(
            *(
                c.post(
                    "/v1/ocr",
                    files=files(("a.png", png())),
                    data={"decoder": "beam" if i % 2 else "greedy"},
                )
                for i in range(8)
            )
        )
    assert all(r.status_code == 200 for r in responses)
    for call in slow.calls:  # each batch ran with one decoder
        assert call["options"]["decoder"] in ("beam", "greedy")
    assert sum(c["n"] for c in slow.calls if c["options"]["decoder"] == "beam") == 4


async def test_batching_off_runs_each_request_alone() -> None:
    slow = StubRecognizer(delay=0.01)
    load, _ = counting_loader(slow)
    async with serving(Settings(models=("stub",), batching=False), load) as c:
        responses = await asyncio.gather(
            *(c.post("/v1/ocr", files=files(("a.png", png()))) for _ in range(6))
        )
        two = await c.post("/v1/ocr", files=files(("a.png", png()), ("b.png", png())))
    assert all(r.status_code == 200 for r in responses)
    assert [call["n"] for call in slow.calls] == [1] * 6 + [2]  # a request's images: one batch
    assert two.json()["results"][1]["timings"]["batch_size"] == 2


async def test_full_queue_answers_503() -> None:
    slow = StubRecognizer(delay=0.3)
    load, _ = counting_loader(slow)
    settings = Settings(models=("stub",), max_batch=1, max_queue=2, batch_timeout_ms=0)
    async with serving(settings, load) as c:
        responses = await asyncio.gather(
            *(c.post("/v1/ocr", files=files(("a.png", png()))) for _ in range(8))
        )
    codes = sorted(r.status_code for r in responses)
    assert 200 in codes and 503 in codes and set(codes) == {200, 503}
    refused = next(r for r in responses if r.status_code == 503)
    assert_error(refused, 503, "overloaded")
    assert refused.headers["retry-after"] == "1"


def recording_runner(
    seen: list[list[str]], delay: Callable[[list[str]], float] = lambda names: 0.02
) -> Callable[[Any, Any], list[str]]:
    """A batcher runner for strings: each image's text is its name; each call's names,
    after ``delay(names)`` seconds, are appended to ``seen``."""

    def run(images: Any, cancel: Any = None) -> list[str]:
        names = [str(img) for img in images]
        time.sleep(delay(names))
        seen.append(names)
        return names

    return run


async def test_batches_count_each_image_as_its_cost() -> None:
    """An image costs about how many ordinary lines' work it is: a batch stops before one more
    image would take it past max_batch (that image starts the next batch); an image costing
    more than max_batch runs alone. Requests take turns: one image of each in turn."""
    from lineocr.serve.batcher import Batcher, BatchLimits

    seen: list[list[str]] = []
    run = recording_runner(seen)

    batcher = Batcher(BatchLimits(max_batch=4, timeout_ms=50, workers=1, max_queue=100))
    await batcher.start()
    try:
        answers = await asyncio.gather(
            batcher.submit("k", run, ["a1", "a2"], "m"),  # type: ignore[list-item]
            batcher.submit("k", run, ["b"], "m", cost=3),  # type: ignore[list-item]
            batcher.submit("k", run, ["c"], "m"),  # type: ignore[list-item]
            batcher.submit("k", run, ["huge"], "m", cost=9),  # type: ignore[list-item]
            batcher.submit("k", run, ["d"], "m"),  # type: ignore[list-item]
        )
    finally:
        await batcher.close(timeout=5)
    assert [[o.value for o in a] for a in answers] == [["a1", "a2"], ["b"], ["c"], ["huge"], ["d"]]
    # by count the first four would share a batch (max_batch 4); by cost and in turns:
    # a1 + b (4), c (huge would overfill it), huge alone, then d and the first request's a2
    assert seen == [["a1", "b"], ["c"], ["huge"], ["d", "a2"]]


async def test_requests_take_turns_in_the_queue() -> None:
    """A request of many expensive images does not hold back a one-line request that came
    after it until they are all read: the queue takes one image of each request in turn,
    and per-image costs (the app's estimate) fill the batches."""
    from lineocr.serve.batcher import Batcher, BatchLimits

    seen: list[list[str]] = []
    run = recording_runner(seen)

    batcher = Batcher(BatchLimits(max_batch=4, timeout_ms=50, workers=1, max_queue=100))
    await batcher.start()
    try:
        big = [f"a{i}" for i in range(6)]
        first, second = await asyncio.gather(
            batcher.submit("k", run, big, "m", cost=[2] * 6),  # type: ignore[arg-type]
            batcher.submit("k", run, ["b"], "m"),  # type: ignore[list-item]
        )
        with pytest.raises(ValueError, match="2 costs for 1 images"):
            await batcher.submit("k", run, ["c"], "m", cost=[1, 1])  # type: ignore[list-item]
    finally:
        await batcher.close(timeout=5)
    assert [o.value for o in first] == big and [o.value for o in second] == ["b"]
    assert seen[0] == ["a0", "b"]  # not behind a0..a5 (three batches)
    assert seen[1:] == [["a1", "a2"], ["a3", "a4"], ["a5"]]


async def test_a_timed_out_requests_images_take_no_room_in_a_batch() -> None:
    from lineocr.serve.batcher import Batcher, BatchLimits

    seen: list[list[str]] = []
    run = recording_runner(seen, lambda names: 0.2 if names == ["busy"] else 0.0)

    batcher = Batcher(BatchLimits(max_batch=4, timeout_ms=50, workers=1, max_queue=100))
    await batcher.start()
    try:
        busy = asyncio.create_task(batcher.submit("k", run, ["busy"], "m"))  # type: ignore[list-item]
        await asyncio.sleep(0.05)  # running: what follows queues behind it
        dead = asyncio.create_task(batcher.submit("k", run, ["dead"], "m", cost=3))  # type: ignore[list-item]
        await asyncio.sleep(0.01)
        dead.cancel()  # a request that timed out while its image was queued
        live = await asyncio.gather(
            batcher.submit("k", run, ["a", "b"], "m"),  # type: ignore[list-item]
            batcher.submit("k", run, ["c"], "m", cost=2),  # type: ignore[list-item]
        )
        await busy
    finally:
        await batcher.close(timeout=5)
    assert [[o.value for o in a] for a in live] == [["a", "b"], ["c"]]
    assert seen == [["busy"], ["a", "c", "b"]]  # the dead image's 3 lines took no room
    assert batcher._queued_cost == 0 and batcher.queue_depth == 0


async def test_tta_images_count_as_their_views_against_batch_and_queue() -> None:
    slow = StubRecognizer(delay=0.05)
    load, _ = counting_loader(slow)
    settings = Settings(models=("stub",), max_batch=32, batch_timeout_ms=40)
    tta = {"tta": "true"}
    async with serving(settings, load) as c:
        responses = await asyncio.gather(
            *(c.post("/v1/ocr", files=files(("a.png", png())), data=tta) for _ in range(6))
        )
    assert [r.status_code for r in responses] == [200] * 6
    sizes = [call["n"] for call in slow.calls]
    assert sum(sizes) == 6 and max(sizes) == 2  # 12 views each: two fit in 32, three do not
    # one ONNX batch for a group: all its images' views
    assert all(call["batch_size"] == 12 * call["n"] for call in slow.calls)

    # The queue too: 4 plain images fit in max_queue 20 behind a running batch, 4 tta ones
    # (48 views) do not; a request finding the queue empty is taken whatever it costs.
    for tta, refused in ((False, False), (True, True)):
        slow = StubRecognizer(delay=0.3)
        load, _ = counting_loader(slow)
        settings = Settings(models=("stub",), max_batch=12, max_queue=20, batch_timeout_ms=0)
        data = {"tta": "true"} if tta else {}
        async with serving(settings, load) as c:
            responses = await asyncio.gather(
                *(c.post("/v1/ocr", files=files(("a.png", png())), data=data) for _ in range(4))
            )
        codes = [r.status_code for r in responses]
        assert 200 in codes and (503 in codes) == refused, (tta, codes)
        for r in responses:
            if r.status_code == 503:
                assert_error(r, 503, "overloaded")


async def test_shutdown_drains_in_flight_requests() -> None:
    # Each batch of 2 takes 0.3 s, so all 8 requests are in (running or queued) well
    # before the queue empties, even on a loaded machine.
    slow = StubRecognizer(delay=0.3)
    load, _ = counting_loader(slow)
    app = create_app(Settings(models=("stub",), max_batch=2, batch_timeout_ms=1), loader=load)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        async with app.router.lifespan_context(app):
            tasks = [
                asyncio.create_task(c.post("/v1/ocr", files=files(("a.png", png()))))
                for _ in range(8)
            ]
            batcher = app.state.lineocr.batcher
            for _ in range(1000):  # until every image is queued or running
                taken = sum(call["n"] for call in slow.calls) + batcher.queue_depth
                if taken >= 8:
                    break
                await asyncio.sleep(0.005)
            # A request not yet in when the lifespan ends is refused (shutting_down): the
            # drain is of what was taken, so the test ends the lifespan only once all are.
            assert taken == 8 and batcher.queue_depth >= 2
        # The lifespan has ended: every queued image was still read.
        responses = await asyncio.gather(*tasks)
        assert [r.status_code for r in responses] == [200] * 8
        assert sum(call["n"] for call in slow.calls) == 8
        late = await c.post("/v1/ocr", files=files(("a.png", png())))
        assert_error(late, 503, "shutting_down")
        assert (await c.get("/readyz")).status_code == 503


async def shut_down_with_a_stuck_batch(
    delay: float,
    shutdown_timeout_s: float,
    *,
    cancel_request: bool,
    images: int = 1,
    waiting: tuple[int, ...] = (),
    **settings: Any,
) -> tuple[float, list[httpx.Response]]:
    """Start a server whose recognizer takes ``delay`` s, send one request of ``images``
    images, and once its batch runs send requests of ``waiting`` images each; once the
    batcher holds them all, shut the server down (cancelling the first request first when
    ``cancel_request``, as Uvicorn does to requests still in flight after its own wait).
    ``settings`` override the server's. Returns how long the shutdown took and the responses
    in the order sent (the cancelled request's left out)."""
    stuck = StubRecognizer(delay=delay)
    load, _ = counting_loader(stuck)
    options: dict[str, Any] = {"batch_timeout_ms": 0, **settings}
    app = create_app(
        Settings(models=("stub",), shutdown_timeout_s=shutdown_timeout_s, **options), loader=load
    )
    transport = httpx.ASGITransport(app=app)

    async def send(c: httpx.AsyncClient, n: int) -> httpx.Response:
        return await c.post("/v1/ocr", files=files(*((f"{i}.png", png()) for i in range(n))))

    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        async with app.router.lifespan_context(app):
            first = asyncio.create_task(send(c, images))
            for _ in range(400):  # until its batch runs
                if stuck.calls:
                    break
                await asyncio.sleep(0.005)
            assert stuck.calls
            others = [asyncio.create_task(send(c, n)) for n in waiting]
            held = app.state.lineocr.batcher._waiting  # images requests wait for
            for _ in range(1000):
                if len(held) == images + sum(waiting):
                    break
                await asyncio.sleep(0.005)
            assert len(held) == images + sum(waiting)
            if cancel_request:
                first.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await first
            closing = time.perf_counter()
        took = time.perf_counter() - closing
        sent = others if cancel_request else [first, *others]
        return took, list(await asyncio.gather(*sent))


async def test_shutdown_waits_one_timeout_for_a_stuck_batch() -> None:
    """The drain and the running batches share one deadline (it was one timeout each, and
    then the worker threads' end, unbounded); what is not read by then gets 503."""
    took, [response] = await shut_down_with_a_stuck_batch(3.0, 0.5, cancel_request=False)
    assert 0.45 < took < 0.9, took  # one timeout, not two (1.0) nor the batch's 3 s
    assert_error(response, 503, "shutting_down")


async def test_shutdown_does_not_wait_for_a_batch_nobody_waits_for() -> None:
    """Uvicorn waits for the requests in flight first, then cancels them: their stuck batch
    costs no second timeout."""
    took, _ = await shut_down_with_a_stuck_batch(1.5, 1.0, cancel_request=True)
    assert took < 0.8, took  # not the 1 s timeout (nor the batch's 1.5 s)


@pytest.mark.parametrize("workers", [1, 2])
async def test_shutdown_warning_counts_every_image_answered_503(
    workers: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Behind a stuck batch of 4 images, requests of 1 and 2 images wait: in the queue with
    one worker (busy), or with two in the batch the collector is still gathering (its batch
    timeout outlasts the shutdown's), which answers them 503 itself when cancelled; the
    warning used to leave those out. It counts every image answered 503, each once."""
    with caplog.at_level("WARNING", logger="lineocr.serve"):
        took, responses = await shut_down_with_a_stuck_batch(
            3.0,
            0.5,
            cancel_request=False,
            images=4,
            waiting=(1, 2),
            inference_workers=workers,
            max_batch=4,
            batch_timeout_ms=60_000,
        )
    assert took < 2.0, took  # one deadline: neither the stuck batch's 3 s nor the gathering's
    for response in responses:
        assert_error(response, 503, "shutting_down")
    refused = sum(n for n, r in zip((4, 1, 2), responses, strict=True) if r.status_code == 503)
    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("shutdown")]
    assert warnings == [f"shutdown timeout (0.5 s): {refused} image(s) not read, answered 503"]


# -- units ------------------------------------------------------------------------------


def test_sniff_format() -> None:
    assert sniff_format(png()) == "PNG"
    assert sniff_format(png(fmt="JPEG")) == "JPEG"
    assert sniff_format(png(fmt="WEBP")) == "WEBP"
    assert sniff_format(png(fmt="TIFF")) == "TIFF"
    assert sniff_format(png(fmt="BMP")) == "BMP"
    assert sniff_format(png(fmt="GIF")) == "GIF"
    assert sniff_format(b"%PDF-1.7") == "PDF"
    assert sniff_format(b"hello") is None
    assert sniff_format(b"") is None


def test_image_errors_map_to_status_codes() -> None:
    """The loader's error kinds decide the status, not its messages."""
    from lineocr.images import load_image

    def status(data: bytes, max_pixels: int = 25_000_000) -> int:
        with pytest.raises(ImageError) as info:
            load_image(data, max_pixels=max_pixels)
        return image_error(info.value).status

    assert status(png(50, 30), max_pixels=1000) == 413
    assert status(png_header(100_000, 100_000)) == 413
    assert status(b"hello") == 415
    assert status(b"") == 400
    assert status(png()[:-30]) == 422
    for kind, expected in (
        ("too_large", (413, "image_too_large")),
        ("unsupported", (415, "unsupported_format")),
        ("empty", (400, "empty_image")),
        ("unreadable", (422, "unreadable_image")),
    ):
        error = image_error(ImageError("a.png", "reworded, in no words the server knows", kind))
        assert (error.status, error.code) == expected
        assert error.message == "a.png: reworded, in no words the server knows"


def test_settings() -> None:
    env = {
        "LINEOCR_SERVE_MODELS": "printed, digits",
        "LINEOCR_SERVE_MAX_BATCH": "8",
        "LINEOCR_SERVE_BATCHING": "false",
        "LINEOCR_SERVE_BATCH_TIMEOUT_MS": "2.5",
        "LINEOCR_SERVE_THREADS": "2",
        "LINEOCR_SERVE_LEXICONS": "cities=/tmp/c.txt",
        "LINEOCR_SERVE_LANGUAGE_MODELS": "ar=/tmp/ar.json, en=/tmp/en.json",
    }
    s = Settings.from_env(env)
    assert s.models == ("printed", "digits") and s.max_batch == 8 and not s.batching
    assert s.batch_timeout_ms == 2.5 and s.threads == 2 and s.lexicons == {"cities": "/tmp/c.txt"}
    assert s.language_models == {"ar": "/tmp/ar.json", "en": "/tmp/en.json"}
    assert Settings.from_env({"LINEOCR_SERVE_SETTINGS": s.to_json()}) == s
    # The JSON is complete: single variables do not override it (the CLI already merged them).
    assert (
        Settings.from_env(
            {"LINEOCR_SERVE_SETTINGS": s.to_json(), "LINEOCR_SERVE_MAX_BATCH": "2"}
        ).max_batch
        == 8
    )
    with pytest.raises(SettingsError):
        Settings.from_env({"LINEOCR_SERVE_MAX_BATCH": "many"})
    with pytest.raises(SettingsError):
        Settings.from_env({"LINEOCR_SERVE_SETTINGS": '{"max_bach": 3}'})
    with pytest.raises(SettingsError):
        Settings(allowed_formats=("PNG", "EPS"))
    with pytest.raises(SettingsError):
        Settings(max_batch=0)
    with pytest.raises(SettingsError):
        Settings(lexicons={"x": "/nonexistent/words.txt"}).lexicon_words()
    with pytest.raises(SettingsError, match="language model 'x'"):
        Settings(language_models={"x": "/nonexistent/lm.json"}).load_language_models()
    default = Settings()
    assert default.host == "127.0.0.1" and default.max_pixels == 25_000_000


# -- the real runtime on the tiny ONNX model ----------------------------------------------


@pytest.fixture
def runtime() -> Any:
    return pytest.importorskip("lineocr.runtime", reason="lineocr.runtime not available yet")


async def test_real_model_end_to_end(
    runtime: Any, tiny_onnx_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []
    real_load = runtime.Recognizer.load.__func__

    def counting_load(cls: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
        loads.append(str(model))
        return real_load(cls, model, *args, **kwargs)

    monkeypatch.setattr(runtime.Recognizer, "load", classmethod(counting_load))
    settings = Settings(models=(str(tiny_onnx_model),), threads=1, pattern_budget_s=0.5)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            models = (await c.get("/v1/models")).json()["models"]
            assert len(models) == 1 and models[0]["height"] == 32
            name = models[0]["name"]
            alone = await c.post("/v1/ocr", files=files(("alone.png", png(60, 24))))
            responses = await asyncio.gather(
                *(
                    c.post("/v1/ocr", files=files((f"{i}.png", png(60 + 8 * i, 24))))
                    for i in range(6)
                )
            )
            beam = await c.post(
                "/v1/ocr",
                files=files(("a.png", png())),
                data={"decoder": "beam", "beam_width": "4", "preprocess": "auto_invert;otsu"},
            )
            ready = (await c.get("/readyz")).json()
            for pattern, code in (
                ("(", "invalid_options"),
                ("(a|b)*a(a|b){14}", "pattern_too_complex"),
            ):
                bad = await c.post(
                    "/v1/ocr", files=files(("a.png", png())), data={"pattern": pattern}
                )
                assert_error(bad, 422, code)
    assert loads == [str(tiny_onnx_model)]  # once, at start-up
    assert ready == {"ready": True, "models": [name], "failed": {}}
    for response in [alone, *responses, beam]:
        assert response.status_code == 200, response.text
        result = response.json()["results"][0]
        assert isinstance(result["text"], str)
        assert len(result["chars"]) == len(result["text"])
        assert 0.0 <= result["confidence"] <= 1.0
        assert all(0.0 <= c["confidence"] <= 1.0 for c in result["chars"])
        assert result["model"]["name"] == name
    # The server's answer is the library's answer for the same image, read alone.
    expected = runtime.Recognizer.load(tiny_onnx_model).read(png(60, 24))
    got = alone.json()["results"][0]
    assert got["text"] == expected.text
    assert got["confidence"] == pytest.approx(expected.confidence, abs=1e-5)


async def test_tta_on_a_real_model_is_the_librarys(runtime: Any, tiny_onnx_model: Path) -> None:
    settings = Settings(models=(str(tiny_onnx_model),), threads=1)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            response = await c.post(
                "/v1/ocr", files=files(("a.png", png(60, 24))), data={"tta": "true"}
            )
    assert response.status_code == 200, response.text
    got = response.json()["results"][0]
    recognizer = runtime.Recognizer.load(tiny_onnx_model, threads=1)
    # As `lineocr read --tta` reads one image (batch size 32): its 12 views batched as the
    # library batches them (by width, runtime.width_chunks), so padded the same.
    expected = recognizer.read_batch([png(60, 24)], tta=True)[0]
    assert got["text"] == expected.text
    assert got["confidence"] == pytest.approx(expected.confidence, abs=1e-5)


def test_an_images_cost_grows_with_its_width_its_views_and_the_beam() -> None:
    from lineocr.serve.models import LoadedModel, ReadOptions

    model = LoadedModel("stub", StubRecognizer())
    line = np.zeros((32, 600), np.uint8)  # an ordinary line at the model's height
    wide = np.zeros((16, 20000), np.uint8)  # read at the widest, 2,048 pixels
    plain = ReadOptions(model="stub")
    assert model.image_cost(plain, line) == 1
    assert model.image_cost(plain, wide) == 2
    assert model.image_cost(ReadOptions(model="stub", tta=True), line) == 12
    assert model.image_cost(ReadOptions(model="stub", decoder="beam"), line) == 1  # width 10
    beam64 = ReadOptions(model="stub", decoder="beam", beam_width=64)
    assert model.image_cost(beam64, wide) == 8
    assert model.image_cost(ReadOptions(model="stub", pattern=r"\d+", beam_width=40), line) == 3
    assert model.image_cost(ReadOptions(model="stub", beam_width=64), line) == 1  # greedy


def test_preprocess_override_shares_the_session(runtime: Any, tiny_onnx_model: Path) -> None:
    from lineocr.serve.models import LoadedModel

    rec = runtime.Recognizer.load(tiny_onnx_model, threads=1)
    model = LoadedModel("tiny", rec)
    variant = model.with_ops(("crop", "otsu"))
    assert variant.spec.ops == ("crop", "otsu")
    assert rec.spec.ops != ("crop", "otsu")  # the model's own spec is untouched
    assert variant.spec.height == rec.spec.height
    assert model.with_ops(("crop", "otsu")) is variant  # cached
    assert model.with_ops(None) is rec
    assert isinstance(variant.read(png(60, 24)).text, str)


def test_serve_command_merges_environment_and_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn
    from typer.testing import CliRunner

    import lineocr.serve.app as serve_app
    from lineocr.cli import app

    captured: dict[str, Any] = {}
    monkeypatch.setattr(serve_app, "create_app", lambda s: captured.setdefault("settings", s))
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: captured.update(run=kw))
    words = tmp_path / "w.txt"
    words.write_text("alpha\n")
    lm = CharNgramLM.fit(["alpha"], order=2).save(tmp_path / "lm.json")
    monkeypatch.setenv("LINEOCR_SERVE_MAX_BATCH", "8")
    monkeypatch.setenv("LINEOCR_SERVE_PORT", "9001")
    result = CliRunner().invoke(
        app,
        [
            "serve",
            "--models",
            "a.onnx,b",
            "--models",
            "c",
            "--port",
            "9100",
            "--no-batching",
            "--no-tta",
            "--max-body-mb",
            "1",
            "--lexicon",
            f"w={words}",
            "--lm",
            f"ar={lm}",
            "--timeout",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    s = captured["settings"]
    assert s.models == ("a.onnx", "b", "c") and s.max_batch == 8 and not s.batching
    assert not s.allow_tta
    assert s.port == 9100 and s.host == "127.0.0.1"  # the option wins over the environment
    assert s.max_body_bytes == 1024 * 1024 and s.request_timeout_s == 5.0
    assert s.lexicons == {"w": str(words)} and s.language_models == {"ar": str(lm)}
    assert captured["run"]["port"] == 9100 and captured["run"]["timeout_graceful_shutdown"] == 30
    bad = CliRunner().invoke(app, ["serve", "--lexicon", "nofile"])
    assert bad.exit_code == 2 and "NAME=FILE" in bad.output


@pytest.mark.parametrize("which", ["wait_within", "_wait_within_310"])
async def test_wait_within_does_not_swallow_a_cancellation(which: str) -> None:
    """Python 3.10 and 3.11's asyncio.wait_for returns the result of an awaitable already
    done and drops a cancellation of its caller (CPython gh-86296): the batch collector could
    miss the shutdown's cancel. wait_within (and its 3.10 path, tested here on any version)
    passes it on, and still times out."""
    from lineocr.serve import batcher

    wait_within = getattr(batcher, which)

    async def cancelled_while_waiting() -> str:
        done = asyncio.create_task(asyncio.sleep(0))
        await done
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        await wait_within(done, 10)
        await asyncio.sleep(0.01)
        return "cancellation swallowed"

    with pytest.raises(asyncio.CancelledError):
        await asyncio.create_task(cancelled_while_waiting())
    with pytest.raises(TimeoutError):
        await wait_within(asyncio.sleep(1), 0.01)
    assert await wait_within(asyncio.sleep(0, "x"), 1) == "x"
    queue: asyncio.Queue[int] = asyncio.Queue()
    with pytest.raises(TimeoutError):
        await wait_within(queue.get(), 0.01)
    queue.put_nowait(1)  # a get that timed out took nothing
    assert queue.qsize() == 1


# -- the Python client against a live server ----------------------------------------------


def test_client_sends_an_image_past_the_requests_pixels_again_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server reads what fits in a request's pixels and refuses the next image with 413
    ``request_too_many_pixels``, "send it in another request": the client does, the refused
    images together while the server reads some of them (3 requests for 5, not 4), and each
    is read. One over the limit by itself keeps that error, sent alone once."""
    from lineocr.serve.client import OcrClient

    sent: list[list[str]] = []
    real_read_bytes = OcrClient.read_bytes

    def read_bytes(self: OcrClient, files: Any, **options: Any) -> list[dict[str, Any]]:
        sent.append([Path(name).name for name, _ in files])
        return real_read_bytes(self, files, **options)

    monkeypatch.setattr(OcrClient, "read_bytes", read_bytes)
    paths = {}
    for name, size in [*((k, (40, 20)) for k in "abcde"), ("huge", (50, 50))]:
        paths[name] = tmp_path / f"{name}.png"
        paths[name].write_bytes(png(*size))
    load, _ = counting_loader(StubRecognizer())
    # 800 pixels a line: two fit in a request, three do not; 2,500 never fit, though the
    # server takes images that large.
    settings = Settings(
        models=("stub",), max_pixels=3000, max_request_pixels=2000, batch_timeout_ms=2
    )
    with LiveServer(settings, load) as server:
        client = OcrClient(server.url)
        five = client.read([paths[k] for k in "abcde"])
        assert sent == [[f"{k}.png" for k in "abcde"], ["c.png", "d.png", "e.png"], ["e.png"]]
        sent.clear()
        with_huge = client.read([paths["a"], paths["huge"], paths["b"], paths["c"]])
    assert [r.get("text") for r in five] == ["40x20"] * 5
    assert [r["name"] for r in five] == [str(paths[k]) for k in "abcde"]
    assert sent == [["a.png", "huge.png", "b.png", "c.png"], ["huge.png", "c.png"], ["huge.png"]]
    assert [r.get("text") for r in with_huge] == ["40x20", None, "40x20", "40x20"]
    error = with_huge[1]["error"]
    assert error["code"] == "request_too_many_pixels" and error["status"] == 413
    assert with_huge[1]["name"] == str(paths["huge"])
    assert error["message"].startswith("huge.png: with its 2,500 pixels")
