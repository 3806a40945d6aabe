"""`lineocr serve`: the HTTP API and web page (registered on import; FastAPI imported inside)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar

import typer

from lineocr.cli import app, fail

if TYPE_CHECKING:
    from lineocr.serve.settings import Settings

# Options left out keep the value of the environment (LINEOCR_SERVE_<SETTING>) or the default.
T = TypeVar("T")
Opt = Optional[T]  # noqa: UP045 - typer needs Optional (not `X | None`) on 3.10


@app.command()
def serve(  # noqa: PLR0913 - a Typer command: one parameter per option
    host: Annotated[Opt[str], typer.Option(help="Address to bind (default: 127.0.0.1).")] = None,
    port: Annotated[Opt[int], typer.Option(help="TCP port (default: 8000).")] = None,
    models: Annotated[
        Opt[list[str]],
        typer.Option(
            "--models",
            "--model",
            help="Bundled model names or .onnx paths, repeated or comma-separated; the first "
            "is the default (default: every bundled model that is built).",
        ),
    ] = None,
    max_batch: Annotated[
        Opt[int],
        typer.Option(
            help="Lines per ONNX batch at most: an image is one, with tta one per view, 12 "
            "(default: 32)."
        ),
    ] = None,
    batch_timeout_ms: Annotated[
        Opt[float], typer.Option(help="How long a batch waits for more images (default: 5).")
    ] = None,
    no_batching: Annotated[
        bool, typer.Option("--no-batching", help="Run each request alone (for comparison).")
    ] = False,
    no_tta: Annotated[
        bool,
        typer.Option("--no-tta", help="Refuse the tta option (12 model runs per image)."),
    ] = False,
    workers: Annotated[int, typer.Option(help="Server processes; each loads the models once.")] = 1,
    threads: Annotated[
        Opt[int], typer.Option(help="ONNX Runtime threads per model (default: its own choice).")
    ] = None,
    max_images: Annotated[
        Opt[int], typer.Option(help="Images per request at most (default: 16).")
    ] = None,
    max_body_mb: Annotated[
        Opt[float], typer.Option(help="Request body limit in MiB (default: 10).")
    ] = None,
    timeout: Annotated[
        Opt[float], typer.Option(help="Per-request timeout, seconds (default: 30).")
    ] = None,
    lexicon: Annotated[
        Opt[list[str]],
        typer.Option(help="A named lexicon NAME=FILE (one word per line); repeatable."),
    ] = None,
    lm: Annotated[
        Opt[list[str]],
        typer.Option(
            "--lm", help="A named character language model NAME=FILE (`lineocr lm`); repeatable."
        ),
    ] = None,
    log_level: Annotated[
        Opt[str], typer.Option(help="debug, info, warning, error, critical (default: info).")
    ] = None,
) -> None:
    """Serve the HTTP API (/v1/ocr, /docs) and the web page (/) with the given models.

    Settings not given here come from LINEOCR_SERVE_<SETTING> environment variables
    (LINEOCR_SERVE_MODELS=printed,arabic-digits, LINEOCR_SERVE_MAX_BATCH=16, ...; see
    docs/serving.md), then from the safe defaults.
    """
    try:  # the serve extra, before any setting is read (_run uses these modules)
        import uvicorn  # noqa: F401

        from lineocr.serve import app as _app  # noqa: F401
        from lineocr.serve import connections as _connections  # noqa: F401
        from lineocr.serve.settings import Settings, SettingsError
    except ImportError as exc:
        raise fail(f"serving needs the serve extra: pip install 'lineocr[serve]' ({exc})") from None
    changes: dict[str, Any] = {
        "host": host,
        "port": port,
        "threads": threads,
        "max_batch": max_batch,
        "batch_timeout_ms": batch_timeout_ms,
        "max_images_per_request": max_images,
        "request_timeout_s": timeout,
        "log_level": log_level,
    }
    if models:
        changes["models"] = tuple(
            m.strip() for item in models for m in item.split(",") if m.strip()
        )
    if no_batching:
        changes["batching"] = False
    if no_tta:
        changes["allow_tta"] = False
    if max_body_mb is not None:
        if not 0 < max_body_mb < 1e6:  # NaN fails too
            raise fail(f"--max-body-mb must be a positive number of MiB, got {max_body_mb}")
        changes["max_body_bytes"] = max(1, int(max_body_mb * 1024 * 1024))
    for option, items, setting in (
        ("--lexicon", lexicon, "lexicons"),
        ("--lm", lm, "language_models"),
    ):
        if items:
            changes[setting] = _named_files(option, items)
    if workers < 1:
        raise fail("--workers must be at least 1")
    try:
        base = Settings.from_env()
        settings = Settings.from_mapping(
            {**base.__dict__, **{k: v for k, v in changes.items() if v is not None}}
        )
    except SettingsError as exc:
        raise fail(str(exc)) from None
    _run(settings, workers)


def _named_files(option: str, items: list[str]) -> dict[str, str]:
    """The NAME=FILE values of ``option`` (``--lexicon``, ``--lm``) as {name: file}."""
    named = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise fail(f"{option} {item!r}: expected NAME=FILE")
        named[name.strip()] = path.strip()
    return named


def _run(settings: Settings, workers: int) -> None:
    """Serve with ``settings`` in one process, or in ``workers`` processes that each build
    the app from the settings."""
    import uvicorn

    from lineocr.serve.app import configure_logging, create_app
    from lineocr.serve.connections import connection_options
    from lineocr.serve.settings import SETTINGS_ENV, SettingsError

    configure_logging(settings.log_level)
    # A bad lexicon or language-model file fails here, before the server starts: read by
    # the app itself with one process, checked once here when worker processes read them.
    target: Any = "lineocr.serve.app:create_app_from_env"
    try:
        if workers > 1:
            settings.lexicon_words()
            settings.load_language_models()
        else:
            target = create_app(settings)
    except SettingsError as exc:
        raise fail(str(exc)) from None
    if workers > 1:
        # Worker processes build the app themselves; the settings travel as JSON.
        import os

        os.environ[SETTINGS_ENV] = settings.to_json()
    uvicorn.run(
        target,
        factory=workers > 1,
        workers=workers if workers > 1 else None,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=int(settings.shutdown_timeout_s),
        server_header=False,
        **connection_options(settings),  # head deadline, connection cap, open-files limit
    )
