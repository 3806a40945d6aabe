"""The HTTP service and web page: ``create_app(Settings(...))``, run by ``lineocr serve``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lineocr.serve.settings import Settings, SettingsError

if TYPE_CHECKING:
    from lineocr.serve.app import create_app

__all__ = ["Settings", "SettingsError", "create_app"]


def __getattr__(name: str) -> Any:
    # Lazy: FastAPI is the `serve` extra; settings import without it.
    if name == "create_app":
        from lineocr.serve.app import create_app

        return create_app
    raise AttributeError(f"module 'lineocr.serve' has no attribute {name!r}")
