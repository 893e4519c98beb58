"""The directory's pages: home, browsing by category, district and target group, details."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from directory import hours, listings
from directory.models import Service
from directory.translations import Localizer
from lotse import i18n
from lotse.db import SessionDep
from lotse.templating import render
from lotse.timeutil import utcnow

router = APIRouter(include_in_schema=False)

CodeQuery = Annotated[str | None, Query(max_length=80, pattern=r"^[a-z0-9_-]*$")]


def _page_context(request: Request, session: SessionDep) -> dict[str, Any]:
    """What every directory page needs: translations, open state and staleness of services."""
    loc = Localizer(session=session, language=i18n.get_language())
    now = utcnow()
    stale_after = request.app.state.settings.stale_after_days

    def open_state(service: Service) -> hours.OpenState:
        return hours.open_state(hours.slots_of(service.schedules), at=now, status=service.status)

    def is_stale(service: Service) -> bool:
        return listings.is_stale(service, stale_after_days=stale_after, now=now)

    return {"loc": loc, "now": now, "open_state": open_state, "is_stale": is_stale}


@router.get("/", name="home", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> HTMLResponse:
    context = _page_context(request, session)
    tree = listings.taxonomy_tree(session=session)
    groups = listings.target_groups(session=session)
    context["loc"].load([node.term for node in tree] + groups)
    return render(
        request,
        "directory/home.html",
        {
            **context,
            "tree": tree,
            "districts": listings.districts(session=session),
            "target_groups": groups,
        },
    )


@router.get("/services", name="service_list", response_class=HTMLResponse)
def service_list(
    request: Request,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    category: CodeQuery = None,
    district: CodeQuery = None,
    target_group: CodeQuery = None,
    language: CodeQuery = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    filters = listings.ServiceFilters(
        category=category or None,
        district=district or None,
        target_group=target_group or None,
        language=language or None,
        text=(q or "").strip() or None,
    )
    result = listings.list_services(session=session, filters=filters, page=page, per_page=20)
    context = _page_context(request, session)
    tree = listings.taxonomy_tree(session=session)
    groups = listings.target_groups(session=session)
    loc: Localizer = context["loc"]
    loc.load(result.items)
    loc.load(service.organization for service in result.items)
    loc.load(
        [node.term for node in tree] + [c.term for node in tree for c in node.children] + groups
    )
    current_category = (
        listings.get_category(session=session, code=filters.category) if filters.category else None
    )
    return render(
        request,
        "directory/service_list.html",
        {
            **context,
            "result": result,
            "filters": filters,
            "query_params": {
                ("q" if name == "text" else name): value for name, value in filters.active().items()
            },
            "tree": tree,
            "current_category": current_category,
            "districts": listings.districts(session=session),
            "target_groups": groups,
            "languages": listings.spoken_languages(session=session),
        },
    )


@router.get("/services/{service_id}", name="service_detail", response_class=HTMLResponse)
def service_detail(request: Request, session: SessionDep, service_id: uuid.UUID) -> HTMLResponse:
    service = listings.get_service(session=session, service_id=service_id)
    nearby = listings.neighbours(session=session, service=service)
    context = _page_context(request, session)
    loc: Localizer = context["loc"]
    loc.load(
        [
            service,
            service.organization,
            *service.required_documents,
            *service.categories,
            *service.target_groups,
            *service.locations,
            *(a for location in service.locations for a in location.accessibility),
        ]
    )
    loc.load(nearby.at_same_location + nearby.of_same_provider)
    return render(
        request,
        "directory/service_detail.html",
        {
            **context,
            "service": service,
            "nearby": nearby,
            "week": hours.weekly_table(hours.slots_of(service.schedules)),
            "today": hours.local_now().isoweekday(),
        },
    )


@router.get(
    "/organizations/{organization_id}", name="organization_detail", response_class=HTMLResponse
)
def organization_detail(
    request: Request, session: SessionDep, organization_id: uuid.UUID
) -> HTMLResponse:
    organization = listings.get_organization(session=session, organization_id=organization_id)
    services = listings.services_of_organization(session=session, organization_id=organization.id)
    context = _page_context(request, session)
    context["loc"].load([organization, *services, *organization.locations])
    return render(
        request,
        "directory/organization_detail.html",
        {**context, "organization": organization, "services": services},
    )
