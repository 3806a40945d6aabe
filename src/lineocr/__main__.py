"""``python -m lineocr`` (and ``torchrun -m lineocr``) runs the command line."""

from lineocr.cli import main

main()
