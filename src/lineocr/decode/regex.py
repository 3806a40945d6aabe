"""Patterns for the constraint automaton: the named ones, and regexes rewritten for interegular."""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable

from lineocr.decode.base import DecodeError

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
