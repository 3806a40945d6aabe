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
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from lineocr import __version__

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
    shell reports ``cat`` cut off by a closed pipe. Every command already runs inside this
    (see :class:`_Group`); typer itself would exit 1, the status that says an input could
    not be read."""
    try:
        yield
    except BrokenPipeError:
        _silence_stdout()
        raise typer.Exit(BROKEN_PIPE_STATUS) from None
    except SystemExit as exc:  # rich's Console.on_broken_pipe (help, progress) exits 1
        if not isinstance(exc.__context__, BrokenPipeError):
            raise
        _silence_stdout()
        raise typer.Exit(BROKEN_PIPE_STATUS) from None


INTERRUPTED_STATUS = 130  # 128 + SIGINT: what a shell reports for a command stopped by Ctrl-C


@contextmanager
def _ends_as_a_shell_expects() -> Iterator[None]:
    """A closed output pipe: status 141 and nothing said; Ctrl-C: ``interrupted`` and
    status 130. typer would exit 1 silently for the one and 130 silently for the other."""
    try:
        with quiet_exit_when_the_reader_leaves():
            yield
            if sys.stdout is not None:  # None: started with stdout closed (`>&-`)
                sys.stdout.flush()  # output still buffered meets a closed pipe here, not at exit
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(INTERRUPTED_STATUS) from None


class _Group(TyperGroup):
    """The ``lineocr`` group: parsing (which prints ``--help``) and every command run
    :func:`_ends_as_a_shell_expects`, inside typer's own handling of exits and usage
    errors, which catches a broken pipe and Ctrl-C before :func:`main` could."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        with _ends_as_a_shell_expects():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        with _ends_as_a_shell_expects():
            return super().invoke(ctx)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _untyped_flags(command, ctx)
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _untyped_flags(self, ctx)
        super().format_help(ctx, formatter)


def _untyped_flags(command: Any, ctx: Any) -> None:
    """On/off options shown without a type in ``--help``: typer 0.29 shows ``--tta <bool>``,
    as if the flag took a value (``--tta true`` then reads "true" as an input file)."""
    for param in command.get_params(ctx):
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""


app = typer.Typer(
    name="lineocr",
    cls=_Group,
    help="Train, evaluate, export, run and serve text-line OCR models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
    # _Group's for parsing and commands; here, a safety net for what typer does outside
    # them (showing a usage error on a closed stderr).
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(INTERRUPTED_STATUS)
    except BrokenPipeError:
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
    "INTERRUPTED_STATUS",
    "app",
    "check_output_file",
    "debugging",
    "fail",
    "main",
    "quiet_exit_when_the_reader_leaves",
]
