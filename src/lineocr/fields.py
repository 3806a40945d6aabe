"""Fields from forms and ID cards (``lineocr read --extract NAME=PATTERN``): a value that
matches a pattern, found among a page's lines with the pattern-constrained decoder.

Each line is read once more as logits. Its best path cuts it into characters; the stretches
of it where a field's value can stand (a run of characters the pattern can write, or a span
whose reading already matches) are decoded again, alone, with the pattern as the whole-line
constraint (:mod:`lineocr.decode`, Patterns). The value's confidence is then the model's
probability of exactly that value over those frames, summed over its CTC alignments and
temperature-calibrated: the words around it (a label, "ID No.") do not lower it, and a value
the model reads otherwise gets little probability. The most probable value on the page
wins; a field whose best value is less probable than :data:`MIN_CONFIDENCE` is ``None``
(not found), never a guess. docs/documents.md (Fields) has the threshold measured for
sending a value to a person.

Torch-free, as the runtime is.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from lineocr.charset import Charset
from lineocr.decode import Decoded, DecodeError, Decoder, ctc_log_likelihoods, log_softmax
from lineocr.decode.base import BLANK
from lineocr.layout import MARGIN_X, Box, Point
from lineocr.prediction import Prediction
from lineocr.tta import VIEWS

# The named patterns of ``--extract``, written for logical order. ``\d`` is any digit the
# model writes (Western or Arabic-Indic); an ID number is all of one kind (a mixture is a
# misreading). Digits in a named pattern's value are returned as Western digits.
FIELD_PATTERNS: dict[str, str] = {
    # 14-digit national ID number (Egypt's: century, birth date, governorate, serial, check)
    "id": r"[0-9]{14}|[٠-٩]{14}",
    # day/month/year or year-month-day, separated by / . or -
    "date": r"\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}",
    # optional minus, thousands with commas, up to two decimals
    "amount": r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?",
    # optional +country code and (area code), groups separated by a space or a hyphen;
    # 7 to 15 digits in all (checked on the value: PHONE_DIGITS)
    "phone": r"(?:\+\d{1,3}[ -]?)?(?:\(\d{1,4}\)[ -]?)?\d{2,12}(?:[ -]\d{2,12}){0,4}",
    # ASCII local part and domain (Arabic letters would make it a mixed-direction pattern)
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
}
NUMERIC_FIELDS = frozenset({"id", "date", "amount", "phone"})
PHONE_DIGITS = (7, 15)
MIN_CONFIDENCE = 0.01  # a best value less probable than this is no value: the field is null
# Measured by benchmarks/bench_fields.py (docs/documents.md, Fields): at or above it, no
# wrong ID number was returned on the benchmark's cards and forms.
REVIEW_THRESHOLD = 0.5
MAX_FIELDS = 16
MAX_JOINED = 5  # runs of a line joined into one place for a value (a number in groups)
# Views of lineocr.tta.VIEWS a field's line is not read again in (a name, or the prefix
# before ":"): the line as cut (read already) and the turned ones, which the model's own
# deskew would level again.
SKIPPED_VIEWS = ("identity", "rotate")
FIELD_VIEWS = tuple(name for name in VIEWS if name.split(":")[0] not in SKIPPED_VIEWS)
VIEWED_LINES = 1  # lines a field's value is looked for again in views (the likeliest to hold it)
MAX_GAPS = 4  # spaces inside a value whose probability is summed over (2**4 variants)
_PLACEHOLDER_NAMES = re.compile(r"\{([a-z]+)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
_WESTERN = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


class FieldError(ValueError):
    """A field request that cannot work: a bad name, a bad pattern, too many fields."""


class FieldReader(Protocol):
    """What fields are read with: a :class:`lineocr.runtime.Recognizer`, or on the server
    :class:`lineocr.serve.fields.FieldRecognizer` (the same model, read through the
    batcher). ``read_view_logits`` is required, not looked for: a reader without it cannot
    give :func:`find_fields` its second look (``tta``), and should fail to type-check, not
    quietly read each line once."""

    @property
    def charset(self) -> Charset: ...

    @property
    def temperature(self) -> float: ...

    def decoder(self, *, pattern: str) -> Decoder: ...

    def prediction(self, decoded: Decoded) -> Prediction: ...

    def read_logits(
        self, images: Sequence[np.ndarray], *, batch_size: int = ...
    ) -> Sequence[np.ndarray]:
        """Each line's raw logits (T, C), cut to its frames (:meth:`Recognizer.read_logits`)."""
        ...

    def read_view_logits(
        self,
        images: Sequence[np.ndarray],
        *,
        names: Sequence[str] | None = ...,
        batch_size: int = ...,
    ) -> Sequence[Sequence[np.ndarray]]:
        """Each line's raw logits in views ``names`` of :data:`lineocr.tta.VIEWS`
        (:meth:`lineocr.runtime.Recognizer.read_view_logits`)."""
        ...


@dataclass(frozen=True)
class Field:
    """One value found: as returned (``value``), its probability (``confidence``), where
    it stands on the page (``box``: x0, y0, x1, y1 in the input image's pixels) and the
    index of its line in ``Page.lines`` (``line``)."""

    value: str
    confidence: float
    box: Box
    line: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "confidence": self.confidence,
            "box": list(self.box),
            "line": self.line,
        }


@dataclass(frozen=True)
class FieldSpec:
    """A field asked for: its name, the pattern as given (a name of
    :data:`FIELD_PATTERNS` or a regex) and the regex it stands for."""

    name: str
    pattern: str
    regex: str

    @property
    def numeric(self) -> bool:
        """Whether the value is a number of a named pattern (its digits returned Western)."""
        kinds = {self.pattern} | set(_PLACEHOLDER_NAMES.findall(self.pattern))
        return bool(kinds & NUMERIC_FIELDS)

    @property
    def phone(self) -> bool:
        return self.pattern == "phone" or "{phone}" in self.pattern


def parse_field(text: str) -> tuple[str, str]:
    """``"NAME=PATTERN"`` (the CLI's ``--extract``) -> (name, pattern)."""
    name, sep, pattern = text.partition("=")
    if not sep or not pattern:
        raise FieldError(f"--extract {text!r}: expected NAME=PATTERN (e.g. id=id)")
    return name.strip(), pattern


_PLACEHOLDER = re.compile(r"\{(" + "|".join(FIELD_PATTERNS) + r")\}")


def _expand(pattern: str) -> str:
    """A named pattern -> its regex; in a regex, one ``{name}`` of a named pattern -> that
    pattern as the value (``Born: {date}``: the date after the label)."""
    if pattern in FIELD_PATTERNS:
        return FIELD_PATTERNS[pattern]
    return _PLACEHOLDER.sub(lambda m: f"(?P<value>{FIELD_PATTERNS[m.group(1)]})", pattern)


def field_specs(fields: Mapping[str, str]) -> list[FieldSpec]:
    """The fields asked for, checked: names are identifiers, patterns are named patterns or
    regexes that compile (a regex is compiled to an automaton only when a model is known)."""
    if not isinstance(fields, Mapping) or not fields:
        raise FieldError("no fields asked for: give NAME=PATTERN pairs (e.g. id=id)")
    if len(fields) > MAX_FIELDS:
        raise FieldError(f"at most {MAX_FIELDS} fields at once, not {len(fields)}")
    specs = []
    for name, pattern in fields.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise FieldError(
                f"field name {name!r}: use letters, digits, '_' or '-' (a letter first)"
            )
        if not isinstance(pattern, str) or not pattern:
            raise FieldError(f"field {name}: the pattern must be a non-empty string")
        regex = _expand(pattern)
        try:
            compiled = re.compile(regex)
        except (re.error, OverflowError, RecursionError) as exc:
            raise FieldError(f"field {name}: bad pattern {pattern!r}: {exc}") from None
        if compiled.fullmatch(""):
            raise FieldError(f"field {name}: pattern {pattern!r} matches empty text")
        specs.append(FieldSpec(name, pattern, regex))
    return specs


def field_decoders(recognizer: FieldReader, specs: Sequence[FieldSpec]) -> list[Decoder]:
    """Each field's decoder on ``recognizer`` (compiled once and cached by it; a pattern
    the model cannot write, or one without a finite automaton, is a :class:`FieldError`
    naming the field)."""
    decoders = []
    for spec in specs:
        try:
            decoders.append(recognizer.decoder(pattern=spec.regex))
        except DecodeError as exc:
            raise FieldError(f"field {spec.name}: {exc}") from None
    return decoders


# -- one line's characters ----------------------------------------------------------------
@dataclass(frozen=True)
class _Char:
    label: int
    first: int  # first frame of its run on the best path
    last: int  # last frame


def _best_path_chars(log_probs: np.ndarray) -> list[_Char]:
    """The best path's characters (visual order) with the frames each one holds."""
    best = log_probs.argmax(axis=1)
    chars: list[_Char] = []
    previous = BLANK
    for t, label in enumerate(best.tolist()):
        if label != BLANK and label == previous:
            chars[-1] = _Char(label, chars[-1].first, t)
        elif label != BLANK:
            chars.append(_Char(label, t, t))
        previous = label
    return chars


def _runs(text: str, alphabet: frozenset[str]) -> list[tuple[int, int]]:
    """Each maximal run [i, j) of a line's best-path characters (``text``, visual order)
    that the pattern can write, its edge spaces trimmed."""
    runs = []
    i, n = 0, len(text)
    while i < n:
        if text[i] not in alphabet:
            i += 1
            continue
        j = i
        while j < n and text[j] in alphabet:
            j += 1
        a, b = i, j
        while a < b and text[a] == " ":
            a += 1
        while b > a and text[b - 1] == " ":
            b -= 1
        if a < b:
            runs.append((a, b))
        i = j
    return runs


def _matching_parts(
    text: str, run: tuple[int, int], compiled: re.Pattern[str], logical: Any
) -> list[tuple[int, int]]:
    """The spans inside ``run`` that begin and end at its edges or at a space and whose
    reading already matches (``logical(i, j)``: their text in logical order), longest first."""
    a, b = run
    if compiled.search(logical(a, b)) is None:  # no part can match either
        return []
    starts = [i for i in range(a, b) if text[i] != " " and (i == a or text[i - 1] == " ")]
    ends = [j for j in range(a + 1, b + 1) if text[j - 1] != " " and (j == b or text[j] == " ")]
    parts = [
        (i, j)
        for i in starts
        for j in ends
        if j > i and (i, j) != run and compiled.fullmatch(logical(i, j)) is not None
    ]
    return sorted(parts, key=lambda span: span[0] - span[1])


def _frames(chars: list[_Char], i: int, j: int, total: int) -> tuple[int, int]:
    """The frames of characters i..j-1 and the blanks around them, up to the neighbours'."""
    start = chars[i - 1].last + 1 if i > 0 else 0
    end = chars[j].first if j < len(chars) else total
    return start, end


def _value_box(line: Any, crop: np.ndarray, frames: tuple[int, int], total: int) -> Box:
    """Where frames [a, b) of a line's ``total`` stand on the page: their share of the crop
    (whose margins are :data:`lineocr.layout.MARGIN_X` ink heights) laid along the line's
    polygon (upright top edge p0 -> p1, bottom edge p3 -> p2). Approximate to a character."""
    p0, p1, p2, p3 = (np.asarray(p, dtype=np.float64) for p in line.polygon[:4])
    ink_w = float(np.hypot(*(p1 - p0)))
    ink_h = float(np.hypot(*(p3 - p0)))
    crop_w = crop.shape[1]
    margin = min(round(MARGIN_X * ink_h) + 1, max(0.0, (crop_w - ink_w) / 2))
    scale = max(1.0, ink_w)

    def along(frame: int) -> float:
        return float(np.clip((frame / max(1, total) * crop_w - margin) / scale, 0.0, 1.0))

    u0, u1 = along(frames[0]), along(frames[1])
    points: list[Point] = []
    for u in (u0, u1):
        for a, b in ((p0, p1), (p3, p2)):
            x, y = a + (b - a) * u
            points.append((round(float(x)), round(float(y))))
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, y0, x1, y1 = line.box
    return (
        max(x0, min(xs)),
        max(y0, min(ys)),
        min(x1, max(*xs, min(xs) + 1)),
        min(y1, max(*ys, min(ys) + 1)),
    )


# -- the value of a field -----------------------------------------------------------------
def _value(spec: FieldSpec, text: str) -> str | None:
    """The field's value in a decoded match (a regex's group named ``value``, when it has
    one, else the whole match), or
    None when a named pattern's own check fails (a phone number's digit count)."""
    match = re.fullmatch(spec.regex, text)
    if match is None:
        return None
    value = match.group("value") if "value" in match.re.groupindex else text
    if spec.numeric:
        value = value.translate(_WESTERN)
    if spec.phone:
        digits = sum(c.isdigit() for c in value)
        if not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]:
            return None
    return value


def _alphabet(recognizer: FieldReader, decoder: Decoder) -> frozenset[str]:
    """The characters (as drawn, visual) that the field's automaton can ever write."""
    constraint = decoder.constraint
    labels: set[int] = set()
    for edges in getattr(constraint, "edges", []):
        labels.update(edges)
    return frozenset(recognizer.charset.chars[label - 1] for label in labels)


@dataclass(frozen=True)
class _Span:
    """Characters [first, last) of a line's best path where a value may stand, and the
    places of the spaces inside (after how many of its other characters)."""

    first: int
    last: int
    gaps: tuple[int, ...]


@dataclass(frozen=True)
class _Found:
    value: str
    confidence: float
    line: int
    frames: tuple[int, int]


def _read_span(  # noqa: PLR0913 - the field, how to read it, the frames and the gaps
    spec: FieldSpec,
    decoder: Decoder,
    recognizer: FieldReader,
    log_probs: np.ndarray,
    frames: tuple[int, int],
    gaps: Sequence[int] = (),
) -> tuple[str, float] | None:
    """The span's frames decoded alone under the pattern: (value, its probability), the
    probability summed over a space or none at either end (edge spaces are no part of a
    value, but a model may give them some probability in the gaps around it) and at each
    of ``gaps`` (after that many of the value's characters: where the line's best path
    read a space inside the value, as in a number printed with wide tracking or in groups,
    when the pattern itself has no space there)."""
    window = log_probs[frames[0] : frames[1]]
    decoded = decoder(window)
    if decoded.confidence <= 0 or not decoded.indices:
        return None
    value = _value(spec, recognizer.prediction(decoded).text)
    if value is None:
        return None
    labels = list(decoded.indices)
    space = recognizer.charset.chars.index(" ") + 1 if " " in recognizer.charset.chars else None
    variants = [labels]
    if space is not None:
        inside = sorted({g for g in gaps if 0 < g < len(labels)})[:MAX_GAPS]
        for chosen in itertools.product((False, True), repeat=len(inside)):
            body = list(labels)
            for g in reversed([g for g, c in zip(inside, chosen, strict=True) if c]):
                body.insert(g, space)
            edges = [body, [space, *body], [*body, space], [space, *body, space]]
            variants += edges if body != labels else edges[1:]
    targets = [np.asarray(v, dtype=np.int64) for v in variants]
    total = float(np.exp(ctc_log_likelihoods([window] * len(targets), targets)).sum())
    return value, min(1.0, max(total, float(decoded.confidence)))


def _spans(drawn: str, runs: list[tuple[int, int]], alphabet: frozenset[str]) -> list[list[_Span]]:
    """Where a value may stand on a line whose best path is ``drawn``: each run of
    characters the pattern can write; runs that follow one another parted only by spaces
    (a value printed in groups or tracked wide), up to :data:`MAX_JOINED` runs, or two
    parted by one other character (a digit misread as ``)``), joined; each of these
    followed by itself with the one character it touches at either end that the pattern
    cannot write (a last digit read as a letter), to be read only when it reads as no
    value alone; with the positions of the spaces inside each (:func:`_read_span`)."""

    joined: list[tuple[int, int]] = []
    for k in range(len(runs)):
        for m in range(k + 1, min(len(runs), k + MAX_JOINED)):
            gap = drawn[runs[m - 1][1] : runs[m][0]]
            if gap.strip() == "":  # a space: one more group
                joined.append((runs[k][0], runs[m][1]))
                continue
            if m == k + 1 and len(gap) == 1:  # one character misread: two runs only
                joined.append((runs[k][0], runs[m][1]))
            break
    spans: list[list[_Span]] = []
    for i, j in runs + joined:
        left = i > 0 and drawn[i - 1] != " " and drawn[i - 1] not in alphabet
        right = j < len(drawn) and drawn[j] != " " and drawn[j] not in alphabet
        spans.append([])
        for a, b in [(i, j)] + [(i - 1, j)] * left + [(i, j + 1)] * right:
            gaps = [sum(c != " " for c in drawn[a:k]) for k in range(a, b) if drawn[k] == " "]
            spans[-1].append(_Span(a, b, tuple(gaps)))
    return spans


def _line_candidates(  # noqa: PLR0913 - the field, how to read it, the line, the floor
    spec: FieldSpec,
    decoder: Decoder,
    recognizer: FieldReader,
    log_probs: np.ndarray,
    alphabet: frozenset[str],
    floor: float = MIN_CONFIDENCE,
) -> list[tuple[str, float, tuple[int, int]]]:
    """(value, confidence, frames) found on one line: each place a value may stand
    (:func:`_spans`: runs of characters the pattern can write, alone, joined and with a
    neighbour) read alone under it, or, where it reads as no value, its longest part
    (between spaces) whose reading already matches; values less probable than ``floor``
    are left out."""
    chars = _best_path_chars(log_probs)
    if not chars:
        return []
    drawn = "".join(recognizer.charset.chars[c.label - 1] for c in chars)
    found = []
    for place in _spans(drawn, _runs(drawn, alphabet), alphabet):
        for span in place:
            read = _read_place(spec, decoder, recognizer, log_probs, chars, drawn, span, floor)
            if read is not None:
                found.append(read)
                break
    return found


def _read_place(  # noqa: PLR0913 - the field, how to read it, the line and the place
    spec: FieldSpec,
    decoder: Decoder,
    recognizer: FieldReader,
    log_probs: np.ndarray,
    chars: list[_Char],
    drawn: str,
    span: _Span,
    floor: float,
) -> tuple[str, float, tuple[int, int]] | None:
    """The value read at ``span`` of a line, or its longest part between spaces whose
    reading already matches; None when none reads as a value at least ``floor`` probable."""
    compiled = re.compile(spec.regex)

    def logical(i: int, j: int) -> str:
        return str(recognizer.charset.decode([c.label for c in chars[i:j]]))

    run = (span.first, span.last)
    for i, j in [run, *_matching_parts(drawn, run, compiled, logical)]:
        frames = _frames(chars, i, j, len(log_probs))
        gaps = span.gaps if (i, j) == run else ()
        read = _read_span(spec, decoder, recognizer, log_probs, frames, gaps)
        if read is not None and read[1] >= floor and read[1] > 0:
            return read[0], read[1], frames
    return None


def _log_probs(
    recognizer: FieldReader, crops: Sequence[np.ndarray], batch_size: int
) -> list[np.ndarray]:
    """Each crop's calibrated log-probabilities under ``recognizer``."""
    logits = recognizer.read_logits(list(crops), batch_size=batch_size) if crops else []
    t = np.float32(recognizer.temperature)
    return [log_softmax(lg.astype(np.float32) / t) for lg in logits]


def _best(
    spec: FieldSpec, decoder: Decoder, recognizer: FieldReader, log_probs: Sequence[np.ndarray]
) -> _Found | None:
    """The most probable value of the field among all lines (the first line's on a tie)."""
    alphabet = _alphabet(recognizer, decoder)
    best: _Found | None = None
    for index, lp in enumerate(log_probs):
        for value, confidence, frames in _line_candidates(spec, decoder, recognizer, lp, alphabet):
            if best is None or confidence > best.confidence:
                best = _Found(value, confidence, index, frames)
    return best


class _Views:
    """Each line's calibrated log-probabilities in the views :data:`FIELD_VIEWS`, made as
    a line read with ``tta`` makes them (:meth:`lineocr.runtime.Recognizer.read_view_logits`),
    read once per line whatever the fields."""

    def __init__(
        self, recognizer: FieldReader, crops: Sequence[np.ndarray], batch_size: int
    ) -> None:
        self.recognizer = recognizer
        self.crops = crops
        self.batch_size = batch_size
        self.read: dict[int, list[np.ndarray]] = {}

    def __call__(self, lines: Sequence[int]) -> dict[int, list[np.ndarray]]:
        rec = self.recognizer
        new = [i for i in lines if i not in self.read]
        if new:
            every = rec.read_view_logits(
                [self.crops[i] for i in new], names=FIELD_VIEWS, batch_size=self.batch_size
            )
            t = np.float32(rec.temperature)
            for i, line_views in zip(new, every, strict=True):
                self.read[i] = [log_softmax(lg.astype(np.float32) / t) for lg in line_views]
        return {i: self.read[i] for i in lines}


LineViews = Callable[[Sequence[int]], Mapping[int, Sequence[np.ndarray]]]


def _viewed(  # noqa: PLR0913 - the field, how to read it, the line as read and its views
    spec: FieldSpec,
    decoder: Decoder,
    recognizer: FieldReader,
    alphabet: frozenset[str],
    plain: Sequence[tuple[str, float, tuple[int, int]]],
    line_views: Sequence[np.ndarray],
    total: int,
) -> tuple[dict[str, float], dict[str, tuple[int, int]]]:
    """Each value's mean probability over a line as read (its candidates ``plain``, over
    ``total`` frames) and its views (0 where a view does not read it), and its frames:
    the line's own where the line as read has it, else those of the view most sure of it,
    scaled to the line's."""
    score: dict[str, float] = {}
    own: dict[str, tuple[int, int]] = {}  # the frames of the line as read
    from_view: dict[str, tuple[float, tuple[int, int]]] = {}  # the surest view's
    n_views = 1 + len(line_views)
    for lp in [None, *line_views]:
        if lp is None:
            read, scale = plain, 1.0
        else:
            read = _line_candidates(spec, decoder, recognizer, lp, alphabet, floor=0.0)
            scale = total / max(1, len(lp))
        seen: dict[str, tuple[float, tuple[int, int]]] = {}
        for value, confidence, frames in read:
            if value not in seen or confidence > seen[value][0]:
                seen[value] = (confidence, frames)
        for value, (confidence, frames) in seen.items():
            score[value] = score.get(value, 0.0) + confidence / n_views
            if lp is None:
                own[value] = frames
            elif value not in from_view or confidence > from_view[value][0]:
                scaled = (round(frames[0] * scale), round(frames[1] * scale))
                from_view[value] = (confidence, scaled)
    return score, {v: own[v] if v in own else from_view[v][1] for v in score}


def _best_in_views(
    spec: FieldSpec,
    decoder: Decoder,
    recognizer: FieldReader,
    log_probs: Sequence[np.ndarray],
    views: LineViews,
) -> _Found | None:
    """The most probable value of the field, each of the :data:`VIEWED_LINES` lines
    likeliest to hold it read as several views (``views``: line indices -> each one's
    log-probabilities in :data:`FIELD_VIEWS`, :class:`_Views`) and a value's confidence
    there the mean over the line as read and its views of its probability in each (0 in a
    view where it is not read at all): an average of experts, so a digit one view misreads
    and the others read right is outvoted, and a value every view reads alike keeps its
    probability. The other lines' values compete as read: a value the views pull down on
    the likeliest line loses to a surer one elsewhere, not to nothing. The first line's
    value wins a tie. The value's frames are those of the line as read, or, where only
    other views read it, the frames of the view most sure of it, scaled to the line's."""
    alphabet = _alphabet(recognizer, decoder)
    plain: dict[int, list[tuple[str, float, tuple[int, int]]]] = {}
    for index, lp in enumerate(log_probs):
        found = _line_candidates(spec, decoder, recognizer, lp, alphabet, floor=0.0)
        if found:
            plain[index] = found
    likeliest = sorted(plain, key=lambda i: (-max(c for _, c, _ in plain[i]), i))
    viewed = likeliest[:VIEWED_LINES]
    candidates: list[_Found] = []
    for index, line_views in views(viewed).items():
        total = len(log_probs[index])
        score, where = _viewed(spec, decoder, recognizer, alphabet, plain[index], line_views, total)
        candidates += [_Found(v, c, index, where[v]) for v, c in score.items()]
    for index in likeliest[VIEWED_LINES:]:
        candidates += [_Found(v, c, index, frames) for v, c, frames in plain[index]]
    if not candidates:
        return None
    return max(candidates, key=lambda f: (f.confidence, -f.line))


def find_fields(  # noqa: PLR0913 - the page, its crops, the fields and how to read them
    page: Any,
    crops: Sequence[np.ndarray],
    specs: Sequence[FieldSpec],
    recognizer: FieldReader,
    *,
    recognizers: Mapping[str, FieldReader] | None = None,
    batch_size: int = 16,
    tta: bool = True,
) -> dict[str, Field | None]:
    """Each field's value on a read ``page`` whose lines were cut as ``crops``
    (:meth:`lineocr.page.PageReader.read_with_crops`), read again by ``recognizer``, or by
    ``recognizers[name]`` for the fields named there (e.g. ``arabic-digits`` for an ID
    number in Arabic-Indic digits). ``tta``: the lines likeliest to hold a value read
    again as several views (:func:`_best_in_views`); else each line as it was cut."""
    chosen = {spec.name: (recognizers or {}).get(spec.name, recognizer) for spec in specs}
    readings: dict[int, list[np.ndarray]] = {}
    in_views: dict[int, _Views] = {}
    result: dict[str, Field | None] = {}
    for spec in specs:
        rec = chosen[spec.name]
        decoder = field_decoders(rec, [spec])[0]
        if id(rec) not in readings:  # each recogniser reads the lines once
            readings[id(rec)] = _log_probs(rec, crops, batch_size)
            in_views[id(rec)] = _Views(rec, crops, batch_size)
        log_probs = readings[id(rec)]
        if tta:
            best = _best_in_views(spec, decoder, rec, log_probs, in_views[id(rec)])
        else:
            best = _best(spec, decoder, rec, log_probs)
        if best is None or best.confidence < MIN_CONFIDENCE:
            result[spec.name] = None
            continue
        line = page.lines[best.line]
        box = _value_box(line, crops[best.line], best.frames, len(log_probs[best.line]))
        result[spec.name] = Field(best.value, best.confidence, box, best.line)
    return result


def extract(
    image: Any,
    fields: Mapping[str, str],
    recognizer: FieldReader,
    *,
    recognizers: Mapping[str, FieldReader] | None = None,
    reader: Any = None,
) -> dict[str, Field | None]:
    """The values of ``fields`` (name -> a pattern name of :data:`FIELD_PATTERNS`, or a
    regex, where a group named ``value`` or one ``{name}`` of a named pattern marks the
    value) on an image (a path, bytes, a PIL image or a uint8 array), read as a page by
    ``recognizer`` (a :class:`lineocr.runtime.Recognizer`); ``None`` for a field not found.
    ``recognizers``: another recogniser for some fields, by name; ``reader``: a
    :class:`lineocr.page.PageReader` to use (default: one on ``recognizer``).

    >>> rec = Recognizer.load("printed")
    >>> extract("card.jpg", {"id": "id", "born": "Born: {date}"}, rec)["id"].value
    '29501011234567'
    """
    from lineocr.images import load_image
    from lineocr.page import PageReader

    specs = field_specs(fields)
    for spec in specs:  # a pattern a model cannot follow fails before any reading
        field_decoders((recognizers or {}).get(spec.name, recognizer), [spec])
    if reader is None:
        reader = PageReader(recognizer)
    page, crops = reader.read_with_crops(load_image(image))
    return find_fields(page, crops, specs, recognizer, recognizers=recognizers)


def fields_to_dict(found: Mapping[str, Field | None]) -> dict[str, Any]:
    """``{"name": {"value", "confidence", "box", "line"} or None}``: the JSON ``fields``."""
    return {name: None if f is None else f.to_dict() for name, f in found.items()}
