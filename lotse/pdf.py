"""Printable pages as PDF: one HTML template serves the print view and the download.

WeasyPrint lays the HTML out with Pango and HarfBuzz, so Arabic and Persian are shaped and run
right to left, and it embeds (subsets of) the fonts it used: a handout prints the same on any
machine. It needs the system's Pango (Debian: ``libpango-1.0-0 libpangoft2-1.0-0``); where that is
missing the import fails, and ``render`` says so with ``PdfUnavailable`` instead of a traceback,
so the print view still works and only the download is refused.
"""

import mimetypes
from pathlib import Path
from typing import Any

from lotse.errors import LotseError
from lotse.i18n import N_

STATIC_ROOT = Path(__file__).resolve().parent.parent / "static"


class PdfUnavailable(LotseError):
    status_code = 503
    code = "pdf_unavailable"
    message = N_(
        "PDF files cannot be made on this server (the system library Pango is missing). "
        "Use the print view instead."
    )


def render(html: str) -> bytes:
    """The PDF of a complete HTML page; ``/static/...`` links are read from the static folder."""
    try:
        import weasyprint
    except OSError as missing_library:  # WeasyPrint raises OSError when Pango cannot be loaded
        raise PdfUnavailable() from missing_library
    return weasyprint.HTML(string=html, url_fetcher=_fetcher()).write_pdf()


def _fetcher() -> Any:
    """``_static_only`` in the shape the installed WeasyPrint calls: from version 67 on a
    ``URLFetcher`` whose ``fetch`` answers a ``URLFetcherResponse`` (a plain function returning
    a dict fails as soon as a page links a stylesheet), before that the function itself."""
    try:
        from weasyprint.urls import URLFetcher, URLFetcherResponse
    except ImportError:
        return _static_only

    class StaticOnly(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            found = _static_only(url)
            mime_type = mimetypes.guess_type(str(found["filename"]))[0]
            return URLFetcherResponse(
                url,
                body=found["string"],
                headers={"Content-Type": mime_type or "application/octet-stream"},
            )

    return StaticOnly()


def _static_only(url: str) -> dict[str, object]:
    """Only the application's own static files: a page turned into a PDF never fetches from the
    network (no tracking pixel, no server-side request to an address someone typed)."""
    prefix = "/static/"
    path = url.split("://", 1)[-1]
    path = path[path.find(prefix) :] if prefix in path else ""
    target = (STATIC_ROOT / path.removeprefix(prefix)).resolve() if path else None
    if target is None or not target.is_relative_to(STATIC_ROOT) or not target.is_file():
        raise ValueError(f"not a static file: {url}")
    return {"string": target.read_bytes(), "filename": target.name}
