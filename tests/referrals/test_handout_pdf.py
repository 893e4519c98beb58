"""Handouts and consent forms as PDF downloads in the client's language: the text is real text
in its script (Persian, Arabic, Cyrillic, Greek), right to left where the language is, and the
download is the print view's own page."""

import io
import re
import unicodedata

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlmodel import Session, select

from lotse import i18n, pdf
from lotse.models import AuditEvent
from tests.accounts import login
from tests.referrals.test_handout import (
    EVENING_COURSE,
    KIM,
    html_tag,
    make_client,
    make_consent,
    make_referral,
)


def pdf_text(response) -> str:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    reader = PdfReader(io.BytesIO(response.content))
    # Words only: how a PDF spaces, breaks lines and cases a kicker is the layout's business.
    text = "".join(page.extract_text() for page in reader.pages)
    return _words(text)


def _words(text: str) -> str:
    """Without spaces, case and accents (Greek capitals drop their accents)."""
    folded = unicodedata.normalize("NFD", re.sub(r"\s+", "", text).casefold())
    return "".join(char for char in folded if not unicodedata.combining(char))


def in_language(code: str, *messages: str) -> list[str]:
    with i18n.language(code):
        translated = [i18n.gettext(message) for message in messages]
    assert not set(translated) & set(messages), f"{code} translates the headings"
    return [_words(text) for text in translated]


HEADINGS = ("Opening hours", "Information for you", "Contact")


@pytest.mark.parametrize("code", ["fa", "ar", "ru", "el"])
def test_service_handout_pdf_is_in_the_clients_language(client: TestClient, code: str):
    response = client.get(f"/services/{EVENING_COURSE}/handout.pdf", params={"lang": code})
    text = pdf_text(response)
    for heading in in_language(code, *HEADINGS):
        assert heading in text
    assert response.headers["content-language"] == code
    assert f"-{code}.pdf" in response.headers["content-disposition"]
    # The address stays as it is written, in German.
    assert "selbecker" in text


def test_persian_print_view_is_right_to_left_and_links_its_pdf(client: TestClient):
    page = client.get(f"/services/{KIM}/handout", params={"lang": "fa"}).text
    assert html_tag(page) == '<html lang="fa" dir="rtl">'
    assert f'href="/services/{KIM}/handout.pdf?lang=fa" download' in page


def test_the_pdf_embeds_the_shipped_noto_fonts(client: TestClient):
    response = client.get(f"/services/{KIM}/handout.pdf", params={"lang": "fa"})
    reader = PdfReader(io.BytesIO(response.content))
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    # Subset names: "/ABCDEF+Lotse-Noto-Sans-Arabic", the @font-face families of print.css.
    assert any(font.endswith("+Lotse-Noto-Sans-Arabic") for font in fonts), fonts
    assert any(font.endswith("+Lotse-Noto-Sans") for font in fonts), fonts


def test_referral_handout_pdf_carries_the_appointment_and_is_audited(
    client: TestClient, session: Session
):
    referral = make_referral(session, languages=["ru"])
    login(client, "case_manager")
    response = client.get(f"/referrals/{referral.id}/handout.pdf")
    text = pdf_text(response)
    assert "v-2026-99901" in text
    assert "18:30" in text
    assert in_language("ru", "Your appointment")[0] in text
    assert response.headers["cache-control"] == "no-store"
    events = session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "referral.handout_printed",
            AuditEvent.object_id == str(referral.id),
        )
    ).all()
    assert len(events) == 1


def test_no_pdf_library_means_a_clear_refusal(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
):
    def missing(html: str) -> bytes:
        raise pdf.PdfUnavailable()

    monkeypatch.setattr(pdf, "render", missing)
    referral = make_referral(session, languages=["ru"])
    login(client, "case_manager")
    response = client.get(f"/referrals/{referral.id}/handout.pdf")
    assert response.status_code == 503
    assert "Pango" in response.text


@pytest.mark.parametrize("code", ["fa", "el"])
def test_consent_form_pdf_in_the_clients_language(client: TestClient, session: Session, code: str):
    patient = make_client(session, languages=[code])
    consent = make_consent(session, patient, text_language=code)
    login(client, "case_manager")
    response = client.get(f"/clients/{patient.id}/consents/{consent.id}/print.pdf")
    text = pdf_text(response)
    for heading in in_language(code, "Alias and year of birth"):
        assert heading in text
    assert "olena" in text
    page = client.get(f"/clients/{patient.id}/consents/{consent.id}/print").text
    assert f'href="/clients/{patient.id}/consents/{consent.id}/print.pdf" download' in page


def test_handout_pdf_in_leichte_sprache_is_german_to_the_reader(client: TestClient):
    response = client.get(f"/services/{EVENING_COURSE}/handout.pdf", params={"lang": "de-x-ls"})
    text = pdf_text(response)
    assert _words("Öffnungs·zeiten") in text
    assert response.headers["content-language"] == "de"
