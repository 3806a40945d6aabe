"""A deadline for pure-Python work in this thread (pattern compilation in the CLI and server)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any


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
