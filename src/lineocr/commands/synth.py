"""`lineocr` commands for synth (registered on import)."""

from __future__ import annotations
