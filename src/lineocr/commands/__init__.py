"""CLI command groups; each module registers its commands on ``lineocr.cli.app``.

One module per area so that the owners of training, reading, synthesis and serving each
edit their own file.
"""

from lineocr.commands import lm, read, serve, synth, train  # noqa: F401
