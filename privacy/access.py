"""Art. 15 GDPR, the right of access: everything Lotse holds about one client, and who got it.

``gather`` collects the client record, the consents as given, the referrals with their history,
messages, feedback, read markers and the emails about them, the findings that cite them, and
from the audit log who read or changed which of it and when; ``recipients`` names the partner
organisations the data went to. The JSON (``to_json``) is for machines; ``document`` renders
the same content as a readable page in the client's language, which the print view shows and
``lotse.pdf`` turns into a PDF.

``COVERED`` names every table that references a client, directly or through a referral, and
where the export shows it; a test walks the foreign keys of the metadata and fails when a new
table is not named here (or in ``privacy.forget.HANDLED``).
"""

import json
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import MetaData, Table
from sqlmodel import Session, col, select

from directory.models import Service, TargetGroup, TaxonomyTerm
from directory.translations import Localizer
from findings.models import Finding, FindingEvidence
from lotse import i18n
from lotse.audit import Actor
from lotse.models import AuditCategory, AuditEvent, User
from lotse.outbox import OutboxMessage
from lotse.templating import templates
from partners.models import PartnerOrganization
from referrals import auditing
from referrals.labels import category_label, reason_label, status_label
from referrals.models import (
    Client,
    Consent,
    Referral,
    ReferralEvent,
    ReferralMessage,
    ReferralRead,
)

FORMAT = "lotse-access-export/1"

# Every table that references a client, and the part of the export that shows its rows.
COVERED: dict[str, str] = {
    "client": "client",
    "consent": "consents",
    "referral": "referrals",
    "referral_event": "referrals[].events",
    "referral_message": "referrals[].messages",
    "referral_read": "referrals[].read_markers",
    "outbox_message": "emails",
    "finding_evidence": "findings",
}

# The audit log's actions on client data, as the person reads them.
ACTION_LABELS: dict[str, str] = {
    "client.created": i18n.N_("Client record created"),
    "client.updated": i18n.N_("Client record changed"),
    "client.viewed": i18n.N_("Client record viewed"),
    "client.exported": i18n.N_("Access export made"),
    "client.restricted": i18n.N_("Processing restricted"),
    "client.restriction_lifted": i18n.N_("Restriction lifted"),
    "consent.recorded": i18n.N_("Consent recorded"),
    "consent.withdrawn": i18n.N_("Consent withdrawn"),
    "referral.drafted": i18n.N_("Referral drafted"),
    "referral.edited": i18n.N_("Referral changed"),
    "referral.viewed": i18n.N_("Referral viewed"),
    "referral.transition": i18n.N_("Referral status changed"),
    "referral.message_posted": i18n.N_("Message written"),
    "referral.handout_printed": i18n.N_("Handout printed"),
}


def tables_referencing_client(metadata: MetaData) -> set[str]:
    """The client table and every table whose foreign keys lead to it, however indirectly."""
    found = {"client"}
    changed = True
    while changed:
        changed = False
        for table in metadata.tables.values():
            if table.name in found:
                continue
            if any(key.column.table.name in found for key in _foreign_keys(table)):
                found.add(table.name)
                changed = True
    return found


def _foreign_keys(table: Table) -> Iterable[Any]:
    return table.foreign_keys


def uncovered_tables(metadata: MetaData, covered: Iterable[str]) -> set[str]:
    return tables_referencing_client(metadata) - set(covered)


def _value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(record: Any, *names: str) -> dict[str, Any]:
    return {name: _value(getattr(record, name)) for name in names}


def _names(session: Session, model: Any, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {id_ for id_ in ids if id_ is not None}
    if not wanted:
        return {}
    label = model.display_name if model is User else model.name
    rows = session.exec(select(model.id, label).where(col(model.id).in_(wanted)))
    return {id_: name for id_, name in rows}


def gather(*, session: Session, client: Client, now: datetime) -> dict[str, Any]:
    """Everything about ``client``, as plain JSON values."""
    consents = list(
        session.exec(
            select(Consent).where(Consent.client_id == client.id).order_by(col(Consent.recorded_at))
        )
    )
    referrals = list(
        session.exec(
            select(Referral)
            .where(Referral.client_id == client.id)
            .order_by(col(Referral.created_at))
        )
    )
    referral_ids = [referral.id for referral in referrals]
    events = list(
        session.exec(
            select(ReferralEvent)
            .where(col(ReferralEvent.referral_id).in_(referral_ids))
            .order_by(col(ReferralEvent.at))
        )
    )
    messages = list(
        session.exec(
            select(ReferralMessage)
            .where(col(ReferralMessage.referral_id).in_(referral_ids))
            .order_by(col(ReferralMessage.created_at))
        )
    )
    reads = list(
        session.exec(select(ReferralRead).where(col(ReferralRead.referral_id).in_(referral_ids)))
    )
    emails = list(
        session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.referral_id).in_(referral_ids))
            .order_by(col(OutboxMessage.created_at))
        )
    )
    evidence = list(
        session.exec(
            select(FindingEvidence, Finding.kind, Finding.state)
            .join(Finding, col(Finding.id) == FindingEvidence.finding_id)
            .where(col(FindingEvidence.referral_id).in_(referral_ids))
        )
    )
    object_ids = [str(client.id), *(str(c.id) for c in consents), *map(str, referral_ids)]
    audit = list(
        session.exec(
            select(AuditEvent)
            .where(
                AuditEvent.category == AuditCategory.client_data,
                col(AuditEvent.object_id).in_(object_ids),
            )
            .order_by(col(AuditEvent.at))
        )
    )

    organizations = _names(
        session,
        PartnerOrganization,
        [
            client.organization_id,
            *(c.recipient_organization_id for c in consents),
            *(r.recipient_organization_id for r in referrals),
            *(r.sender_organization_id for r in referrals),
            *(m.author_organization_id for m in messages),
        ],
    )
    people = _names(
        session,
        User,
        [
            client.case_manager_id,
            *(c.recorded_by_id for c in consents),
            *(r.sender_id for r in referrals),
            *(m.author_id for m in messages),
            *(e.actor_id for e in events),
            *(r.user_id for r in reads),
        ],
    )
    services = _names(session, Service, [r.service_id for r in referrals])

    def organization(id_: uuid.UUID | None) -> str | None:
        return organizations.get(id_) if id_ else None

    def person(id_: uuid.UUID | None) -> str | None:
        return people.get(id_) if id_ else None

    return {
        "format": FORMAT,
        "generated_at": now.isoformat(),
        "controller": organization(client.organization_id),
        "client": {
            **_row(
                client,
                "id",
                "alias",
                "birth_year",
                "languages",
                "needs",
                "interpreter_needed",
                "residence_group",
                "created_at",
                "updated_at",
                "anonymised_at",
                "restricted_at",
                "restriction_reason",
            ),
            "case_manager": person(client.case_manager_id),
            "organization": organization(client.organization_id),
        },
        "consents": [
            {
                **_row(
                    consent,
                    "id",
                    "purpose",
                    "categories",
                    "includes_health",
                    "form",
                    "text_language",
                    "recorded_at",
                    "expires_on",
                    "withdrawn_at",
                ),
                "recipient": organization(consent.recipient_organization_id),
                "recorded_by": person(consent.recorded_by_id),
            }
            for consent in consents
        ],
        "referrals": [
            {
                **_row(
                    referral,
                    "id",
                    "number",
                    "status",
                    "need",
                    "urgency",
                    "note",
                    "health_note",
                    "shared_categories",
                    "contact_preference",
                    "contact_detail",
                    "status_reason",
                    "status_note",
                    "appointment_at",
                    "appointment_place",
                    "outcome",
                    "outcome_note",
                    "created_at",
                    "sent_at",
                    "received_at",
                    "completed_at",
                    "closed_at",
                ),
                "service": services.get(referral.service_id),
                "recipient": organization(referral.recipient_organization_id),
                "sender": person(referral.sender_id),
                "feedback": _row(
                    referral,
                    "feedback_got_help",
                    "feedback_helpful",
                    "feedback_barriers",
                    "feedback_note",
                ),
                "events": [
                    {
                        **_row(event, "at", "kind", "from_status", "to_status", "reason", "note"),
                        "by": person(event.actor_id),
                        "organization": organization(event.actor_organization_id),
                    }
                    for event in events
                    if event.referral_id == referral.id
                ],
                "messages": [
                    {
                        **_row(message, "created_at", "body"),
                        "author": person(message.author_id),
                        "organization": organization(message.author_organization_id),
                    }
                    for message in messages
                    if message.referral_id == referral.id
                ],
                "read_markers": [
                    {"by": person(read.user_id), "read_at": _value(read.read_at)}
                    for read in reads
                    if read.referral_id == referral.id
                ],
            }
            for referral in referrals
        ],
        "emails": [
            {
                **_row(email, "kind", "recipient", "subject", "created_at", "sent_at"),
                "referral_id": _value(email.referral_id),
            }
            for email in emails
        ],
        "findings": [
            {
                "finding_id": _value(item.finding_id),
                "kind": kind,
                "state": state,
                "referral_id": _value(item.referral_id),
                "referral_status": item.referral_status,
            }
            for item, kind, state in evidence
        ],
        "audit": [
            _row(event, "at", "actor_email", "action", "object_type", "object_id")
            for event in audit
        ],
        "recipients": sorted(
            {
                name
                for name in (
                    *(organization(c.recipient_organization_id) for c in consents),
                    *(
                        organization(r.recipient_organization_id)
                        for r in referrals
                        if r.sent_at is not None
                    ),
                )
                if name
            }
        ),
    }


def to_json(content: dict[str, Any]) -> str:
    return json.dumps(content, ensure_ascii=False, indent=2)


def document_language(client: Client) -> str:
    """The client's preferred language if the interface has a catalog for it, else German."""
    preferred = client.languages[0] if client.languages else None
    return preferred if preferred and i18n.is_ui_language(preferred) else i18n.DEFAULT_LANGUAGE


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def vocabulary_names(*, session: Session, content: dict[str, Any], language: str) -> dict[str, str]:
    """The names, in ``language``, of the needs (taxonomy terms) and the residence status group
    (a target group) that the export records by code: the person reads words, not codes."""
    client = content["client"]
    codes = {*client.get("needs", []), client.get("residence_group") or ""} - {""}
    if not codes:
        return {}
    records = [
        *session.exec(select(TaxonomyTerm).where(col(TaxonomyTerm.code).in_(codes))),
        *session.exec(select(TargetGroup).where(col(TargetGroup.code).in_(codes))),
    ]
    texts = Localizer(session=session, language=language).load(records)
    return {record.code: texts.text(record, "name") for record in records}


def document(
    content: dict[str, Any],
    *,
    language: str,
    stylesheet: str,
    back_url: str = "",
    names: dict[str, str] | None = None,
) -> str:
    """The export as a readable HTML page in ``language`` (print view and PDF); ``names`` gives
    the words for the codes it records (``vocabulary_names``)."""
    known = names or {}
    with i18n.language(language):
        return templates.env.get_template("privacy/access_document.html").render(
            {
                "lang": language,
                "dir": i18n.language_info(language).direction,
                "export": content,
                "stylesheet": stylesheet,
                "back_url": back_url,
                "named": lambda code: known.get(code, code),
                "named_all": lambda codes: ", ".join(known.get(code, code) for code in codes),
                "moment": _parse,
                "status_label": lambda code: status_label(code) if code else "",
                "reason_label": reason_label,
                "category_label": category_label,
                "action_label": lambda action: (
                    i18n.gettext(ACTION_LABELS[action]) if action in ACTION_LABELS else action
                ),
            }
        )


def record_view(*, session: Session, client: Client, actor: Actor) -> None:
    auditing.record(session=session, actor=actor, action="client.viewed", subject=client)


def record_export(*, session: Session, client: Client, actor: Actor, output: str) -> None:
    auditing.record(
        session=session, actor=actor, action="client.exported", subject=client, output=output
    )
