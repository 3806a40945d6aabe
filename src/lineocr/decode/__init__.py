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

Alignment: :func:`align_batch` places decoded labels in the frames they were read at (CTC
forced alignment), whatever decoder chose them: a character's place on the line.

The modules, each importing only those listed after it: ``decoder`` (the facade),
``calibration``, ``beam``, ``constraints``, ``regex``, ``best_path`` (greedy), ``align``
(forced alignment), ``ctc`` (the likelihoods greedy and calibration share), ``base``
(result type, error, blank). Import
the public names from here. (Greedy lives in ``best_path``, not ``greedy``: a submodule
named like the function :func:`greedy` would be shadowed by it.)
"""

from __future__ import annotations

from lineocr.decode.align import align, align_batch, widened
from lineocr.decode.base import BLANK, EMPTY, NEG_INF, Decoded, DecodeError, log_softmax
from lineocr.decode.beam import DEFAULT_BEAM_WIDTH, MIN_LABEL_LOGP, beam_search
from lineocr.decode.best_path import greedy, greedy_batch
from lineocr.decode.calibration import (
    check_temperature,
    ctc_nll,
    expected_calibration_error,
    fit_temperature,
)
from lineocr.decode.constraints import Constraint, LexiconConstraint, PatternConstraint
from lineocr.decode.ctc import RESCALE_EVERY, ctc_log_likelihoods, min_frames
from lineocr.decode.decoder import DECODE_OPTIONS, DECODERS, Decoder, load_lexicon
from lineocr.decode.regex import NAMED_PATTERNS, resolve_pattern

__all__ = [
    "BLANK",
    "DECODERS",
    "DECODE_OPTIONS",
    "DEFAULT_BEAM_WIDTH",
    "EMPTY",
    "MIN_LABEL_LOGP",
    "NAMED_PATTERNS",
    "NEG_INF",
    "RESCALE_EVERY",
    "Constraint",
    "DecodeError",
    "Decoded",
    "Decoder",
    "LexiconConstraint",
    "PatternConstraint",
    "align",
    "align_batch",
    "beam_search",
    "check_temperature",
    "ctc_log_likelihoods",
    "ctc_nll",
    "expected_calibration_error",
    "fit_temperature",
    "greedy",
    "greedy_batch",
    "load_lexicon",
    "log_softmax",
    "min_frames",
    "resolve_pattern",
    "widened",
]
