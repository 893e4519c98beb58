"""The directory's JSON API under /api/v1."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from directory import hours, listings
from directory.geo import Place
from directory.models import (
    AddressRead,
    CategoryRead,
    CategoryTreeRead,
    LanguageRead,
    ListingKind,
    Location,
    LocationRead,
    OpeningSlotRead,
    OrganizationRead,
    OrganizationRef,
    PlaceRead,
    SearchHitRead,
    SearchPage,
    Service,
    ServicePage,
    ServiceRead,
    ServiceSummaryRead,
    TargetGroupRead,
)
from directory.search.find import Found, SearchQuery, explain, find, find_services, load_services
from directory.search.params import GeocoderDep, SearchEngineDep, SearchParamsDep
from directory.search.summaries import CachedSummary, SummaryCache
from directory.translations import Localizer
from directory.versions import TRANSLATED_FIELDS
from lotse import i18n
from lotse.db import SessionDep
from lotse.errors import error_responses
from lotse.permissions import Access
from lotse.timeutil import utcnow

router = APIRouter(
    prefix="/api/v1",
    tags=["directory"],
    dependencies=[Depends(Access.directory())],
    responses=error_responses(401, 403, 422),
)
# Unknown records, and filter codes that name nothing (e.g. category=nonexistent).
NOT_FOUND = error_responses(404)

LanguageParam = Annotated[
    str | None,
    Query(
        description="Language of the texts (e.g. de, en, uk, ar); German where no translation "
        "exists. Default: the Accept-Language header, then German.",
        pattern=r"^[a-z]{2,3}(-[a-z0-9-]+)?$",
        max_length=12,
    ),
]
CodeParam = Annotated[str | None, Query(max_length=80, pattern=r"^[a-z0-9_-]+$")]


def _text_language(response: Response, lang: LanguageParam = None) -> str:
    """The language asked for if Lotse offers it; anything else falls back to the interface
    language with a notice, so an unknown code is never stored (the search log) or echoed."""
    language = i18n.known_language(lang) or i18n.get_language()
    response.headers["Content-Language"] = language
    if lang and i18n.known_language(lang) is None:
        # The pattern of LanguageParam keeps the code to [a-z0-9-]: safe in a header.
        response.headers["Lotse-Notice"] = (
            f'lang "{lang}" is not offered; texts are in "{language}"'
        )
    return language


TextLanguage = Annotated[str, Depends(_text_language)]


def _localizer(session: SessionDep, lang: str) -> Localizer:
    return Localizer(session=session, language=lang)


def _location(location: Location, loc: Localizer, *, detailed: bool = False) -> LocationRead:
    address = location.address
    accessibility = location.accessibility[0] if detailed and location.accessibility else None
    return LocationRead(
        id=location.id,
        name=location.name,
        latitude=location.latitude,
        longitude=location.longitude,
        district=location.district.code if location.district else None,
        district_name=location.district.name if location.district else None,
        address=AddressRead(
            address_1=address.address_1,
            postal_code=address.postal_code,
            city=address.city,
            country=address.country,
        )
        if address
        else None,
        barrier_free=location.barrier_free,
        accessibility=loc.text(accessibility, "description") if accessibility else None,
        transportation=loc.text(location, "transportation") or None if detailed else None,
    )


def _summary_fields(request: Request, service: Service, loc: Localizer) -> dict:
    settings = request.app.state.settings
    slots = hours.slots_of(service.schedules)
    loc.load(service.categories)
    return {
        "id": service.id,
        "name": loc.text(service, "name"),
        "summary": loc.text(service, "summary") or None,
        "description": loc.text(service, "description"),
        "status": service.status,
        "organization": OrganizationRef(
            id=service.organization.id,
            name=loc.text(service.organization, "name"),
            is_demo=service.organization.is_demo,
        ),
        "categories": [
            CategoryRead(id=term.id, code=term.code, name=loc.text(term, "name"))
            for term in service.categories
        ],
        "target_groups": [group.code for group in service.target_groups],
        "languages": [language.code for language in service.languages],
        "locations": [_location(location, loc) for location in service.locations],
        "free_of_charge": service.free_of_charge,
        "women_only": service.women_only,
        "appointment_only": service.appointment_only,
        "capacity_status": service.capacity_status,
        "open_now": hours.is_open(slots, at=utcnow(), status=service.status),
        "assured_at": service.assured_at,
        "stale": listings.is_stale(service, stale_after_days=settings.stale_after_days),
        "url": str(request.url_for("service_detail", service_id=service.id)),
    }


def service_summary(request: Request, service: Service, loc: Localizer) -> ServiceSummaryRead:
    return ServiceSummaryRead(**_summary_fields(request, service, loc))


TEXT_FIELDS = TRANSLATED_FIELDS[ListingKind.service]


@router.get("/services", name="api_services", responses=NOT_FOUND, response_model=ServicePage)
def list_services(
    request: Request,
    session: SessionDep,
    lang: TextLanguage,
    category: Annotated[
        CodeParam, Query(description="Taxonomy code; a top-level code includes its children")
    ] = None,
    district: Annotated[CodeParam, Query(description="District code, e.g. mitte")] = None,
    target_group: Annotated[
        CodeParam, Query(description="Target group code, e.g. ukraine_24")
    ] = None,
    language: Annotated[CodeParam, Query(description="Spoken language code, e.g. uk")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ServicePage:
    """Listed services, filtered (filters combine with AND) and paginated, ordered by name."""
    result = listings.list_services(
        session=session,
        filters=listings.ServiceFilters(
            category=category, district=district, target_group=target_group, language=language
        ),
        page=page,
        per_page=per_page,
    )
    loc = _localizer(session, lang).load(result.items)
    loc.load(service.organization for service in result.items)
    return ServicePage(
        items=[service_summary(request, service, loc) for service in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        pages=result.pages,
    )


@router.get(
    "/services/{service_id}", name="api_service", responses=NOT_FOUND, response_model=ServiceRead
)
def get_service(
    request: Request,
    session: SessionDep,
    lang: TextLanguage,
    service_id: Annotated[uuid.UUID, Path(description="The service's UUID")],
) -> ServiceRead:
    """Everything about one service, texts in the requested language where translated."""
    service = listings.get_service(session=session, service_id=service_id)
    loc = _localizer(session, lang).load(
        [service, service.organization, *service.required_documents]
    )
    loc.load(service.target_groups)
    return ServiceRead(
        **{
            **_summary_fields(request, service, loc),
            "locations": [
                _location(location, loc, detailed=True) for location in service.locations
            ],
        },
        alternate_name=service.alternate_name,
        alert=loc.text(service, "alert") or None,
        eligibility=loc.text(service, "eligibility_description") or None,
        target_group_details=[
            TargetGroupRead(code=group.code, name=loc.text(group, "name"))
            for group in service.target_groups
        ],
        minimum_age=service.minimum_age,
        maximum_age=service.maximum_age,
        referral_required=service.referral_required,
        languages_note=loc.text(service, "languages_note") or None,
        language_details=[LanguageRead(code=lg.code, name=lg.name) for lg in service.languages],
        fees=loc.text(service, "fees_description") or None,
        application_process=loc.text(service, "application_process") or None,
        required_documents=[loc.text(doc, "document") for doc in service.required_documents],
        phones=[phone.number for phone in service.phones or service.organization.phones],
        email=service.email or service.organization.email,
        website=service.url or service.organization.website,
        opening_hours=[
            OpeningSlotRead(weekday=s.weekday, opens_at=s.opens_at, closes_at=s.closes_at)
            for s in hours.slots_of(service.schedules)
        ],
        hours_note=loc.text(service, "hours_note") or None,
        capacity_note=loc.text(service, "capacity_note") or None,
        capacity_updated_at=service.capacity_updated_at,
        assured_by=service.assured_by,
        language=loc.language,
        untranslated_fields=[f for f in TEXT_FIELDS if not loc.is_translated(service, f)],
        machine_translated_fields=[f for f in TEXT_FIELDS if loc.is_machine(service, f)],
        outdated_fields=[f for f in TEXT_FIELDS if loc.is_outdated(service, f)],
    )


@router.get("/taxonomy", name="api_taxonomy", response_model=list[CategoryTreeRead])
def get_taxonomy(session: SessionDep, lang: TextLanguage) -> list[CategoryTreeRead]:
    """The two-level category taxonomy with the number of listed services per category."""
    tree = listings.taxonomy_tree(session=session)
    loc = _localizer(session, lang)
    loc.load(
        [node.term for node in tree] + [child.term for node in tree for child in node.children]
    )
    return [
        CategoryTreeRead(
            id=node.term.id,
            code=node.term.code,
            name=loc.text(node.term, "name"),
            service_count=node.service_count,
            children=[
                CategoryTreeRead(
                    id=child.term.id,
                    code=child.term.code,
                    name=loc.text(child.term, "name"),
                    parent_code=node.term.code,
                    service_count=child.service_count,
                )
                for child in node.children
            ],
        )
        for node in tree
    ]


@router.get(
    "/organizations/{organization_id}",
    name="api_organization",
    response_model=OrganizationRead,
    responses=NOT_FOUND,
)
def get_organization(
    request: Request,
    session: SessionDep,
    lang: TextLanguage,
    organization_id: Annotated[uuid.UUID, Path(description="The organisation's UUID")],
) -> OrganizationRead:
    """An organisation (provider) with its locations and listed services."""
    organization = listings.get_organization(session=session, organization_id=organization_id)
    services = listings.services_of_organization(session=session, organization_id=organization.id)
    loc = _localizer(session, lang).load([organization, *services])
    return OrganizationRead(
        id=organization.id,
        name=loc.text(organization, "name"),
        description=loc.text(organization, "description"),
        email=organization.email,
        website=organization.website,
        phones=[phone.number for phone in organization.phones],
        is_demo=organization.is_demo,
        locations=[_location(location, loc, detailed=True) for location in organization.locations],
        services=[service_summary(request, service, loc) for service in services],
        url=str(request.url_for("organization_detail", organization_id=organization.id)),
    )


@router.get("/search", name="api_search", responses=NOT_FOUND, response_model=SearchPage)
def search(
    request: Request,
    session: SessionDep,
    lang: TextLanguage,
    engine: SearchEngineDep,
    geocoder: GeocoderDep,
    params: SearchParamsDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
    explain_matches: Annotated[
        bool, Query(alias="explain", description="Say which fields matched")
    ] = False,
    facets: Annotated[bool, Query(description="Count what each filter option would leave")] = False,
) -> SearchPage:
    """Search services: typo-tolerant, multilingual, near a place, with filters (AND)."""
    loc = _localizer(session, lang)
    query = SearchQuery(
        params=params,
        language=loc.language,
        now=utcnow(),
        page=page,
        per_page=per_page,
        facets=facets,
    )
    if explain_matches:
        return _explained_search(request, session, engine, geocoder, query, loc)
    cache: SummaryCache = request.app.state.summary_cache

    def load_records(ids: list[uuid.UUID]) -> dict[uuid.UUID, Service]:
        services = load_services(session, ids)
        loc.load(services.values())
        loc.load(service.organization for service in services.values())
        return services

    def load_summaries(ids: list[uuid.UUID]) -> dict[uuid.UUID, CachedSummary]:
        """The page's summaries from the cache; only those it lacks are read and kept."""
        return cache.get_many(
            ids=ids,
            language=loc.language,
            generation=engine.generation,
            load=load_records,
            summarise=lambda service: _summary_fields(request, service, loc),
        )

    found = find(
        session=session,
        engine=engine,
        geocoder=geocoder,
        query=query,
        load=load_summaries,
        facts=lambda summary: summary.facts,
    )
    session.commit()
    base = str(request.base_url).rstrip("/")
    return _search_page(
        found,
        [
            SearchHitRead(
                **item.service.fields,
                open_now=item.open_now,
                stale=item.stale,
                url=f"{base}/services/{item.service.fields['id']}",
                score=item.score,
                distance_km=None if item.distance_km is None else round(item.distance_km, 3),
            )
            for item in found.page.items
        ],
    )


def _search_page(found: Found[Any], items: list[SearchHitRead], **extra: Any) -> SearchPage:
    """One page of hits with what both the plain and the explaining search tell about it."""
    return SearchPage(
        items=items,
        total=found.page.total,
        page=found.page.page,
        per_page=found.page.per_page,
        pages=found.page.pages,
        sort=found.result.sort,
        place=_place_read(found.place),
        facets=found.facets or None,
        **extra,
    )


def _place_read(place: Place | None) -> PlaceRead | None:
    if place is None:
        return None
    return PlaceRead(
        name=place.name,
        kind=place.kind,
        latitude=place.latitude,
        longitude=place.longitude,
        district=place.district,
    )


def _explained_search(
    request: Request,
    session: SessionDep,
    engine: SearchEngineDep,
    geocoder: GeocoderDep,
    query: SearchQuery,
    loc: Localizer,
) -> SearchPage:
    """The slow path for explain=true: which words matched where needs the full records."""
    found = find_services(session=session, engine=engine, geocoder=geocoder, query=query)
    session.commit()
    services = [item.service for item in found.page.items]
    loc.load(services)
    loc.load(service.organization for service in services)
    matches = explain(session=session, services=services, matched_words=found.result.matched_words)
    return _search_page(
        found,
        [
            SearchHitRead(
                **{
                    **_summary_fields(request, item.service, loc),
                    "open_now": item.open_now,
                    "stale": item.stale,
                },
                score=item.score,
                distance_km=None if item.distance_km is None else round(item.distance_km, 3),
                matched=matches.get(item.service.id),
            )
            for item in found.page.items
        ],
        matched_categories=sorted(found.result.matched_categories),
    )
