"""Documents: pages in (PDF, multi-page TIFF) and documents out (hOCR, ALTO, PAGE-XML,
searchable PDF), each writer a pure function of :class:`lineocr.page.Page` objects."""
