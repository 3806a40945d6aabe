"""Beam-search constraints: automata over labels for a lexicon or a whole-line pattern."""

from __future__ import annotations

import copy
import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lineocr.charset import Charset, is_rtl_char, to_visual
from lineocr.decode.base import DecodeError
from lineocr.decode.regex import _automaton_regex, resolve_pattern

_LTR_BIDI = frozenset({"L", "EN", "AN"})


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


class PatternConstraint(Constraint):
    """The whole line must match a regex (Python syntax; full match) or a named pattern.

    The regex is compiled to a finite automaton (``interegular``) over the charset's labels,
    with states that can no longer reach acceptance removed, so the beam only holds prefixes
    that can still complete a match. The model reads in visual order, so the automaton runs
    on the pattern as written (``direction`` ``"ltr"``), reversed with brackets mirrored
    (``"rtl"``) or either way (``"numbers"``: Arabic-Indic numbers with separators); where
    no automaton can follow the drawn order (``"mixed"``: right-to-left letters with digits
    or Latin) the pattern only filters the final beam (docs/decoding.md, Direction). A match
    is checked on the text as returned (digits as ``map_digits`` gives them, without the
    edge and doubled spaces the runtime drops).
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
