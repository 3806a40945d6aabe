"""CTC decoding on numpy log-probabilities: the one decoder used everywhere.

Inputs are log-softmax outputs of shape (T, C) for one line, blank at index 0. Outputs are
label indices in visual order with per-character confidences; the charset turns them into
logical-order text. Decoders:

* :func:`greedy` — best path (the default; fast);
* :func:`beam_search` — CTC prefix beam search, optionally constrained by an automaton over
  labels: a :class:`LexiconConstraint` (every word must be in a word list) or a
  :class:`PatternConstraint` (the whole line must match a regex or a named pattern);
* :class:`Decoder` — options (``decoder``, ``beam_width``, ``lexicon``, ``pattern``) checked
  and compiled once, then applied to batches of logits (temperature-scaled).

Calibration: :func:`fit_temperature` (minimises the CTC negative log-likelihood of the
reference labels on held-out lines) and :func:`expected_calibration_error`.
See docs/decoding.md for the semantics, including right-to-left text.
"""

from __future__ import annotations

import copy
import functools
import heapq
import math
import re
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lineocr.charset import Charset, is_rtl_char, to_visual
from lineocr.lm import (
    BOUNDARY,
    DEFAULT_LENGTH_BONUS,
    DEFAULT_LM_WEIGHT,
    CharNgramLM,
    LMError,
)

BLANK = 0
NEG_INF = -math.inf
DEFAULT_BEAM_WIDTH = 10
RESCALE_EVERY = 16  # frames between rescalings of the greedy line probability's forward pass
_LTR_BIDI = frozenset({"L", "EN", "AN"})

# Named patterns, written for logical order (all are left-to-right). ``\d`` matches every
# decimal digit in the model's charset (Western and Arabic-Indic), as in Python's ``re``.
NAMED_PATTERNS: dict[str, str] = {
    "digits": r"\d+",
    "integer": r"-?\d+",
    "id14": r"\d{14}",
    "national-id": r"\d{14}",  # 14-digit national ID number (e.g. Egypt's)
    "date": r"\d{1,2}[/.-]\d{1,2}[/.-](\d{4}|\d{2})|\d{4}-\d{2}-\d{2}",
    "time": r"\d{1,2}:\d{2}(:\d{2})?",
    "amount": r"-?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?",
    "decimal": r"-?\d+([.,]\d+)?",
}


class DecodeError(ValueError):
    """Unusable decoding options: an unknown option, a bad regex, an impossible constraint."""


@dataclass(frozen=True)
class Decoded:
    indices: tuple[int, ...]  # collapsed labels, visual order, no blanks
    char_confidences: tuple[float, ...]
    confidence: float  # probability-like line confidence in [0, 1]


EMPTY = Decoded((), (), 0.0)


def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _check_2d(log_probs: np.ndarray) -> None:
    if log_probs.ndim != 2:
        raise ValueError(f"expected (T, C) log-probabilities, got shape {log_probs.shape}")


def _frame_scores(
    logits: np.ndarray, temperature: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, T, C) logits -> each frame's best label (N, T), its scores ``(x - max) /
    temperature`` (N, T, C; 0 at the best label) and their log-sum-exp (N, T): the
    log-probabilities are ``scores - lse``, never written out (greedy decoding needs only
    the best label, the blank and the path's labels of each frame). float64 input stays
    float64; anything else is computed in float32, as the network's output."""
    x = np.asarray(logits)
    if x.dtype != np.float64:
        x = x.astype(np.float32, copy=False)
    labels = x.argmax(axis=2)
    scores = x - np.take_along_axis(x, labels[:, :, None], axis=2)
    if temperature != 1.0:
        scores *= scores.dtype.type(1.0 / temperature)
    lse: np.ndarray = np.log(np.exp(scores).sum(axis=2))
    return labels, scores, lse


def _best_paths(
    labels: np.ndarray, lse: np.ndarray, lengths: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per line, the best path (frames' best labels, repeats merged, blanks dropped) and
    each character's confidence: the highest probability of its label in its run of
    frames. The whole batch in a few array operations."""
    n, t = labels.shape
    ink = (labels != BLANK) & (np.arange(t)[None, :] < lengths[:, None])
    previous = np.concatenate([np.full((n, 1), BLANK, labels.dtype), labels[:, :-1]], axis=1)
    starts = ink & (labels != previous)  # a character's first frame
    frame_conf = np.exp(-lse[ink])  # the best label's probability, per inked frame
    runs = np.flatnonzero(starts[ink])  # row-major: each line's frames in order
    confs = np.maximum.reduceat(frame_conf, runs) if len(runs) else frame_conf
    bounds = np.cumsum(starts.sum(axis=1))[:-1]
    return np.split(labels[starts], bounds), np.split(confs, bounds)


def greedy(log_probs: np.ndarray) -> Decoded:
    """Best path: argmax per frame, merge repeats, drop blanks.

    A character's confidence is the highest frame probability in its run. The line's is the
    probability of the decoded text, summed over all its CTC alignments (as in
    :func:`beam_search`): the quantity the calibration temperature is fitted for, so a
    threshold on it means what it says. (The best path alone is one alignment among many
    and underestimates it, more so on longer lines.)
    """
    _check_2d(log_probs)
    return greedy_batch(log_probs[None])[0]


def greedy_batch(log_probs: np.ndarray, lengths: np.ndarray | None = None) -> list[Decoded]:
    """Greedy decoding of (N, T, C) log-probabilities, each cut to its valid length; the
    line probabilities of the whole batch come from one batched CTC forward pass."""
    return _greedy(*_frame_scores(log_probs), lengths)


def _greedy(
    labels: np.ndarray, scores: np.ndarray, lse: np.ndarray, lengths: np.ndarray | None
) -> list[Decoded]:
    n, t = labels.shape
    lens = np.full(n, t) if lengths is None else np.minimum(np.asarray(lengths), t)
    paths, confs = _best_paths(labels, lse, lens)
    line = np.exp(_best_path_log_likelihoods(scores, lse, lens, paths))
    return [
        Decoded(tuple(path.tolist()), tuple(conf.tolist()), min(1.0, max(0.0, float(p))))
        for path, conf, p in zip(paths, confs, line, strict=True)
    ]


# -- constraints ---------------------------------------------------------------------------


class Constraint:
    """A deterministic automaton over label indices that the beam search must follow.

    States are ints; :meth:`step` gives the labels allowed from a state and the state each
    leads to; a label sequence is accepted when it ends in a final state and its logical
    text passes :meth:`accepts_text` (an exact check in logical order).
    """

    initial: int = 0
    # A second search whose result is returned instead when it is more probable.
    alternative: Constraint | None = None

    def step(self, state: int) -> tuple[np.ndarray, tuple[int, ...]]:
        raise NotImplementedError

    def is_final(self, state: int) -> bool:
        raise NotImplementedError

    def accepts_text(self, text: str) -> bool:
        return True


def _transitions_cache(
    fn: Callable[[Any, int], tuple[np.ndarray, tuple[int, ...]]],
) -> Callable[[Any, int], tuple[np.ndarray, tuple[int, ...]]]:
    @functools.wraps(fn)
    def wrapper(self: Any, state: int) -> tuple[np.ndarray, tuple[int, ...]]:
        cache: dict[int, tuple[np.ndarray, tuple[int, ...]]] = self._step_cache
        if state not in cache:
            cache[state] = fn(self, state)
        return cache[state]

    return wrapper


def _is_word_char(ch: str) -> bool:
    return ch.isalpha() or unicodedata.category(ch).startswith("M")


def _letter_runs(text: str) -> list[str]:
    runs: list[str] = []
    current: list[str] = []
    for ch in text:
        if _is_word_char(ch):
            current.append(ch)
        elif current:
            runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    return runs


class LexiconConstraint(Constraint):
    """Every maximal run of letters (``str.isalpha`` and combining marks) in the line must
    be a word of the lexicon; other characters (digits, punctuation, spaces) are free.

    Words are normalised with the charset's options and split into letter runs the same way
    (``"e-mail"`` adds ``e`` and ``mail``). The trie holds each word in visual order
    (``to_visual``): right-to-left words reversed, so the constraint is exact for lines whose
    words are separated by spaces or punctuation, in either direction.
    """

    def __init__(self, words: Sequence[str], charset: Charset) -> None:
        self.charset = charset
        index = {c: i + 1 for i, c in enumerate(charset.chars)}
        self.children: list[dict[int, int]] = [{}]
        self.is_end: list[bool] = [False]
        self.words: set[str] = set()
        for raw in words:
            for run in _letter_runs(charset.normalize(raw)):
                if any(c not in index for c in run):
                    continue  # a word the model cannot write can never be produced
                self.words.add(run)
                node = 0
                for ch in to_visual(run):
                    child = self.children[node].get(index[ch])
                    if child is None:
                        child = len(self.children)
                        self.children[node][index[ch]] = child
                        self.children.append({})
                        self.is_end.append(False)
                    node = child
                self.is_end[node] = True
        if not self.words:
            raise DecodeError(
                "none of the lexicon's words can be written with this model's charset"
            )
        self.free_labels = np.array(
            [i + 1 for i, c in enumerate(charset.chars) if not _is_word_char(c)], dtype=np.int64
        )
        self._step_cache: dict[int, tuple[np.ndarray, tuple[int, ...]]] = {}

    @_transitions_cache
    def step(self, state: int) -> tuple[np.ndarray, tuple[int, ...]]:
        labels = list(self.children[state])
        nexts = list(self.children[state].values())
        if state == 0 or self.is_end[state]:  # between words, or a word may end here
            labels += self.free_labels.tolist()
            nexts += [0] * len(self.free_labels)
        return np.array(labels, dtype=np.int64), tuple(nexts)

    def is_final(self, state: int) -> bool:
        return state == 0 or self.is_end[state]

    def accepts_text(self, text: str) -> bool:
        return all(run in self.words for run in _letter_runs(text))


def resolve_pattern(pattern: str) -> str:
    """A named pattern (see :data:`NAMED_PATTERNS`) -> its regex; anything else is a regex."""
    return NAMED_PATTERNS.get(pattern, pattern)


_REPEAT = re.compile(r"\{[0-9]*(,[0-9]*)?\}")  # what Python's re reads as a repetition
_POSIX_CLASS = re.compile(r"\[:[A-Za-z]+:\]")
_HEX_DIGITS = {"x": 2, "u": 4, "U": 8}


def _escape(regex: str, i: int) -> tuple[str, int]:
    """The escape at ``regex[i]`` (a backslash) as interegular reads it, and the index after
    it. ``\\uXXXX``, ``\\UXXXXXXXX``, ``\\N{NAME}`` and a lone ``\\0``, which it does not
    know, become the character (``\\xXX`` below 256, so that a digit or a brace is never read
    as syntax); a malformed escape is kept as it is, for ``re.compile`` to report."""
    esc = regex[i + 1 : i + 2]
    char, after = "", i + 2
    if (octal := re.match("0[0-7]{0,2}", regex[i + 1 : i + 4])) is not None:  # as re reads it
        after = i + 1 + octal.end()
        char = chr(int(octal.group(), 8))
    elif esc in _HEX_DIGITS:
        after += _HEX_DIGITS[esc]
        if re.fullmatch(f"[0-9a-fA-F]{{{_HEX_DIGITS[esc]}}}", regex[i + 2 : after]):
            code = int(regex[i + 2 : after], 16)
            char = chr(code) if code <= sys.maxunicode else ""
    elif esc == "N" and regex.startswith("{", i + 2) and (close := regex.find("}", i)) != -1:
        after = close + 1
        try:
            char = unicodedata.lookup(regex[i + 3 : close])
        except KeyError:  # no such name: kept, for re.compile to report
            char = ""
    if len(char) != 1:  # malformed, or a named sequence of several characters
        return regex[i : i + 2], i + 2
    return (f"\\x{ord(char):02x}" if ord(char) < 0x100 else char), after


def _automaton_regex(regex: str, chars: Iterable[str]) -> str:
    """``regex`` rewritten for interegular, which builds the automaton but knows less than
    Python's ``re``: ``\\d``, ``\\w``, ``\\s`` (and ``\\D`` ``\\W`` ``\\S`` outside
    brackets) become explicit sets of ``chars`` (the characters a model returns) with their
    Unicode meaning; ``\\u``, ``\\U`` and ``\\N{...}`` escapes become characters; comments
    ``(?#...)`` are dropped; a ``{`` that starts no repetition is escaped (``a{3`` is a
    literal to ``re``); the ``^``/``$`` anchors are stripped (the pattern always has to match
    the whole line). Raises :class:`DecodeError` (the reason) for POSIX classes and for what
    ``re`` warns of (read before ``re.compile``, so no raw ``FutureWarning`` is shown)."""
    members = {
        key: "".join(re.escape(c) for c in sorted(chars) if re.fullmatch(rf"\{key}", c))
        for key in "dws"
    }
    out: list[str] = []
    i = 1 if regex.startswith("^") else 0
    end = len(regex)
    while i < end:
        ch = regex[i]
        if ch == "\\" and i + 1 < end:
            esc = regex[i + 1]
            if esc in "dws":
                out.append(f"[{members[esc]}]" if members[esc] else "[^\\s\\S]")
                i += 2
            elif esc in "DWS":
                out.append(f"[^{members[esc.lower()]}]" if members[esc.lower()] else ".")
                i += 2
            else:
                token, i = _escape(regex, i)
                out.append(token)
        elif ch == "[":
            i = _class_for_automaton(regex, i, members, out)
        elif regex.startswith("(?#", i):  # to the first unescaped ')', as re reads it
            i += 3
            while i < end and regex[i] != ")":
                i += 2 if regex[i] == "\\" else 1
            i += 1
        elif ch == "{":
            repeat = _REPEAT.match(regex, i)
            if repeat is not None and repeat.group() != "{}":
                out.append(repeat.group())
                i = repeat.end()
            else:
                out.append("\\{")
                i += 1
        elif ch == "$" and i == end - 1:
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _class_for_automaton(regex: str, i: int, members: dict[str, str], out: list[str]) -> int:
    """The ``[...]`` at ``regex[i]`` appended to ``out`` as :func:`_automaton_regex` writes
    it; the index after it. Read as ``re`` reads it, to refuse what ``re`` warns of."""
    end = len(regex)
    _refuse_posix_class(regex, i)  # [:digit:] (ASCII ':' 'd' 'i' 'g' 't' to re)
    if regex.startswith("[", i + 1) and not _POSIX_CLASS.match(regex, i + 1):
        raise DecodeError(
            "'[' first inside [...] is ambiguous (future Python reads a nested set); escape it: \\["
        )
    out.append("[")
    i += 1
    if regex.startswith("^", i):
        out.append("^")
        i += 1
    first = True  # a ']' first is a literal
    while i < end:
        ch = regex[i]
        if ch == "]" and not first:
            out.append("]")
            return i + 1
        if not first and ch in "-&~|" and regex.startswith(ch, i + 1):
            raise _set_operation(ch)
        i = _class_member(regex, i, members, out)
        first = False
        if regex.startswith("-", i) and i + 1 < end and regex[i + 1] != "]":  # a range
            if regex[i + 1] == "-":
                raise _set_operation("-")
            out.append("-")
            i = _class_member(regex, i + 1, members, out)
    return end


def _class_member(regex: str, i: int, members: dict[str, str], out: list[str]) -> int:
    """One character (or escape) of a ``[...]`` appended to ``out``; the index after it."""
    _refuse_posix_class(regex, i)
    if regex[i] == "\\" and i + 1 < len(regex):
        esc = regex[i + 1]
        if esc in "DWS":
            raise DecodeError(f"\\{esc} inside [...] is not supported")
        if esc in "dws":
            out.append(members[esc])
            return i + 2
        token, i = _escape(regex, i)
        out.append(token)
        return i
    out.append("\\]" if regex[i] == "]" else regex[i])
    return i + 1


def _refuse_posix_class(regex: str, i: int) -> None:
    if (posix := _POSIX_CLASS.match(regex, i)) is not None:
        raise DecodeError(
            f"{posix.group()} is a POSIX class, not Python regex: use \\d for digits, "
            "\\w for word characters, \\s for spaces"
        )


def _set_operation(ch: str) -> DecodeError:
    return DecodeError(
        f"{ch * 2!r} inside [...] is ambiguous (future Python reads a set operation); "
        f"escape it: \\{ch}"
    )


class PatternConstraint(Constraint):
    """The whole line must match a regex (Python syntax; full match) or a named pattern.

    The regex is compiled to a finite automaton (``interegular``) over the charset's labels,
    with states that can no longer reach acceptance removed, so the beam only holds prefixes
    that can still complete a match. The model reads in visual order:

    * patterns whose characters are all left-to-right or neutral (Western digits, Latin,
      dates, amounts) are matched as written — visual order is logical order for such text;
    * patterns of right-to-left letters and neutrals only are matched reversed (visual order
      of a right-to-left line is its logical order reversed, brackets mirrored);
    * patterns mixing right-to-left letters with digits or Latin (whose runs keep their
      left-to-right order inside a right-to-left line) cannot be followed by an automaton on
      visual order: the beam search runs unconstrained and the most probable hypothesis in
      the final beam whose logical text matches is returned — always a match, but the best
      match may be missed if it fell out of the beam (see docs/decoding.md);
    * patterns that can put a separator or space between Arabic-Indic numbers (drawn right
      to left even in a left-to-right line: ``١٩٥٧-٠٩-٠٣`` for ``٠٣-٠٩-١٩٥٧``) follow the
      pattern or its reverse, with the logical text checked at the end; the unconstrained
      beam is filtered as for mixed patterns too, and the more probable match is returned.

    Characters are matched as the model returns them: with the charset's ``map_digits``,
    ``\\d`` and ``[0-9]`` match the Arabic-Indic digits it reads (returned as 0-9). A match
    is checked on the returned text, without the edge and doubled spaces the runtime drops.
    """

    edges: list[dict[int, int]]  # state -> {label: next state}
    finals: set[int]

    def __init__(self, pattern: str, charset: Charset) -> None:
        import interegular
        from bidi.mirror import MIRRORED

        self.source = pattern
        self.regex = resolve_pattern(pattern)
        chars = charset.chars
        shown = charset.map_digits  # a label's character as the model returns it
        try:  # first: it refuses what re.compile would warn of
            rewritten = _automaton_regex(self.regex, {shown(c) for c in chars})
            self.compiled = re.compile(self.regex)
        except (re.error, DecodeError) as exc:
            raise DecodeError(f"bad pattern {pattern!r}: {exc}") from None
        except (OverflowError, RecursionError) as exc:  # a{4294967296}, deep nesting
            raise DecodeError(f"bad pattern {pattern!r}: too large ({exc})") from None
        try:
            fsm = interegular.parse_pattern(rewritten).to_fsm()
        except Exception as exc:  # interegular raises its own types for unsupported syntax
            raise DecodeError(
                f"pattern {pattern!r} uses regex features that cannot constrain decoding "
                f"({str(exc) or 'syntax the automaton builder does not parse'}); use literals, "
                "classes, groups, alternation and repetition"
            ) from None
        accepted = self._accepted_chars(fsm, chars, shown)
        if not accepted:
            raise DecodeError(
                f"pattern {pattern!r} cannot match any text this model can write "
                f"(charset: {''.join(chars)!r})"
            )
        classes = {unicodedata.bidirectional(c) for c in accepted}
        has_rtl = any(is_rtl_char(c) for c in accepted)
        has_ltr = bool(classes & _LTR_BIDI)
        # Arabic-Indic digits in a left-to-right line: a separator or space between two such
        # numbers is drawn right-to-left (``٠٣-٠٩-١٩٥٧`` as ``١٩٥٧-٠٩-٠٣``), so visual order
        # is logical order only for digits alone.
        numbers_reordered = "AN" in classes and not classes <= {"AN", "EN"}
        if has_rtl and has_ltr:
            self.direction = "mixed"
        elif numbers_reordered:
            self.direction = "numbers"
        else:
            self.direction = "rtl" if has_rtl else "ltr"
        self._step_cache: dict[int, tuple[np.ndarray, tuple[int, ...]]] = {}
        if self.direction == "mixed":
            self._any_labels(len(chars))
        elif self.direction == "numbers":
            # Drawn as written (``٠٣/٠٩/١٩٥٧``: a slash joins the numbers) or with the groups
            # right to left (``١٩٥٧-٠٩-٠٣``), which for classes like \d{4} is the reversed
            # pattern: the beam follows either, with the logical text checked at the end. A
            # layout neither covers (``١٢-٣٤`` for 1\d-\d\d) can still be found by filtering
            # the unconstrained beam: both are searched, the more probable match wins.
            self._build(fsm.union(fsm.reversed()), chars, shown)
            self.alternative = copy.copy(self)
            self.alternative._any_labels(len(chars))
        elif self.direction == "rtl":
            symbol_char: Callable[[str], str] = lambda c: MIRRORED.get(c, c)  # noqa: E731
            self._build(fsm.reversed(), chars, symbol_char)
        else:
            self._build(fsm, chars, shown)

    def _any_labels(self, n_labels: int) -> None:
        """One state, every label: the pattern only filters the final beam (logical text)."""
        self.initial, self.finals = 0, {0}
        self.edges = [dict.fromkeys(range(1, n_labels + 1), 0)]
        self._step_cache = {}
        self.alternative = None

    @staticmethod
    def _symbol(fsm: Any, ch: str) -> Any:
        try:
            return fsm.alphabet[ch]
        except KeyError:
            return None

    @classmethod
    def _accepted_chars(
        cls, fsm: Any, chars: Sequence[str], symbol_char: Callable[[str], str]
    ) -> set[str]:
        """Characters on transitions that lie on some accepting path."""
        live = cls._live_states(fsm, chars, symbol_char)
        seen: set[str] = set()
        if fsm.initial not in live:
            return seen
        stack, visited = [fsm.initial], {fsm.initial}
        while stack:
            state = stack.pop()
            for ch in chars:
                nxt = fsm.map.get(state, {}).get(cls._symbol(fsm, symbol_char(ch)))
                if nxt is not None and nxt in live:
                    seen.add(ch)
                    if nxt not in visited:
                        visited.add(nxt)
                        stack.append(nxt)
        return seen

    @classmethod
    def _live_states(
        cls, fsm: Any, chars: Sequence[str], symbol_char: Callable[[str], str]
    ) -> set[Any]:
        """States from which a final state is reachable using the charset's characters."""
        symbols = {cls._symbol(fsm, symbol_char(c)) for c in chars} - {None}
        reverse: dict[Any, set[Any]] = {}
        for state, edges in fsm.map.items():
            for symbol, nxt in edges.items():
                if symbol in symbols:
                    reverse.setdefault(nxt, set()).add(state)
        live = set(fsm.finals)
        stack = list(live)
        while stack:
            for prev in reverse.get(stack.pop(), ()):
                if prev not in live:
                    live.add(prev)
                    stack.append(prev)
        return live

    def _build(self, fsm: Any, chars: Sequence[str], symbol_char: Callable[[str], str]) -> None:
        live = self._live_states(fsm, chars, symbol_char)
        if fsm.initial not in live:  # e.g. a bracket whose mirror image the charset lacks
            raise DecodeError(
                f"pattern {self.source!r} cannot match any text this model can write, as "
                f"drawn right to left (charset: {''.join(chars)!r})"
            )
        ids = {state: i for i, state in enumerate(sorted(live, key=repr))}
        self.initial = ids[fsm.initial]
        self.finals = {ids[s] for s in fsm.finals if s in ids}
        self.edges = [{} for _ in ids]
        for state, sid in ids.items():
            edges = fsm.map.get(state, {})
            for label, ch in enumerate(chars, start=1):
                nxt = edges.get(self._symbol(fsm, symbol_char(ch)))
                if nxt in ids:
                    self.edges[sid][label] = ids[nxt]

    @_transitions_cache
    def step(self, state: int) -> tuple[np.ndarray, tuple[int, ...]]:
        edges = self.edges[state]
        return np.array(list(edges), dtype=np.int64), tuple(edges.values())

    def is_final(self, state: int) -> bool:
        return state in self.finals

    def accepts_text(self, text: str) -> bool:
        return self.compiled.fullmatch(text) is not None


# -- beam search ---------------------------------------------------------------------------


def _lse(a: float, b: float) -> float:
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


# A label is tried at a frame only if its probability there is at least this (the greedy
# path's labels always are: a non-blank argmax has probability >= 1/C). Under a constraint
# the two most probable allowed labels are always tried too, so that a match can be found
# where the model disagrees with the pattern.
MIN_LABEL_LOGP = math.log(1e-3)
_MIN_KEEP_CONSTRAINED = 2


def beam_search(
    log_probs: np.ndarray,
    beam_width: int = DEFAULT_BEAM_WIDTH,
    *,
    constraint: Constraint | None = None,
    charset: Charset | None = None,
    lm: CharNgramLM | None = None,
    lm_weight: float = DEFAULT_LM_WEIGHT,
    length_bonus: float = DEFAULT_LENGTH_BONUS,
) -> Decoded:
    """CTC prefix beam search (Hannun et al. 2014) on one line's (T, C) log-probabilities.

    Keeps the ``beam_width`` most probable label prefixes, summing over all alignments of
    each. With a ``constraint`` only prefixes the automaton allows are extended and the
    result is the most probable accepted sequence in the beam (its logical text, via
    ``charset``, must pass ``constraint.accepts_text``); if none is, the result is empty with
    confidence 0. The line confidence is the sequence's probability (all its alignments);
    character confidences come from its best alignment (as in :func:`greedy`).

    With a character language model ``lm`` (shallow fusion), prefixes are ranked by
    ``log P_ctc + lm_weight * log P_lm + length_bonus * length`` (the language model also
    scores the end of the line); the confidence stays the CTC probability of the text.
    """
    _check_2d(log_probs)
    if beam_width < 1:
        raise DecodeError(f"beam_width must be >= 1, got {beam_width}")
    if (constraint is not None or lm is not None) and charset is None:
        raise DecodeError("a constrained or language-model beam search needs the charset")
    lp = np.asarray(log_probs, dtype=np.float64)
    n_frames = lp.shape[0]
    initial = constraint.initial if constraint is not None else 0
    all_labels = np.arange(1, lp.shape[1])
    fusion = _Fusion(lm, charset, lm_weight, length_bonus) if lm is not None else None
    # prefix -> [log P(prefix, ends in blank), log P(prefix, ends in its last label), state,
    #            language-model bonus of the prefix]
    beams: dict[tuple[int, ...], list[Any]] = {(): [0.0, NEG_INF, initial, 0.0]}
    for t in range(n_frames):
        row = lp[t]
        row_list = row.tolist()
        blank = row_list[BLANK]
        # Per automaton state, the (label, next state) pairs tried in this frame.
        frame_options: dict[int, list[tuple[int, int]]] = {}
        if constraint is None:
            frame_options[0] = [(int(c), 0) for c in _top_labels(row, all_labels, beam_width, 0)]
        nxt: dict[tuple[int, ...], list[Any]] = {}
        for prefix, (p_b, p_nb, state, _) in beams.items():
            total = _lse(p_b, p_nb)
            entry = nxt.get(prefix)
            if entry is None:
                entry = nxt[prefix] = [NEG_INF, NEG_INF, state, beams[prefix][3]]
            entry[0] = _lse(entry[0], total + blank)
            last = prefix[-1] if prefix else -1
            if last > 0:  # the last label repeated without a blank: same prefix
                entry[1] = _lse(entry[1], p_nb + row_list[last])
            if state not in frame_options:
                assert constraint is not None
                labels, nexts = constraint.step(state)
                keep = _top_labels(row, labels, beam_width, _MIN_KEEP_CONSTRAINED)
                where = {int(lab): k for k, lab in enumerate(labels)}
                frame_options[state] = [(int(c), nexts[where[int(c)]]) for c in keep]
            for label, new_state in frame_options[state]:
                # A repeated label needs a blank in between to count twice.
                add = (p_b if label == last else total) + row_list[label]
                extended = (*prefix, label)
                target = nxt.get(extended)
                if target is None:
                    bonus = fusion.extend(prefix, label) if fusion is not None else 0.0
                    nxt[extended] = [NEG_INF, add, new_state, beams[prefix][3] + bonus]
                else:
                    target[1] = _lse(target[1], add)
        if len(nxt) > beam_width:
            nxt = dict(heapq.nlargest(beam_width, nxt.items(), key=_rank))
        beams = nxt
    if fusion is not None:
        for prefix, entry in beams.items():
            entry[3] += fusion.finish(prefix)
    ranked = sorted(beams.items(), key=_rank, reverse=True)
    for prefix, (p_b, p_nb, state, _) in ranked:
        if constraint is not None:
            assert charset is not None
            # Checked as returned: the runtime leaves out edge and doubled spaces.
            if not constraint.is_final(state) or not constraint.accepts_text(
                charset.tidy(charset.decode(prefix))
            ):
                continue
        confidence = min(1.0, max(0.0, math.exp(_lse(p_b, p_nb))))
        return Decoded(prefix, _char_confidences(lp, prefix), confidence)
    return EMPTY


def _rank(item: tuple[tuple[int, ...], list[Any]]) -> float:
    p_b, p_nb, _, bonus = item[1]
    return _lse(p_b, p_nb) + bonus


class _Fusion:
    """Language-model bonus of extending a prefix by one label (shallow fusion)."""

    def __init__(
        self, lm: CharNgramLM, charset: Charset | None, weight: float, length_bonus: float
    ) -> None:
        assert charset is not None
        self.lm, self.chars = lm, charset.chars
        self.weight, self.length_bonus = float(weight), float(length_bonus)
        self.span = max(lm.order - 1, 1)

    def _context(self, prefix: tuple[int, ...]) -> str:
        tail = "".join(self.chars[label - 1] for label in prefix[-self.span :])
        return tail if len(prefix) >= self.span else BOUNDARY + tail

    def extend(self, prefix: tuple[int, ...], label: int) -> float:
        char = self.chars[label - 1]
        return self.weight * self.lm.logprob(self._context(prefix), char) + self.length_bonus

    def finish(self, prefix: tuple[int, ...]) -> float:
        return self.weight * self.lm.logprob(self._context(prefix), BOUNDARY)


def _top_labels(row: np.ndarray, labels: np.ndarray, k: int, min_keep: int) -> np.ndarray:
    """Of ``labels``, the at most ``k`` most probable in this frame that reach
    :data:`MIN_LABEL_LOGP`, plus the ``min_keep`` most probable whatever their probability."""
    if len(labels) == 0:
        return labels
    values = row[labels]
    order = np.argsort(-values, kind="stable")[:k]
    good = values[order] >= MIN_LABEL_LOGP
    good[:min_keep] = True
    return labels[order[good]]


def _char_confidences(log_probs: np.ndarray, labels: Sequence[int]) -> tuple[float, ...]:
    """Per label, the highest frame probability within its span in the best (Viterbi)
    alignment of ``labels`` — for the greedy labelling this equals :func:`greedy`'s."""
    if not labels:
        return ()
    n_frames = log_probs.shape[0]
    ext = np.zeros(2 * len(labels) + 1, dtype=np.int64)
    ext[1::2] = labels
    n_states = len(ext)
    # A skip over a blank is allowed into a label that differs from the label two back.
    skip = np.zeros(n_states, dtype=bool)
    skip[3::2] = ext[3::2] != ext[1:-2:2]
    delta = np.full(n_states, NEG_INF)
    delta[0] = log_probs[0, BLANK]
    delta[1] = log_probs[0, ext[1]]
    back = np.zeros((n_frames, n_states), dtype=np.int8)
    for t in range(1, n_frames):
        stay = delta
        step = np.concatenate(([NEG_INF], delta[:-1]))
        jump = np.where(skip, np.concatenate(([NEG_INF, NEG_INF], delta[:-2])), NEG_INF)
        stacked = np.stack([stay, step, jump])
        choice = stacked.argmax(axis=0)
        back[t] = choice
        delta = stacked[choice, np.arange(n_states)] + log_probs[t, ext]
    end = n_states - 1 if n_states == 1 or delta[-1] >= delta[-2] else n_states - 2
    best = [0.0] * len(labels)
    state = end
    for t in range(n_frames - 1, -1, -1):
        if state % 2 == 1:
            k = state // 2
            best[k] = max(best[k], float(np.exp(log_probs[t, ext[state]])))
        state -= int(back[t, state])
    return tuple(best)


class DeadlineExceeded(BaseException):  # not Exception: no `except Exception` swallows it
    """Raised inside a traced computation that ran past its deadline."""


def run_with_deadline(fn: Callable[[], Any], seconds: float) -> Any:
    """Run pure-Python ``fn`` in this thread, interrupting it after ``seconds``.

    A trace function (this thread only) checks the clock every few hundred line events and
    raises :class:`DeadlineExceeded` into the running code; Python threads cannot be killed
    otherwise. Only for short, untrusted compilations: tracing slows code down a few times.
    """
    deadline = time.monotonic() + seconds
    events = 0

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        nonlocal events
        events += 1
        if events % 256 == 0 and time.monotonic() > deadline:
            raise DeadlineExceeded
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        return fn()
    finally:
        sys.settrace(previous)


# -- the decoder used by the runtime, the CLI, the server and evaluation ---------------------

DECODE_OPTIONS = ("decoder", "beam_width", "lexicon", "pattern", "lm", "lm_weight", "length_bonus")
DECODERS = ("greedy", "beam")


@functools.lru_cache(maxsize=32)
def _pattern_constraint(pattern: str, charset: Charset) -> PatternConstraint:
    return PatternConstraint(pattern, charset)


@functools.lru_cache(maxsize=4)
def _load_lm(path: str) -> CharNgramLM:
    try:
        return CharNgramLM.load(path)
    except LMError as exc:
        raise DecodeError(str(exc)) from None


@functools.lru_cache(maxsize=8)
def _lexicon_constraint(words: tuple[str, ...], charset: Charset) -> LexiconConstraint:
    return LexiconConstraint(words, charset)


def load_lexicon(path: str | Path) -> tuple[str, ...]:
    """Words of a word-list file: UTF-8, whitespace-separated (one per line is usual)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DecodeError(f"cannot read lexicon {path}: {exc}") from None
    except UnicodeDecodeError:
        raise DecodeError(f"lexicon {path} is not UTF-8 text") from None
    words = tuple(dict.fromkeys(text.split()))
    if not words:
        raise DecodeError(f"lexicon {path} has no words")
    return words


class Decoder:
    """Decoding options, checked and compiled once; call on one line or a batch.

    ``decoder``: ``"greedy"`` (default) or ``"beam"``; ``beam_width`` (default 10; giving
    it to a decoder that is greedy is an error, as it would be ignored);
    ``lexicon``: words (a sequence) or a word-list file path; ``pattern``: a regex or a name
    from :data:`NAMED_PATTERNS`; ``lm``: a character language model
    (:class:`~lineocr.lm.CharNgramLM` or its JSON file) fused with weight ``lm_weight`` and a
    per-character ``length_bonus``. A lexicon, a pattern or a language model implies the
    beam search.
    """

    def __init__(
        self,
        charset: Charset,
        *,
        decoder: str = "greedy",
        beam_width: int | None = None,
        lexicon: Sequence[str] | str | Path | None = None,
        pattern: str | None = None,
        lm: CharNgramLM | str | Path | None = None,
        lm_weight: float | None = None,
        length_bonus: float | None = None,
    ) -> None:
        if decoder not in DECODERS:
            raise DecodeError(f"decoder must be one of {list(DECODERS)}, not {decoder!r}")
        width = DEFAULT_BEAM_WIDTH if beam_width is None else beam_width
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise DecodeError(f"beam_width must be a positive integer, not {beam_width!r}")
        if lexicon is not None and pattern is not None:
            raise DecodeError("give either a lexicon or a pattern, not both")
        self.charset = charset
        self.beam_width = width
        self.constraint: Constraint | None = None
        if pattern is not None:
            if not isinstance(pattern, str) or not pattern:
                raise DecodeError(f"pattern must be a non-empty string, not {pattern!r}")
            self.constraint = _pattern_constraint(pattern, charset)
        elif lexicon is not None:
            if isinstance(lexicon, (str, Path)):
                words = load_lexicon(lexicon)
            else:
                words = tuple(str(w) for w in lexicon)
            self.constraint = _lexicon_constraint(words, charset)
        if lm is None:  # given without a language model they would be ignored
            for option, given in (("lm_weight", lm_weight), ("length_bonus", length_bonus)):
                if given is not None:
                    raise DecodeError(f"{option} goes with a language model (lm); none given")
        weight = DEFAULT_LM_WEIGHT if lm_weight is None else lm_weight
        bonus = DEFAULT_LENGTH_BONUS if length_bonus is None else length_bonus
        for option, value in (("lm_weight", weight), ("length_bonus", bonus)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise DecodeError(f"{option} must be a number, not {value!r}")
            if not math.isfinite(value):
                raise DecodeError(f"{option} must be a finite number, not {value!r}")
        if weight < 0:
            raise DecodeError(f"lm_weight must be >= 0, not {lm_weight!r}")
        self.lm = _load_lm(str(lm)) if isinstance(lm, (str, Path)) else lm
        self.lm_weight, self.length_bonus = float(weight), float(bonus)
        uses_beam = self.constraint is not None or self.lm is not None
        self.name = "beam" if uses_beam else decoder
        if beam_width is not None and self.name == "greedy":
            raise DecodeError(
                f"beam_width {beam_width} goes with the beam search (decoder 'beam', a lexicon, "
                "a pattern or a language model); the greedy decoder has no beam"
            )

    @classmethod
    def from_options(cls, charset: Charset, **options: Any) -> Decoder:
        """Like the constructor, with a clear error naming any unknown option."""
        unknown = sorted(set(options) - set(DECODE_OPTIONS))
        if unknown:
            raise DecodeError(
                f"unknown decode option(s) {', '.join(unknown)}; known: {', '.join(DECODE_OPTIONS)}"
            )
        return cls(charset, **options)

    def __call__(self, log_probs: np.ndarray) -> Decoded:
        if self.name == "greedy":
            return greedy(log_probs)
        best: Decoded | None = None
        constraint = self.constraint
        while True:
            decoded = beam_search(
                log_probs,
                self.beam_width,
                constraint=constraint,
                charset=self.charset,
                lm=self.lm,
                lm_weight=self.lm_weight,
                length_bonus=self.length_bonus,
            )
            if best is None or decoded.confidence > best.confidence:
                best = decoded
            if constraint is None or constraint.alternative is None:
                return best
            constraint = constraint.alternative

    def text_bonus(self, labels: Sequence[int]) -> float:
        """What this decoder's beam search adds to the CTC log-likelihood of the finished
        text ``labels``: ``lm_weight * log P_lm`` of the line (end included) plus
        ``length_bonus`` per character; 0 without a language model."""
        if self.lm is None:
            return 0.0
        visual = "".join(self.charset.chars[label - 1] for label in labels)
        return self.lm_weight * self.lm.score_line(visual) + self.length_bonus * len(labels)

    def decode_logits(
        self,
        logits: np.ndarray,
        lengths: Sequence[int] | np.ndarray,
        temperature: float = 1.0,
        *,
        check: Callable[[], None] | None = None,
    ) -> list[Decoded]:
        """(N, T, C) raw logits -> one :class:`Decoded` per line, each cut to its length;
        logits are divided by the calibration ``temperature`` first. ``check`` is called
        before each line a beam decodes (it may raise to stop: a cancelled read)."""
        if self.name == "greedy":
            # float32, as the network's output: 4x faster than float64 here, and the error
            # (~1e-6 per log-probability) is far below the calibration's.
            labels, scores, lse = _frame_scores(np.asarray(logits, dtype=np.float32), temperature)
            return _greedy(labels, scores, lse, np.asarray(lengths))
        log_probs = log_softmax(logits.astype(np.float32) / np.float32(temperature))
        out = []
        for i, n in enumerate(lengths):
            if check is not None:
                check()
            out.append(self(log_probs[i, : int(n)]))
        return out


# -- calibration -----------------------------------------------------------------------------


def _check_targets(targets: Sequence[Sequence[int]]) -> list[np.ndarray]:
    out = []
    for target in targets:
        if isinstance(target, str):
            raise DecodeError("targets must be label indices (charset.encode(text)), not text")
        out.append(np.asarray(target, dtype=np.int64))
    return out


def min_frames(target: Sequence[int] | np.ndarray) -> int:
    """Frames a CTC alignment of ``target`` needs: one per label, one blank per repeat. A
    line with fewer frames has no alignment: its CTC loss is infinite."""
    labels = np.asarray(target)
    return len(labels) + int(np.sum(labels[1:] == labels[:-1])) if len(labels) else 0


def _n_states(targets: Sequence[np.ndarray]) -> int:
    """Lattice width of a batch: the longest blank-extended target (at least one label)."""
    return 2 * max([1, *(len(y) for y in targets)]) + 1


def _extended(target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The blank-extended target (blank, y1, blank, y2, ..., blank) and, per state, whether
    it may skip the blank before it (a label unlike the label two states back)."""
    ext = np.zeros(2 * len(target) + 1, dtype=np.int64)
    ext[1::2] = target
    skip = np.zeros(len(ext), dtype=bool)
    skip[3::2] = target[1:] != target[:-1]
    return ext, skip


def _ctc_lattice(
    logits: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    temperature: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The batched CTC lattice: per line and frame, the log-probability of each state of
    the blank-extended target (N, T, 2L+1; -inf beyond a line's frames or states), which
    states may skip the blank before them, and the frame and label counts."""
    n = len(logits)
    t_max = max(len(x) for x in logits)
    n_states = _n_states(targets)
    skip = np.zeros((n, n_states), dtype=bool)
    emit = np.full((n, t_max, n_states), NEG_INF)
    for i, (x, y) in enumerate(zip(logits, targets, strict=True)):
        ext, can_skip = _extended(y)
        skip[i, : len(ext)] = can_skip
        lp = log_softmax(np.asarray(x, dtype=np.float64) / temperature)
        emit[i, : len(x), : len(ext)] = lp[:, ext]
    lengths = np.array([len(x) for x in logits])
    label_lengths = np.array([len(y) for y in targets])
    return emit, skip, lengths, label_lengths


def _final_states(alpha: np.ndarray, label_lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each line's last two lattice states (the last label, the blank after it)."""
    rows = np.arange(len(alpha))
    last = alpha[rows, 2 * label_lengths]
    before = alpha[rows, np.maximum(2 * label_lengths - 1, 0)]
    return last, before


def _ctc_log_likelihoods(
    logits: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    temperature: float = 1.0,
) -> np.ndarray:
    """log P(target | logits / temperature) per line (CTC forward algorithm in log space,
    batched): exact for any target, however improbable."""
    if max(len(x) for x in logits) == 0:  # no frame at all: no alignment of any target
        return np.full(len(logits), NEG_INF)
    emit, skip, lengths, label_lengths = _ctc_lattice(logits, targets, temperature)
    n, t_max, _ = emit.shape
    alpha = np.full(emit.shape[::2], NEG_INF)
    alpha[:, 0] = emit[:, 0, 0]
    alpha[:, 1] = np.where(label_lengths > 0, emit[:, 0, 1], NEG_INF)
    pad = np.full((n, 1), NEG_INF)
    for t in range(1, t_max):
        shifted1 = np.concatenate([pad, alpha[:, :-1]], axis=1)
        shifted2 = np.where(skip, np.concatenate([pad, pad, alpha[:, :-2]], axis=1), NEG_INF)
        with np.errstate(invalid="ignore"):
            new = np.logaddexp(np.logaddexp(alpha, shifted1), shifted2) + emit[:, t]
        active = (t < lengths)[:, None]
        alpha = np.where(active, new, alpha)
    last, before = _final_states(alpha, label_lengths)
    result: np.ndarray = np.logaddexp(last, np.where(label_lengths > 0, before, NEG_INF))
    return result


def _best_path_log_likelihoods(
    scores: np.ndarray, lse: np.ndarray, lengths: np.ndarray, paths: Sequence[np.ndarray]
) -> np.ndarray:
    """:func:`_ctc_log_likelihoods` of each line's own best path (greedy output), from
    :func:`_frame_scores`' output, several times faster: the recursion runs on
    probabilities, each frame divided by its largest (``exp(scores)``), with alpha
    renormalised every :data:`RESCALE_EVERY` frames and at each line's last frame
    (Rabiner's scaling) instead of on logs. Exact here because every frame's most probable
    class lies on the lattice (it is the blank or a label of the path): the best
    alignment's state is multiplied by 1 at every frame, so the total stays at least that
    alignment's share and does not underflow, and it grows at most 3x a frame, so it does
    not overflow between rescalings. Other targets use the log-space version."""
    n, t_max, _ = scores.shape
    result = np.full(n, NEG_INF)  # a line without frames: probability 0
    if t_max == 0:
        return result
    # (T, N, S); frames beyond a line's end emit 1 (their alpha is never read).
    prob = np.ones((t_max, n, _n_states(paths)))
    skipping = np.zeros(prob.shape[1:])
    for i, (path, frames) in enumerate(zip(paths, lengths.tolist(), strict=True)):
        ext, can_skip = _extended(path)
        skipping[i, : len(ext)] = can_skip
        prob[:frames, i, : len(ext)] = np.exp(scores[i, :frames][:, ext])
        prob[:frames, i, len(ext) :] = 0.0
    skipping = skipping[:, 2:]
    label_lengths = np.array([len(p) for p in paths])
    alpha = prob[0].copy()
    alpha[:, 2:] = 0.0
    log_scale = np.zeros(n)
    ends: dict[int, list[int]] = {}
    for i, frames in enumerate(lengths.tolist()):
        ends.setdefault(frames - 1, []).append(i)
    for t in range(t_max):
        if t:
            skipped = alpha[:, :-2] * skipping
            alpha[:, 1:] += alpha[:, :-1]  # numpy buffers the overlap: the old values add
            alpha[:, 2:] += skipped
            alpha *= prob[t]
        rows = ends.get(t)
        if rows is not None or t % RESCALE_EVERY == RESCALE_EVERY - 1:
            total = alpha.sum(axis=1)
            alpha /= total[:, None]
            log_scale += np.log(total)
        if rows is not None:  # each line's final states (last label, blank after it)
            last, before = _final_states(alpha[rows], label_lengths[rows])
            final = last + np.where(label_lengths[rows] > 0, before, 0.0)
            with np.errstate(divide="ignore"):
                result[rows] = log_scale[rows] + np.log(final)
    # log P = the scaling (of probabilities divided by each frame's largest) less the
    # frames' log-sum-exp, which turns that largest into its probability.
    frames_used = np.arange(t_max)[None, :] < lengths[:, None]
    out: np.ndarray = result - np.where(frames_used, lse, 0.0).sum(axis=1)
    return out


def ctc_log_likelihoods(
    logits_list: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    temperature: float = 1.0,
    *,
    max_elements: int = 4_000_000,
) -> np.ndarray:
    """log P(targets[i] | softmax(logits_list[i] / temperature)) for each pair, in order
    (-inf where the line has too few frames for its target). Pairs of similar lengths are
    processed together, in chunks of at most ``max_elements`` (lines x frames x states)."""
    n = len(logits_list)
    if len(targets) != n:
        raise DecodeError("logits_list and targets differ in length")
    order = sorted(range(n), key=lambda i: (len(logits_list[i]), len(targets[i])))
    out = np.empty(n)
    start = 0
    while start < n:
        stop = start + 1
        while (
            stop < n
            and (stop + 1 - start)
            * len(logits_list[order[stop]])
            * (2 * len(targets[order[stop]]) + 1)
            <= max_elements
        ):
            stop += 1
        part = order[start:stop]
        out[part] = _ctc_log_likelihoods(
            [logits_list[i] for i in part], [targets[i] for i in part], temperature
        )
        start = stop
    return out


def ctc_nll(
    logits_list: Sequence[np.ndarray],
    targets: Sequence[Sequence[int]],
    temperature: float = 1.0,
    *,
    max_elements: int = 4_000_000,
) -> float:
    """Mean negative log-likelihood of the reference labels (CTC, summed over alignments)
    under ``softmax(logits / temperature)``. Lines too short for their target are skipped.
    Lines are processed in chunks of at most ``max_elements`` (lines x frames x states)."""
    ys = _check_targets(targets)
    if len(ys) != len(logits_list):
        raise DecodeError("logits_list and targets differ in length")
    pairs = [
        (x, y) for x, y in zip(logits_list, ys, strict=True) if len(x) >= max(1, min_frames(y))
    ]
    if not pairs:
        raise DecodeError("no line has enough frames for its target")
    ll = ctc_log_likelihoods(
        [x for x, _ in pairs], [y for _, y in pairs], temperature, max_elements=max_elements
    )
    return -float(ll.sum()) / len(pairs)


def check_temperature(value: Any) -> float:
    """A calibration temperature as a model card stores it: a positive finite number (not a
    bool), else :class:`DecodeError`. One rule for the export, which refuses to write such a
    file, and the runtime, which refuses to load one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise DecodeError(f"calibration temperature {value!r}: must be a positive finite number")
    return float(value)


def fit_temperature(
    logits_list: Sequence[np.ndarray],
    targets: Sequence[Sequence[int]],
    *,
    bounds: tuple[float, float] = (0.5, 20.0),
) -> float:
    """The temperature T that minimises :func:`ctc_nll` on held-out lines.

    T is searched in ``bounds``. The lower bound matters: on a validation set the model
    reads without error, the likelihood keeps rising as T falls, so an unbounded fit drives
    T toward 0 and every later prediction looks certain. Such a set carries no evidence of
    underconfidence beyond that, so sharpening is capped at 2x.

    ``logits_list``: one raw (T_i, C) logits array per line, cut to its valid frames;
    ``targets``: each line's label indices (``charset.encode(text)``, visual order).
    Temperature scaling (Guo et al. 2017) with the sequence-level likelihood CTC defines: a
    proper scoring rule that uses every line, correct or not, and leaves the greedy text
    unchanged. A coarse log-spaced grid finds the basin, golden-section search refines it.
    The runtime divides logits by T before decoding.
    """
    lo, hi = math.log(bounds[0]), math.log(bounds[1])

    def nll(log_t: float) -> float:
        return ctc_nll(logits_list, targets, math.exp(log_t))

    grid = np.linspace(lo, hi, 17)
    scores = [nll(float(g)) for g in grid]
    best = int(np.argmin(scores))
    a = float(grid[max(0, best - 1)])
    b = float(grid[min(len(grid) - 1, best + 1)])
    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = nll(c), nll(d)
    while b - a > 1e-3:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = nll(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = nll(d)
    candidates = [(scores[best], float(grid[best])), (min(fc, fd), (a + b) / 2)]
    return float(math.exp(min(candidates)[1]))


def expected_calibration_error(
    confidences: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    bins: int = 10,
) -> float:
    """ECE: the mean |accuracy - confidence| over equal-width confidence bins, weighted by
    the share of lines in each bin (bin i holds confidences in (i/bins, (i+1)/bins], the
    first also 0). In [0, 1]; 0 for an empty input."""
    conf = np.asarray(confidences, dtype=np.float64)
    corr = np.asarray(correct, dtype=np.float64)
    if conf.shape != corr.shape or conf.ndim != 1:
        raise DecodeError("confidences and correct must be 1-D and of the same length")
    if bins < 1:
        raise DecodeError("bins must be >= 1")
    if conf.size == 0:
        return 0.0
    if np.any((conf < 0) | (conf > 1)) or not np.all(np.isfinite(conf)):
        raise DecodeError("confidences must lie in [0, 1]")
    inner = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    which = np.digitize(conf, inner, right=True)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(corr[mask].mean() - conf[mask].mean())
    return float(ece)
