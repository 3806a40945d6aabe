"""The independent evaluation: text lines that lineocr's own generator never draws.

Lines are set by other typesetters (groff, Pango/Cairo) from real prose fetched from the
package registries at run time (:mod:`.texts`), rasterised by Ghostscript or Poppler
(:mod:`.typeset`), printed-and-scanned by the profiles of :mod:`.degrade`, and read side by
side by lineocr, Tesseract 5 and RapidOCR (:mod:`.engines`); :mod:`.report` scores every
engine with :mod:`lineocr.metrics` after one normalisation. ``benchmarks/bench_independent.py``
runs it all. Nothing here imports :mod:`lineocr.data` (the generator).
"""
