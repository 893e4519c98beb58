"""Keeping the directory true: coordinators' editor and review queue, partners' suggestions.

Coordinators (``edit_directory``) list, create, edit, archive and restore listings, see each
listing's versions and review suggested changes. Partner staff suggest changes to their own
listings, case managers to any listing (``suggest_directory_changes``); both see what became of
their suggestions.
"""

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from directory import versions
from directory.models import ChangeSuggestion, ListingKind, SuggestionSource
from directory.upkeep import editing, suggestions
from directory.upkeep.editing import CONTENT_LANGUAGES, Listing, ListingInvalid
from directory.upkeep.editor_forms import (
    CAPACITY_LABELS,
    LABELS,
    NOT_SUGGESTIBLE,
    STATUS_LABELS,
    errors_for_form,
    form_keys,
    form_values,
    helpers,
    values_from_form,
)
from directory.upkeep.suggestions import NoChangeProposed, NotOwnListing, RejectionNeedsMessage
from directory.versions import TRANSLATED_FIELDS, Author
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.i18n import gettext
from lotse.models import Role
from lotse.permissions import Access, Permission
from lotse.templating import render

router = APIRouter(include_in_schema=False)

Editor = Annotated[Principal, Depends(Access.allowed(Permission.edit_directory))]
Suggester = Annotated[Principal, Depends(Access.allowed(Permission.suggest_directory_changes))]


async def form_data(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]


def _editor_page(
    request: Request, page: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page of the editor, with the helpers that label fields and describe values."""
    return render(
        request, f"directory/editor/{page}.html", helpers() | context, status_code=status_code
    )


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
    return _editor_page(
        request,
        "listing_form",
        status_code=status_code,
        kind=kind.value,
        listing=listing,
        values=shown,
        errors=errors or {},
        action=action,
        suggesting=suggesting,
        organizations=editing.organizations(session=session),
        locations=editing.locations_of(
            session=session,
            organization_id=uuid.UUID(organization_id) if organization_id else None,
        ),
        terms=editing.taxonomy_terms(session=session),
        target_groups=editing.target_groups(session=session),
        districts=editing.districts(session=session),
        statuses=list(STATUS_LABELS),
        capacities=list(CAPACITY_LABELS),
        labels={key: gettext(value) for key, value in LABELS.items()}
        | {f"hours_{day}": gettext(LABELS["schedules"]) for day in range(1, 8)},
    )


def _read_form(
    session: SessionDep, kind: ListingKind, form: FormData, *, keys: frozenset[str], creating: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's values and errors. When some fields cannot be read, the errors are all the
    form's at once: those fields, and what the domain refuses of the rest (so a person is not
    sent back once per mistake)."""
    values, unreadable = values_from_form(kind, form, keys=keys)
    if not unreadable:
        return values, {}
    try:
        editing.validate(session=session, kind=kind, values=values, creating=creating)
    except ListingInvalid as error:
        return values, errors_for_form(error.errors) | unreadable
    return values, unreadable


def _show_saved(
    request: Request, kind: ListingKind, listing_id: uuid.UUID, *, saved: bool
) -> RedirectResponse:
    """Back to the listing in the editor, saying whether anything was saved."""
    return RedirectResponse(
        request.url_for("editor_edit", kind=kind.value, listing_id=listing_id).include_query_params(
            saved=int(saved)
        ),
        status_code=303,
    )


def _with_listings(
    session: SessionDep, found: list[ChangeSuggestion]
) -> list[tuple[ChangeSuggestion, Any]]:
    """Each suggestion beside the listing it is about, for the queue and "my suggestions"."""
    return [
        (suggestion, suggestions.listing_of(session=session, suggestion=suggestion))
        for suggestion in found
    ]


# --- the review queue (declared before /editor/{kind}/... so "review" is not a kind) ----------


@router.get("/editor/review", name="review_queue", response_class=HTMLResponse)
def review_queue(request: Request, session: SessionDep, principal: Editor) -> HTMLResponse:
    waiting = suggestions.pending(session=session)
    return _editor_page(request, "review_queue", rows=_with_listings(session, waiting))


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
    return _editor_page(
        request,
        "review_detail",
        status_code=status_code,
        suggestion=suggestion,
        listing=suggestions.listing_of(session=session, suggestion=suggestion),
        changes=suggestions.changes(session=session, suggestion=suggestion),
        errors=errors or {},
        editable=_editable_in_review,
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


def _edited_listing(
    session: SessionDep, principal: Editor, kind: ListingKind, listing_id: uuid.UUID
) -> Listing:
    """The listing in the path; a person who may not edit is refused before it is looked up."""
    return editing.get_listing(session=session, kind=kind, listing_id=listing_id)


EditedListing = Annotated[Listing, Depends(_edited_listing)]


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
    return _editor_page(
        request,
        "listing_list",
        kind=kind.value,
        kinds=[k.value for k in ListingKind],
        q=q,
        archived=archived,
        found=found,
        pending=suggestions.pending_count(session=session),
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
    values, errors = _read_form(session, kind, form, keys=form_keys(kind), creating=True)
    if not errors:
        try:
            listing = editing.create(
                session=session, kind=kind, values=values, author=Author.of(principal.user)
            )
        except ListingInvalid as error:
            errors = errors_for_form(error.errors)
        else:
            session.commit()
            return _show_saved(request, kind, listing.id, saved=True)
    session.rollback()
    return _listing_form(
        request,
        session,
        kind=kind,
        listing=None,
        shown=dict(form.items()) | form_values(kind, values),
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
    listing: EditedListing,
) -> HTMLResponse:
    return _listing_form(
        request,
        session,
        kind=kind,
        listing=listing,
        shown=form_values(kind, versions.snapshot(session, listing)),
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
    values, errors = _read_form(session, kind, form, keys=form_keys(kind), creating=False)
    if not errors:
        try:
            version = editing.update(
                session=session,
                listing=listing,
                values=values,
                author=Author.of(principal.user),
                note=str(form.get("note", "")).strip() or None,
            )
        except ListingInvalid as error:
            errors = errors_for_form(error.errors)
        else:
            session.commit()
            return _show_saved(request, kind, listing.id, saved=version is not None)
    session.rollback()
    listing = editing.get_listing(session=session, kind=kind, listing_id=listing_id)
    return _listing_form(
        request,
        session,
        kind=kind,
        listing=listing,
        shown=dict(form.items()) | form_values(kind, values),
        action=str(request.url_for("editor_update", kind=kind.value, listing_id=listing.id)),
        errors=errors,
        status_code=422,
    )


def _archive_or_restore(change: Callable[..., Any]) -> Callable[..., Response]:
    """A route that archives or restores the listing, then shows it in the editor."""

    def route(
        request: Request, session: SessionDep, principal: Editor, listing: EditedListing
    ) -> Response:
        change(session=session, listing=listing, author=Author.of(principal.user))
        session.commit()
        return RedirectResponse(
            request.url_for(
                "editor_edit", kind=versions.kind_of(listing).value, listing_id=listing.id
            ),
            status_code=303,
        )

    return route


router.add_api_route(
    "/editor/{kind}/{listing_id}/archive",
    _archive_or_restore(editing.archive),
    methods=["POST"],
    name="editor_archive",
)
router.add_api_route(
    "/editor/{kind}/{listing_id}/restore",
    _archive_or_restore(editing.restore),
    methods=["POST"],
    name="editor_restore",
)


@router.get(
    "/editor/{kind}/{listing_id}/history", name="editor_history", response_class=HTMLResponse
)
def editor_history(
    request: Request,
    session: SessionDep,
    principal: Editor,
    kind: ListingKind,
    listing: EditedListing,
) -> HTMLResponse:
    found = versions.history(session=session, kind=kind, entity_id=listing.id)
    return _editor_page(
        request,
        "history",
        kind=kind.value,
        listing=listing,
        versions=[(version, versions.diff(version.before, version.after)) for version in found],
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
    return _editor_page(
        request,
        "translations",
        status_code=status_code,
        kind=kind.value,
        listing=listing,
        overview=overview,
        language=language,
        languages=CONTENT_LANGUAGES,
        errors=errors or {},
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
    listing: EditedListing,
    language: LanguageParam = "en",
) -> HTMLResponse:
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
    approved_as_is: list[str] = []
    for field_name in TRANSLATED_FIELDS[kind]:
        if field_name not in states:
            continue
        state = states[field_name]
        text = str(form.get(f"translation_{field_name}", "")).strip()
        confirmed = form.get(f"confirm_{field_name}") == "true"
        if text == (state.text or ""):
            if not confirmed:
                continue
            approved_as_is.append(field_name)
        texts[field_name] = {language: {"text": text, "kind": "human"} if text else None}
    try:
        editing.update(
            session=session,
            listing=listing,
            values={"translations": texts},
            author=Author.of(principal.user),
        )
        # An outdated translation approved as it is: the text did not change, its state does.
        editing.confirm_translations(
            session=session, listing=listing, language=language, fields=approved_as_is
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
            errors=errors_for_form(error.errors),
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
    return _editor_page(
        request,
        "my_suggestions",
        rows=_with_listings(session, mine),
        own_services=suggestions.own_services(session=session, partner_organization_id=scope)
        if scope
        else [],
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
        shown=form_values(kind, versions.snapshot(session, listing)),
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
    values, errors = _read_form(
        session, kind, form, keys=form_keys(kind) - NOT_SUGGESTIBLE, creating=False
    )
    if not errors:
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
            errors = errors_for_form(error.errors)
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
        shown=form_values(kind, versions.snapshot(session, listing))
        | dict(form.items())
        | form_values(kind, values),
        action=str(request.url_for("suggest_create", kind=kind.value, listing_id=listing.id)),
        errors=errors,
        suggesting=True,
        status_code=422,
    )
