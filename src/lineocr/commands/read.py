"""`lineocr read` (registered on import): line images -> text, here or on a lineocr server.

Runs without PyTorch (ONNX Runtime only). Heavy imports happen inside the command so that
``lineocr --help`` starts fast.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import os
import sys
from collections.abc import Generator, Iterable, Iterator, Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional, TextIO

import typer

from lineocr.cli import app, check_output_file, debugging, fail
from lineocr.commands.document_output import (
    DocumentError,
    check_document_options,
    document_page,
    write_document,
)
from lineocr.commands.lm import LengthBonusOpt, LmWeightOpt, ReadLmOpt, lm_decode_options

# What reads each input lives in lineocr.reading (shared with `lineocr batch`); these names
# stay importable from here.
from lineocr.reading import (  # noqa: F401
    DOCUMENT_FORMATS,
    LayoutMode,
    Outcome,
    OutputFormat,
    ReadSettings,
    is_page,
    json_line,
    load_input,
    recognise,
)

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
# Reading options that `read` and `batch` share.
ModelOpt = Annotated[
    str, typer.Option("--model", "-m", help="Bundled model name, .onnx file or run directory.")
]
TtaOpt = Annotated[
    bool,
    typer.Option(
        "--tta",
        help="Test-time augmentation: read each line as 12 views (bolder, narrower, "
        "turned, ...) and keep the text they agree on; fewer errors on unusual fonts, "
        "12 times the work (docs/runtime.md).",
    ),
]
ProgressOpt = Annotated[
    Optional[bool],
    typer.Option(
        "--progress/--no-progress",
        help="Progress bar on stderr (default: for 50+ inputs on a terminal).",
        show_default=False,
    ),
]


def expand_inputs(inputs: Sequence[str], stdin_lines: Iterator[str] | None = None) -> list[str]:
    """Files as given, directories searched recursively for images and PDFs (sorted),
    ``-`` replaced by the paths listed on stdin (one per line; only the line ending is
    removed: spaces can belong to a name). Missing and unusable paths are kept: reading
    reports them."""
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
    from lineocr.documents.inputs import PDF_SUFFIXES
    from lineocr.files import walk_files
    from lineocr.images import IMAGE_SUFFIXES, OTHER_IMAGE_SUFFIXES

    path = Path(item)
    try:
        is_dir = path.is_dir()
    except OSError:  # a name too long for the file system: reading reports it
        return [item]
    if not is_dir:
        return [item]
    # Images lineocr does not read are listed too, so that reading reports them.
    wanted = IMAGE_SUFFIXES | OTHER_IMAGE_SUFFIXES | PDF_SUFFIXES
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


def _escaped(text: str) -> str:
    """``text`` as one TSV field or in a one-line message: backslash escapes (``\\\\``,
    ``\\t``, ``\\n``, ``\\r``, ``\\xNN``), so that it neither splits its line nor
    changes (a tab shown as a space would name another file)."""
    return text.translate(_ESCAPES)


def format_result(output_format: OutputFormat, path: str, prediction: Any) -> str:
    """One input's output line (without the newline); a page's text is its lines in
    reading order, blocks separated by a blank line."""
    if hasattr(prediction, "blocks"):  # a lineocr.page.Page (not imported: --server needs no cv2)
        if output_format is OutputFormat.jsonl:
            return json_line({"path": path, **prediction.to_dict()})
        if output_format is OutputFormat.tsv:
            return f"{_escaped(path)}\t{_escaped(prediction.text)}\t{prediction.confidence:.4f}"
        return prediction.block_text
    if output_format is OutputFormat.jsonl:
        return json_line({"path": path, **prediction.to_dict()})
    if output_format is OutputFormat.tsv:
        return f"{_escaped(path)}\t{_escaped(prediction.text)}\t{prediction.confidence:.4f}"
    return str(prediction.text)


class _Writer:
    """Writes one result or error per input in the chosen format, to ``stream`` (default:
    stdout); counts errors. A document format (hOCR, ALTO, PAGE-XML) gathers the pages,
    written as one document at the end (:func:`_write_document`)."""

    def __init__(self, output_format: OutputFormat, stream: TextIO | None = None) -> None:
        self.format = output_format
        self.errors = 0
        self.stream = stream
        self.pages: list[Any] = []  # the document's pages, in input order

    def result(self, path: str, prediction: Any) -> None:
        self.line(format_result(self.format, path, prediction))

    def ok(self, path: str, value: Any) -> None:
        """An input read: ``value`` is its output line, or its page of the document
        (:func:`_recognise`)."""
        if self.format.value in DOCUMENT_FORMATS:
            self.pages.append(value)
        else:
            self.line(value)

    def finish(self) -> None:
        """Everything written (the text formats write as they go)."""

    def error(self, path: str, reason: str) -> None:
        self.errors += 1
        if self.format is OutputFormat.jsonl:
            self.line(json_line({"path": path, "error": reason}))
            return
        typer.echo(f"error: {_escaped(path)}: {_escaped(reason)}", err=True)  # one line each
        if self.format is OutputFormat.text:  # one line per input, so outputs line up
            self.line("")

    def line(self, text: str) -> None:
        """One output line. A write that fails (a full disk) ends the run, exit status 2;
        a reader gone (a closed pipe) ends it quietly (cli._Group)."""
        try:
            typer.echo(text, file=self.stream)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise fail(f"cannot write the output: {exc.strerror or exc}") from None


class _PdfWriter(_Writer):
    """``--format pdf``: each page read added to one searchable PDF, saved to ``output``
    when all are read (whole or not at all); errors on stderr as for the other formats."""

    def __init__(self, output: Path) -> None:
        from lineocr.documents.searchable_pdf import PdfFontError, SearchablePdf

        super().__init__(OutputFormat.pdf)
        self.output = output
        try:
            self.document = SearchablePdf()
        except PdfFontError as exc:
            raise fail(str(exc)) from None

    def ok(self, path: str, value: Any) -> None:
        result, image, dpi = value
        self.document.add_page(result, image, dpi)

    def finish(self) -> None:
        if not self.document.pages:
            raise fail(f"no page could be read: {self.output} not written", code=1)
        missing = self.document.missing_chars
        if missing:
            typer.echo(
                f"warning: {self.document.font_path.name} has no glyph for "
                f"{_escaped(''.join(missing))}: left out of the PDF's text layer",
                err=True,
            )
        try:
            self.document.save(self.output)
        except OSError as exc:
            raise fail(f"cannot write {self.output}: {exc.strerror or exc}") from None


def _load(path: str) -> Outcome:
    """("ok", the image as an array) or ("error", why it cannot be read); what the loader
    notes (e.g. a multi-page TIFF read as its first page) said on stderr, not cut silently."""
    notes: list[str] = []
    outcome = load_input(path, notes)
    for note in notes:
        typer.echo(f"warning: {_escaped(path)}: {note}", err=True)
    return outcome


def _output(how: ReadSettings, path: str, result: Any, image: Any) -> Any:
    """What the writer is given for a result: its output line, formatted here (in the
    worker, under --workers: the parent only writes); its page of an hOCR, ALTO or
    PAGE-XML document; for a PDF, the result, the image and its resolution."""
    from lineocr.documents.inputs import PageRef

    if how.document:
        if isinstance(path, PageRef) and path.page:
            return document_page(path.path, result, image, path.page)
        return document_page(path, result, image)
    if how.output_format is not OutputFormat.pdf:
        return format_result(how.output_format, path, result)
    dpi = path.dpi if isinstance(path, PageRef) and path.kind == "pdf" else how.dpi
    return (result, image, dpi)


def _load_detector(name: str | None) -> Any:
    """The --detector: None for the classical analysis, else a loaded learned detector."""
    if name is None or name == "classical":
        return None
    from lineocr.detect.runtime import DetectorError, LineDetector

    try:
        return LineDetector.load(name)
    except DetectorError as exc:
        raise fail(f"--detector {name}: {exc}") from None


def _recognise(
    recognizer: Any, paths: list[str], outcomes: list[Outcome], how: ReadSettings
) -> list[Outcome]:
    """The loaded images among ``outcomes`` read (each a line or a page,
    :func:`lineocr.reading.recognise`; a document's page a page), each result made its
    output (:func:`_output`, in the worker under --workers: the parent only writes);
    errors left as they are."""
    from lineocr.documents.inputs import PageRef

    if how.fields:
        return [
            _extract_fields(recognizer, path, o, how)
            for path, o in zip(paths, outcomes, strict=True)
        ]
    pages = [isinstance(path, PageRef) for path in paths]
    return [
        ("ok", _output(how, path, value, image)) if kind == "ok" else (kind, value)
        for path, (_, image), (kind, value) in zip(
            paths, outcomes, recognise(recognizer, outcomes, how, pages), strict=True
        )
    ]


def _extract_fields(recognizer: Any, path: str, outcome: Outcome, how: ReadSettings) -> Outcome:
    """``--extract``: the input read as a page and its fields found, as its output line(s);
    an input that cannot be read is its own error."""
    from lineocr.fields import field_specs, fields_to_dict, find_fields
    from lineocr.page import PageReader

    kind, image = outcome
    if kind != "ok":
        return outcome
    try:
        reader = PageReader(recognizer, batch_size=how.batch_size, detector=how.detector)
        page, crops = reader.read_with_crops(image, **how.options)
        found = find_fields(page, crops, field_specs(dict(how.fields)), recognizer)
    except Exception as exc:  # said as this input's error
        return ("error", f"cannot read the fields: {type(exc).__name__}: {exc}"[:300])
    return ("ok", fields_output(how.output_format, path, fields_to_dict(found), page))


def fields_output(output_format: OutputFormat, path: str, values: dict[str, Any], page: Any) -> str:
    """``--extract``'s output for one page (read here or on a server, whose answer gives
    the same ``fields``): jsonl, the page's record with its ``fields``; tsv, one row per
    field (path, name, value, confidence; empty when not found); text, ``NAME: value
    (confidence c)`` or ``NAME: not found`` per field."""
    if output_format is OutputFormat.jsonl:
        return json_line({"path": path, "fields": values, **page.to_dict()})
    rows = []
    for name, value in values.items():
        if output_format is OutputFormat.tsv:
            shown = ("", "") if value is None else (value["value"], f"{value['confidence']:.4f}")
            rows.append("\t".join([_escaped(path), name, _escaped(shown[0]), shown[1]]))
        elif value is None:
            rows.append(f"{name}: not found")
        else:
            rows.append(f"{name}: {value['value']} (confidence {value['confidence']:.3f})")
    return "\n".join(rows)


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
            help="Image files, PDFs, directories (searched recursively) or '-' for paths on stdin.",
            show_default=False,
        ),
    ],
    model: ModelOpt = "printed",
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            "-f",
            help="text: the text; tsv: path, text, confidence; jsonl: all; hocr, alto (4.3): "
            "one document of all inputs' pages; page: PAGE-XML 2019, one file per page; "
            "pdf: a searchable PDF of all pages (the images with their text, invisible), "
            "written to --output (docs/documents.md).",
        ),
    ] = OutputFormat.text,
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output",
            "-o",
            help="Write the output to this file instead of stdout (--format page with "
            "several inputs: a folder, one PAGE file per page).",
        ),
    ] = None,
    lang: Annotated[
        Optional[str],
        typer.Option(
            help="The text's language (BCP 47: en, ar, fr-CA), written into hOCR, ALTO and "
            "PAGE-XML documents."
        ),
    ] = None,
    dpi: Annotated[
        float,
        typer.Option(
            help="Resolution PDF pages are rasterised at; also an image's resolution in "
            "--format pdf (docs/documents.md).",
            min=1,
        ),
    ] = 300.0,
    pages: Annotated[
        Optional[str],
        typer.Option(
            help="Pages of each PDF or multi-page TIFF to read, e.g. 1-3,7,10- (default: all).",
            show_default=False,
        ),
    ] = None,
    max_pages: Annotated[
        int,
        typer.Option(
            help="A document with more pages (chosen by --pages) than this is not read.", min=1
        ),
    ] = 1000,
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
    tta: TtaOpt = False,
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
    progress: ProgressOpt = None,
    extract: Annotated[
        Optional[list[str]],
        typer.Option(
            "--extract",
            help="NAME=PATTERN (repeatable): find a field's value on each page: a named "
            "pattern (id, date, amount, phone, email) or a regex; text: 'NAME: value "
            "(confidence c)' per field, jsonl: a 'fields' object (docs/documents.md, Fields).",
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
    """Read text lines from images, and the pages of PDFs and multi-page TIFFs (each named
    path#page). Exit status 1 if any input could not be read."""
    _check_options(batch_size, workers, threads)
    _check_output(output_format, output, server)
    documents = _document_options(dpi, pages, max_pages)
    if sys.stdout is None and output is None:  # started with stdout closed (>&-)
        raise fail("cannot write the output: standard output is closed")
    lm_options = lm_decode_options(lm, lm_weight, length_bonus)
    options = decode_options(decoder, beam_width, lexicon, pattern, lm_options)
    if tta:  # a reading option, not a decoder's: read_batch and the server take it
        options["tta"] = True
    if server is not None and detector is not None:
        raise fail("--detector reads here only, not with --server (yet)")
    fields = _field_options(extract or [], pattern, server)
    how = ReadSettings(
        output_format, batch_size, options, layout, fields, dpi, _load_detector(detector)
    )
    if fields and (how.document or output_format is OutputFormat.pdf):
        raise fail(f"--extract writes text, tsv or jsonl, not --format {output_format.value}")
    lang = _checked_lang(lang)
    if server is not None:  # the same output, read by `lineocr serve` (lineocr.serve.client)
        _warn_of_options_a_server_ignores(ctx)
        paths = _list_inputs(inputs, documents)  # a document's pages rasterised here, sent
        with _output_stream(how, output, len(paths)) as stream:
            writer = _read_on_server(
                server, paths, model, how, progress, stream, _ServerOutput(lang, output)
            )
    else:
        recognizer = load_recognizer(model, workers, threads, options, lm)
        _check_fields(recognizer, fields)
        paths = _list_inputs(inputs, documents)
        with _output_stream(how, output, len(paths)) as stream:
            writer = (
                _PdfWriter(output)
                if output_format is OutputFormat.pdf and output is not None
                else _Writer(output_format, stream)
            )
            results = (
                _read_in_workers(recognizer, paths, how, workers, threads or 1)
                if workers > 1
                else _read_here(recognizer, paths, how)
            )
            try:  # a closed output pipe ends every command quietly (cli._Group): 141
                _write_results(results, writer, len(paths), progress)
            finally:
                results.close()  # at once, not when collected: stops the workers' pending work
        if how.document and writer.pages:
            _write_document(how, writer.pages, lang, output)
    if writer.errors:
        typer.echo(f"{writer.errors} of {len(paths)} inputs could not be read", err=True)
        raise typer.Exit(1)


def _field_options(
    extract: list[str], pattern: str | None, server: str | None
) -> tuple[tuple[str, str], ...]:
    """``--extract``'s NAME=PATTERN pairs, checked (one line and exit status 2 otherwise);
    with ``--server`` as here, then compiled for the model by the server (its refusal one
    line too)."""
    if not extract:
        return ()
    from lineocr.fields import FieldError, field_specs, parse_field

    if pattern is not None:
        raise fail("--extract decodes each field with its own pattern: leave out --pattern")
    try:
        pairs = [parse_field(item) for item in extract]
        names = [name for name, _ in pairs]
        if len(set(names)) != len(names):
            raise FieldError(f"--extract names a field twice: {', '.join(names)}")
        field_specs(dict(pairs))
    except FieldError as exc:
        raise fail(str(exc)) from None
    return tuple(pairs)


def _check_fields(recognizer: Any, fields: tuple[tuple[str, str], ...]) -> None:
    """Each field's pattern compiled for the model before any image is read."""
    if not fields:
        return
    from lineocr.deadline import DeadlineExceeded, run_with_deadline
    from lineocr.fields import FieldError, field_decoders, field_specs

    try:
        specs = field_specs(dict(fields))
        run_with_deadline(lambda: field_decoders(recognizer, specs), PATTERN_BUDGET_S)
    except DeadlineExceeded:
        raise fail(
            f"an --extract pattern takes more than {PATTERN_BUDGET_S:g} s to compile; simplify it"
        ) from None
    except FieldError as exc:
        raise fail(str(exc)) from None


def _checked_lang(lang: str | None) -> str | None:
    from lineocr.documents.names import check_lang

    try:
        return check_lang(lang)
    except ValueError as exc:
        raise fail(f"--lang: {exc}") from None


@contextlib.contextmanager
def _output_stream(how: ReadSettings, output: Path | None, inputs: int) -> Iterator[TextIO | None]:
    """Where output lines go: ``output`` opened (checked before any reading), or stdout
    (None). A document format writes at the end (:func:`_write_document`): checked here."""
    if how.output_format is OutputFormat.pdf:  # _PdfWriter writes it whole at the end
        yield None
        return
    if how.document:
        problem = check_document_options(how.output_format.value, output, inputs)
        if problem is not None:
            raise fail(problem)
        if output is not None and not (
            how.output_format is OutputFormat.page and output.suffix.lower() != ".xml"
        ):
            check_output_file(output, "--output")
        yield None
        return
    if output is None:
        yield None
        return
    check_output_file(output, "--output")
    try:
        stream = output.open("w", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror or exc}") from None
    with stream:
        yield stream


def _write_document(
    how: ReadSettings, pages: list[Any], lang: str | None, output: Path | None
) -> None:
    """The pages read written as the document asked for (exit status 2 if it cannot be)."""
    try:
        write_document(how.output_format.value, pages, lang, output, sys.stdout)
    except BrokenPipeError:
        raise
    except DocumentError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot write the output: {exc.strerror or exc}") from None


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


def _check_output(output_format: OutputFormat, output: Path | None, server: str | None) -> None:
    """Fail (exit status 2) before any work on an output that cannot be written."""
    from lineocr.cli import check_output_file

    if output_format is OutputFormat.pdf:
        if output is None:
            raise fail("--format pdf writes a file, not standard output: give --output FILE.pdf")
        check_output_file(output, "--output", (".pdf",))
    elif output is not None and output.suffix.lower() == ".pdf":
        raise fail(
            f"--output {output.name}: --format {output_format.value} writes text; "
            "give --format pdf for a searchable PDF"
        )


def _document_options(dpi: float, pages: str | None, max_pages: int) -> Any:
    """--dpi, --pages and --max-pages as :class:`~lineocr.documents.inputs.DocumentOptions`
    (a bad page range: exit status 2)."""
    from lineocr.documents.inputs import DocumentOptions, PageRange

    try:
        chosen = PageRange.parse(pages) if pages is not None else None
    except ValueError as exc:
        raise fail(f"--pages: {exc}") from None
    return DocumentOptions(dpi=dpi, pages=chosen, max_pages=max_pages)


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


def _list_inputs(inputs: Sequence[str], documents: Any = None) -> list[str]:
    """The paths to read (see :func:`expand_inputs`); none at all is a usage error. With
    ``documents`` (:class:`~lineocr.documents.inputs.DocumentOptions`: a read here), each
    PDF and multi-page TIFF is replaced by its pages (``path#page``), each loaded alone."""
    paths = expand_inputs(inputs)
    if not paths:
        raise fail("no inputs (stdin was empty)")
    if documents is None:
        return paths
    from lineocr.documents.inputs import document_pages

    listed: list[str] = []
    for path in paths:
        notes: list[str] = []
        found = document_pages(path, documents, notes)
        for note in notes:
            typer.echo(f"warning: {_escaped(path)}: {note}", err=True)
        listed.extend([path] if found is None else found)
    return listed


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
    writer: _Writer,
    total: int,
    progress: bool | None,
) -> _Writer:
    """Each chunk's output lines (or document pages) and errors given to ``writer`` as
    they come (a PDF saved at the end); the writer counts errors. A failure outside any
    one image's reading is one line (exit status 2), or its traceback with
    ``LINEOCR_DEBUG`` set."""
    with _progress(total, progress) as bar:
        task = bar.add_task("reading", total=total) if bar is not None else None
        try:
            for chunk, outcomes in results:
                for path, (kind, value) in zip(chunk, outcomes, strict=True):
                    if kind == "ok":
                        writer.ok(path, value)
                    else:
                        writer.error(path, value)
                if bar is not None:
                    bar.update(task, advance=len(chunk))
            writer.finish()
        # The reader went away (cli._Group ends the command, 141), or a write failed (said).
        except (BrokenPipeError, typer.Exit):
            raise
        except Exception as exc:  # never a traceback unless asked for: one clear line
            if debugging():
                raise
            raise fail(f"recognition failed: {exc}") from None
    return writer


@dataclasses.dataclass(frozen=True)
class _ServerOutput:
    """Where a document read on a server goes: ``--lang`` and ``--output``."""

    lang: str | None = None
    output: Path | None = None


class _ServerPdfWriter(_Writer):
    """``--format pdf`` with ``--server``: each page made a searchable PDF by the server as
    it is answered (:class:`~lineocr.commands.server_documents.ServerPdf`), the pages saved
    as one PDF to ``output`` when all are read; a page the server refuses to write is that
    input's error."""

    def __init__(self, pdf: Any, output: Path) -> None:
        super().__init__(OutputFormat.pdf)
        self.pdf = pdf
        self.output = output

    def ok(self, path: str, value: Any) -> None:
        page, image, dpi = value
        problem = self.pdf.add(page, image, str(path), dpi)
        if problem is not None:
            self.error(path, problem)

    def finish(self) -> None:
        if not self.pdf.pages:
            raise fail(f"no page could be read: {self.output} not written", code=1)
        try:
            self.pdf.save(self.output)
        except OSError as exc:
            raise fail(f"cannot write {self.output}: {exc.strerror or exc}") from None


def _read_on_server(  # noqa: PLR0913, PLR0915 - the read's settings and where its output goes
    server: str,
    paths: list[str],
    model: str,
    how: ReadSettings,
    progress: bool | None,
    stream: TextIO | None = None,
    to: _ServerOutput | None = None,
) -> _Writer:
    """:func:`_write_results` for a read on a lineocr server: each result written as its
    request is answered (files are read just before they are sent, a request at a time;
    a document's pages rasterised here, :mod:`lineocr.commands.server_documents`). A
    server that fails once some inputs are answered (exit status 2) leaves their lines
    written, and the error says how many: the inputs after them were not read. hOCR, ALTO,
    PAGE-XML and PDF are written by the server (``/v1/documents``), checked before any
    input is read."""
    from lineocr.commands.server_documents import (
        SentImages,
        ServerDocumentError,
        ServerPdf,
        check_server_documents,
        page_slot,
        write_server_document,
    )
    from lineocr.documents.inputs import PageRef
    from lineocr.images import ImageError
    from lineocr.prediction import Prediction
    from lineocr.serve.client import ClientError, OcrClient, ServerPage, read_on_server

    to = to or _ServerOutput()
    pdf = how.output_format is OutputFormat.pdf
    try:
        client = OcrClient(server)
        if how.document or pdf:
            check_server_documents(client, how.output_format.value, len(paths))
        writer = (
            _ServerPdfWriter(ServerPdf(client), to.output)
            if pdf and to.output is not None
            else _Writer(how.output_format, stream)
        )
    except (ClientError, ServerDocumentError) as exc:
        raise fail(str(exc)) from None
    sent = SentImages(keep=how.document or pdf)
    answered = 0
    with _progress(len(paths), progress) as bar:
        task = bar.add_task("reading", total=len(paths)) if bar is not None else None

        def answer() -> None:
            nonlocal answered
            answered += 1
            if bar is not None:
                bar.update(task, advance=1)

        def on_result(path: str, prediction: Prediction | ServerPage) -> None:
            if how.fields:  # every input read as a page, with its fields (the server's)
                values = (
                    prediction.result.get("fields") if isinstance(prediction, ServerPage) else None
                )
                if values is None:  # a server that took extract answers each page with them
                    writer.error(path, "the server answered no fields")
                else:
                    writer.line(fields_output(how.output_format, path, values, prediction))
            elif how.document or pdf:
                data, size = sent.take(path)
                try:
                    page = page_slot(path, prediction, data, size)
                except ImageError as exc:  # a line whose image cannot be measured here
                    writer.error(path, exc.reason)
                    answer()
                    return
                if pdf:
                    dpi = path.dpi if isinstance(path, PageRef) and path.kind == "pdf" else how.dpi
                    writer.ok(path, (page, data, dpi))
                else:
                    writer.ok(path, page)
            else:
                writer.result(path, prediction)
            answer()

        def on_error(path: str, reason: str) -> None:
            sent.take(path)
            if os.path.isdir(path):  # noqa: PTH112 - Path.is_dir raises on a name too long
                # as a read here says it ("permission denied"), not "is a directory"
                kind, why = _load(path)
                reason = str(why) if kind == "error" else reason
            writer.error(path, reason)
            answer()

        # auto, the default, is the server's default too: a server older than the layout
        # option still reads with it; line and page are asked for. With --extract each
        # input is a page, as here, whatever --layout says (the server reads them so). A
        # page of a PDF or TIFF is read as a page with auto, as here.
        auto = how.layout is LayoutMode.auto and not how.fields
        layout = None if auto or how.fields else how.layout.value
        layouts = [("page" if auto and isinstance(p, PageRef) else None) for p in paths]
        extract = {"extract": dict(how.fields)} if how.fields else {}
        try:
            read_on_server(
                server,
                paths,
                on_result,
                on_error,
                model=model,
                layout=layout,
                sources=[sent.source(path) for path in paths],
                layouts=layouts,
                **how.options,
                **extract,
            )
            writer.finish()
        except ServerDocumentError as exc:
            raise fail(str(exc)) from None
        except ClientError as exc:
            if not answered:  # nothing read: the server could not be used at all
                raise fail(str(exc)) from None
            raise fail(
                f"read {answered} of {len(paths)} inputs before the server failed: {exc}"
            ) from None
        except (BrokenPipeError, typer.Exit):
            raise
        except Exception as exc:  # never a traceback unless asked for: one clear line
            if debugging():
                raise
            raise fail(f"reading on {server} failed: {type(exc).__name__}: {exc}") from None
    if how.document and writer.pages:
        try:
            write_server_document(
                client, how.output_format.value, writer.pages, to.lang, to.output, sys.stdout
            )
        except ServerDocumentError as exc:
            raise fail(str(exc)) from None
        except OSError as exc:
            raise fail(f"cannot write the output: {exc.strerror or exc}") from None
    return writer
