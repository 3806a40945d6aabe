"""`lineocr` commands for read (registered on import)."""

from __future__ import annotations
