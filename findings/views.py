"""Pages for findings: recording one (on its own or prefilled from a referral, a search that
found nothing, or a service page), the reporter's list, a finding's page with its history and
steps, and the coordinators' board."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from directory import listings
from directory.models import District, Organization, Service, TargetGroup, TaxonomyTerm
from directory.translations import Localizer
from findings import board, export, personal_data, recording, similarity
from findings.models import (
    BARRIER_LABELS,
    KIND_LABELS,
    STATE_LABELS,
    Barrier,
    Finding,
    FindingCreate,
    FindingKind,
    FindingState,
    FindingTransition,
    RadarDecision,
)
from lotse import i18n
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.errors import LotseError, describe_validation_errors
from lotse.models import User
from lotse.permissions import Access, Permission
from lotse.templating import render
from partners.models import PartnerOrganization
from referrals import labels, workflow
from referrals.models import Referral

router = APIRouter(include_in_schema=False)

Reporter = Annotated[Principal, Depends(Access.allowed(Permission.record_findings))]
Coordinator = Annotated[Principal, Depends(Access.allowed(Permission.work_findings))]
Participant = Annotated[
    Principal, Depends(Access.allowed(Permission.record_findings, Permission.work_findings))
]
Code = Annotated[str | None, Query(max_length=80)]

# A wait list or an answer that never came speaks of too few places.
KIND_FROM_REFERRAL = {
    ("declined", "no_capacity"): FindingKind.not_enough_places,
    ("on_hold", "waitlist"): FindingKind.not_enough_places,
    ("expired", None): FindingKind.not_enough_places,
}


def _labels() -> dict[str, str]:
    gettext = i18n.gettext
    return {
        "kind": gettext("What kind of gap or fault"),
        "barrier": gettext("Which barrier"),
        "topic": gettext("Topic"),
        "district": gettext("District"),
        "target_group": gettext("Target group"),
        "affected_count": gettext("Clients affected (a number)"),
        "description": gettext("What did you notice?"),
        "organization_ids": gettext("Organisation concerned"),
        "service_ids": gettext("Services concerned"),
        "referral_id": gettext("Referral"),
        "personal_data_checked": gettext("No personal data"),
        "note": gettext("Note"),
        "routed_to_id": gettext("Office"),
        "due_on": gettext("Answer due by"),
        "merge_into_id": gettext("Merge into"),
        "target": gettext("Step"),
        "version": gettext("Version"),
    }


def _choices(session: Session) -> dict[str, Any]:
    loc = Localizer(session=session, language=i18n.get_language())
    tree = listings.taxonomy_tree(session=session)
    loc.load([node.term for node in tree] + [c.term for node in tree for c in node.children])
    return {
        "loc": loc,
        "tree": tree,
        "districts": listings.districts(session=session),
        "target_groups": listings.target_groups(session=session),
        "kind_labels": KIND_LABELS,
        "barrier_labels": BARRIER_LABELS,
        "state_labels": STATE_LABELS,
        "hint_labels": personal_data.HINT_LABELS,
        "kinds": list(FindingKind),
        "barriers": list(Barrier),
        "states": list(FindingState),
    }


# --- recording ----------------------------------------------------------------------------


def _first_code(rows: list[Any]) -> str | None:
    return rows[0].code if rows else None


def _prefill_service(session: Session, service: Service, values: dict[str, Any]) -> None:
    values["service_ids"] = [service.id]
    values.setdefault("organization_ids", [service.organization_id])
    terms = sorted(service.categories, key=lambda term: term.parent_id is None)
    values.setdefault("topic", _first_code(terms))
    districts = [location.district for location in service.locations if location.district]
    values.setdefault("district", _first_code(districts))


def _prefill(
    session: Session,
    principal: Principal,
    *,
    referral_id: uuid.UUID | None,
    service_id: uuid.UUID | None,
    query: str | None,
    kind: str | None,
    topic: str | None,
    district: str | None,
    target_group: str | None,
) -> dict[str, Any]:
    """Form values from where the finding was noticed; anything unknown is left out."""
    values: dict[str, Any] = {
        key: value
        for key, value in (
            ("kind", kind if kind in FindingKind.__members__ else None),
            ("topic", topic),
            ("district", district),
            ("target_group", target_group),
        )
        if value
    }
    referral = session.get(Referral, referral_id) if referral_id else None
    if referral is not None and recording.may_cite(principal, referral):
        values["referral_id"] = referral.id
        reason = referral.status_reason or referral.hold_kind
        guessed = KIND_FROM_REFERRAL.get((referral.status, reason)) or KIND_FROM_REFERRAL.get(
            (referral.status, None)
        )
        if guessed:
            values.setdefault("kind", guessed.value)
        if service_id is None:
            service_id = referral.service_id
    service = session.get(Service, service_id) if service_id else None
    if service is not None:
        _prefill_service(session, service, values)
    if query:
        values["search_query"] = query.strip()[:200]
        values.setdefault("kind", FindingKind.no_offer.value)
    return values


def _uuid(value: object) -> uuid.UUID | None:
    """An id as a form sent it back, or None when it is none."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def _form_page(
    request: Request,
    session: Session,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    hits: list[personal_data.Hit] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    services = [
        service
        for value in values.get("service_ids", [])
        if (service_id := _uuid(value)) and (service := session.get(Service, service_id))
    ]
    referral_id = _uuid(values.get("referral_id"))
    referral = session.get(Referral, referral_id) if referral_id else None
    choices = _choices(session)
    loc = choices["loc"]
    topics = []
    for node in choices["tree"]:
        topics.append((node.term.code, loc.text(node.term, "name")))
        topics += [(c.term.code, "– " + loc.text(c.term, "name")) for c in node.children]
    options = {
        "barrier": [(b.value, i18n.gettext(BARRIER_LABELS[b])) for b in Barrier],
        "topic": topics,
        "district": [(d.code, d.name) for d in choices["districts"]],
        "target_group": [(g.code, loc.text(g, "name")) for g in choices["target_groups"]],
        "organization_ids": [
            (str(o.id), o.name)
            for o in session.exec(select(Organization).order_by(col(Organization.name))).all()
        ],
    }
    return render(
        request,
        "findings/finding_form.html",
        {
            **choices,
            "options": options,
            "values": values,
            "errors": errors or {},
            "labels": _labels(),
            "hits": hits or [],
            "services": services,
            "referral": referral,
        },
        status_code=status_code,
    )


@router.get("/findings/new", name="finding_new", response_class=HTMLResponse)
def finding_new(
    request: Request,
    session: SessionDep,
    principal: Reporter,
    referral_id: Annotated[uuid.UUID | None, Query()] = None,
    service_id: Annotated[uuid.UUID | None, Query()] = None,
    query: Annotated[str | None, Query(max_length=200)] = None,
    kind: Code = None,
    topic: Code = None,
    district: Code = None,
    target_group: Code = None,
) -> HTMLResponse:
    values = _prefill(
        session,
        principal,
        referral_id=referral_id,
        service_id=service_id,
        query=query,
        kind=kind,
        topic=topic,
        district=district,
        target_group=target_group,
    )
    return _form_page(request, session, values=values)


def _form_errors(error: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for problem in describe_validation_errors(list(error.errors())):  # type: ignore[arg-type]
        field = problem["location"].split(".")[0] or problem["field"]
        errors.setdefault(field, problem["message"])
    return errors


@router.post("/findings/new", name="finding_create")
def finding_create(
    request: Request,
    session: SessionDep,
    principal: Reporter,
    kind: Annotated[str, Form(max_length=40)] = "",
    barrier: Annotated[str, Form(max_length=40)] = "",
    topic: Annotated[str, Form(max_length=80)] = "",
    district: Annotated[str, Form(max_length=40)] = "",
    target_group: Annotated[str, Form(max_length=40)] = "",
    affected_count: Annotated[str, Form(max_length=10)] = "",
    description: Annotated[str, Form(max_length=8000)] = "",
    service_ids: Annotated[list[str] | None, Form()] = None,
    organization_ids: Annotated[list[str] | None, Form()] = None,
    referral_id: Annotated[str, Form(max_length=40)] = "",
    search_query: Annotated[str, Form(max_length=400)] = "",
    personal_data_checked: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    raw = {
        "kind": kind,
        "barrier": barrier or None,
        "topic": topic or None,
        "district": district or None,
        "target_group": target_group or None,
        "affected_count": affected_count.strip() or None,
        "description": description.strip(),
        "service_ids": [value for value in service_ids or [] if value],
        "organization_ids": [value for value in organization_ids or [] if value],
        "referral_id": referral_id or None,
        "search_query": search_query.strip() or None,
        "personal_data_checked": personal_data_checked == "1",
    }
    errors: dict[str, str] = {}
    hits: list[personal_data.Hit] = []
    try:
        finding_in = FindingCreate.model_validate(raw)
    except ValidationError as error:
        errors = _form_errors(error)
    else:
        try:
            finding = recording.record(session=session, principal=principal, finding_in=finding_in)
        except recording.PersonalDataSuspected as suspected:
            hits = suspected.hits
            errors["description"] = suspected.translated()
        except recording.InvalidFinding as invalid:
            errors[invalid.field] = invalid.translated()
        else:
            session.commit()
            return RedirectResponse(f"/findings/{finding.id}?recorded=1", status_code=303)
    session.rollback()
    return _form_page(request, session, values=raw, errors=errors, hits=hits, status_code=422)


# --- lists ----------------------------------------------------------------------------------


def _names(session: Session, findings: list[Finding]) -> dict[str, dict[uuid.UUID, str]]:
    """Names for the ids findings carry, one query per table."""
    wanted: dict[str, set[uuid.UUID]] = {"topic": set(), "district": set(), "office": set()}
    for finding in findings:
        if finding.topic_id:
            wanted["topic"].add(finding.topic_id)
        if finding.district_id:
            wanted["district"].add(finding.district_id)
        if finding.routed_to_id:
            wanted["office"].add(finding.routed_to_id)
        wanted["office"].add(finding.reporter_organization_id)
    loc = Localizer(session=session, language=i18n.get_language())
    terms = session.exec(
        select(TaxonomyTerm).where(col(TaxonomyTerm.id).in_(wanted["topic"]))
    ).all()
    loc.load(terms)
    return {
        "topic": {term.id: loc.text(term, "name") for term in terms},
        "district": {
            row.id: row.name
            for row in session.exec(
                select(District).where(col(District.id).in_(wanted["district"]))
            ).all()
        },
        "office": {
            row.id: row.name
            for row in session.exec(
                select(PartnerOrganization).where(col(PartnerOrganization.id).in_(wanted["office"]))
            ).all()
        },
    }


@router.get("/findings", name="finding_list", response_class=HTMLResponse)
def finding_list(request: Request, session: SessionDep, principal: Reporter) -> HTMLResponse:
    findings = recording.list_visible(session=session, principal=principal)
    return render(
        request,
        "findings/finding_list.html",
        {**_choices(session), "findings": findings, "names": _names(session, findings)},
    )


@router.get("/findings/export.csv", name="finding_export_csv")
def finding_export_csv(session: SessionDep, principal: Participant) -> Response:
    """Every finding this person may see, as CSV (coordinators: all of them)."""
    findings = recording.list_visible(session=session, principal=principal, limit=None)
    return Response(
        export.to_csv(session=session, findings=findings),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="lotse-findings.csv"'},
    )


@router.get("/findings/board", name="finding_board", response_class=HTMLResponse)
def finding_board(
    request: Request,
    session: SessionDep,
    principal: Coordinator,
    state: Annotated[FindingState | None, Query()] = None,
    kind: Annotated[FindingKind | None, Query()] = None,
    topic: Code = None,
    district: Code = None,
) -> HTMLResponse:
    filters = board.BoardFilters(
        state=state,
        kind=kind,
        topic_id=recording.id_of_code(session, TaxonomyTerm, topic, "topic"),
        district_id=recording.id_of_code(session, District, district, "district"),
    )
    findings = board.queue(session=session, filters=filters)
    return render(
        request,
        "findings/board.html",
        {
            **_choices(session),
            "findings": findings,
            "names": _names(session, findings),
            "params": {"state": state, "kind": kind, "topic": topic, "district": district},
            "suggestions": {
                finding.id: similarity.similar(session=session, finding=finding, limit=3)
                for finding in findings
                if finding.state == FindingState.new
            },
        },
    )


# --- one finding --------------------------------------------------------------------------


def _detail_page(
    request: Request,
    session: Session,
    principal: Principal,
    finding: Finding,
    *,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    failed_target: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    subjects = recording.subjects(session=session, finding=finding)
    evidence = recording.evidence(session=session, finding=finding)
    history = recording.history(session=session, finding=finding)
    service_ids = {s.service_id for s in subjects if s.service_id} | {
        e.service_id for e in evidence if e.service_id
    }
    services = {
        row.id: row
        for row in session.exec(select(Service).where(col(Service.id).in_(service_ids))).all()
    }
    organization_ids = {s.organization_id for s in subjects if s.organization_id}
    organizations = session.exec(
        select(Organization).where(col(Organization.id).in_(organization_ids))
    ).all()
    coordinating = principal.has_role(*recording.COORDINATING)
    names = _names(session, [finding])
    target_group = (
        session.get(TargetGroup, finding.target_group_id) if finding.target_group_id else None
    )
    actors = {
        user.id: user.display_name
        for user in session.exec(
            select(User).where(col(User.id).in_({e.actor_id for e in history if e.actor_id}))
        ).all()
    }
    return render(
        request,
        "findings/finding_detail.html",
        {
            **_choices(session),
            "finding": finding,
            "names": names,
            "target_group": target_group,
            "services": services,
            "subjects": subjects,
            "organizations": organizations,
            "evidence": evidence,
            "history": history,
            "actors": actors if coordinating else {},
            "offices": {
                row.id: row.name
                for row in session.exec(
                    select(PartnerOrganization).where(
                        col(PartnerOrganization.id).in_(
                            {e.actor_organization_id for e in history if e.actor_organization_id}
                        )
                    )
                ).all()
            },
            "radar_decision": session.exec(
                select(RadarDecision).where(RadarDecision.finding_id == finding.id)
            ).first(),
            "targets": board.legal_targets(finding=finding, principal=principal),
            "suggestions": similarity.similar(session=session, finding=finding)
            if coordinating
            else [],
            "partners": session.exec(
                select(PartnerOrganization)
                .where(col(PartnerOrganization.is_active).is_(True))
                .order_by(col(PartnerOrganization.name))
            ).all()
            if coordinating
            else [],
            "merged_into": session.get(Finding, finding.merged_into_id)
            if finding.merged_into_id
            else None,
            "referral_status_label": workflow.status_label,
            "reason_label": labels.reason_label,
            "errors": errors or {},
            "labels": _labels(),
            "problem": problem,
            "failed_target": failed_target,
        },
        status_code=status_code,
    )


@router.get("/findings/{finding_id}", name="finding_detail", response_class=HTMLResponse)
def finding_detail(
    request: Request, session: SessionDep, principal: Participant, finding_id: uuid.UUID
) -> HTMLResponse:
    finding = recording.get_visible(session=session, principal=principal, finding_id=finding_id)
    return _detail_page(request, session, principal, finding)


@router.post("/findings/{finding_id}/transition", name="finding_transition")
def finding_transition(
    request: Request,
    session: SessionDep,
    principal: Participant,
    finding_id: uuid.UUID,
    target: Annotated[str, Form(max_length=20)] = "",
    version: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=8000)] = "",
    routed_to_id: Annotated[str, Form(max_length=40)] = "",
    due_on: Annotated[str, Form(max_length=10)] = "",
    merge_into_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    finding = recording.get_visible(session=session, principal=principal, finding_id=finding_id)
    raw = {
        "target": target,
        "version": version or None,
        "note": note.strip() or None,
        "routed_to_id": routed_to_id or None,
        "due_on": due_on or None,
        "merge_into_id": merge_into_id or None,
    }
    try:
        step = FindingTransition.model_validate(raw)
        board.transition(
            session=session,
            principal=principal,
            finding=finding,
            step=step,
            base_url=request.app.state.settings.base_url,
        )
    except ValidationError as error:
        session.rollback()
        return _detail_page(
            request,
            session,
            principal,
            finding,
            errors=_form_errors(error),
            failed_target=target,
            status_code=422,
        )
    except recording.InvalidFinding as invalid:
        session.rollback()
        return _detail_page(
            request,
            session,
            principal,
            finding,
            errors={invalid.field: invalid.translated()},
            failed_target=target,
            status_code=422,
        )
    except LotseError as refused:
        session.rollback()
        session.refresh(finding)
        return _detail_page(
            request,
            session,
            principal,
            finding,
            problem=refused.translated(),
            status_code=refused.status_code,
        )
    session.commit()
    return RedirectResponse(f"/findings/{finding.id}?changed=1", status_code=303)
