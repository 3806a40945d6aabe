"""``lineocr batch``: reading a whole archive on a Ray cluster (the ``lineocr[scale]`` extra).

- :mod:`~lineocr.scale.inputs`: what to read (a folder, a glob, a manifest, Parquet files of
  paths or image bytes), listed in one fixed order;
- :mod:`~lineocr.scale.shards`: the output folder, its shards written whole and marked
  done, so that a restarted job skips them;
- :mod:`~lineocr.scale.reader`: what a Ray actor does with a block of inputs (no Ray in it);
- :mod:`~lineocr.scale.engine`: the Ray Data pipeline that ties them together.

Only the engine imports Ray, and only ``lineocr batch`` imports the engine.
"""
