"""CLI commands (registered on import by lineocr.cli)."""
