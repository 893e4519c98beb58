import pytest
from sqlmodel import col, select

from directory.seed import stable_id
from findings import board, recording, similarity
from findings.models import Finding, FindingKind, FindingState, FindingTransition
from lotse import i18n
from lotse.models import User
from lotse.outbox import OutboxMessage
from tests.findings.factories import make_finding, principal
from tests.referrals.factories import VOLMETAL, VOLMETAL_EMAIL

BASE = "https://lotse.example.org"


@pytest.fixture(autouse=True)
def outbox_wired(app):
    """The app factory hands the shell its outbox; the emails below go there."""
    return app


def step(session, who, finding, target, **fields):
    return board.transition(
        session=session,
        principal=principal(session, who),
        finding=finding,
        step=FindingTransition(target=target, **fields),
        base_url=BASE,
    )


def outbox(session, recipient):
    return session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.recipient == recipient, col(OutboxMessage.kind).startswith("finding"))
        .order_by(col(OutboxMessage.created_at))
    ).all()


def test_the_board_queues_new_findings_oldest_first_and_filters(session):
    first = make_finding(session)
    second = make_finding(
        session,
        "partner_staff",
        kind=FindingKind.wrong_information,
        description="Die Öffnungszeiten im Verzeichnis sind veraltet.",
    )
    queue = board.queue(session=session, filters=board.BoardFilters())
    ids = [f.id for f in queue]
    assert ids.index(first.id) < ids.index(second.id)
    only_wrong = board.queue(
        session=session, filters=board.BoardFilters(kind=FindingKind.wrong_information)
    )
    assert second.id in {f.id for f in only_wrong} and first.id not in {f.id for f in only_wrong}


def test_forwarding_tells_the_office_and_the_office_answers(session):
    finding = make_finding(session)
    step(session, "coordinator", finding, FindingState.in_review)
    step(
        session,
        "coordinator",
        finding,
        FindingState.routed,
        routed_to_id=VOLMETAL,
        note="Können Sie einen zweiten Abendkurs anbieten?",
    )
    assert finding.routed_to_id == VOLMETAL
    (message,) = outbox(session, VOLMETAL_EMAIL)
    assert message.kind == "finding_routed"
    assert f"{BASE}/findings/{finding.id}" in message.body
    assert "Integrationskurs" not in message.body  # a link only, never the content
    # The office sees it now, and answers.
    office = principal(session, "partner_staff")
    assert board.legal_targets(finding=finding, principal=office) == [FindingState.answered]
    step(
        session,
        "partner_staff",
        finding,
        FindingState.answered,
        note="Ab März gibt es einen zweiten Kurs.",
    )
    assert finding.state == FindingState.answered
    history = recording.history(session=session, finding=finding)
    assert [e.to_state for e in history] == ["new", "in_review", "routed", "answered"]
    assert history[-1].note == "Ab März gibt es einen zweiten Kurs."


def test_the_office_is_told_in_the_language_its_staff_use(session):
    for user in session.exec(select(User).where(User.organization_id == VOLMETAL)).all():
        user.language = "uk"
        session.add(user)
    finding = make_finding(session)
    step(session, "coordinator", finding, FindingState.routed, routed_to_id=VOLMETAL)
    (message,) = outbox(session, VOLMETAL_EMAIL)
    with i18n.language("uk"):
        no_personal_data = i18n.gettext(
            "For data protection, this email contains no personal data."
        )
    assert no_personal_data != "For data protection, this email contains no personal data."
    assert no_personal_data in message.body


def test_resolving_tells_the_reporters(session):
    finding = make_finding(session)
    merged = make_finding(session, "partner_staff")
    step(
        session,
        "coordinator",
        merged,
        FindingState.merged,
        merge_into_id=finding.id,
        note="Dasselbe",
    )
    step(session, "coordinator", finding, FindingState.in_review)
    step(session, "coordinator", finding, FindingState.resolved, note="Zweiter Kurs eingerichtet")
    assert finding.resolved_at is not None
    for who in ("case_manager", "partner_staff"):
        email = principal(session, who).user.email
        assert [m.kind for m in outbox(session, email)] == ["finding_resolved"]


def test_only_the_addressed_office_answers(session):
    finding = make_finding(session)
    step(session, "coordinator", finding, FindingState.routed, routed_to_id=VOLMETAL)
    for who in ("other_partner", "case_manager"):
        with pytest.raises(board.NotYourFinding):
            step(session, who, finding, FindingState.answered, note="Nicht unsere Sache")
    assert finding.state == FindingState.routed


def test_merging_folds_counts_subjects_and_evidence_into_the_other_finding(session):
    target = make_finding(session, affected_count=4)
    source = make_finding(
        session,
        "partner_staff",
        affected_count=3,
        description="Abends kein Platz im Integrationskurs in Mitte, Warteliste sehr lang.",
        service_ids=[stable_id("service", "sprachschule-volmetal-demo-integrationskurs-abend")],
    )
    suggestions = similarity.similar(session=session, finding=source)
    assert target.id in [s.finding.id for s in suggestions]
    step(
        session,
        "coordinator",
        source,
        FindingState.merged,
        merge_into_id=target.id,
        note="Gleicher Engpass",
    )
    assert (source.state, source.merged_into_id, source.state_reason) == (
        FindingState.merged,
        target.id,
        "Gleicher Engpass",
    )
    assert target.affected_count == 7
    assert recording.subjects(session=session, finding=target)
    assert recording.evidence(session=session, finding=target)
    assert "merged_in" in [e.kind for e in recording.history(session=session, finding=target)]
    # The reporter of the merged finding follows the one it went into.
    reporter = principal(session, "partner_staff")
    visible = {f.id for f in recording.list_visible(session=session, principal=reporter)}
    assert target.id in visible
    # A merged finding is no longer suggested, nor can anything merge into it.
    assert source.id not in [
        s.finding.id for s in similarity.similar(session=session, finding=target)
    ]
    third = make_finding(session)
    with pytest.raises(recording.InvalidFinding):
        step(session, "coordinator", third, FindingState.merged, merge_into_id=source.id, note="x")


def test_similarity_keeps_to_the_same_kind_topic_and_district(session):
    finding = make_finding(session)
    other_kind = make_finding(session, kind=FindingKind.wrong_information)
    other_district = make_finding(session, district="haspe")
    unrelated = make_finding(session, description="Die Schuldnerberatung hat keine Termine frei.")
    suggested = {s.finding.id for s in similarity.similar(session=session, finding=finding)}
    assert not suggested & {other_kind.id, other_district.id, unrelated.id}


@pytest.mark.parametrize(
    ("target", "fields", "field"),
    [
        (FindingState.declined, {}, "note"),
        (FindingState.merged, {"note": "x"}, "merge_into_id"),
        (FindingState.routed, {}, "routed_to_id"),
        (FindingState.routed, {"routed_to_id": stable_id("service", "nope")}, "routed_to_id"),
    ],
)
def test_a_step_without_what_it_needs_is_refused_and_changes_nothing(
    session, target, fields, field
):
    finding = make_finding(session)
    with pytest.raises(recording.InvalidFinding) as refused:
        step(session, "coordinator", finding, target, **fields)
    assert refused.value.field == field
    assert (finding.state, finding.version) == (FindingState.new, 1)


def test_illegal_and_stale_steps_answer_conflict(session):
    finding = make_finding(session)
    with pytest.raises(board.IllegalTransition):
        step(session, "coordinator", finding, FindingState.answered, note="x")
    step(session, "coordinator", finding, FindingState.in_review, version=1)
    with pytest.raises(board.StaleFinding):
        step(session, "coordinator", finding, FindingState.declined, version=1, note="veraltet")
    assert session.get(Finding, finding.id).state == FindingState.in_review
    step(session, "coordinator", finding, FindingState.declined, note="Kein Handlungsbedarf")
    with pytest.raises(board.IllegalTransition):
        step(session, "coordinator", finding, FindingState.in_review)
