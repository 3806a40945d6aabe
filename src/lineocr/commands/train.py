"""`lineocr` commands for train (registered on import)."""

from __future__ import annotations
