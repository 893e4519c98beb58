"""Keeping the directory true: stale listings and their verification, duplicates and merging.

Coordinators see every stale listing and the duplicate report; partner staff see and confirm
their own organisation's listings, which is where the reminder email leads.
"""

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, select
from starlette.routing import NoMatchFound

from directory import listings, versions
from directory.models import ListingKind, Organization, Service
from directory.search.params import BlankCode
from directory.translations import Localizer
from directory.upkeep import duplicates, editor_forms, verification
from lotse import i18n
from lotse.account_views import client_ip
from lotse.audit import Actor
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.errors import LotseError
from lotse.models import Role
from lotse.permissions import Access, Forbidden, Permission
from lotse.templating import render
from lotse.timeutil import utcnow

router = APIRouter(include_in_schema=False, prefix="/maintenance")

Coordinator = Annotated[Principal, Depends(Access.allowed(Permission.edit_directory))]
Maintainer = Annotated[
    Principal,
    Depends(Access.for_roles(Role.partner_staff, Role.partner_admin, Role.coordinator, Role.admin)),
]
PartnerStaff = Annotated[
    Principal, Depends(Access.for_roles(Role.partner_staff, Role.partner_admin))
]

STALE_PAGE_SIZE = 200


class NotYourListing(Forbidden):
    message = i18n.N_("Only the provider's own staff and coordinators may confirm this listing.")


def _author(principal: Principal) -> versions.Author:
    return versions.Author.of(principal.user)


def _stale_after(request: Request) -> int:
    return int(request.app.state.settings.stale_after_days)


def _safe_next(value: str, fallback: str) -> str:
    """Only a path of this site, never another host."""
    return value if value.startswith("/") and not value.startswith("//") else fallback


# --- stale listings -------------------------------------------------------------------------


@router.get("/stale", name="stale_listings", response_class=HTMLResponse)
def stale_listings(
    request: Request,
    session: SessionDep,
    principal: Coordinator,
    district: BlankCode = None,
    category: BlankCode = None,
) -> HTMLResponse:
    errors: dict[str, str] = {}
    found: list[verification.StaleListing] = []
    total = 0
    try:
        found, total = verification.stale_services(
            session=session,
            stale_after_days=_stale_after(request),
            district=district,
            category=category,
            limit=STALE_PAGE_SIZE,
        )
    except listings.UnknownDistrict as error:
        errors["district"] = error.translated()
    except listings.UnknownCategory as error:
        errors["category"] = error.translated()
    loc = Localizer(session=session, language=i18n.get_language())
    tree = listings.taxonomy_tree(session=session)
    loc.load([node.term for node in tree] + [c.term for node in tree for c in node.children])
    return render(
        request,
        "directory/maintenance/stale_list.html",
        {
            "loc": loc,
            "found": found,
            "total": total,
            "errors": errors,
            "district": district or "",
            "category": category or "",
            "districts": listings.districts(session=session),
            "tree": tree,
            "stale_after_days": _stale_after(request),
            "here": str(request.url.path)
            + ("?" + str(request.url.query) if request.url.query else ""),
        },
        status_code=422 if errors else 200,
    )


@router.get("/own", name="own_listings")
def own_listings(request: Request, session: SessionDep, principal: PartnerStaff) -> Response:
    """A partner's way in: their organisation's listings, or why there are none."""
    own = sorted(verification.own_organization_ids(session=session, principal=principal))
    if len(own) == 1:
        return RedirectResponse(
            request.app.url_path_for("organization_listings", organization_id=str(own[0])),
            status_code=303,
        )
    organizations = (
        session.exec(select(Organization).where(col(Organization.id).in_(own))).all() if own else []
    )
    return render(
        request, "directory/maintenance/own_listings.html", {"organizations": organizations}
    )


@router.get(
    "/organizations/{organization_id}",
    name="organization_listings",
    response_class=HTMLResponse,
)
def organization_listings(
    request: Request, session: SessionDep, principal: Maintainer, organization_id: uuid.UUID
) -> HTMLResponse:
    """Where the reminder leads: each listing with its verification, confirm or suggest."""
    organization = listings.get_organization(session=session, organization_id=organization_id)
    if not verification.may_maintain(
        session=session, principal=principal, organization_id=organization.id
    ):
        raise NotYourListing()
    services = listings.services_of_organization(session=session, organization_id=organization.id)
    now = utcnow()
    stale_after = _stale_after(request)
    rows = [
        {
            "service": service,
            "stale": verification.is_stale(service, stale_after_days=stale_after, now=now),
            "days": (now - service.assured_at).days if service.assured_at else None,
        }
        for service in services
    ]
    # Stale first, the never verified among them first.
    rows.sort(key=lambda row: (not row["stale"], row["days"] is not None))
    loc = Localizer(session=session, language=i18n.get_language())
    loc.load([organization, *services])
    return render(
        request,
        "directory/maintenance/organization_listings.html",
        {
            "loc": loc,
            "organization": organization,
            "rows": rows,
            "stale_count": sum(1 for row in rows if row["stale"]),
            "stale_after_days": stale_after,
            "suggest_route": _suggest_route(request),
        },
    )


def _suggest_route(request: Request) -> str | None:
    """The review queue's "suggest a change" page (directory/upkeep/editor_views.py), if installed."""
    try:
        request.app.url_path_for("suggest_form", kind="service", listing_id=str(uuid.UUID(int=0)))
    except NoMatchFound:
        return None
    return "suggest_form"


@router.post("/services/{service_id}/verify", name="service_verify")
def service_verify(
    request: Request,
    session: SessionDep,
    principal: Maintainer,
    service_id: uuid.UUID,
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    service = session.get(Service, service_id)
    if service is None:
        raise listings.ServiceNotFound()
    if not verification.may_maintain(
        session=session, principal=principal, organization_id=service.organization_id
    ):
        raise NotYourListing()
    verification.verify(session=session, service=service, author=_author(principal))
    session.commit()
    target = _safe_next(
        next,
        request.app.url_path_for(
            "organization_listings", organization_id=str(service.organization_id)
        ),
    )
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}verified={service.id}", status_code=303)


# --- duplicates -----------------------------------------------------------------------------


@router.get("/duplicates", name="duplicate_report", response_class=HTMLResponse)
def duplicate_report(request: Request, session: SessionDep, principal: Coordinator) -> HTMLResponse:
    found = duplicates.report(session=session)
    merged = None
    kept_id = request.query_params.get("kept", "")
    kind = request.query_params.get("merged", "")
    if kind in (ListingKind.service.value, ListingKind.organization.value) and kept_id:
        try:
            merged = duplicates.get_listing(
                session=session, kind=ListingKind(kind), listing_id=uuid.UUID(kept_id)
            )
        except (ValueError, LotseError):
            merged = None
    return render(
        request,
        "directory/maintenance/duplicate_report.html",
        {
            "report": found,
            "merged": merged,
            "field_label": lambda name: i18n.gettext(duplicates.FIELD_LABELS[name]),
            "compare_url": lambda pair: request.url_for("duplicate_compare").include_query_params(
                kind=pair.kind.value, first=str(pair.first.id), second=str(pair.second.id)
            ),
        },
    )


def _readable_snapshot(session: SessionDep, listing: Service | Organization) -> dict[str, Any]:
    """The record's fields with names where the snapshot holds ids or codes."""
    snapshot = versions.snapshot(session, listing)
    for internal in ("translations", "archived", "is_demo"):
        snapshot.pop(internal, None)
    if isinstance(listing, Service):
        loc = Localizer(session=session, language=i18n.get_language())
        loc.load([*listing.categories, *listing.target_groups])
        snapshot["organization_id"] = listing.organization.name
        snapshot["categories"] = sorted(loc.text(term, "name") for term in listing.categories)
        snapshot["target_groups"] = sorted(
            loc.text(group, "name") for group in listing.target_groups
        )
        snapshot["locations"] = sorted(location.name for location in listing.locations)
    return snapshot


def _comparison(
    session: SessionDep, first: Service | Organization, second: Service | Organization
) -> list[dict[str, Any]]:
    """Field by field, as the editor labels and shows them: label, both values, differ or not."""
    sides = [_readable_snapshot(session, first), _readable_snapshot(session, second)]
    rows = []
    for key in dict.fromkeys([*sides[0], *sides[1]]):
        values = [side.get(key) for side in sides]
        rows.append(
            {
                "label": editor_forms.label(key),
                "values": [editor_forms.describe(key, value) for value in values],
                "differs": values[0] != values[1],
            }
        )
    return rows


def _attached(session: SessionDep, kind: ListingKind, listing_id: uuid.UUID) -> list[str]:
    """What hangs on a record, as sentences ("3 referrals")."""
    return [
        duplicates.attached_label(name, number)
        for name, number in duplicates.attached_counts(
            session=session, kind=kind, listing_id=listing_id
        ).items()
    ]


def _compare_page(
    request: Request,
    session: SessionDep,
    kind: ListingKind,
    first_id: uuid.UUID,
    second_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    keep: str = "",
    confirm: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    first = duplicates.get_listing(session=session, kind=kind, listing_id=first_id)
    second = duplicates.get_listing(session=session, kind=kind, listing_id=second_id)
    listings_by_id = {str(first.id): first, str(second.id): second}
    pair = duplicates.compare(session=session, kind=kind, first_id=first_id, second_id=second_id)
    kept = listings_by_id.get(keep) if confirm else None
    return render(
        request,
        "directory/maintenance/duplicate_compare.html",
        {
            "kind": kind.value,
            "sides": [
                {"listing": listing, "attached": _attached(session, kind, listing.id)}
                for listing in (first, second)
            ],
            "rows": _comparison(session, first, second),
            "pair": pair,
            "errors": errors or {},
            "keep": keep,
            "kept": kept,
            "removed": (second if kept is first else first) if kept else None,
            "field_label": lambda name: i18n.gettext(duplicates.FIELD_LABELS[name]),
        },
        status_code=status_code,
    )


@router.get("/duplicates/compare", name="duplicate_compare", response_class=HTMLResponse)
def duplicate_compare(
    request: Request,
    session: SessionDep,
    principal: Coordinator,
    kind: Annotated[ListingKind, Query()],
    first: Annotated[uuid.UUID, Query()],
    second: Annotated[uuid.UUID, Query()],
) -> HTMLResponse:
    if kind == ListingKind.location:
        raise duplicates.ListingNotFound()
    return _compare_page(request, session, kind, first, second)


@router.post("/duplicates/merge", name="duplicate_merge")
def duplicate_merge(
    request: Request,
    session: SessionDep,
    principal: Coordinator,
    kind: Annotated[str, Form(max_length=20)] = "",
    first: Annotated[str, Form(max_length=40)] = "",
    second: Annotated[str, Form(max_length=40)] = "",
    keep: Annotated[str, Form(max_length=40)] = "",
    confirmed: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    try:
        listing_kind = ListingKind(kind)
        first_id, second_id = uuid.UUID(first), uuid.UUID(second)
        if listing_kind == ListingKind.location:
            raise ValueError(kind)
    except ValueError:
        return render(
            request,
            "errors/error.html",
            {
                "status_code": 422,
                "message": i18n.gettext("Choose a pair from the duplicates report to merge it."),
                "code": "invalid_merge",
            },
            status_code=422,
        )

    def refused(message: str, status_code: int, kept: str = "") -> HTMLResponse:
        """The pair again, with why the merge did not happen next to the choice."""
        return _compare_page(
            request,
            session,
            listing_kind,
            first_id,
            second_id,
            errors={"keep": message},
            keep=kept,
            status_code=status_code,
        )

    try:
        keep_id = uuid.UUID(keep)
    except ValueError:
        keep_id = None
    if keep_id not in (first_id, second_id):
        return refused(i18n.gettext("Please choose which record to keep."), 422)
    if confirmed != "yes":
        return _compare_page(
            request, session, listing_kind, first_id, second_id, keep=str(keep_id), confirm=True
        )
    remove_id = second_id if keep_id == first_id else first_id
    try:
        result = duplicates.merge(
            session=session,
            kind=listing_kind,
            keep_id=keep_id,
            remove_id=remove_id,
            author=_author(principal),
            actor=Actor.of(principal.user, client_ip(request)),
        )
    except duplicates.MergeRefused as error:
        session.rollback()
        return refused(error.translated(), 409, kept=str(keep_id))
    except LotseError:
        session.rollback()
        raise
    session.commit()
    query = urlencode({"merged": listing_kind.value, "kept": result.kept.id})
    target = request.app.url_path_for("duplicate_report")
    return RedirectResponse(f"{target}?{query}", status_code=303)
