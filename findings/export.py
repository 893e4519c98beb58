"""Findings as a CSV file, independent of HSDS (which has no place for them): one line per
finding a person may see, with codes for topic, district and target group. No personal data:
the reporter appears as a role and an organisation, never as a person."""

import uuid
from typing import Any

from sqlmodel import Session, col, select

from directory.models import District, TargetGroup, TaxonomyTerm
from findings.models import Finding, FindingSubject
from lotse import csvfile
from partners.models import PartnerOrganization

COLUMNS = (
    "id",
    "kind",
    "barrier",
    "topic",
    "district",
    "target_group",
    "affected_count",
    "description",
    "state",
    "state_reason",
    "merged_into_id",
    "routed_to",
    "due_on",
    "reporter_role",
    "reporter_organization",
    "service_ids",
    "organization_ids",
    "created_at",
    "updated_at",
    "resolved_at",
)


def _by_id(session: Session, table: Any, ids: set[uuid.UUID], attribute: str) -> dict:
    if not ids:
        return {}
    rows = session.exec(select(table).where(col(table.id).in_(ids))).all()
    return {row.id: getattr(row, attribute) for row in rows}


def to_csv(*, session: Session, findings: list[Finding]) -> str:
    topics = _by_id(session, TaxonomyTerm, {f.topic_id for f in findings if f.topic_id}, "code")
    districts = _by_id(
        session, District, {f.district_id for f in findings if f.district_id}, "code"
    )
    groups = _by_id(
        session, TargetGroup, {f.target_group_id for f in findings if f.target_group_id}, "code"
    )
    offices = _by_id(
        session,
        PartnerOrganization,
        {f.routed_to_id for f in findings if f.routed_to_id}
        | {f.reporter_organization_id for f in findings},
        "name",
    )
    subjects: dict[uuid.UUID, list[FindingSubject]] = {}
    if findings:
        for subject in session.exec(
            select(FindingSubject).where(
                col(FindingSubject.finding_id).in_([f.id for f in findings])
            )
        ).all():
            subjects.setdefault(subject.finding_id, []).append(subject)

    def ids(finding: Finding, attribute: str) -> str:
        return " ".join(
            str(getattr(s, attribute))
            for s in subjects.get(finding.id, [])
            if getattr(s, attribute)
        )

    return csvfile.to_csv(
        COLUMNS,
        (
            [
                f.id,
                f.kind,
                f.barrier or "",
                topics.get(f.topic_id, "") if f.topic_id else "",
                districts.get(f.district_id, "") if f.district_id else "",
                groups.get(f.target_group_id, "") if f.target_group_id else "",
                "" if f.affected_count is None else f.affected_count,
                f.description,
                f.state,
                f.state_reason or "",
                f.merged_into_id or "",
                offices.get(f.routed_to_id, "") if f.routed_to_id else "",
                f.due_on.isoformat() if f.due_on else "",
                f.reporter_role,
                offices.get(f.reporter_organization_id, ""),
                ids(f, "service_id"),
                ids(f, "organization_id"),
                f.created_at.isoformat(),
                f.updated_at.isoformat(),
                f.resolved_at.isoformat() if f.resolved_at else "",
            ]
            for f in findings
        ),
    )
