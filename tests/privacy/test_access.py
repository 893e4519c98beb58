"""Art. 15 export completeness: every table that references a client is in the export and in
forget_client's care, and a new table that is not fails this test."""

from sqlalchemy import Column, ForeignKey, MetaData, Table, Text, Uuid
from sqlmodel import Session, SQLModel

from findings.models import FindingEvidence
from lotse.timeutil import utcnow
from partners.models import PartnerOrganization
from privacy import access
from privacy.forget import HANDLED
from tests.findings.factories import make_finding
from tests.privacy.factories import ALIAS, MESSAGE, make_subject
from tests.referrals.factories import VOLMETAL


def test_every_table_that_references_a_client_is_covered() -> None:
    referencing = access.tables_referencing_client(SQLModel.metadata)
    # The walk goes through referrals to the tables that reference those.
    assert {"client", "consent", "referral", "referral_message", "outbox_message"} <= referencing
    assert access.uncovered_tables(SQLModel.metadata, access.COVERED) == set()
    assert access.uncovered_tables(SQLModel.metadata, HANDLED) == set()
    assert set(access.COVERED) == referencing == set(HANDLED)


def test_a_new_table_without_a_rule_fails() -> None:
    metadata = MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(metadata)
    Table(
        "throwaway_client_note",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("client_id", ForeignKey("client.id")),
        Column("text", Text),
    )
    Table(
        "throwaway_referral_tag",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("referral_id", ForeignKey("referral.id")),
    )
    expected = {"throwaway_client_note", "throwaway_referral_tag"}
    assert access.uncovered_tables(metadata, access.COVERED) == expected
    assert access.uncovered_tables(metadata, HANDLED) == expected


def test_every_covered_table_shows_up_in_the_export(session: Session) -> None:
    subject = make_subject(session=session)
    finding = make_finding(session)
    session.add(
        FindingEvidence(
            finding_id=finding.id,
            source="referral",
            referral_id=subject.closed.id,
            referral_status=subject.closed.status,
        )
    )
    session.flush()
    export = access.gather(session=session, client=subject.client, now=utcnow())
    referrals = export["referrals"]
    shown = {
        "client": export["client"]["alias"] == ALIAS,
        "consent": bool(export["consents"]),
        "referral": len(referrals) == 3,
        "referral_event": any(r["events"] for r in referrals),
        "referral_message": any(m["body"] == MESSAGE for r in referrals for m in r["messages"]),
        "referral_read": any(r["read_markers"] for r in referrals),
        "outbox_message": bool(export["emails"]),
        "finding_evidence": export["findings"][0]["finding_id"] == str(finding.id),
    }
    assert set(shown) == set(access.COVERED)
    assert all(shown.values()), shown
    assert export["consents"][0]["purpose"] == subject.consent.purpose
    volmetal = session.get(PartnerOrganization, VOLMETAL)
    assert volmetal is not None and export["recipients"] == [volmetal.name]
