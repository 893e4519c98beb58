"""The coordinators' board: the queue, and each finding's way from new to an answer.

new → in review → forwarded to an office → answered → resolved, or merged into another finding
or not pursued, each with a reason. Coordinators and admins move findings; the office a
finding was forwarded to (its partner staff) answers it. Every step is an event; a step from a
version someone else already changed is refused, so two people cannot both win.
"""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import update
from sqlmodel import Session, col, select

from findings import recording
from findings.models import (
    OPEN_STATES,
    STATE_LABELS,
    Finding,
    FindingEvent,
    FindingEvidence,
    FindingKind,
    FindingState,
    FindingSubject,
    FindingTransition,
)
from lotse import i18n, outbox
from lotse.auth import Principal
from lotse.errors import Conflict, LotseError
from lotse.i18n import N_, gettext
from lotse.models import User
from lotse.timeutil import utcnow
from partners.models import PartnerOrganization

S = FindingState
NEXT_STATES: dict[FindingState, tuple[FindingState, ...]] = {
    S.new: (S.in_review, S.routed, S.merged, S.declined),
    S.in_review: (S.routed, S.resolved, S.merged, S.declined),
    S.routed: (S.answered, S.routed, S.resolved, S.declined),
    S.answered: (S.routed, S.resolved, S.declined),
}
# Steps that say nothing without a text: the reason, or the office's answer.
NOTE_REQUIRED = (S.declined, S.merged, S.answered)


class IllegalTransition(Conflict):
    code = "illegal_transition"
    message = N_("A finding that is “%(state)s” cannot become “%(target)s”.")


class StaleFinding(Conflict):
    code = "stale_finding"
    message = N_("Someone else changed this finding in the meantime. Please reload and try again.")


class NotYourFinding(LotseError):
    status_code = 403
    code = "forbidden"
    message = N_("Only the coordinators, or the office it was forwarded to, may do this.")


def state_label(state: str) -> str:
    return gettext(STATE_LABELS[FindingState(state)])


@dataclass(frozen=True)
class BoardFilters:
    state: FindingState | None = None
    kind: FindingKind | None = None
    topic_id: uuid.UUID | None = None
    district_id: uuid.UUID | None = None


def queue(*, session: Session, filters: BoardFilters, limit: int = 200) -> list[Finding]:
    """The board: open findings, the oldest new ones first, or those of one state."""
    query = select(Finding)
    if filters.state is not None:
        query = query.where(Finding.state == filters.state)
    else:
        query = query.where(col(Finding.state).in_(OPEN_STATES))
    if filters.kind is not None:
        query = query.where(Finding.kind == filters.kind)
    if filters.topic_id is not None:
        query = query.where(Finding.topic_id == filters.topic_id)
    if filters.district_id is not None:
        query = query.where(Finding.district_id == filters.district_id)
    return list(session.exec(query.order_by(col(Finding.created_at)).limit(limit)).all())


def legal_targets(*, finding: Finding, principal: Principal) -> list[FindingState]:
    """The steps this person may take on this finding now."""
    targets = NEXT_STATES.get(FindingState(finding.state), ())
    if principal.has_role(*recording.COORDINATING):
        return list(targets)
    if _is_addressed_office(finding, principal) and S.answered in targets:
        return [S.answered]
    return []


def _is_addressed_office(finding: Finding, principal: Principal) -> bool:
    return (
        finding.routed_to_id is not None
        and principal.has_role(*recording.PARTNER)
        and finding.routed_to_id == principal.organization_id
    )


def _claim(session: Session, finding: Finding, version: int | None) -> None:
    """Bump the version if it is still the one the caller saw (one conditional UPDATE)."""
    expected = finding.version if version is None else version
    result = session.execute(
        update(Finding)
        .where(col(Finding.id) == finding.id, col(Finding.version) == expected)
        .values(version=expected + 1, updated_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleFinding()
    session.refresh(finding)


def transition(
    *,
    session: Session,
    principal: Principal,
    finding: Finding,
    step: FindingTransition,
    base_url: str,
) -> Finding:
    """Move ``finding`` to ``step.target``; raises a LotseError that says why not."""
    current = FindingState(finding.state)
    if step.target not in NEXT_STATES.get(current, ()):
        raise IllegalTransition(state=state_label(current), target=state_label(step.target))
    if step.target not in legal_targets(finding=finding, principal=principal):
        raise NotYourFinding()
    note = (step.note or "").strip() or None
    if step.target in NOTE_REQUIRED and not note:
        field = "note"
        message = (
            N_("Please write the answer.")
            if step.target == S.answered
            else N_("Please give a reason.")
        )
        raise recording.InvalidFinding(field, message)
    office = None
    if step.target == S.routed:
        office = session.get(PartnerOrganization, step.routed_to_id) if step.routed_to_id else None
        if office is None or not office.is_active:
            raise recording.InvalidFinding(
                "routed_to_id", N_("Please choose the office to forward it to.")
            )
        if step.due_on is not None and step.due_on < date.today():
            raise recording.InvalidFinding("due_on", N_("The due date lies in the past."))
    target = None
    if step.target == S.merged:
        target = session.get(Finding, step.merge_into_id) if step.merge_into_id else None
        if (
            target is None
            or target.id == finding.id
            or FindingState(target.state) in (S.merged, S.declined, S.resolved)
        ):
            raise recording.InvalidFinding(
                "merge_into_id", N_("Please choose an open finding to merge into.")
            )
    _claim(session, finding, step.version)
    finding.state = step.target
    if step.target in (S.declined, S.merged):
        finding.state_reason = note
    if office is not None:
        finding.routed_to_id = office.id
        finding.due_on = step.due_on
        # A new due date deserves its own reminder.
        finding.due_reminded_at = None
    if step.target == S.resolved:
        finding.resolved_at = utcnow()
    session.add(finding)
    session.add(
        FindingEvent(
            finding_id=finding.id,
            actor_id=principal.id,
            actor_organization_id=principal.organization_id,
            kind="transition",
            from_state=current,
            to_state=step.target,
            note=note,
            other_finding_id=target.id if target else None,
        )
    )
    if target is not None:
        _merge(session=session, principal=principal, source=finding, target=target, note=note)
    session.flush()
    if office is not None:
        _tell_office(session=session, finding=finding, office=office, base_url=base_url)
    if step.target == S.resolved:
        _tell_reporters(session=session, finding=finding, base_url=base_url)
    return finding


def _merge(
    *, session: Session, principal: Principal, source: Finding, target: Finding, note: str | None
) -> None:
    """Fold ``source`` into ``target``: its count, subjects and evidence; both keep a record."""
    source.merged_into_id = target.id
    if source.affected_count:
        target.affected_count = (target.affected_count or 0) + source.affected_count
    known_services = {s.service_id for s in recording.subjects(session=session, finding=target)}
    known_orgs = {s.organization_id for s in recording.subjects(session=session, finding=target)}
    for subject in recording.subjects(session=session, finding=source):
        if (subject.service_id and subject.service_id not in known_services) or (
            subject.organization_id and subject.organization_id not in known_orgs
        ):
            session.add(
                FindingSubject(
                    finding_id=target.id,
                    service_id=subject.service_id,
                    organization_id=subject.organization_id,
                )
            )
    for item in recording.evidence(session=session, finding=source):
        session.add(
            FindingEvidence(
                finding_id=target.id,
                source=item.source,
                referral_id=item.referral_id,
                referral_status=item.referral_status,
                reason_code=item.reason_code,
                service_id=item.service_id,
                search_query=item.search_query,
            )
        )
    recording.touch(target)
    session.add(target)
    session.add(
        FindingEvent(
            finding_id=target.id,
            actor_id=principal.id,
            actor_organization_id=principal.organization_id,
            kind="merged_in",
            note=note,
            other_finding_id=source.id,
        )
    )


def link(base_url: str, finding: Finding) -> str:
    return f"{base_url.rstrip('/')}/findings/{finding.id}"


def send_notice(
    *, session: Session, recipient: str, language: str, kind: str, subject: str, link: str
) -> None:
    with i18n.language(language):
        title = gettext(subject)
        body = "\n\n".join(
            (
                title,
                gettext("Open the finding in Lotse: %(link)s", link=link),
                gettext("For data protection, this email contains no personal data."),
            )
        )
    outbox.enqueue(session=session, kind=kind, recipient=recipient, subject=title, body=body)


def office_language(*, session: Session, office: PartnerOrganization) -> str:
    """The language an office is written to: the first its staff set, else the default."""
    staff_language = session.exec(
        select(User.language).where(
            User.organization_id == office.id,
            col(User.is_active).is_(True),
            col(User.language).is_not(None),
        )
    ).first()
    return staff_language or i18n.DEFAULT_LANGUAGE


def _tell_office(
    *, session: Session, finding: Finding, office: PartnerOrganization, base_url: str
) -> None:
    if not office.notification_email:
        return
    send_notice(
        session=session,
        recipient=office.notification_email,
        language=office_language(session=session, office=office),
        kind="finding_routed",
        subject=N_("A finding was forwarded to your organisation"),
        link=link(base_url, finding),
    )


def _tell_reporters(*, session: Session, finding: Finding, base_url: str) -> None:
    """Whoever reported it, or a finding merged into it, hears that it is resolved."""
    reporter_ids = {finding.reporter_id} | set(
        session.exec(select(Finding.reporter_id).where(Finding.merged_into_id == finding.id)).all()
    )
    for user in session.exec(
        select(User).where(col(User.id).in_(reporter_ids), col(User.is_active).is_(True))
    ).all():
        send_notice(
            session=session,
            recipient=user.email,
            language=user.language or i18n.DEFAULT_LANGUAGE,
            kind="finding_resolved",
            subject=N_("A finding you reported is resolved"),
            link=link(base_url, finding),
        )
