"""Bidi isolation: on Arabic and Persian pages every left-to-right piece (phone numbers,
addresses, postcodes, e-mail addresses, URLs, opening hours, codes) sits in its own isolated
run, so "02331 991000" never reads "991000 02331"."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from directory.models import Address, Service
from lotse import i18n
from lotse.templating import isolate
from tests.referrals.test_handout import EVENING_COURSE, html_tag


def _service(session: Session) -> Service:
    return session.get_one(Service, EVENING_COURSE)


def _pieces(session: Session) -> tuple[list[str], Address]:
    service = _service(session)
    phones = [phone.number for phone in (service.phones or service.organization.phones)]
    location = service.locations[0]
    assert location.address is not None
    return phones, location.address


def _isolated(page: str, text: str) -> bool:
    """``text`` is the whole content of an element marked dir="ltr" (a bdi, link or span)."""
    return bool(re.search(rf'<(bdi|a|span)[^>]*dir="ltr"[^>]*>{re.escape(text)}</\1>', page))


@pytest.mark.parametrize("code", ["ar", "fa"])
def test_service_page_isolates_numbers_addresses_and_hours(
    client: TestClient, session: Session, code: str
):
    client.cookies.set(i18n.LANGUAGE_COOKIE, code)
    page = client.get(f"/services/{EVENING_COURSE}").text
    assert html_tag(page) == f'<html lang="{code}" dir="rtl">'
    phones, address = _pieces(session)
    assert phones
    for number in phones:
        assert _isolated(page, number), number
    assert _isolated(page, address.address_1)
    assert _isolated(page, f"{address.postal_code} {address.city}")
    # Every opening-hours slot runs left to right as one piece.
    hours = re.findall(r"<bdi dir=\"ltr\">([^<]+–[^<]+)</bdi>", page)
    assert hours
    service = _service(session)
    email = service.email or service.organization.email
    if email:
        assert _isolated(page, email)


@pytest.mark.parametrize("code", ["ar", "fa"])
def test_handout_isolates_the_same_pieces(client: TestClient, session: Session, code: str):
    page = client.get(f"/services/{EVENING_COURSE}/handout", params={"lang": code}).text
    assert html_tag(page) == f'<html lang="{code}" dir="rtl">'
    phones, address = _pieces(session)
    for number in phones:
        assert _isolated(page, number), number
    assert _isolated(page, address.address_1)
    assert _isolated(page, f"{address.postal_code} {address.city}")
    assert re.search(r"<bdi dir=\"ltr\">[^<]+–[^<]+</bdi>", page)
    # German fallback text is marked as German and runs left to right.
    assert 'lang="de" dir="ltr" class="in-german"' in page


def test_the_filter_escapes_and_names_the_language_only_when_it_differs():
    with i18n.language("ar"):
        assert str(isolate("<b>58099 Hagen</b>", lang="de")) == (
            '<bdi dir="ltr" lang="de">&lt;b&gt;58099 Hagen&lt;/b&gt;</bdi>'
        )
    with i18n.language("de"):
        assert str(isolate("58099 Hagen", lang="de")) == '<bdi dir="ltr">58099 Hagen</bdi>'
    assert str(isolate(None)) == ""
    assert str(isolate("Олена", "auto")) == '<bdi dir="auto">Олена</bdi>'
