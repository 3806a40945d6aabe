"""Keyword groups: ``**options: Unpack[SomeTypedDict]`` kept as strict as named parameters.

A public function whose callers pass a group of related options by keyword
(``read_dataset(path, label_map="az")``, ``beam_search(lp, lm=lm, lm_weight=0.5)``) takes
them as one typed group; :func:`check_keywords` refuses a keyword the group lacks with the
``TypeError`` Python raises for an unknown parameter, so a misspelt option is never ignored.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any


def check_keywords(function: str, given: Mapping[str, Any], known: Collection[str]) -> None:
    """Raise ``TypeError`` for the first keyword of ``given`` that is not in ``known``."""
    for name in given:
        if name not in known:
            raise TypeError(f"{function}() got an unexpected keyword argument {name!r}")
