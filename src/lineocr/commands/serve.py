"""`lineocr serve`: the HTTP API and web page (registered on import; FastAPI imported inside)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lineocr.cli import app, fail


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind (0.0.0.0 to accept others).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    models: Annotated[
        Optional[list[str]],  # noqa: UP045 - typer needs Optional on 3.10
        typer.Option(
            "--models",
            "--model",
            help="Bundled model names or .onnx paths, repeated or comma-separated (the first "
            "is the default). Default: every bundled model.",
        ),
    ] = None,
    max_batch: Annotated[int, typer.Option(help="Images per ONNX batch at most.")] = 32,
    batch_timeout_ms: Annotated[
        float, typer.Option(help="How long a batch waits for more images.")
    ] = 5.0,
    no_batching: Annotated[
        bool, typer.Option("--no-batching", help="Run each request alone (for comparison).")
    ] = False,
    workers: Annotated[
        int, typer.Option(help="Server processes (each loads the models once).")
    ] = 1,
    threads: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(help="ONNX Runtime threads per model (default: its own choice)."),
    ] = None,
    max_images: Annotated[int, typer.Option(help="Images per request at most.")] = 16,
    max_body_mb: Annotated[float, typer.Option(help="Request body limit in MB.")] = 10.0,
    timeout: Annotated[float, typer.Option(help="Per-request timeout in seconds.")] = 30.0,
    lexicon: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(help="A named lexicon NAME=FILE (one word per line); repeatable."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve the HTTP API (/v1/ocr, /docs) and the web page (/) with the given models."""
    try:
        import uvicorn

        from lineocr.serve.app import configure_logging, create_app
        from lineocr.serve.settings import SETTINGS_ENV, Settings, SettingsError
    except ImportError as exc:
        raise fail(f"serving needs the serve extra: pip install 'lineocr[serve]' ({exc})") from None
    lexicons = {}
    for item in lexicon or []:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise fail(f"--lexicon {item!r}: expected NAME=FILE")
        lexicons[name] = path
    try:
        settings = Settings(
            host=host,
            port=port,
            models=tuple(m.strip() for item in models or () for m in item.split(",") if m.strip()),
            threads=threads,
            batching=not no_batching,
            max_batch=max_batch,
            batch_timeout_ms=batch_timeout_ms,
            max_images_per_request=max_images,
            max_body_bytes=int(max_body_mb * 1024 * 1024),
            request_timeout_s=timeout,
            lexicons=lexicons,
            log_level=log_level,
        )
        settings.lexicon_words()  # a bad lexicon file fails here, before the server starts
    except SettingsError as exc:
        raise fail(str(exc)) from None
    if workers < 1:
        raise fail("--workers must be at least 1")
    configure_logging(log_level)
    if workers > 1:
        # Worker processes import the app themselves; the settings travel as JSON.
        import os

        os.environ[SETTINGS_ENV] = settings.to_json()
    uvicorn.run(
        "lineocr.serve.app:create_app_from_env" if workers > 1 else create_app(settings),
        factory=workers > 1,
        workers=workers if workers > 1 else None,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        timeout_graceful_shutdown=int(settings.shutdown_timeout_s),
        server_header=False,
    )
