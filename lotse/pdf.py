"""Printable pages as PDF: one HTML template serves the print view and the download.

WeasyPrint lays the HTML out with Pango and HarfBuzz, so Arabic and Persian are shaped and run
right to left, and it embeds (subsets of) the fonts it used: a handout prints the same on any
machine. It needs the system's Pango (Debian: ``libpango-1.0-0 libpangoft2-1.0-0``); where that is
missing the import fails, and ``render`` says so with ``PdfUnavailable`` instead of a traceback,
so the print view still works and only the download is refused.
"""

import mimetypes
from pathlib import Path

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
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticFetcher(URLFetcher):
        # WeasyPrint 70 takes a fetcher object; anything it cannot fetch is left out with a
        # warning (a missing font falls back to the next in the CSS font stack).
        def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
            found = _static_only(url)
            content_type = mimetypes.guess_type(str(found["filename"]))[0]
            return URLFetcherResponse(
                url,
                body=found["string"],
                headers={"Content-Type": content_type or "application/octet-stream"},
            )

    return bytes(weasyprint.HTML(string=html, url_fetcher=StaticFetcher()).write_pdf())


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
