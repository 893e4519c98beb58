"""The gap radar's page under the coordinators' board: proposals over a period, the coverage
map of a topic, and accepting or dismissing a proposal."""

from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from directory import listings
from directory.models import TargetGroup, TaxonomyTerm
from directory.translations import Localizer
from findings.radar import coverage, decisions, proposals
from lotse import i18n
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.errors import LotseError
from lotse.permissions import Access, Permission
from lotse.templating import render

router = APIRouter(include_in_schema=False)

Coordinator = Annotated[Principal, Depends(Access.allowed(Permission.work_findings))]
DEFAULT_DAYS = 90


def _labels() -> dict[str, str]:
    gettext = i18n.gettext
    return {
        "start": gettext("From"),
        "end": gettext("Until"),
        "topic": gettext("Topic"),
        "target_group": gettext("Target group"),
        "distance_km": gettext("Distance (km)"),
        "cell_km": gettext("Cell size (km)"),
        "description": gettext("Description"),
    }


def _parse(raw: dict[str, str], session: Session) -> tuple[decisions.RadarQuery | None, dict]:
    """The radar query from the form's text fields; errors by field."""
    errors: dict[str, str] = {}
    today = date.today()
    values: dict[str, Any] = {}
    for name, default in (("start", today - timedelta(days=DEFAULT_DAYS)), ("end", today)):
        text = raw.get(name, "").strip()
        try:
            values[name] = date.fromisoformat(text) if text else default
        except ValueError:
            errors[name] = i18n.gettext("Please give a date like 2026-12-31.")
    for name, number in (("distance_km", 2.0), ("cell_km", 0.5)):
        text = raw.get(name, "").strip().replace(",", ".")
        try:
            values[name] = float(text) if text else number
        except ValueError:
            errors[name] = i18n.gettext("Please give a number.")
    for name, table in (("topic", TaxonomyTerm), ("target_group", TargetGroup)):
        code = raw.get(name, "").strip()
        if code and decisions.id_by_code(session, table, code) is None:
            errors[name] = i18n.gettext("Please choose a value from the list.")
        values[name] = code or None
    if errors:
        return None, errors
    return (
        decisions.RadarQuery(
            period=proposals.Period(start=values["start"], end=values["end"]),
            topic=values["topic"],
            target_group=values["target_group"],
            distance_km=values["distance_km"],
            cell_km=values["cell_km"],
        ),
        {},
    )


def _compute(
    request: Request, session: Session, raw: dict[str, str]
) -> tuple[decisions.Radar | None, dict[str, str]]:
    query, errors = _parse(raw, session)
    if query is None:
        return None, errors
    try:
        return (
            decisions.run(
                session=session,
                query=query,
                timezone=request.app.state.settings.timezone,
                synonyms=request.app.state.search_engine.synonyms,
            ),
            {},
        )
    except proposals.InvalidRadarQuery as invalid:
        return None, {invalid.field: invalid.translated()}


def _page(
    request: Request,
    session: Session,
    raw: dict[str, str],
    found: decisions.Radar | None,
    *,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    loc = Localizer(session=session, language=i18n.get_language())
    tree = listings.taxonomy_tree(session=session)
    groups = listings.target_groups(session=session)
    loc.load(
        [node.term for node in tree]
        + [child.term for node in tree for child in node.children]
        + list(groups)
    )
    return render(
        request,
        "findings/radar.html",
        {
            "loc": loc,
            "tree": tree,
            "target_groups": groups,
            "radar": found,
            "kinds": list(proposals.ProposalKind),
            "kind_labels": proposals.PROPOSAL_LABELS,
            "drawing": coverage.drawing(found.coverage) if found and found.coverage else None,
            "params": raw,
            "errors": errors or {},
            "labels": _labels(),
            "problem": problem,
        },
        status_code=status_code,
    )


QUERY_FIELDS = ("start", "end", "topic", "target_group", "distance_km", "cell_km")


def _raw(**fields: str | None) -> dict[str, str]:
    return {name: (value or "").strip() for name, value in fields.items()}


@router.get("/findings/radar", name="finding_radar", response_class=HTMLResponse)
def finding_radar(request: Request, session: SessionDep, principal: Coordinator) -> HTMLResponse:
    # start, end, topic, target_group, distance_km, cell_km: text, checked by _parse.
    raw = {name: request.query_params.get(name, "").strip()[:80] for name in QUERY_FIELDS}
    found, errors = _compute(request, session, raw)
    return _page(request, session, raw, found, errors=errors, status_code=422 if errors else 200)


def _decide(
    request: Request,
    session: Session,
    principal: Principal,
    raw: dict[str, str],
    *,
    key: str,
    evidence_hash: str,
    description: str | None,
) -> Response:
    found, errors = _compute(request, session, raw)
    if found is None:
        return _page(request, session, raw, None, errors=errors, status_code=422)
    query = urlencode({name: value for name, value in raw.items() if value})
    try:
        proposal = decisions.find(found, key=key, evidence_hash=evidence_hash)
        if description is None:
            decisions.dismiss(session=session, principal=principal, proposal=proposal)
        else:
            finding = decisions.accept(
                session=session, principal=principal, proposal=proposal, description=description
            )
    except proposals.InvalidRadarQuery as invalid:
        session.rollback()
        return _page(
            request,
            session,
            raw,
            found,
            errors={invalid.field: invalid.translated()},
            status_code=422,
        )
    except LotseError as refused:
        session.rollback()
        found, _ = _compute(request, session, raw)
        return _page(
            request,
            session,
            raw,
            found,
            problem=refused.translated(),
            status_code=refused.status_code,
        )
    session.commit()
    if description is None:
        return RedirectResponse(
            f"{request.url_for('finding_radar').path}?{query}&dismissed=1", status_code=303
        )
    return RedirectResponse(f"/findings/{finding.id}?changed=1", status_code=303)


Field = Annotated[str, Form(max_length=80)]
Key = Annotated[str, Form(max_length=200)]
Hash = Annotated[str, Form(max_length=64)]


def _query_form(
    start: Field = "",
    end: Field = "",
    topic: Field = "",
    target_group: Field = "",
    distance_km: Field = "",
    cell_km: Field = "",
) -> dict[str, str]:
    """The radar's query, sent back with a decision so that the proposal can be found again."""
    return _raw(
        start=start,
        end=end,
        topic=topic,
        target_group=target_group,
        distance_km=distance_km,
        cell_km=cell_km,
    )


QueryForm = Annotated[dict[str, str], Depends(_query_form)]


@router.post("/findings/radar/accept", name="finding_radar_accept")
def finding_radar_accept(
    request: Request,
    session: SessionDep,
    principal: Coordinator,
    raw: QueryForm,
    key: Key = "",
    evidence_hash: Hash = "",
    description: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    return _decide(
        request,
        session,
        principal,
        raw,
        key=key,
        evidence_hash=evidence_hash,
        description=description,
    )


@router.post("/findings/radar/dismiss", name="finding_radar_dismiss")
def finding_radar_dismiss(
    request: Request,
    session: SessionDep,
    principal: Coordinator,
    raw: QueryForm,
    key: Key = "",
    evidence_hash: Hash = "",
) -> Response:
    return _decide(
        request, session, principal, raw, key=key, evidence_hash=evidence_hash, description=None
    )
