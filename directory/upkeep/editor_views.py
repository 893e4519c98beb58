"""Keeping the directory true: coordinators' editor and review queue, partners' suggestions.

Coordinators (``edit_directory``) list, create, edit, archive and restore listings, see each
listing's versions and review suggested changes. Partner staff suggest changes to their own
listings, case managers to any listing (``suggest_directory_changes``); both see what became of
their suggestions.
"""

import re
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from directory import versions
from directory.models import ListingKind, SuggestionSource
from directory.upkeep import editing, suggestions
from directory.upkeep.editing import CONTENT_LANGUAGES, ListingInvalid
from directory.upkeep.suggestions import NoChangeProposed, NotOwnListing, RejectionNeedsMessage
from directory.versions import TRANSLATED_FIELDS, Author
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.i18n import N_, gettext
from lotse.models import Role
from lotse.permissions import Access, Permission
from lotse.templating import render

router = APIRouter(include_in_schema=False)

Editor = Annotated[Principal, Depends(Access.allowed(Permission.edit_directory))]
Suggester = Annotated[Principal, Depends(Access.allowed(Permission.suggest_directory_changes))]

LABELS = {
    "name": N_("Name"),
    "alternate_name": N_("Other name"),
    "description": N_("Description"),
    "email": N_("Email"),
    "website": N_("Website"),
    "url": N_("Website"),
    "is_demo": N_("Invented demo entry"),
    "phones": N_("Phone numbers"),
    "status": N_("Status"),
    "alert": N_("Alert"),
    "application_process": N_("How to apply"),
    "fees_description": N_("Fees"),
    "eligibility_description": N_("Who it is for"),
    "minimum_age": N_("Lowest age"),
    "maximum_age": N_("Highest age"),
    "women_only": N_("Women and girls only"),
    "referral_required": N_("Referral from the case management needed"),
    "free_of_charge": N_("Free of charge"),
    "appointment_only": N_("Appointment only"),
    "languages_note": N_("Note on languages"),
    "hours_note": N_("Note on opening hours"),
    "capacity_status": N_("Capacity"),
    "capacity_note": N_("Note on capacity"),
    "organization_id": N_("Organisation"),
    "categories": N_("Categories"),
    "target_groups": N_("Target groups"),
    "languages": N_("Languages spoken"),
    "schedules": N_("Opening hours"),
    "locations": N_("Locations"),
    "required_documents": N_("Required documents"),
    "location_type": N_("Kind of location"),
    "latitude": N_("Latitude"),
    "longitude": N_("Longitude"),
    "transportation": N_("Getting there"),
    "barrier_free": N_("Barrier-free access"),
    "district": N_("District"),
    "address": N_("Address"),
    "address_1": N_("Street and number"),
    "postal_code": N_("Postcode"),
    "city": N_("City"),
    "archived": N_("Archived"),
    "translations": N_("Translations"),
    "message": N_("Message"),
}
KIND_LABELS = {
    ListingKind.organization: N_("Organisation"),
    ListingKind.service: N_("Service"),
    ListingKind.location: N_("Location"),
}
STATUS_LABELS = {
    "active": N_("Active"),
    "inactive": N_("Inactive"),
    "defunct": N_("Closed for good"),
    "temporarily_closed": N_("Temporarily closed"),
}
CAPACITY_LABELS = {
    "has_places": N_("Places available"),
    "no_places": N_("No places at the moment"),
    "waitlist": N_("Waiting list"),
    "assessment_needed": N_("Places after assessment"),
}
SUGGESTION_STATUS_LABELS = {
    "pending": N_("Waiting for review"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "superseded": N_("Replaced by a newer suggestion"),
}
ACTION_LABELS = {
    "created": N_("Created"),
    "edited": N_("Edited"),
    "archived": N_("Archived"),
    "restored": N_("Restored"),
    "merged": N_("Merged"),
    "verified": N_("Verified"),
    "imported": N_("Imported"),
    "suggestion_approved": N_("Suggestion approved"),
    "machine_translated": N_("Machine-translated"),
}
# What a suggestion may not change: whose listing it is, and demo markers.
NOT_SUGGESTIBLE = {"organization_id", "is_demo"}


def label(key: str) -> str:
    """A field's label; translations read "Translation: Name (en)"."""
    if key.startswith("translations."):
        _, field_name, language = key.split(".", 2)
        return gettext(
            "Translation: %(field)s (%(language)s)",
            field=gettext(LABELS.get(field_name, field_name)),
            language=language,
        )
    if "." in key:
        key = key.split(".")[-1]
    return gettext(LABELS.get(key, key))


def describe(key: str, value: Any) -> str:
    """A snapshot value as a person reads it."""
    from lotse.templating import _weekday_name

    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if key == "schedules":
        return "; ".join(
            f"{_weekday_name(slot['weekday'], 'abbreviated')} {slot['opens_at']}–{slot['closes_at']}"
            for slot in value
        )
    if key == "languages":
        return ", ".join(
            f"{item['code']} ({item['note']})" if item.get("note") else item["code"]
            for item in value
        )
    if key == "address" and isinstance(value, dict):
        return f"{value['address_1']}, {value['postal_code']} {value['city']}"
    if key == "status":
        return gettext(STATUS_LABELS.get(value, value))
    if key == "capacity_status":
        return gettext(CAPACITY_LABELS.get(value, value))
    if key == "translations" and isinstance(value, dict):
        return ", ".join(
            f"{field_name}: {', '.join(sorted(languages))}"
            for field_name, languages in sorted(value.items())
        )
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _helpers() -> dict[str, Callable[..., Any]]:
    return {
        "label": label,
        "describe": describe,
        "kind_label": lambda kind: gettext(KIND_LABELS[ListingKind(kind)]),
        "status_label": lambda status: gettext(STATUS_LABELS[status]),
        "capacity_label": lambda status: gettext(CAPACITY_LABELS[status]),
        "suggestion_status_label": lambda status: gettext(SUGGESTION_STATUS_LABELS[status]),
        "action_label": lambda action: gettext(ACTION_LABELS.get(str(action), str(action))),
    }


async def form_data(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]


# --- form <-> snapshot values ----------------------------------------------------------------

_SLOT = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})\s*$")


def _input_id(key: str) -> str:
    """The form control a domain error belongs to."""
    if key.startswith("schedules."):
        return "hours_" + key.split(".")[1]
    if key.startswith("address."):
        return key.split(".")[1]
    if key.startswith("translations."):
        return "translation_" + key.split(".")[1]
    return key


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def values_from_form(
    kind: ListingKind, form: FormData, *, keys: frozenset[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Snapshot-shaped values from the editor form, and the errors of what could not be read."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        value = form.get(name, "")
        return value if isinstance(value, str) else ""

    for key in keys:
        if key in ("translations", "archived"):
            continue
        if key in editing.BOOLEAN_FIELDS:
            values[key] = text(key) == "true"
        elif key in ("categories", "target_groups", "locations"):
            values[key] = [str(value) for value in form.getlist(key)]
        elif key in ("phones", "required_documents"):
            values[key] = _lines(text(key))
        elif key == "languages":
            languages = []
            for line in _lines(text(key)):
                code, _, note = line.partition(":")
                languages.append({"code": code.strip(), "note": note.strip() or None})
            values[key] = languages
        elif key == "schedules":
            slots = []
            for weekday in range(1, 8):
                for part in [p for p in text(f"hours_{weekday}").split(",") if p.strip()]:
                    match = _SLOT.match(part)
                    if not match:
                        errors[f"hours_{weekday}"] = gettext("Please enter times like 09:00-12:30.")
                        continue
                    slots.append({"weekday": weekday, "opens_at": match[1], "closes_at": match[2]})
            values[key] = slots
        elif key in ("latitude", "longitude"):
            raw = text(key).strip().replace(",", ".")
            try:
                values[key] = float(raw) if raw else None
            except ValueError:
                errors[key] = gettext("Please enter a number such as 51.36.")
        elif key in ("minimum_age", "maximum_age"):
            raw = text(key).strip()
            if raw and not raw.isdigit():
                errors[key] = gettext("Please enter a whole number.")
            else:
                values[key] = int(raw) if raw else None
        elif key == "barrier_free":
            values[key] = {"true": True, "false": False}.get(text(key))
        elif key == "address":
            address = {name: text(name).strip() for name in ("address_1", "postal_code", "city")}
            values[key] = address if any(address.values()) else None
        elif key == "district":
            values[key] = text(key) or None
        elif key == "organization_id":
            values[key] = text(key) or None
            if values[key] is None:
                errors[key] = gettext("Please choose an organisation from the list.")
        else:
            values[key] = text(key)
    return values, errors


def _form_keys(kind: ListingKind) -> frozenset[str]:
    return editing.EDITABLE[kind] - {"translations", "archived", "location_type"}


def _form_values(kind: ListingKind, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The form's field values for a snapshot."""
    shown: dict[str, Any] = {}
    for key, value in snapshot.items():
        if key == "schedules":
            for weekday in range(1, 8):
                shown[f"hours_{weekday}"] = ", ".join(
                    f"{slot['opens_at']}-{slot['closes_at']}"
                    for slot in value
                    if slot["weekday"] == weekday
                )
        elif key == "languages":
            shown[key] = "\n".join(
                f"{item['code']}: {item['note']}" if item.get("note") else item["code"]
                for item in value
            )
        elif key in ("phones", "required_documents"):
            shown[key] = "\n".join(value)
        elif key == "address":
            for name in ("address_1", "postal_code", "city"):
                shown[name] = (value or {}).get(name, "")
        else:
            shown[key] = value
    return shown


def _listing_form(
    request: Request,
    session: SessionDep,
    *,
    kind: ListingKind,
    listing: Any,
    shown: dict[str, Any],
    action: str,
    errors: dict[str, str] | None = None,
    suggesting: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    organization_id = shown.get("organization_id")
    return render(
        request,
        "directory/editor/listing_form.html",
        {
            **_helpers(),
            "kind": kind.value,
            "listing": listing,
            "values": shown,
            "errors": errors or {},
            "action": action,
            "suggesting": suggesting,
            "organizations": editing.organizations(session=session),
            "locations": editing.locations_of(
                session=session,
                organization_id=uuid.UUID(organization_id) if organization_id else None,
            ),
            "terms": editing.taxonomy_terms(session=session),
            "target_groups": editing.target_groups(session=session),
            "districts": editing.districts(session=session),
            "statuses": list(STATUS_LABELS),
            "capacities": list(CAPACITY_LABELS),
            "labels": {key: gettext(value) for key, value in LABELS.items()}
            | {f"hours_{day}": gettext(LABELS["schedules"]) for day in range(1, 8)},
        },
        status_code=status_code,
    )


def _errors_for_form(errors: dict[str, str]) -> dict[str, str]:
    return {_input_id(key): message for key, message in errors.items()}


def _with_domain_errors(
    session: SessionDep,
    kind: ListingKind,
    values: dict[str, Any],
    unreadable: dict[str, str],
    *,
    creating: bool,
) -> dict[str, str]:
    """Every error of the form at once: the fields that could not be read, and what the domain
    refuses of the rest (so a person is not sent back once per mistake)."""
    try:
        editing.validate(session=session, kind=kind, values=values, creating=creating)
    except ListingInvalid as error:
        return _errors_for_form(error.errors) | unreadable
    return unreadable


# --- the review queue (declared before /editor/{kind}/... so "review" is not a kind) ----------


@router.get("/editor/review", name="review_queue", response_class=HTMLResponse)
def review_queue(request: Request, session: SessionDep, principal: Editor) -> HTMLResponse:
    waiting = suggestions.pending(session=session)
    return render(
        request,
        "directory/editor/review_queue.html",
        {
            **_helpers(),
            "rows": [
                (suggestion, suggestions.listing_of(session=session, suggestion=suggestion))
                for suggestion in waiting
            ],
        },
    )


@router.get("/editor/review/count", name="review_count", response_class=HTMLResponse)
def review_count(request: Request, session: SessionDep, principal: Editor) -> HTMLResponse:
    """The number of waiting suggestions, for the navigation (fetched by htmx)."""
    count = suggestions.pending_count(session=session)
    return HTMLResponse(
        f'<span class="badge badge--info">{count}</span>' if count else "",
        headers={"Cache-Control": "no-store"},
    )


def _review_page(
    request: Request,
    session: SessionDep,
    suggestion_id: uuid.UUID,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    suggestion = suggestions.get(session=session, suggestion_id=suggestion_id)
    return render(
        request,
        "directory/editor/review_detail.html",
        {
            **_helpers(),
            "suggestion": suggestion,
            "listing": suggestions.listing_of(session=session, suggestion=suggestion),
            "changes": suggestions.changes(session=session, suggestion=suggestion),
            "errors": errors or {},
            "editable": _editable_in_review,
        },
        status_code=status_code,
    )


def _editable_in_review(key: str, value: Any) -> bool:
    """Plain texts can be edited before approving; lists and flags are taken as proposed."""
    return key.startswith("translations.") or (
        isinstance(value, str | type(None))
        and key not in ("status", "capacity_status", "organization_id", "district")
    )


@router.get("/editor/review/{suggestion_id}", name="review_detail", response_class=HTMLResponse)
def review_detail(
    request: Request, session: SessionDep, principal: Editor, suggestion_id: uuid.UUID
) -> HTMLResponse:
    return _review_page(request, session, suggestion_id)


def _edits(suggestion_proposed: dict[str, Any], form: FormData) -> dict[str, Any]:
    """The reviewer's changes to the proposed texts."""
    edits: dict[str, Any] = {}
    for key, value in form.multi_items():
        if not key.startswith("edit:") or not isinstance(value, str):
            continue
        field_key = key[5:]
        if field_key.startswith("translations."):
            _, field_name, language = field_key.split(".", 2)
            entry = (
                (suggestion_proposed.get("translations") or {}).get(field_name, {}).get(language)
            )
            if (entry or {}).get("text") != value.strip():
                edits.setdefault("translations", {}).setdefault(field_name, {})[language] = (
                    {"text": value, "kind": "human"} if value.strip() else None
                )
        elif field_key in suggestion_proposed and (suggestion_proposed[field_key] or "") != value:
            edits[field_key] = value
    return edits


@router.post("/editor/review/{suggestion_id}/approve", name="review_approve")
def review_approve(
    request: Request, session: SessionDep, principal: Editor, suggestion_id: uuid.UUID, form: Form
) -> Response:
    suggestion = suggestions.get(session=session, suggestion_id=suggestion_id)
    message = str(form.get("message", "")).strip()
    try:
        suggestions.approve(
            session=session,
            suggestion=suggestion,
            reviewer=Author.of(principal.user),
            edits=_edits(suggestion.proposed, form),
            message=message,
        )
    except ListingInvalid as error:
        session.rollback()
        errors = {"edit:" + key: text for key, text in error.errors.items()}
        return _review_page(request, session, suggestion_id, errors=errors, status_code=422)
    session.commit()
    return RedirectResponse(
        request.url_for("review_queue").include_query_params(done="approved"), status_code=303
    )


@router.post("/editor/review/{suggestion_id}/reject", name="review_reject")
def review_reject(
    request: Request, session: SessionDep, principal: Editor, suggestion_id: uuid.UUID, form: Form
) -> Response:
    suggestion = suggestions.get(session=session, suggestion_id=suggestion_id)
    try:
        suggestions.reject(
            session=session,
            suggestion=suggestion,
            reviewer=Author.of(principal.user),
            message=str(form.get("reject_message", "")),
        )
    except RejectionNeedsMessage as error:
        session.rollback()
        return _review_page(
            request,
            session,
            suggestion_id,
            errors={"reject_message": error.translated()},
            status_code=422,
        )
    session.commit()
    return RedirectResponse(
        request.url_for("review_queue").include_query_params(done="rejected"), status_code=303
    )


# --- the coordinators' editor ------------------------------------------------------------


@router.get("/editor", name="editor_list", response_class=HTMLResponse)
def editor_list(
    request: Request,
    session: SessionDep,
    principal: Editor,
    kind: ListingKind = ListingKind.service,
    q: Annotated[str, Query(max_length=200)] = "",
    archived: bool = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    found = editing.search_listings(
        session=session, kind=kind, text=q, include_archived=archived, page=page
    )
    return render(
        request,
        "directory/editor/listing_list.html",
        {
            **_helpers(),
            "kind": kind.value,
            "kinds": [k.value for k in ListingKind],
            "q": q,
            "archived": archived,
            "found": found,
            "pending": suggestions.pending_count(session=session),
        },
    )


@router.get("/editor/{kind}/new", name="editor_new", response_class=HTMLResponse)
def editor_new(
    request: Request,
    session: SessionDep,
    principal: Editor,
    kind: ListingKind,
    organization_id: uuid.UUID | None = None,
) -> HTMLResponse:
    shown: dict[str, Any] = {"organization_id": str(organization_id) if organization_id else None}
    if kind == ListingKind.service:
        shown |= {"status": "active", "capacity_status": "has_places", "free_of_charge": True}
    return _listing_form(
        request,
        session,
        kind=kind,
        listing=None,
        shown=shown,
        action=str(request.url_for("editor_create", kind=kind.value)),
    )


@router.post("/editor/{kind}/new", name="editor_create")
def editor_create(
    request: Request, session: SessionDep, principal: Editor, kind: ListingKind, form: Form
) -> Response:
    values, errors = values_from_form(kind, form, keys=_form_keys(kind))
    if errors:
        errors = _with_domain_errors(session, kind, values, errors, creating=True)
    else:
        try:
            listing = editing.create(
                session=session, kind=kind, values=values, author=Author.of(principal.user)
            )
        except ListingInvalid as error:
            errors = _errors_for_form(error.errors)
        else:
            session.commit()
            return RedirectResponse(
                request.url_for(
                    "editor_edit", kind=kind.value, listing_id=listing.id
                ).include_query_params(saved=1),
                status_code=303,
            )
    session.rollback()
    return _listing_form(
        request,
        session,
        kind=kind,
        listing=None,
        shown=dict(form.items()) | _form_values(kind, values),
        action=str(request.url_for("editor_create", kind=kind.value)),
        errors=errors,
        status_code=422,
    )


@router.get("/editor/{kind}/{listing_id}", name="editor_edit", response_class=HTMLResponse)
def editor_edit(
    request: Request,
    session: SessionDep,
    principal: Editor,
    kind: ListingKind,
    listing_id: uuid.UUID,
) -> HTMLResponse:
    listing = editing.get_listing(session=session, kind=kind, listing_id=listing_id)
    return _listing_form(
        request,
        session,
        kind=kind,
        listing=listing,
        shown=_form_values(kind, versions.snapshot(session, listing)),
        action=str(request.url_for("editor_update", kind=kind.value, listing_id=listing.id)),
    )


@router.post("/editor/{kind}/{listing_id}", name="editor_update")
def editor_update(
    request: Request,
    session: SessionDep,
    principal: Editor,
    kind: ListingKind,
    listing_id: uuid.UUID,
    form: Form,
) -> Response:
    listing = editing.get_listing(session=session, kind=kind, listing_id=listing_id)
    values, errors = values_from_form(kind, form, keys=_form_keys(kind))
    if errors:
        errors = _with_domain_errors(session, kind, values, errors, creating=False)
    else:
        try:
            version = editing.update(
                session=session,
                listing=listing,
                values=values,
                author=Author.of(principal.user),
                note=str(form.get("note", "")).strip() or None,
            )
        except ListingInvalid as error:
            errors = _errors_for_form(error.errors)
        else:
            session.commit()
            return RedirectResponse(
                request.url_for(
                    "editor_edit", kind=kind.value, listing_id=listing.id
                ).include_query_params(saved=1 if version else 0),
                status_code=303,
            )
    session.rollback()
    listing = editing.get_listing(session=session, kind=kind, listing_id=listing_id)
    return _listing_form(
        request,
        session,
        kind=kind,
        listing=listing,
        shown=dict(form.items()) | _form_values(kind, values),
        action=str(request.url_for("editor_update", kind=kind.value, listing_id=listing.id)),
        errors=errors,
        status_code=422,
    )


@router.post("/editor/{kind}/{listing_id}/archive", name="editor_archive")
def editor_archive(
    request: Request,
    session: SessionDep,
    principal: Editor,
    kind: ListingKind,
    listing_id: uuid.UUID,
) -> Response:
    listing = editing.get_listing(session=session, kind=kind, listing_id=listing_id)
    editing.archive(session=session, listing=listing, author=Author.of(principal.user))
    session.commit()
    return RedirectResponse(
        request.url_for("editor_edit", kind=kind.value, listing_id=listing_id), status_code=303
    )


@router.post("/editor/{kind}/{listing_id}/restore", name="editor_restore")
def editor_restore(
    request: Request,
    session: SessionDep,
    principal: Editor,
    kind: ListingKind,
    listing_id: uuid.UUID,
) -> Response:
    listing = editing.get_listing(session=session, kind=kind, listing_id=listing_id)
    editing.restore(session=session, listing=listing, author=Author.of(principal.user))
    session.commit()
    return RedirectResponse(
        request.url_for("editor_edit", kind=kind.value, listing_id=listing_id), status_code=303
    )


@router.get(
    "/editor/{kind}/{listing_id}/history", name="editor_history", response_class=HTMLResponse
)
def editor_history(
    request: Request,
    session: SessionDep,
    principal: Editor,
    kind: ListingKind,
    listing_id: uuid.UUID,
) -> HTMLResponse:
    listing = editing.get_listing(session=session, kind=kind, listing_id=listing_id)
    found = versions.history(session=session, kind=kind, entity_id=listing.id)
    return render(
        request,
        "directory/editor/history.html",
        {
            **_helpers(),
            "kind": kind.value,
            "listing": listing,
            "versions": [
                (version, versions.diff(version.before, version.after)) for version in found
            ],
        },
    )


def _translations_page(
    request: Request,
    session: SessionDep,
    *,
    kind: ListingKind,
    listing: Any,
    language: str,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    overview = editing.translation_overview(session=session, listing=listing)
    return render(
        request,
        "directory/editor/translations.html",
        {
            **_helpers(),
            "kind": kind.value,
            "listing": listing,
            "overview": overview,
            "language": language,
            "languages": CONTENT_LANGUAGES,
            "errors": errors or {},
        },
        status_code=status_code,
    )


LanguageParam = Annotated[str, Query(pattern=r"^[a-z]{2,3}(-[a-z0-9]{1,8})*$")]


@router.get(
    "/editor/{kind}/{listing_id}/translations",
    name="editor_translations",
    response_class=HTMLResponse,
)
def editor_translations(
    request: Request,
    session: SessionDep,
    principal: Editor,
    kind: ListingKind,
    listing_id: uuid.UUID,
    language: LanguageParam = "en",
) -> HTMLResponse:
    listing = editing.get_listing(session=session, kind=kind, listing_id=listing_id)
    return _translations_page(request, session, kind=kind, listing=listing, language=language)


@router.post("/editor/{kind}/{listing_id}/translations", name="editor_translations_save")
def editor_translations_save(
    request: Request,
    session: SessionDep,
    principal: Editor,
    kind: ListingKind,
    listing_id: uuid.UUID,
    form: Form,
    language: LanguageParam = "en",
) -> Response:
    listing = editing.get_listing(session=session, kind=kind, listing_id=listing_id)
    overview = editing.translation_overview(session=session, listing=listing)
    states = overview.states.get(language, {})
    texts: dict[str, Any] = {}
    for field_name in TRANSLATED_FIELDS[kind]:
        if field_name not in states:
            continue
        state = states[field_name]
        text = str(form.get(f"translation_{field_name}", "")).strip()
        confirmed = form.get(f"confirm_{field_name}") == "true"
        if text == (state.text or "") and not confirmed:
            continue
        texts[field_name] = {language: {"text": text, "kind": "human"} if text else None}
    try:
        editing.update(
            session=session,
            listing=listing,
            values={"translations": texts},
            author=Author.of(principal.user),
        )
    except ListingInvalid as error:
        session.rollback()
        listing = editing.get_listing(session=session, kind=kind, listing_id=listing_id)
        return _translations_page(
            request,
            session,
            kind=kind,
            listing=listing,
            language=language,
            errors=_errors_for_form(error.errors),
            status_code=422,
        )
    session.commit()
    return RedirectResponse(
        request.url_for(
            "editor_translations", kind=kind.value, listing_id=listing_id
        ).include_query_params(language=language, saved=1),
        status_code=303,
    )


# --- suggestions by partners and case managers ----------------------------------------------


def _scope(principal: Principal) -> uuid.UUID | None:
    """Whose listings this person may suggest changes to: any (None) or their organisation's."""
    return None if principal.has_role(Role.case_manager) else principal.organization_id


def _suggestible(
    session: SessionDep, principal: Principal, kind: ListingKind, listing_id: uuid.UUID
) -> Any:
    listing = editing.get_listing(session=session, kind=kind, listing_id=listing_id)
    scope = _scope(principal)
    if scope is not None and not suggestions.is_own_listing(
        session=session, listing=listing, partner_organization_id=scope
    ):
        raise NotOwnListing()
    return listing


@router.get("/suggestions", name="my_suggestions", response_class=HTMLResponse)
def my_suggestions(request: Request, session: SessionDep, principal: Suggester) -> HTMLResponse:
    mine = suggestions.proposed_by(session=session, user_id=principal.user.id)
    scope = _scope(principal)
    return render(
        request,
        "directory/editor/my_suggestions.html",
        {
            **_helpers(),
            "rows": [
                (suggestion, suggestions.listing_of(session=session, suggestion=suggestion))
                for suggestion in mine
            ],
            "own_services": suggestions.own_services(session=session, partner_organization_id=scope)
            if scope
            else [],
        },
    )


@router.get("/suggestions/{kind}/{listing_id}", name="suggest_form", response_class=HTMLResponse)
def suggest_form(
    request: Request,
    session: SessionDep,
    principal: Suggester,
    kind: ListingKind,
    listing_id: uuid.UUID,
) -> HTMLResponse:
    listing = _suggestible(session, principal, kind, listing_id)
    return _listing_form(
        request,
        session,
        kind=kind,
        listing=listing,
        shown=_form_values(kind, versions.snapshot(session, listing)),
        action=str(request.url_for("suggest_create", kind=kind.value, listing_id=listing.id)),
        suggesting=True,
    )


@router.post("/suggestions/{kind}/{listing_id}", name="suggest_create")
def suggest_create(
    request: Request,
    session: SessionDep,
    principal: Suggester,
    kind: ListingKind,
    listing_id: uuid.UUID,
    form: Form,
) -> Response:
    listing = _suggestible(session, principal, kind, listing_id)
    values, errors = values_from_form(kind, form, keys=_form_keys(kind) - NOT_SUGGESTIBLE)
    if errors:
        errors = _with_domain_errors(session, kind, values, errors, creating=False)
    else:
        try:
            suggestions.propose(
                session=session,
                listing=listing,
                proposed=values,
                source=SuggestionSource.case_manager
                if principal.has_role(Role.case_manager)
                else SuggestionSource.partner,
                author=Author.of(principal.user),
                message=str(form.get("message", "")),
            )
        except ListingInvalid as error:
            errors = _errors_for_form(error.errors)
        except NoChangeProposed as error:
            errors = {"message": error.translated()}
        else:
            session.commit()
            return RedirectResponse(
                request.url_for("my_suggestions").include_query_params(sent=1), status_code=303
            )
    session.rollback()
    listing = _suggestible(session, principal, kind, listing_id)
    return _listing_form(
        request,
        session,
        kind=kind,
        listing=listing,
        shown=_form_values(kind, versions.snapshot(session, listing))
        | dict(form.items())
        | _form_values(kind, values),
        action=str(request.url_for("suggest_create", kind=kind.value, listing_id=listing.id)),
        errors=errors,
        suggesting=True,
        status_code=422,
    )
