"""lotse/pdf.py: right-to-left and Cyrillic text come out as text with embedded fonts, and the
renderer reads nothing but the application's static files."""

import io

import pytest
from pypdf import PdfReader

from lotse import pdf


def _fonts(reader: PdfReader) -> set[str]:
    names = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            for part in [font.get_object(), *font.get_object().get("/DescendantFonts", [])]:
                descriptor = part.get_object().get("/FontDescriptor")
                descriptor = descriptor.get_object() if descriptor else {}
                if any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
                    names.add(str(part.get_object()["/BaseFont"]))
    return names


def test_persian_and_russian_text_is_kept_with_embedded_fonts() -> None:
    page = (
        '<html lang="fa" dir="rtl"><body><p>کلاس زبان</p>'
        '<p lang="ru" dir="ltr">Курс немецкого языка</p></body></html>'
    )
    reader = PdfReader(io.BytesIO(pdf.render(page)))
    text = reader.pages[0].extract_text()
    assert "Курс немецкого языка" in text
    assert "کلاس زبان" in text
    assert _fonts(reader), "the fonts are embedded"


def test_only_static_files_are_read() -> None:
    assert pdf._static_only("http://testserver/static/css/lotse.css")["filename"] == "lotse.css"
    for url in (
        "https://example.org/pixel.png",
        "file:///etc/passwd",
        "http://testserver/static/../pyproject.toml",
    ):
        with pytest.raises(ValueError):
            pdf._static_only(url)


def test_a_page_with_the_print_stylesheet_renders() -> None:
    """The fetcher in the shape the installed WeasyPrint calls: a linked stylesheet is read from
    the static folder, a foreign one is skipped, and neither stops the PDF."""
    page = (
        '<html lang="de"><head><link rel="stylesheet" href="http://testserver/static/css/print.css">'
        '<link rel="stylesheet" href="https://example.org/tracking.css"></head>'
        "<body><h1>Auskunft</h1></body></html>"
    )
    reader = PdfReader(io.BytesIO(pdf.render(page)))
    assert "Auskunft" in reader.pages[0].extract_text()


def test_static_stylesheets_and_images_are_used() -> None:
    page = (
        '<html><head><link rel="stylesheet" href="http://testserver/static/css/print.css">'
        "<style>p { font-size: 30pt }</style></head><body>"
        '<img src="http://testserver/static/vendor/leaflet/images/layers.png" alt="">'
        "<p>Lotse</p></body></html>"
    )
    reader = PdfReader(io.BytesIO(pdf.render(page)))
    assert "Lotse" in reader.pages[0].extract_text()
    assert reader.pages[0]["/Resources"].get("/XObject"), "the static image is drawn"
