"""`lineocr read` (registered on import): line images -> text, here or on a lineocr server.

Runs without PyTorch (ONNX Runtime only). Heavy imports happen inside the command so that
``lineocr --help`` starts fast.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import sys
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from lineocr.cli import app, debugging, fail
from lineocr.commands.lm import LengthBonusOpt, LmWeightOpt, ReadLmOpt, lm_decode_options

# typer needs typing.Optional on Python 3.10.
# ruff: noqa: UP045

PROGRESS_MIN_INPUTS = 50  # below this a progress bar is noise
CHUNK_IMAGES = 512  # images recognised at once (two chunks are held in memory)
WORKER_CHUNK = CHUNK_IMAGES  # images a --workers process reads per task
PR_SET_PDEATHSIG = 1  # prctl(2)
# Options that only shape how this machine reads; a server reads as it was started.
LOCAL_ONLY_OPTIONS = {"batch_size": "--batch-size", "threads": "--threads", "workers": "--workers"}
NOT_GIVEN = (
    "DEFAULT",
    "DEFAULT_MAP",
)  # an option's source (click's ParameterSource) when not given


class OutputFormat(str, Enum):
    text = "text"
    tsv = "tsv"
    jsonl = "jsonl"


class LayoutMode(str, Enum):
    auto = "auto"
    line = "line"
    page = "page"


LINE_HEIGHTS = 3  # auto: ink this many model heights tall or less is one line


class DecoderName(str, Enum):
    greedy = "greedy"
    beam = "beam"


PATTERN_BUDGET_S = 10.0  # seconds a --pattern may take to compile

# Decoding options of `read` and `eval` (with --lm and its weights: lineocr.commands.lm).
DecoderOpt = Annotated[DecoderName, typer.Option(help="CTC decoder.")]
BeamWidthOpt = Annotated[
    Optional[int],
    typer.Option(help="Beam width (beam, lexicon, pattern, --lm; default 10).", min=1),
]
LexiconOpt = Annotated[
    Optional[Path],
    typer.Option(help="Word list (UTF-8, one word per line): words must come from it."),
]
PatternOpt = Annotated[
    Optional[str],
    typer.Option(
        help="Regex the whole line must match, or a name: digits, integer, id14, "
        "national-id, date, time, amount, decimal."
    ),
]


def expand_inputs(inputs: Sequence[str], stdin_lines: Iterator[str] | None = None) -> list[str]:
    """Files as given, directories searched recursively for images (sorted), ``-`` replaced
    by the paths listed on stdin (one per line; only the line ending is removed: spaces can
    belong to a name). Missing and unusable paths are kept: reading reports them."""
    paths: list[str] = []
    for item in inputs:
        if item == "-":
            lines = stdin_lines if stdin_lines is not None else _stdin_lines()
            for line in lines:  # a directory listed here is searched too
                name = line.removesuffix("\n").removesuffix("\r")
                if name:
                    paths.extend(_expand_path(name))
        else:
            paths.extend(_expand_path(item))
    return paths


def _stdin_lines() -> Iterator[str]:
    """Stdin's lines decoded as the file system decodes names, whatever the locale: a name
    that is not UTF-8 still names its file."""
    if sys.stdin is None:  # started with stdin closed (<&-)
        raise fail("cannot read the paths on stdin: it is closed")
    stream = getattr(sys.stdin, "buffer", None)
    return iter(sys.stdin) if stream is None else (os.fsdecode(line) for line in stream)


def _expand_path(item: str) -> list[str]:
    """A file as given; a directory's images (recursively, sorted, as a dataset folder is
    searched) and, in their place, its sub-folders that cannot be listed, or the directory
    itself when it has none: reading reports each (:func:`_load`)."""
    from lineocr.files import walk_files
    from lineocr.images import IMAGE_SUFFIXES, OTHER_IMAGE_SUFFIXES

    path = Path(item)
    try:
        is_dir = path.is_dir()
    except OSError:  # a name too long for the file system: reading reports it
        return [item]
    if not is_dir:
        return [item]
    wanted = IMAGE_SUFFIXES | OTHER_IMAGE_SUFFIXES  # the others are reported as unsupported
    unreadable: list[tuple[Path, str]] = []
    images = [p for p in walk_files(path, unreadable=unreadable) if p.suffix.lower() in wanted]
    unlisted = [folder for folder, _ in unreadable if folder != path]
    return [str(p) for p in sorted(images + unlisted)] or [item]


# Backslash, tab, newline, carriage return and the other control characters, escaped.
_ESCAPES = {i: f"\\x{i:02x}" for i in (*range(32), 127)} | {
    ord("\\"): "\\\\",
    ord("\t"): "\\t",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
}
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _escaped(text: str) -> str:
    """``text`` as one TSV field or in a one-line message: backslash escapes (``\\\\``,
    ``\\t``, ``\\n``, ``\\r``, ``\\xNN``), so that it neither splits its line nor
    changes (a tab shown as a space would name another file)."""
    return text.translate(_ESCAPES)


def _json_line(record: dict[str, Any]) -> str:
    """``record`` as one line of UTF-8 JSON. A file name that is not UTF-8 (bytes decoded
    with ``surrogateescape``) keeps its stand-ins as ``\\udcXX`` escapes: ``json.loads``
    gives the same string back, ``os.fsencode`` the name's bytes."""
    line = json.dumps(record, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", line)


def format_result(output_format: OutputFormat, path: str, prediction: Any) -> str:
    """One input's output line (without the newline); a page's text is its lines in
    reading order, blocks separated by a blank line."""
    if hasattr(prediction, "blocks"):  # a lineocr.page.Page (not imported: --server needs no cv2)
        if output_format is OutputFormat.jsonl:
            return _json_line({"path": path, **prediction.to_dict()})
        if output_format is OutputFormat.tsv:
            return f"{_escaped(path)}\t{_escaped(prediction.text)}\t{prediction.confidence:.4f}"
        return prediction.block_text
    if output_format is OutputFormat.jsonl:
        return _json_line({"path": path, **prediction.to_dict()})
    if output_format is OutputFormat.tsv:
        return f"{_escaped(path)}\t{_escaped(prediction.text)}\t{prediction.confidence:.4f}"
    return str(prediction.text)


class _Writer:
    """Writes one result or error per input in the chosen format; counts errors."""

    def __init__(self, output_format: OutputFormat) -> None:
        self.format = output_format
        self.errors = 0

    def result(self, path: str, prediction: Any) -> None:
        self.line(format_result(self.format, path, prediction))

    def error(self, path: str, reason: str) -> None:
        self.errors += 1
        if self.format is OutputFormat.jsonl:
            self.line(_json_line({"path": path, "error": reason}))
            return
        typer.echo(f"error: {_escaped(path)}: {_escaped(reason)}", err=True)  # one line each
        if self.format is OutputFormat.text:  # one line per input, so outputs line up
            self.line("")

    @staticmethod
    def line(text: str) -> None:
        """One output line. A write that fails (a full disk) ends the run, exit status 2;
        a reader gone (a closed pipe) ends it quietly (cli._Group)."""
        try:
            typer.echo(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise fail(f"cannot write the output: {exc.strerror or exc}") from None


Outcome = tuple[str, Any]  # ("ok", image or output line) or ("error", reason)


@dataclass(frozen=True)
class ReadSettings:
    """How each input is read and written: the output format, the lines per model run
    (a local read only), the options given to ``read_batch`` (decoding, ``tta``) and
    whether an image is a line or a page (``layout``)."""

    output_format: OutputFormat
    batch_size: int
    options: dict[str, Any]
    layout: LayoutMode = LayoutMode.line
    detector: Any = None  # what finds a page's lines (None: the classical layout analysis)


def _load(path: str) -> Outcome:
    """("ok", the image as an array) or ("error", why it cannot be read)."""
    from lineocr.images import ImageError, load_image

    notes: list[str] = []
    try:
        if Path(path).is_dir():
            os.scandir(path).close()  # a folder that cannot be listed says why
            return ("error", "no images in this directory")
        image = load_image(path, notes=notes)
        for note in notes:  # e.g. a multi-page TIFF: said, not silently cut
            typer.echo(f"warning: {_escaped(path)}: {note}", err=True)
        return ("ok", image)
    except ImageError as exc:
        return ("error", exc.reason)
    except OSError as exc:  # "file name too long", as the other reasons are worded
        from lineocr.files import os_reason

        return ("error", os_reason(exc))


def is_page(image: Any, recognizer: Any, layout: LayoutMode) -> bool:
    """Whether ``image`` is read as a page: always with ``--layout page``, never with
    ``line``; with ``auto`` when its ink is more than :data:`LINE_HEIGHTS` model heights
    tall and either not line-shaped or holding lines one above another (a line image
    reads as before)."""
    if layout is not LayoutMode.auto:
        return layout is LayoutMode.page
    from lineocr.layout import find_lines
    from lineocr.preprocess import ink_box

    box = ink_box(image)
    if box is None or box[1] - box[0] <= LINE_HEIGHTS * recognizer.spec.height:
        return False
    top, bottom, left, right = box
    if right - left < 2 * (bottom - top):  # not line-shaped: a page, upright or turned
        return True
    # A wide image is a page only if the lines found lie one above another: a single line
    # of large print can fall apart into pieces side by side (an Arabic line into its
    # words and dots), which overlap in height.
    return _rows_of_lines([line.box for line in find_lines(image).lines]) > 1


def _load_detector(name: str | None) -> Any:
    """The --detector: None for the classical analysis, else a loaded learned detector."""
    if name is None or name == "classical":
        return None
    from lineocr.detect.runtime import DetectorError, LineDetector

    try:
        return LineDetector.load(name)
    except DetectorError as exc:
        raise fail(f"--detector {name}: {exc}") from None


def _rows_of_lines(boxes: list[tuple[int, int, int, int]]) -> int:
    """How many bands of height the boxes (x0, y0, x1, y1) fall into, boxes whose heights
    overlap sharing a band."""
    rows = 0
    reach = -1
    for _, y0, _, y1 in sorted(boxes, key=lambda b: b[1]):
        if y0 >= reach:
            rows += 1
        reach = max(reach, y1)
    return rows


def _read_page(recognizer: Any, image: Any, how: ReadSettings) -> Any:
    """The page, or the exception that stopped its reading (it costs only its own result)."""
    from lineocr.page import PageReader

    try:
        reader = PageReader(recognizer, batch_size=how.batch_size, detector=how.detector)
        return reader.read(image, **how.options)
    except Exception as exc:  # said as this input's error
        return exc


def _recognise(
    recognizer: Any, paths: list[str], outcomes: list[Outcome], how: ReadSettings
) -> list[Outcome]:
    """The loaded images among ``outcomes`` read (each a line or a page, :func:`is_page`),
    each result formatted as its output line (in the worker, under --workers: the parent
    only writes); errors left as they are."""
    from lineocr.runtime import run_isolated

    done = list(outcomes)
    for i, (kind, image) in enumerate(outcomes):
        try:
            page = kind == "ok" and is_page(image, recognizer, how.layout)
        except Exception as exc:  # said as this input's error
            done[i] = ("error", f"cannot find the lines: {type(exc).__name__}: {exc}"[:300])
            continue
        if page:
            result = _read_page(recognizer, image, how)
            if isinstance(result, Exception):
                reason = f"cannot read the page: {type(result).__name__}: {result}"
                done[i] = ("error", reason[:300])
            else:
                done[i] = ("ok", format_result(how.output_format, paths[i], result))
    outcomes = [o if d is o else ("page", None) for o, d in zip(outcomes, done, strict=True)]
    loaded = [i for i, (kind, _) in enumerate(outcomes) if kind == "ok"]
    # An image the preprocessing or the model cannot take costs only its own result.
    predictions = run_isolated(
        lambda images: recognizer.read_batch(images, batch_size=how.batch_size, **how.options),
        [outcomes[i][1] for i in loaded],
    )
    for i, prediction in zip(loaded, predictions, strict=True):
        if isinstance(prediction, Exception):
            reason = f"cannot recognise: {type(prediction).__name__}: {prediction}"
            done[i] = ("error", reason[:300])
        else:
            done[i] = ("ok", format_result(how.output_format, paths[i], prediction))
    return done


def _read_here(
    recognizer: Any, paths: list[str], how: ReadSettings
) -> Generator[tuple[list[str], list[Outcome]], None, None]:
    """(paths, outcomes) chunk by chunk; the next chunk's files are decoded (on a thread
    pool) while one is recognised."""
    chunks = [paths[i : i + CHUNK_IMAGES] for i in range(0, len(paths), CHUNK_IMAGES)]
    with concurrent.futures.ThreadPoolExecutor(recognizer.threads) as pool:
        loading = [pool.submit(_load, path) for path in chunks[0]]
        for k, chunk in enumerate(chunks):
            outcomes = [future.result() for future in loading]
            following = chunks[k + 1] if k + 1 < len(chunks) else []
            loading = [pool.submit(_load, path) for path in following]
            yield chunk, _recognise(recognizer, chunk, outcomes, how)


_worker: dict[str, Any] = {}  # a --workers process's recognizer and read settings


def _worker_start(
    parent: int, model: tuple[bytes, str, str], threads: int, how: ReadSettings
) -> None:
    """A --workers process's start: its own session of ``model`` (bytes, name, source)."""
    from lineocr.runtime import Recognizer

    _exit_with(parent)
    model_bytes, name, source = model
    recognizer = Recognizer(model_bytes, name=name, source=source, threads=threads)
    _worker.update(recognizer=recognizer, how=how)


def _exit_with(parent: int) -> None:
    """Linux: have the kernel end this worker when the parent process dies (were the
    parent killed outright, its workers would otherwise wait for work for ever)."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux
        return
    if os.getppid() != parent:  # it died before the call
        os._exit(1)


def _worker_read(paths: list[str]) -> list[Outcome]:
    outcomes = [_load(path) for path in paths]
    return _recognise(_worker["recognizer"], paths, outcomes, _worker["how"])


def _read_in_workers(
    recognizer: Any, paths: list[str], how: ReadSettings, workers: int, threads: int
) -> Generator[tuple[list[str], list[Outcome]], None, None]:
    """Like :func:`_read_here`, in ``workers`` forked processes (each its own session on
    ``threads`` threads, and its own interpreter lock), results in input order."""
    import gc
    import multiprocessing

    size = min(WORKER_CHUNK, -(-len(paths) // workers))  # every worker gets work
    chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
    model = (recognizer.model_bytes, recognizer.name, recognizer.source)
    start = (os.getpid(), model, threads, how)
    # An ONNX Runtime session that is garbage here (in a reference cycle, not yet collected:
    # a library caller's, a test's) must not be freed in a worker: its destructor waits for
    # a thread pool that does not exist in the fork, for ever. So collect it here, where its
    # threads live, and freeze what is left so that no worker's collector touches the
    # parent's objects (gc.freeze's documented use before fork).
    gc.collect()
    gc.freeze()
    # concurrent.futures rather than multiprocessing.Pool: a worker killed (out of memory)
    # fails the run with BrokenProcessPool instead of hanging it.
    pool = concurrent.futures.ProcessPoolExecutor(
        workers, multiprocessing.get_context("fork"), _worker_start, start
    )
    finished = False
    try:
        yield from zip(chunks, pool.map(_worker_read, chunks), strict=True)
        finished = True
    finally:
        # Stopped early (the reader of the output went away, an error): the chunks not yet
        # started are dropped, not read for nobody.
        pool.shutdown(wait=finished, cancel_futures=not finished)
        gc.unfreeze()


def _progress(total: int, enabled: bool | None) -> Any:
    from contextlib import nullcontext

    show = enabled if enabled is not None else total >= PROGRESS_MIN_INPUTS and sys.stderr.isatty()
    if not show:
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


@app.command()
def read(  # noqa: PLR0913 - a Typer command: one parameter per option
    ctx: typer.Context,
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Image files, directories (searched recursively) or '-' for paths on stdin.",
            show_default=False,
        ),
    ],
    model: Annotated[
        str, typer.Option("--model", "-m", help="Bundled model name, .onnx file or run directory.")
    ] = "printed",
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format", "-f", help="text: the text; tsv: path, text, confidence; jsonl: all."
        ),
    ] = OutputFormat.text,
    layout: Annotated[
        LayoutMode,
        typer.Option(
            help="line: each image is one text line; page: find the lines (columns, "
            "turned and skewed pages) and read them in order; auto: a line-shaped image "
            "as a line, anything else as a page (docs/runtime.md, Pages).",
        ),
    ] = LayoutMode.auto,
    detector: Annotated[
        Optional[str],
        typer.Option(
            help="What finds a page's lines: classical (the default: binarisation, connected "
            "components, whitespace) or a learned detector (an exported .onnx file or a "
            "bundled detector's name; docs/pages.md).",
        ),
    ] = None,
    decoder: DecoderOpt = DecoderName.greedy,
    beam_width: BeamWidthOpt = None,
    lexicon: LexiconOpt = None,
    pattern: PatternOpt = None,
    lm: ReadLmOpt = None,
    lm_weight: LmWeightOpt = None,
    length_bonus: LengthBonusOpt = None,
    tta: Annotated[
        bool,
        typer.Option(
            "--tta",
            help="Test-time augmentation: read each line as 12 views (bolder, narrower, "
            "turned, ...) and keep the text they agree on; fewer errors on unusual fonts, "
            "12 times the work (docs/runtime.md).",
        ),
    ] = False,
    batch_size: Annotated[
        int,
        typer.Option(
            help="Lines per model run (the default reads fastest on 2 cores: docs/runtime.md)."
        ),
    ] = 16,
    threads: Annotated[
        Optional[int],
        typer.Option(help="CPU threads (default: all cores; with --workers: 1 per worker)."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            help="Processes reading in parallel (Linux: forked after start-up): each has its "
            "own interpreter lock, so the Python parts of reading run in parallel too."
        ),
    ] = 1,
    progress: Annotated[
        Optional[bool],
        typer.Option(
            "--progress/--no-progress",
            help="Progress bar on stderr (default: for 50+ inputs on a terminal).",
            show_default=False,
        ),
    ] = None,
    server: Annotated[
        Optional[str],
        typer.Option(
            help="Read on a lineocr server (e.g. http://127.0.0.1:8000) instead of here; "
            "--model, --lexicon and --lm then name the server's models, lexicons and "
            "language models."
        ),
    ] = None,
) -> None:
    """Read text lines from images. Exit status 1 if any input could not be read."""
    _check_options(batch_size, workers, threads)
    if sys.stdout is None:  # started with stdout closed (>&-): nothing could be written
        raise fail("cannot write the output: standard output is closed")
    lm_options = lm_decode_options(lm, lm_weight, length_bonus)
    options = decode_options(decoder, beam_width, lexicon, pattern, lm_options)
    if tta:  # a reading option, not a decoder's: read_batch and the server take it
        options["tta"] = True
    if server is not None and layout is LayoutMode.page:
        raise fail("--layout page reads here only, not with --server (yet)")
    if server is not None and detector is not None:
        raise fail("--detector reads here only, not with --server (yet)")
    how = ReadSettings(output_format, batch_size, options, layout, _load_detector(detector))
    if server is not None:  # the same output, read by `lineocr serve` (lineocr.serve.client)
        _warn_of_options_a_server_ignores(ctx)
        paths = _list_inputs(inputs)
        writer = _read_on_server(server, paths, model, how, progress)
    else:
        recognizer = load_recognizer(model, workers, threads, options, lm)
        paths = _list_inputs(inputs)
        results = (
            _read_in_workers(recognizer, paths, how, workers, threads or 1)
            if workers > 1
            else _read_here(recognizer, paths, how)
        )
        try:  # a closed output pipe ends every command quietly (cli._Group): 141
            writer = _write_results(results, output_format, len(paths), progress)
        finally:
            results.close()  # at once, not when collected: stops the workers' pending work
    if writer.errors:
        typer.echo(f"{writer.errors} of {len(paths)} inputs could not be read", err=True)
        raise typer.Exit(1)


def _check_options(batch_size: int, workers: int, threads: int | None) -> None:
    """Fail (exit status 2) on option values that cannot work, before anything is loaded."""
    if batch_size < 1:
        raise fail("--batch-size must be at least 1")
    if workers < 1:
        raise fail("--workers must be at least 1")
    if workers > 1:
        import multiprocessing

        if "fork" not in multiprocessing.get_all_start_methods():
            raise fail("--workers needs the 'fork' start method (Linux, macOS)")
    if threads is not None and threads < 1:
        raise fail("--threads must be at least 1")


def decode_options(
    decoder: DecoderName,
    beam_width: int | None,
    lexicon: Path | None,
    pattern: str | None,
    lm_options: dict[str, Any],
) -> dict[str, Any]:
    """The decoding options given, as ``Recognizer.read_batch`` (and the server) take them;
    ``lm_options``: :func:`~lineocr.commands.lm.lm_decode_options`' for --lm and its weights."""
    options: dict[str, Any] = {"decoder": decoder.value}
    if beam_width is not None:
        options["beam_width"] = beam_width
    if lexicon is not None:
        options["lexicon"] = str(lexicon)
    if pattern is not None:
        options["pattern"] = pattern
    options.update(lm_options)
    return options


def _warn_of_options_a_server_ignores(ctx: typer.Context) -> None:
    """One warning naming the options given that only shape a local read: a server batches
    and threads as it was started (``lineocr serve --max-batch``, ``--threads``)."""
    # By name: typer carries its own copy of click, whose ParameterSource is not click's.
    given = [
        flag
        for name, flag in LOCAL_ONLY_OPTIONS.items()
        if getattr(ctx.get_parameter_source(name), "name", "DEFAULT") not in NOT_GIVEN
    ]
    if given:
        typer.echo(
            f"warning: {', '.join(given)} {'is' if len(given) == 1 else 'are'} ignored with "
            "--server: the server batches and threads as it was started",
            err=True,
        )


def _list_inputs(inputs: Sequence[str]) -> list[str]:
    """The paths to read (see :func:`expand_inputs`); none at all is a usage error."""
    paths = expand_inputs(inputs)
    if not paths:
        raise fail("no inputs (stdin was empty)")
    return paths


def load_recognizer(
    model: str, workers: int, threads: int | None, options: dict[str, Any], lm: Path | None
) -> Any:
    """The model loaded and the decoding options checked, before any image is read (one
    line and exit status 2 otherwise); a language model built for other characters is
    warned about."""
    from lineocr.charset import shown_chars
    from lineocr.deadline import DeadlineExceeded, run_with_deadline
    from lineocr.runtime import DecodeError, ModelError, ModelNotFoundError, Recognizer

    try:
        # With workers, this process only checks the model and options: one thread, so that
        # no ONNX Runtime thread exists when the workers are forked.
        recognizer = Recognizer.load(model, threads=1 if workers > 1 else threads)
        # A regex can compile to an automaton exponential in its size, so its compilation
        # gets a time budget.
        decode_options = {k: v for k, v in options.items() if k != "tta"}
        checked = run_with_deadline(lambda: recognizer.decoder(**decode_options), PATTERN_BUDGET_S)
    except DeadlineExceeded:
        raise fail(
            f"the pattern takes more than {PATTERN_BUDGET_S:g} s to compile; simplify it"
        ) from None
    except (ModelNotFoundError, ModelError, DecodeError, ValueError, OSError) as exc:
        raise fail(str(exc)) from None
    if checked.lm is not None and (foreign := checked.lm.foreign_chars(recognizer.charset)):
        typer.echo(
            f"warning: {lm} was built for another model: {len(foreign)} of its characters "
            f"{model} cannot write ({shown_chars(foreign)}); "
            f"build one for it with lineocr lm -m {model}",
            err=True,
        )
    return recognizer


def _write_results(
    results: Iterable[tuple[list[str], list[Outcome]]],
    output_format: OutputFormat,
    total: int,
    progress: bool | None,
) -> _Writer:
    """Each chunk's output lines and errors written as it comes; the writer counts errors.
    A failure outside any one image's reading is one line (exit status 2), or its traceback
    with ``LINEOCR_DEBUG`` set."""
    writer = _Writer(output_format)
    with _progress(total, progress) as bar:
        task = bar.add_task("reading", total=total) if bar is not None else None
        try:
            for chunk, outcomes in results:
                for path, (kind, value) in zip(chunk, outcomes, strict=True):
                    if kind == "ok":
                        writer.line(value)
                    else:
                        writer.error(path, value)
                if bar is not None:
                    bar.update(task, advance=len(chunk))
        # The reader went away (cli._Group ends the command, 141), or a write failed (said).
        except (BrokenPipeError, typer.Exit):
            raise
        except Exception as exc:  # never a traceback unless asked for: one clear line
            if debugging():
                raise
            raise fail(f"recognition failed: {exc}") from None
    return writer


def _read_on_server(
    server: str, paths: list[str], model: str, how: ReadSettings, progress: bool | None
) -> _Writer:
    """:func:`_write_results` for a read on a lineocr server: each result written as its
    request is answered (files are read just before they are sent, a request at a time).
    A server that fails once some inputs are answered (exit status 2) leaves their lines
    written, and the error says how many: the inputs after them were not read."""
    from lineocr.prediction import Prediction
    from lineocr.serve.client import ClientError, read_on_server

    writer = _Writer(how.output_format)
    answered = 0
    with _progress(len(paths), progress) as bar:
        task = bar.add_task("reading", total=len(paths)) if bar is not None else None

        def answer() -> None:
            nonlocal answered
            answered += 1
            if bar is not None:
                bar.update(task, advance=1)

        def on_result(path: str, prediction: Prediction) -> None:
            writer.result(path, prediction)
            answer()

        def on_error(path: str, reason: str) -> None:
            if os.path.isdir(path):  # noqa: PTH112 - Path.is_dir raises on a name too long
                # as a read here says it ("permission denied"), not "is a directory"
                kind, why = _load(path)
                reason = str(why) if kind == "error" else reason
            writer.error(path, reason)
            answer()

        try:
            read_on_server(server, paths, on_result, on_error, model=model, **how.options)
        except ClientError as exc:
            if not answered:  # nothing read: the server could not be used at all
                raise fail(str(exc)) from None
            raise fail(
                f"read {answered} of {len(paths)} inputs before the server failed: {exc}"
            ) from None
    return writer
