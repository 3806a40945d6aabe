"""`lineocr` commands for serve (registered on import)."""

from __future__ import annotations
