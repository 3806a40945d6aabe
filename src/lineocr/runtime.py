"""Run a lineocr model: ONNX Runtime session + the shared preprocessing + decoding -> text.

:class:`Recognizer` loads a bundled name, an ``.onnx`` file or (when PyTorch is installed) a
training run directory, and reads line images one at a time or in batches grouped by width.
Text comes back in logical order with a line confidence and per-character confidences.
This module imports no torch: the inference path runs on ONNX Runtime and numpy only.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import copy
import errno
import hashlib
import importlib.util
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from lineocr.charset import Charset, logical_permutation
from lineocr.decode import (
    EMPTY,
    Decoded,
    DecodeError,
    Decoder,
    align_batch,
    check_temperature,
    log_softmax,
    widened,
)
from lineocr.files import os_reason
from lineocr.images import ImageError, ImageSource, load_image
from lineocr.models.spec import TIME_STRIDE
from lineocr.prediction import CharConfidence, Prediction
from lineocr.preprocess import (
    Columns,
    LineFeed,
    PreprocessSpec,
    collate,
    ops_output,
    scale_to_model_input,
    target_width,
    to_model_input,
    to_model_input_placed,
)
from lineocr.script_consistency import one_script_per_word
from lineocr.tta import VIEWS, views, vote
from lineocr.zoo import DEFAULT_MODEL, ModelNotFoundError, card_from_metadata, is_bundled
from lineocr.zoo import model_path as bundled_model_path

__all__ = [
    "CancelToken",
    "CharConfidence",
    "DecodeError",
    "ImageError",
    "ModelError",
    "ModelNotFoundError",
    "Prediction",
    "ReadCancelledError",
    "Recognizer",
    "run_isolated",
]

TTA_LINES = 64  # lines whose views (12 each) and logits are held at once with tta
_CHECKPOINT_SUFFIXES = (".safetensors", ".json")


class ModelError(ValueError):
    """A model file that exists but cannot be used (not ONNX, not a lineocr model)."""


class ReadCancelledError(Exception):
    """A :meth:`Recognizer.read_batch` stopped by its :class:`CancelToken`."""


class CancelToken:
    """Stops a :meth:`Recognizer.read_batch` in progress from another thread (the server
    cancels a batch whose requests have all timed out). The read checks the token before
    each batch of lines and between lines while decoding with a beam, and :meth:`cancel`
    sets ONNX Runtime's ``terminate`` flag on the network runs in progress, which stop at
    their next node; the read then raises :class:`ReadCancelledError`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._runs: set[ort.RunOptions] = set()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            for run in self._runs:
                run.terminate = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def check(self) -> None:
        """Raise :class:`ReadCancelledError` if the token has been cancelled."""
        if self._cancelled:
            raise ReadCancelledError("the read was cancelled")

    @contextlib.contextmanager
    def run_options(self) -> Iterator[ort.RunOptions]:
        """Run options for one network run, terminated when the token is cancelled."""
        options = ort.RunOptions()
        with self._lock:
            self.check()
            self._runs.add(options)
        try:
            yield options
        finally:
            with self._lock:
                self._runs.discard(options)


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Recognizer:
    """A loaded model. Thread-safe: ONNX Runtime sessions may be run concurrently.

    ``threads`` (default: the CPUs this process may use) is how many CPU threads it reads
    with. One batch (a single image, a server's micro-batch) runs on that many ONNX Runtime
    threads, or, when ``threads`` is not given, on ONNX Runtime's own default (one per
    physical core, as ONNX Runtime advises for hyper-threaded machines); several batches in
    one ``read_batch`` run ``threads`` at once, each on one thread of a second, one-thread
    session (created when first needed): a batch's preprocessing and decoding (Python,
    numpy) then overlap another's network, and small convolutions do not pay for splitting
    across threads (docs/runtime.md, Python, has the timings).
    """

    name: str
    version: str
    metadata: dict[str, Any]
    charset: Charset
    spec: PreprocessSpec

    def __init__(
        self, model_bytes: bytes, *, name: str, source: str, threads: int | None = None
    ) -> None:
        if threads is not None and (
            isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
        ):
            raise ValueError(f"threads must be a positive integer, not {threads!r}")
        self.threads = threads or available_cpus()
        self.model_bytes = model_bytes  # the ONNX file, e.g. for a copy in another process
        try:
            self._session = _session(model_bytes, threads or 0)  # 0: ORT's choice
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{source}: not a usable ONNX model: {first}") from None
        try:
            self.metadata = card_from_metadata(
                self._session.get_modelmeta().custom_metadata_map, source
            )
        except ValueError as exc:  # names the file
            raise ModelError(str(exc)) from None
        if self.metadata.get("kind") == "detector":
            raise ModelError(
                f"{source}: a text-line detector, not a recogniser (give it as --detector; "
                "docs/pages.md)"
            )
        try:
            self.charset = Charset.from_dict(_section(self.metadata, "charset"))
            self.spec = PreprocessSpec.from_dict(_section(self.metadata, "preprocess"))
            onnx_info = _section(self.metadata, "onnx", required=False)
            self.time_stride = _time_stride(onnx_info)
            calibration = _section(self.metadata, "calibration", required=False)
            self.temperature = check_temperature(calibration.get("temperature", 1.0))
        except (KeyError, ValueError, TypeError) as exc:  # DecodeError too
            raise ModelError(f"{source}: bad lineocr model card: {exc}") from None
        self.name = name
        self.source = source
        self.version = hashlib.sha256(model_bytes).hexdigest()[:12]
        try:
            lengths = _lengths_input(onnx_info, self.time_stride)
        except ValueError as exc:
            raise ModelError(f"{source}: bad lineocr model card: {exc}") from None
        self._input, self._output = _check_graph(
            self._session, self.spec, onnx_info.get("output"), source, lengths and lengths[0]
        )
        # (input name, how lines are fed): a line reads the same in any batch; None for
        # older files, whose BiLSTM reads the padding of the batch's widest line.
        self._lengths = lengths
        self._probe(source)
        self._decoders: dict[Any, Decoder] = {}
        self._lock = threading.Lock()
        self._one_thread: ort.InferenceSession | None = None if self.threads > 1 else self._session

    def _probe(self, source: str) -> None:
        """One blank line run through the graph: its logits must have the charset's classes
        and the frames the card's ``time_stride`` says (a card that overstates it would cut
        every text short, silently), which a graph's declared shapes need not tell."""
        blank, _ = collate([np.zeros((self.spec.height, max(64, self.spec.min_width)))], self.spec)
        width = blank.shape[3]  # rounded up as a read's batch is
        try:
            logits = self._run(self._session, blank)
        except Exception as exc:
            raise ModelError(f"{source}: the graph cannot read a line: {exc}") from None
        if logits.ndim != 3 or logits.shape[0] != 1:
            raise ModelError(
                f"{source}: the graph gives logits of shape {logits.shape} for one line, "
                "not (1, T, C)"
            )
        if logits.shape[2] != self.charset.num_classes:
            raise ModelError(
                f"{source}: the graph gives {logits.shape[2]} classes, "
                f"the charset {self.charset.num_classes}"
            )
        frames, expected = int(logits.shape[1]), -(-width // self.time_stride)
        if abs(frames - expected) > 1:
            raise ModelError(
                f"{source}: the card's onnx.time_stride {self.time_stride} says {expected} "
                f"frames for a line {width} pixels wide; the graph gives {frames}"
            )

    # -- loading -------------------------------------------------------------------------
    @classmethod
    def load(cls, model: str | Path = DEFAULT_MODEL, *, threads: int | None = None) -> Recognizer:
        """A bundled name (see ``lineocr models``), an ``.onnx`` file, or a training run
        directory / checkpoint file (exported in memory; needs PyTorch)."""
        if isinstance(model, str) and is_bundled(model):
            path = bundled_model_path(model)
            return cls(path.read_bytes(), name=model, source=str(path), threads=threads)
        if isinstance(model, str) and not model.strip():  # Path("") is the current folder
            raise ModelNotFoundError("no model given (an empty name)")
        path = Path(model)
        try:
            is_dir, is_file, exists = path.is_dir(), path.is_file(), path.exists()
        except OSError as exc:  # a name too long, a folder on the way that cannot be entered
            shown = str(model) if len(str(model)) <= 80 else str(model)[:80] + "..."
            if exc.errno == errno.ENAMETOOLONG:
                raise ModelNotFoundError(f"no file named {shown!r}: {exc.strerror}") from None
            raise ModelError(f"{shown}: cannot be read: {os_reason(exc)}") from None
        if is_dir or (is_file and path.suffix in _CHECKPOINT_SUFFIXES):
            return cls(_export_checkpoint(path), name=path.name, source=str(path), threads=threads)
        if exists and not is_file:  # a FIFO or a device: reading it could block
            raise ModelError(f"{path}: not a regular file")
        if is_file:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ModelError(f"{path}: cannot read: {exc.strerror}") from None
            return cls(data, name=path.stem, source=str(path), threads=threads)
        if is_bundled(str(model)):  # a Path is a file name, never a bundled name
            raise ModelNotFoundError(
                f"no file named {str(model)!r} (load the bundled model by its name, a string: "
                f"Recognizer.load({str(model)!r}))"
            )
        raise ModelNotFoundError(f"no bundled model and no file named {str(model)!r}")

    def with_spec(self, spec: PreprocessSpec) -> Recognizer:
        """The same model (one shared ONNX Runtime session and decoder cache) with another
        preprocessing spec, e.g. extra enhancement ops for a hard batch of images."""
        if spec.height != self.spec.height:
            raise ValueError(f"this model needs input height {self.spec.height}, not {spec.height}")
        variant = copy.copy(self)
        variant.spec = spec
        return variant

    # -- reading -------------------------------------------------------------------------
    def decoder(self, **decode_options: Any) -> Decoder:
        """The decoder for these options (checked and compiled once, then cached); raises
        :class:`DecodeError` for unknown options, a bad regex or an unusable lexicon."""
        # The value's type is part of the key: 5.0 == 5 == True would otherwise find the
        # decoder checked for another value and skip the check (beam_width=5.0 is refused).
        key = tuple(
            sorted(
                (k, type(v).__name__, tuple(v) if isinstance(v, list) else v)
                for k, v in decode_options.items()
            )
        )
        try:
            hash(key)
        except TypeError:
            return Decoder.from_options(self.charset, **decode_options)
        with self._lock:
            found = self._decoders.get(key)
        if found is None:
            found = Decoder.from_options(self.charset, **decode_options)
            with self._lock:
                if len(self._decoders) > 64:
                    self._decoders.clear()
                self._decoders[key] = found
        return found

    def read(self, image: ImageSource, **decode_options: Any) -> Prediction:
        """Read one line image (a path, bytes, a PIL image or a numpy array)."""
        return self.read_batch([image], batch_size=1, **decode_options)[0]

    def read_batch(  # noqa: PLR0913 - keyword-only switches of one read, each documented
        self,
        images: Sequence[ImageSource],
        *,
        batch_size: int = 32,
        built_decoder: Decoder | None = None,
        tta: bool = False,
        cancel: CancelToken | None = None,
        positions: bool | Sequence[bool] = False,
        **decode_options: Any,
    ) -> list[Prediction]:
        """Read many line images; results in input order.

        Lines are sorted by width and run ``batch_size`` at a time, so little of each batch
        is padding. Decoding options are given as keywords, or as ``built_decoder``, built
        beforehand with :meth:`decoder` (the server checks one within a time budget and reads
        with that very object). ``tta``: read each line as :data:`lineocr.tta.VIEWS` (one
        model run per view) and keep the text they agree on (:func:`lineocr.tta.vote`):
        fewer errors on unusual fonts, at many times the work. Raises :class:`ImageError` on
        the first unusable image: callers that must not lose the batch load images first
        with ``images.load_image``. ``cancel``: a :class:`CancelToken` that stops the read
        from another thread (it then raises :class:`ReadCancelledError`). ``positions``:
        also place each character on its line image (``CharConfidence.x0``/``x1``, in the
        image's columns): the decoded labels aligned to the frames they were read at
        (:func:`lineocr.decode.align_batch`), traced back through the preprocessing
        (:func:`lineocr.preprocess.to_model_input_placed`); not with ``tta``, whose views
        vote on the text, not on places. One flag per image places only those images' (the
        server's batches mix a page's lines, placed for their words, with plain line
        images, which are not): a line's text, and its places, are the same either way,
        the alignment being a function of that line's logits and labels alone.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")
        if not isinstance(tta, bool):
            raise ValueError(f"tta must be true or false, not {tta!r}")
        decoder = built_decoder
        if decoder is None:
            decoder = self.decoder(**decode_options)
        elif decode_options:
            raise DecodeError(
                f"give decoding options or a decoder, not both (got {sorted(decode_options)})"
            )
        elif decoder.charset != self.charset:
            raise DecodeError("the decoder was built for another model's charset")
        arrays = [load_image(image) for image in images]
        placed = _placed_flags(positions, len(arrays))
        if tta:
            return [
                prediction
                for start in range(0, len(arrays), TTA_LINES)
                for prediction in self._read_views(
                    arrays[start : start + TTA_LINES], batch_size, decoder, cancel
                )
            ]

        columns: list[Columns | None] = [None] * len(arrays)

        def make(i: int) -> np.ndarray:
            if not placed[i]:
                return to_model_input(arrays[i], self.spec)
            model_input, columns[i] = to_model_input_placed(arrays[i], self.spec)
            return model_input

        widths = [target_width(a.shape[1], a.shape[0], self.spec) for a in arrays]
        readings, _, frames = self._read_lines(
            make, widths, batch_size, decoder, placed=placed, cancel=cancel
        )
        if not any(placed):
            return [self.prediction(decoded) for decoded in readings]
        return [
            self.prediction(decoded, self._places(spans, where))
            for decoded, spans, where in zip(readings, frames, columns, strict=True)
        ]

    def _places(
        self, spans: np.ndarray | None, columns: Columns | None
    ) -> list[tuple[float, float]] | None:
        """Each label's columns on its line image, from its frames grown into the blanks
        around it (:func:`lineocr.decode.widened`; frame ``f`` is the model input's columns
        ``[f * time_stride, (f + 1) * time_stride)``)."""
        if spans is None or columns is None:
            return None
        stride = self.time_stride
        return [
            (columns.to_image(a * stride), columns.to_image(b * stride))
            for a, b in widened(spans).tolist()
        ]

    def read_logits(
        self,
        images: Sequence[ImageSource],
        *,
        batch_size: int = 32,
        cancel: CancelToken | None = None,
    ) -> list[np.ndarray]:
        """Each line image's raw logits ``(T_i, C)``, cut to its frames and not yet divided
        by the calibration temperature: for decoding parts of a line on their own (a field's
        value among other words, :mod:`lineocr.fields`). The lines are prepared and batched
        as :meth:`read_batch` prepares them, so they read the same; ``cancel`` stops the
        read as it stops :meth:`read_batch`."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")
        arrays = [load_image(image) for image in images]

        def make(i: int) -> np.ndarray:
            return to_model_input(arrays[i], self.spec)

        widths = [target_width(a.shape[1], a.shape[0], self.spec) for a in arrays]
        _, logits, _ = self._read_lines(
            make, widths, batch_size, self.decoder(), keep_logits=True, cancel=cancel
        )
        return logits

    def read_view_logits(
        self,
        images: Sequence[ImageSource],
        *,
        names: Sequence[str] | None = None,
        batch_size: int = 32,
        cancel: CancelToken | None = None,
    ) -> list[list[np.ndarray]]:
        """Each line image's raw logits in each view of test-time augmentation (``names``
        of :data:`lineocr.tta.VIEWS`, in the order given; default: all of them in order,
        the identity first), as
        :meth:`read_logits` gives them (cut to their frames, not divided by the
        temperature). The views are made as ``read_batch(..., tta=True)`` makes them (the
        model's ops, then :func:`lineocr.tta.views`, then the scaling to the model's
        height), by the same code: a field's line read again in views
        (:mod:`lineocr.fields`) reads what a line read with ``tta`` reads."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")
        chosen = list(VIEWS) if names is None else list(names)
        unknown = [name for name in chosen if name not in VIEWS]
        if unknown or not chosen:
            raise ValueError(f"views must be names of lineocr.tta.VIEWS, not {unknown or chosen}")
        arrays = [load_image(image) for image in images]
        n = len(chosen)
        out: list[list[np.ndarray]] = []
        for start in range(0, len(arrays), TTA_LINES):  # a few lines' views held at once
            _, logits = self._view_logits(
                arrays[start : start + TTA_LINES], chosen, batch_size, self.decoder(), cancel
            )
            out += [logits[i : i + n] for i in range(0, len(logits), n)]
        return out

    def _view_logits(
        self,
        arrays: Sequence[np.ndarray],
        names: Sequence[str],
        batch_size: int,
        decoder: Decoder,
        cancel: CancelToken | None = None,
    ) -> tuple[list[Decoded], list[np.ndarray]]:
        """Views ``names`` of each line (``len(names)`` per line, in order) read: their
        decodings and logits. The one place views are made for the model: the line after
        the model's ops (what :func:`lineocr.tta.views` takes), each view then scaled to
        the model's input (not through the ops again)."""
        order = list(VIEWS)
        kept = [order.index(name) for name in names]
        lines = []
        for a in arrays:
            every = views(ops_output(a, self.spec), self.spec.height, self.spec.max_width)
            lines += [scale_to_model_input(every[k], self.spec) for k in kept]
        widths = [line.shape[1] for line in lines]
        readings, logits, _ = self._read_lines(
            lines.__getitem__, widths, batch_size, decoder, keep_logits=True, cancel=cancel
        )
        return readings, logits

    def _read_views(
        self,
        arrays: list[np.ndarray],
        batch_size: int,
        decoder: Decoder,
        cancel: CancelToken | None = None,
    ) -> list[Prediction]:
        """:meth:`read_batch` with ``tta`` for a few lines: every view of every line (in
        order, ``len(VIEWS)`` per line) read, then each line's views voted on."""
        readings, logits = self._view_logits(arrays, list(VIEWS), batch_size, decoder, cancel)
        n = len(VIEWS)
        per_line = range(0, len(readings), n)
        voted = vote(
            [readings[i : i + n] for i in per_line],
            [logits[i : i + n] for i in per_line],
            self.temperature,
            bonus=decoder.text_bonus if decoder.lm is not None else None,
        )
        return [self.prediction(decoded) for decoded in voted]

    def _read_lines(  # noqa: PLR0913 - batching code, to be grouped when it next changes
        self,
        make: Callable[[int], np.ndarray],
        widths: Sequence[int],
        batch_size: int,
        decoder: Decoder,
        *,
        keep_logits: bool = False,
        placed: Sequence[bool] = (),
        cancel: CancelToken | None = None,
    ) -> tuple[list[Decoded], list[np.ndarray], list[np.ndarray | None]]:
        """Decode lines ``make(0..n-1)`` (prepared on demand; ``widths``, their estimated
        widths, order them into batches with little padding) over this recognizer's
        threads; with ``keep_logits``, also each line's logits cut to its frames (else an
        empty list); with ``placed`` (a flag per line) true for any line, each label's
        frames (``align_batch``) for the lines flagged, None for the others (else an empty
        list)."""
        chunks = width_chunks(widths, batch_size)
        keep_frames = any(placed)

        workers = min(self.threads, len(chunks))
        session = self._one_thread_session() if workers > 1 else self._session

        def read_chunk(
            chunk: list[int],
        ) -> tuple[list[Decoded], list[np.ndarray], list[np.ndarray | None]]:
            if cancel is not None:
                cancel.check()
            lines = [make(i) for i in chunk]
            if self._lengths is None:
                batch, widths = collate(lines, self.spec)
                frames = -(-widths // self.time_stride)
            else:
                batch, frames = self._lengths[1].collate(lines, self.spec)
            logits = self._run(session, batch, cancel, frames)
            frames = np.minimum(frames, logits.shape[1])
            check = cancel.check if cancel is not None else None
            decoded = decoder.decode_logits(logits, frames, self.temperature, check=check)
            decoded = one_script_per_word(decoded, logits, frames, decoder, self.temperature, check)
            # copies: a slice would keep the whole padded batch alive
            kept = [logits[j, : frames[j]].copy() for j in range(len(chunk))] if keep_logits else []
            spans: list[np.ndarray | None] = [None] * len(chunk) if keep_frames else []
            rows = [j for j, i in enumerate(chunk) if keep_frames and placed[i]]
            if rows:  # the log-probabilities the decoder read (temperature included)
                picked = logits[rows] if len(rows) < len(chunk) else logits
                log_probs = log_softmax(picked.astype(np.float32) / np.float32(self.temperature))
                aligned = align_batch(log_probs, frames[rows], [decoded[j].indices for j in rows])
                for j, where in zip(rows, aligned, strict=True):
                    spans[j] = where
            return decoded, kept, spans

        if workers > 1:
            with concurrent.futures.ThreadPoolExecutor(workers) as pool:
                done = list(pool.map(read_chunk, chunks))
        else:
            done = [read_chunk(chunk) for chunk in chunks]
        results: list[Decoded] = [EMPTY] * len(widths)
        all_logits: list[np.ndarray] = [np.empty((0, 0))] * len(widths) if keep_logits else []
        all_frames: list[np.ndarray | None] = [None] * len(widths) if keep_frames else []
        for chunk, (decoded, kept, spans) in zip(chunks, done, strict=True):
            for j, i in enumerate(chunk):
                results[i] = decoded[j]
                if keep_logits:
                    all_logits[i] = kept[j]
                if keep_frames:
                    all_frames[i] = spans[j]
        return results, all_logits, all_frames

    def logits(self, batch: np.ndarray, frames: np.ndarray | None = None) -> np.ndarray:
        """Raw model output (N, T, C) for a preprocessed, padded batch (N, 1, H, W);
        ``frames``: each line's frames, for a model that takes them (else all of them)."""
        return self._run(self._session, batch, frames=frames)

    def _run(
        self,
        session: ort.InferenceSession,
        batch: np.ndarray,
        cancel: CancelToken | None = None,
        frames: np.ndarray | None = None,
    ) -> np.ndarray:
        feed = {self._input: batch}
        if self._lengths is not None:
            if frames is None:
                frames = np.full(len(batch), -(-batch.shape[3] // self.time_stride))
            feed[self._lengths[0]] = np.asarray(frames, dtype=np.int32)
        if cancel is None:
            out: np.ndarray = session.run([self._output], feed)[0]
            return out
        with cancel.run_options() as options:
            try:
                out = session.run([self._output], feed, options)[0]
            except Exception:
                cancel.check()  # terminated: say so, not ONNX Runtime's "FAIL"
                raise
        return out

    def _one_thread_session(self) -> ort.InferenceSession:
        with self._lock:
            if self._one_thread is None:
                self._one_thread = _session(self.model_bytes, 1)
            return self._one_thread

    def prediction(
        self, decoded: Decoded, places: Sequence[tuple[float, float]] | None = None
    ) -> Prediction:
        """Decoded labels (visual order) -> text in logical order, with each character's
        confidence, and its ``places`` on the line if given (one per label), moved along
        with it; spaces no label has (at either end, doubled) left out
        (:meth:`Charset.kept_positions`)."""
        visual = self.charset.decode_visual(decoded.indices)
        text = self.charset.decode(decoded.indices)
        order = logical_permutation(visual)
        spans: Sequence[tuple[float | None, float | None]] = (
            places
            if places is not None and len(places) == len(visual)
            else [(None, None)] * len(visual)
        )
        chars = tuple(
            CharConfidence(text[i], float(decoded.char_confidences[order[i]]), *spans[order[i]])
            for i in self.charset.kept_positions(text)
        )
        return Prediction("".join(c.char for c in chars), float(decoded.confidence), chars)

    def __repr__(self) -> str:
        return f"Recognizer(name={self.name!r}, version={self.version!r}, source={self.source!r})"


# A batch is padded to its widest line. A model fed line lengths reads no padding, so this
# only bounds the padding's cost; an older file's BiLSTM reads it, and a short line padded
# to many times its width can read differently (docs/runtime.md, "One answer per image").
# So a batch holds lines within this ratio of its narrowest line's width (plus a few
# frames' slack), whatever ``batch_size``.
PAD_RATIO = 1.25
PAD_SLACK = 16  # pixels


def width_chunks(widths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices of ``widths`` in batches: narrowest first, at most ``batch_size`` each, and
    none wider than :data:`PAD_RATIO` x its narrowest + :data:`PAD_SLACK`."""
    chunks: list[list[int]] = []
    for i in sorted(range(len(widths)), key=widths.__getitem__):
        if (
            not chunks
            or len(chunks[-1]) == batch_size
            or widths[i] > widths[chunks[-1][0]] * PAD_RATIO + PAD_SLACK
        ):
            chunks.append([])
        chunks[-1].append(i)
    return chunks


def _placed_flags(positions: bool | Sequence[bool], count: int) -> list[bool]:
    """``read_batch``'s ``positions`` as one flag per image (one for all, or one each)."""
    if isinstance(positions, bool):
        return [positions] * count
    flags = list(positions) if isinstance(positions, Sequence) else None
    if flags is None or not all(isinstance(f, bool) for f in flags):
        raise ValueError(
            f"positions must be true or false, or one of them per image, not {positions!r}"
        )
    if len(flags) != count:
        raise ValueError(f"{len(flags)} positions flags for {count} images")
    return flags


def run_isolated(run: Callable[[list[Any]], Sequence[Any]], images: list[Any]) -> list[Any]:
    """``run(images)``; if it fails, each image alone, so that an image that breaks
    something costs only its own result: one result per image, a failure as the exception
    (``lineocr read``'s batches, the server's groups, which may hold several requests'
    images, ``lineocr eval``'s batches)."""
    try:
        results = list(run(images))
        if len(results) != len(images):
            raise RuntimeError(f"runner returned {len(results)} results for {len(images)} images")
        return results
    except ReadCancelledError as exc:  # nobody waits for these results: no retry one by one
        return [exc] * len(images)
    except Exception as exc:
        if len(images) == 1:
            return [exc]
    out: list[Any] = []
    for image in images:
        try:
            out.append(run([image])[0])
        except Exception as exc:
            out.append(exc)
    return out


def _session(model_bytes: bytes, threads: int) -> ort.InferenceSession:
    """A CPU session with ``threads`` intra-op threads (0: ONNX Runtime's default, one per
    physical core)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def _section(card: dict[str, Any], key: str, *, required: bool = True) -> dict[str, Any]:
    """The JSON object ``card[key]`` (``{}`` when it is absent or null and not required)."""
    value = card.get(key)
    if value is None and not required:
        return {}
    if value is None:
        raise ValueError(f"no {key!r} section")
    if not isinstance(value, dict):
        raise ValueError(f"{key}: expected a JSON object, got {type(value).__name__}")
    return value


def _time_stride(onnx_info: dict[str, Any]) -> int:
    """Input columns per output frame (``onnx.time_stride``; older files have none)."""
    stride = onnx_info.get("time_stride", TIME_STRIDE)
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ValueError(f"onnx.time_stride must be a positive integer, got {stride!r}")
    return stride


def _lengths_input(onnx_info: dict[str, Any], time_stride: int) -> tuple[str, LineFeed] | None:
    """The card's ``onnx.lengths`` (the graph's input for each line's frames) and how lines
    are fed to it (``onnx.right_context``, ``onnx.paper_frames``), or None."""
    name = onnx_info.get("lengths")
    if name is None:
        return None
    if not isinstance(name, str) or not name:
        raise ValueError(f"onnx.lengths must be an input's name, not {name!r}")
    numbers = []
    for key in ("right_context", "paper_frames"):
        value = onnx_info.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 4096:
            raise ValueError(f"onnx.{key} must be an integer 0 to 4096, not {value!r}")
        numbers.append(value)
    return name, LineFeed(numbers[0], numbers[1], time_stride)


def _check_graph(
    session: ort.InferenceSession,
    spec: PreprocessSpec,
    output: Any,
    source: str,
    lengths: str | None = None,
) -> tuple[str, str]:
    """The names of the graph's input and output, once their declared types and shapes are
    checked to take what the runtime feeds (one float32 batch (N, 1, height, W), batch and
    width free) and to give 3-D float logits: a graph that does not would fail on every
    image. (The number of classes is checked by running the graph: ``Recognizer._probe``.)
    ``output``: the card's ``onnx.output``, the logits' name (lineocr's exports write
    ``logits``); a graph with several outputs must name one of them so, or call it
    ``logits``, rather than have the first taken on trust."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if lengths is not None:
        found = [i for i in inputs if i.name == lengths]
        if not found:
            raise ModelError(f"{source}: the card's onnx.lengths {lengths!r} is not an input")
        if found[0].type != "tensor(int32)" or len(found[0].shape or [0]) != 1:
            raise ModelError(f"{source}: the graph's {lengths!r} is not a 1-D int32 input")
        inputs = [i for i in inputs if i.name != lengths]
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs)
        raise ModelError(f"{source}: the graph takes {len(inputs)} inputs ({names}), not one")
    if not outputs:
        raise ModelError(f"{source}: the graph has no output")
    image, logits = inputs[0], _logits_output(outputs, output, source)
    # ONNX Runtime gives each dimension as an int (fixed) or a name or None (free), and a
    # shape it does not know as [].
    in_shape, out_shape = list(image.shape or []), list(logits.shape or [])
    batch, channels, height, width = in_shape if len(in_shape) == 4 else [None] * 4
    checks = [
        (image.type != "tensor(float)", f"the graph takes {image.type}, not tensor(float)"),
        (logits.type != "tensor(float)", f"the graph gives {logits.type}, not tensor(float)"),
        (len(in_shape) not in (0, 4), f"the graph takes {len(in_shape)}-D input, not (N, 1, H, W)"),
        (len(out_shape) not in (0, 3), f"the graph gives {len(out_shape)}-D output, not (N, T, C)"),
        (isinstance(batch, int), f"the graph's batch size is fixed ({batch}), not dynamic"),
        (
            isinstance(channels, int) and channels != 1,
            f"the graph takes {channels} channels, not 1",
        ),
        (
            isinstance(height, int) and height != spec.height,
            f"the graph takes lines {height} pixels high, its card says {spec.height}",
        ),
        (isinstance(width, int), f"the graph's input width is fixed ({width}), not dynamic"),
    ]
    for failed, problem in checks:
        if failed:
            raise ModelError(f"{source}: {problem}")
    return image.name, logits.name


def _logits_output(outputs: list[Any], output: Any, source: str) -> Any:
    """Which of the graph's outputs holds the logits (see :func:`_check_graph`)."""
    names = [o.name for o in outputs]
    if output is not None and not isinstance(output, str):
        raise ModelError(
            f"{source}: bad lineocr model card: onnx.output must be a name, not {output!r}"
        )
    if len(outputs) == 1:  # the card's name only chooses among several (a renamed one loads)
        return outputs[0]
    if isinstance(output, str):
        if output not in names:
            raise ModelError(
                f"{source}: the card's onnx.output {output!r} is not an output of the graph "
                f"({', '.join(names)})"
            )
        return outputs[names.index(output)]
    if "logits" in names:
        return outputs[names.index("logits")]
    raise ModelError(
        f"{source}: the graph has {len(outputs)} outputs ({', '.join(names)}) and its card "
        "names none of them as the logits (onnx.output)"
    )


def _export_checkpoint(path: Path) -> bytes:
    if importlib.util.find_spec("torch") is None:
        raise ModelError(
            f"{path} is a training checkpoint; running one directly needs PyTorch "
            "(pip install 'lineocr[train]'), or export it first: "
            f"lineocr export {path} -o model.onnx"
        )
    from lineocr.export import ExportError, export_onnx_bytes
    from lineocr.train.checkpoint import CheckpointError, resolve

    try:
        weights = resolve(path)
    except CheckpointError as exc:  # a folder with no checkpoint in it
        raise ModelNotFoundError(str(exc)) from None
    try:
        return export_onnx_bytes(weights)
    except (CheckpointError, ExportError) as exc:  # found, but broken or failing its parity
        raise ModelError(str(exc)) from None
