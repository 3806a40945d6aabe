"""CLI command groups; each module registers its commands on ``lineocr.cli.app``.

One module per area so that the owners of training, reading, synthesis and serving each
edit their own file.
"""

# The import order is the order of the commands in `lineocr --help` (typer lists them as
# they were registered), so it is kept as it is rather than sorted.
# isort: off
from lineocr.commands import lm, read, batch, export, models, serve, synth, train, detector  # noqa: F401
# isort: on
