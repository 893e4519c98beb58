"""The directory's pages: home, browsing by category, district and target group, details."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from directory import hours, listings
from directory.geo import UnknownPlace
from directory.models import ListingKind, Service
from directory.search.find import Found, InvalidSearch, SearchQuery, find_services
from directory.search.params import GeocoderDep, SearchEngineDep, SearchParamsDep
from directory.translations import Localizer
from lotse import i18n
from lotse.db import SessionDep
from lotse.permissions import Access
from lotse.templating import render
from lotse.timeutil import utcnow

router = APIRouter(include_in_schema=False, dependencies=[Depends(Access.directory())])


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
    engine: SearchEngineDep,
    geocoder: GeocoderDep,
    params: SearchParamsDep,
    view: Literal["list", "map"] = "list",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    context = _page_context(request, session)
    loc: Localizer = context["loc"]
    tree = listings.taxonomy_tree(session=session)
    groups = listings.target_groups(session=session)
    loc.load(
        [node.term for node in tree] + [c.term for node in tree for c in node.children] + groups
    )
    current_category = (
        listings.get_category(session=session, code=params.category) if params.category else None
    )
    problem = None
    found = None
    try:
        query = SearchQuery(
            params=params,
            language=i18n.get_language(),
            now=context["now"],
            page=page,
            per_page=20,
            facets=True,
        )
        found = find_services(session=session, engine=engine, geocoder=geocoder, query=query)
        session.commit()
    except (UnknownPlace, InvalidSearch) as error:
        problem = error.translated()
    if found is not None:
        loc.load(item.service for item in found.page.items)
        loc.load(item.service.organization for item in found.page.items)
    query_items = params.query_string_items()
    partial = (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )
    return render(
        request,
        "directory/_search_results.html" if partial else "directory/service_list.html",
        {
            **context,
            "found": found,
            "problem": problem,
            "params": params,
            "view": view,
            "query_items": query_items,
            "tree": tree,
            "current_category": current_category,
            "districts": listings.districts(session=session),
            "target_groups": groups,
            "languages": listings.spoken_languages(session=session),
            "places": geocoder.gazetteer.suggestions_for_form(),
            "map_points": _map_points(found, loc) if found and view == "map" else [],
        },
        status_code=422 if problem else 200,
    )


def _map_points(found: Found[Service], loc: Localizer) -> list[dict[str, Any]]:
    points = []
    for item in found.page.items:
        for location in item.service.locations:
            points.append(
                {
                    "lat": location.latitude,
                    "lon": location.longitude,
                    "name": loc.text(item.service, "name"),
                    "url": f"/services/{item.service.id}",
                    "address": location.address.one_line if location.address else "",
                }
            )
    return points


@router.get("/services/{service_id}", name="service_detail", response_class=HTMLResponse)
def service_detail(request: Request, session: SessionDep, service_id: uuid.UUID) -> Response:
    service = listings.get_service(session=session, service_id=service_id)
    if service.merged_into_id is not None:
        kept = listings.merged_target(
            session=session, kind=ListingKind.service, listing_id=service.id
        )
        return RedirectResponse(request.url_for("service_detail", service_id=kept), 301)
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
) -> Response:
    organization = listings.get_organization(session=session, organization_id=organization_id)
    if organization.merged_into_id is not None:
        kept = listings.merged_target(
            session=session, kind=ListingKind.organization, listing_id=organization.id
        )
        return RedirectResponse(request.url_for("organization_detail", organization_id=kept), 301)
    services = listings.services_of_organization(session=session, organization_id=organization.id)
    context = _page_context(request, session)
    context["loc"].load([organization, *services, *organization.locations])
    return render(
        request,
        "directory/organization_detail.html",
        {**context, "organization": organization, "services": services},
    )
