"""The ``lineocr`` command line: read, train, eval, export, synth, serve, models.

Thin commands over the library; heavy imports (torch, onnxruntime) happen inside each
command so that ``lineocr --help`` starts fast. Errors are printed as one clear line with a
non-zero exit, never as a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Annotated, Optional

import typer

from lineocr import __version__

app = typer.Typer(
    name="lineocr",
    help="Train, evaluate, export, run and serve text-line OCR models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


DEBUG_ENV = "LINEOCR_DEBUG"  # set (non-empty): an error no command names shows its traceback


def debugging() -> bool:
    """Whether ``LINEOCR_DEBUG`` asks for tracebacks instead of one-line errors."""
    return bool(os.environ.get(DEBUG_ENV))


BROKEN_PIPE_STATUS = 141  # 128 + SIGPIPE: what a shell reports for `cat` cut off by `| head`


def _silence_stdout() -> None:
    """Point stdout at /dev/null once its reader has gone, so that flushing what is left at
    exit does not fail again; a stdout that is no file (a test runner's buffer) has nothing
    to flush there."""
    with suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@contextmanager
def quiet_exit_when_the_reader_leaves() -> Iterator[None]:
    """The reader of the output went away (``| head``): stop quietly with status 141, as a
    shell reports ``cat`` cut off by a closed pipe. Inside a command: typer itself would
    exit 1, the status that says an input could not be read."""
    try:
        yield
    except BrokenPipeError:
        _silence_stdout()
        raise typer.Exit(BROKEN_PIPE_STATUS) from None


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr; raise the returned Exit."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def check_output_file(path: Path, what: str, suffixes: tuple[str, ...] = ()) -> None:
    """Fail before any work if ``path`` cannot be written as ``what``: a directory, a
    folder that does not exist, or (with ``suffixes``) another extension."""
    try:
        is_dir, folder_exists = path.is_dir(), path.parent.is_dir()
    except OSError as exc:  # a file name too long for the file system, ...
        raise fail(f"{what} {str(path)[:80]}...: {exc.strerror}") from None
    if is_dir:
        raise fail(f"{what} {path} is a directory; give a file name")
    if not folder_exists:
        raise fail(f"{what} {path}: the folder {path.parent} does not exist")
    if suffixes and path.suffix.lower() not in suffixes:
        raise fail(f"{what} {path}: the file name must end in {', '.join(suffixes)}")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lineocr {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        Optional[bool],  # noqa: UP045 - typer needs Optional on 3.10
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = None,
) -> None:
    """lineocr: OCR for text lines, from your labelled images to a served model."""


# Commands are registered by the modules below; each keeps its heavy imports inside.
from lineocr import commands  # noqa: E402,F401


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:  # outside a command's quiet_exit_when_the_reader_leaves
        _silence_stdout()
        sys.exit(BROKEN_PIPE_STATUS)
    except Exception as exc:  # a case no command names: still one line, never a traceback
        if debugging():
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        typer.echo(
            f"error: {type(exc).__name__}{': ' + message if message else ''} "
            "(LINEOCR_DEBUG=1 shows the traceback)",
            err=True,
        )
        sys.exit(2)


__all__ = [
    "BROKEN_PIPE_STATUS",
    "Path",
    "app",
    "check_output_file",
    "debugging",
    "fail",
    "main",
    "quiet_exit_when_the_reader_leaves",
]
