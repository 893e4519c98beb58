"""What a printed handout shows: one service, in the client's language, and an appointment.

The directory texts come from its translations; where a text has no translation in the
handout's language the German source is shown instead, marked with its language so that the
page can set ``lang="de"`` on it and tell the reader that some information is only in German.
The labels around the texts come from the interface catalogs, or are German where the
language has none.
"""

from dataclasses import dataclass, field
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from directory import hours
from directory.models import Service, ServiceStatus
from directory.translations import SOURCE_LANGUAGE, Localizer
from lotse import i18n
from referrals.models import Client, Referral


@dataclass(frozen=True)
class LocalText:
    """A directory text and the language it is actually shown in."""

    text: str
    language: str
    # Shown in German because the handout's language has no translation of it.
    is_fallback: bool = False
    # A machine translation no person has reviewed yet.
    is_machine: bool = False
    # A translation made for an older German text.
    is_outdated: bool = False


@dataclass(frozen=True)
class Place:
    name: LocalText
    street: str | None
    postcode_and_city: str | None
    district: str | None
    transportation: LocalText | None
    barrier_free: bool | None
    accessibility: list[LocalText]
    latitude: float
    longitude: float

    @property
    def map_url(self) -> str:
        lat, lon = f"{self.latitude:.5f}", f"{self.longitude:.5f}"
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"

    @property
    def map_url_short(self) -> str:
        """The same link, short enough to type from paper."""
        return f"openstreetmap.org/?mlat={self.latitude:.5f}&mlon={self.longitude:.5f}"


@dataclass(frozen=True)
class Appointment:
    number: str
    on: date | None
    at: time | None
    place: str | None


@dataclass
class Handout:
    language: str  # the language asked for
    labels_language: str  # the language of the labels: the one asked for, or German
    name: LocalText
    provider: LocalText
    description: LocalText | None
    status: ServiceStatus
    alert: LocalText | None
    application_process: LocalText | None
    documents: list[LocalText]
    week: list[tuple[int, list[hours.Slot]]]
    hours_note: LocalText | None
    appointment_only: bool
    women_only: bool
    free_of_charge: bool
    fees: LocalText | None
    languages_spoken: list[str]
    phones: list[str]
    email: str | None
    website: str | None
    places: list[Place]
    appointment: Appointment | None = None
    # Texts a client needs to understand that are shown in German for want of a translation.
    untranslated: list[str] = field(default_factory=list)
    # How many of those texts exist in the handout's language.
    translated: int = 0
    # A sentence or two on what is offered and for whom.
    summary: LocalText | None = None

    @property
    def machine_translated(self) -> bool:
        """Some texts are machine translations that no person has checked yet."""
        return any(text and text.is_machine for text in self._texts())

    @property
    def outdated(self) -> bool:
        """Some translations were made for an older German text."""
        return any(text and text.is_outdated for text in self._texts())

    def _texts(self) -> list[LocalText | None]:
        return [
            self.name,
            self.summary,
            self.description,
            self.alert,
            self.application_process,
            self.hours_note,
            self.fees,
            *self.documents,
        ]

    @property
    def labels_in_german(self) -> bool:
        """The language has no interface catalog, so the labels fall back to German."""
        return self.labels_language != self.language

    @property
    def partly_german(self) -> bool:
        return self.language != SOURCE_LANGUAGE and bool(self.untranslated)


def handout_language(*, requested: str | None, client: Client | None, ui_language: str) -> str:
    """The language asked for; else the client's first language if the interface has it;
    else the language the case manager is using."""
    if requested in i18n.KNOWN_LANGUAGES:
        return requested
    if client and client.languages and i18n.is_ui_language(client.languages[0]):
        return client.languages[0]
    return ui_language


class _Texts:
    """Looks up texts and remembers which content texts had to fall back to German."""

    def __init__(self, localizer: Localizer) -> None:
        self.localizer = localizer
        self.untranslated: list[str] = []
        self.translated = 0

    def get(self, record: Any, name: str, *, content: bool = True) -> LocalText | None:
        text = self.localizer.text(record, name)
        if not text:
            return None
        if self.localizer.is_translated(record, name):
            if content:
                self.translated += 1
            return LocalText(
                text,
                self.localizer.language,
                is_machine=self.localizer.is_machine(record, name),
                is_outdated=self.localizer.is_outdated(record, name),
            )
        if not content:
            return LocalText(text, SOURCE_LANGUAGE)
        self.untranslated.append(f"{record.__tablename__}.{name}")
        return LocalText(text, SOURCE_LANGUAGE, is_fallback=True)

    def name(self, record: Any) -> LocalText:
        """A proper name: shown as it is, never a reason for the German notice."""
        found = self.get(record, "name", content=False)
        return found or LocalText("", SOURCE_LANGUAGE)


def _appointment(referral: Referral, timezone: str) -> Appointment:
    local = None
    if referral.appointment_at is not None:
        local = referral.appointment_at.astimezone(ZoneInfo(timezone))
    return Appointment(
        number=referral.number,
        on=local.date() if local else None,
        at=local.time() if local else None,
        place=(referral.appointment_place or "").strip() or None,
    )


def build(
    *,
    session: Session,
    service: Service,
    language: str,
    timezone: str,
    referral: Referral | None = None,
) -> Handout:
    """Everything one handout shows; ``service`` as loaded by ``listings.get_service``."""
    localizer = Localizer(session=session, language=language)
    localizer.load(
        [
            service,
            service.organization,
            *service.required_documents,
            *service.locations,
            *(a for location in service.locations for a in location.accessibility),
        ]
    )
    texts = _Texts(localizer)
    # The service's name describes the offer, so a German name counts as untranslated.
    name = texts.get(service, "name") or LocalText("", SOURCE_LANGUAGE)
    places = []
    for location in service.locations:
        address = location.address
        places.append(
            Place(
                name=texts.name(location),
                street=address.address_1 if address else None,
                postcode_and_city=f"{address.postal_code} {address.city}" if address else None,
                district=location.district.name if location.district else None,
                transportation=texts.get(location, "transportation"),
                barrier_free=location.barrier_free,
                accessibility=[
                    text for a in location.accessibility if (text := texts.get(a, "description"))
                ],
                latitude=location.latitude,
                longitude=location.longitude,
            )
        )
    documents = sorted(service.required_documents, key=lambda document: document.sort_order)
    summary = texts.get(service, "summary")
    return Handout(
        language=language,
        labels_language=language if i18n.is_ui_language(language) else i18n.DEFAULT_LANGUAGE,
        name=name,
        provider=texts.name(service.organization),
        description=texts.get(service, "description"),
        status=ServiceStatus(service.status),
        alert=texts.get(service, "alert"),
        application_process=texts.get(service, "application_process"),
        documents=[text for d in documents if (text := texts.get(d, "document"))],
        week=hours.weekly_table(hours.slots_of(service.schedules)),
        hours_note=texts.get(service, "hours_note"),
        appointment_only=service.appointment_only,
        women_only=service.women_only,
        free_of_charge=service.free_of_charge,
        fees=None if service.free_of_charge else texts.get(service, "fees_description"),
        languages_spoken=[spoken.code for spoken in service.languages],
        phones=[phone.number for phone in (service.phones or service.organization.phones)],
        email=service.email or service.organization.email,
        website=service.url or service.organization.website,
        places=places,
        appointment=_appointment(referral, timezone) if referral else None,
        untranslated=texts.untranslated,
        translated=texts.translated,
        summary=summary,
    )
