"""lineocr: train, evaluate, export, run and serve text-line recognisers (CRNN + CTC).

The public API is small: :class:`Recognizer` loads a bundled model name or an ``.onnx``
file and reads line images; :func:`read` is a one-call shortcut. Neither imports PyTorch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lineocr.zoo import DEFAULT_MODEL

__version__ = "0.1.0"
__all__ = ["Prediction", "Recognizer", "__version__", "read"]

if TYPE_CHECKING:
    from lineocr.prediction import Prediction
    from lineocr.runtime import Recognizer


def __getattr__(name: str) -> Any:
    # Lazy: `import lineocr` stays fast and torch-free until a model is needed.
    if name == "Prediction":
        from lineocr.prediction import Prediction

        return Prediction
    if name == "Recognizer":
        from lineocr.runtime import Recognizer

        return Recognizer
    raise AttributeError(f"module 'lineocr' has no attribute {name!r}")


def read(image: Any, model: str = DEFAULT_MODEL, **options: Any) -> Any:
    """Read one line image with a bundled or saved model; returns a ``Prediction``."""
    from lineocr.runtime import Recognizer

    return Recognizer.load(model).read(image, **options)
