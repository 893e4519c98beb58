"""No client data in server logs, emails or error pages: a whole referral loop, scanned.

The case manager and the partner go through a referral from the client's record to the closed
loop over HTTP, on a database of their own whose commits are real; the emails the loop queued
are delivered to a real SMTP server. Every log record (at DEBUG, as the text and the JSON
formatter of lotse/logs.py write them), every queued and delivered email and the error pages
provoked on the way are searched for the client's alias and the texts written about them.
"""

import logging
import uuid

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlmodel import Session, select

from lotse.app import create_app
from lotse.logs import JsonFormatter, TextFormatter
from lotse.mailer import deliver_due
from lotse.outbox import OutboxMessage
from lotse.settings import get_settings
from referrals.models import Referral, ReferralMessage
from tests.accounts import csrf_token, login, post
from tests.lotse.test_mailer import Inbox, free_port, smtp_server, smtp_settings
from tests.referrals.test_loop import act

ALIAS = "Zitronenfalter Quendel"
SECRETS = {
    "alias": ALIAS,
    "consent purpose": "Beratung wegen Quendel-Schulden",
    "note": "Sucht Abendkurs, Schichtdienst bei Firma Quendelbau",
    "health note": "Diabetes Typ 1, Quendel-Ambulanz",
    "contact": "0176 99887766",
    "message to partner": "Bitte Rückruf wegen Kinderbetreuung Quendelweg",
    "message to case manager": "Wir brauchen den Aufenthaltstitel von Frau Quendel",
    "status note": "Platz ab Januar, Quendel bestätigt",
    "feedback": "Kurs passt, aber Quendel-Fahrtkosten zu hoch",
}
COURSE = "sprachschule-volmetal-demo-integrationskurs-abend"


class Capture(logging.Handler):
    """Every record, written by both of Lotse's formatters, as the log collector gets them."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.formatters = (TextFormatter(), JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        if from_server(record):
            self.lines.extend(formatter.format(record) for formatter in self.formatters)


def from_server(record: logging.LogRecord) -> bool:
    """Not the test's own HTTP client, which logs the addresses it asks for."""
    return not record.name.startswith("httpx")


@pytest.fixture
def capture() -> Capture:
    handler = Capture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def leaks(text: str) -> list[str]:
    folded = text.casefold()
    return [name for name, secret in SECRETS.items() if secret.casefold() in folded] + (
        ["Quendel"] if "quendel" in folded else []
    )


def _loop(case_manager: TestClient, partner: TestClient) -> uuid.UUID:
    from directory.seed import stable_id
    from tests.referrals.test_loop import VOLMETAL

    login(case_manager, "case_manager")
    created = post(
        case_manager,
        "/clients",
        {"alias": ALIAS, "birth_year": "1988", "languages": ["tr"], "needs": ["integrationskurs"]},
    )
    assert created.status_code == 303, created.text
    client_id = created.headers["location"].rsplit("/", 1)[1]
    consented = post(
        case_manager,
        f"/clients/{client_id}/consents",
        {
            "recipient": str(VOLMETAL),
            "purpose": SECRETS["consent purpose"],
            "categories": ["identity", "languages", "needs", "contact"],
            "includes_health": "true",
            "form": "written",
            "text_language": "tr",
        },
    )
    assert consented.status_code == 303, consented.text
    drafted = post(
        case_manager,
        f"/services/{stable_id('service', COURSE)}/refer",
        {
            "client_id": client_id,
            "need": "integrationskurs",
            "note": SECRETS["note"],
            "health_note": SECRETS["health note"],
            "shared": ["identity", "languages", "contact", "health"],
            "contact_preference": "phone",
            "contact_detail": SECRETS["contact"],
        },
    )
    assert drafted.status_code == 303, drafted.text
    referral_id = uuid.UUID(drafted.headers["location"].rsplit("/", 1)[1])
    assert act(case_manager, referral_id, "sent").status_code == 303
    sent = post(
        case_manager, f"/referrals/{referral_id}/messages", {"body": SECRETS["message to partner"]}
    )
    assert sent.status_code == 303

    login(partner, "partner_staff")
    page = partner.get(f"/referrals/{referral_id}")
    # The partner sees what was shared with it: the loop really carried the data.
    assert ALIAS in page.text and SECRETS["message to partner"] in page.text
    assert act(partner, referral_id, "accepted").status_code == 303
    answered = post(
        partner, f"/referrals/{referral_id}/messages", {"body": SECRETS["message to case manager"]}
    )
    assert answered.status_code == 303
    assert act(partner, referral_id, "in_progress").status_code == 303
    done = act(partner, referral_id, "completed", outcome="need_met", note=SECRETS["status note"])
    assert done.status_code == 303

    closed = act(
        case_manager,
        referral_id,
        "closed",
        got_help="yes",
        helpful="partly",
        barriers=["costs"],
        feedback_note=SECRETS["feedback"],
    )
    assert closed.status_code == 303, closed.text
    return referral_id


def _error_pages(app, case_manager: TestClient, referral_id: uuid.UUID) -> list[str]:
    class Strict(BaseModel):
        birth_year: int

    @app.get("/test-only/boom")
    async def boom() -> None:
        # A failure whose exception quotes the client's data, as pydantic's errors do.
        Strict.model_validate({"birth_year": ALIAS})

    csrf = {"X-CSRF-Token": csrf_token(case_manager)}
    pages = [
        case_manager.get(f"/referrals/{uuid.uuid4()}"),  # 404
        case_manager.get(f"/clients/{ALIAS}"),  # 404 or 422: the alias in the path
        case_manager.get("/clients", params={"q": ALIAS}),  # a search for the client
        case_manager.post(
            f"/api/v1/referrals/{referral_id}/messages",
            json={"body": f"{ALIAS}: {SECRETS['message to partner']} " * 200},  # too long
            headers=csrf,
        ),  # 422 from the API
        case_manager.post(
            f"/api/v1/referrals/{referral_id}/transition",
            json={"target": ALIAS, "note": SECRETS["note"]},
            headers=csrf,
        ),  # 422: an unknown target
    ]
    with TestClient(app, raise_server_exceptions=False) as stranger:
        boom = stranger.get("/test-only/boom", params={"alias": ALIAS})
    assert boom.status_code == 500
    statuses = [page.status_code for page in pages]
    assert statuses[0] == 404 and statuses[3] == 422 and statuses[4] == 422, statuses
    # The client list shows the client to its case manager; that page is no error page.
    return [page.text for page in (pages[0], pages[1], pages[3], pages[4], boom)]


def test_a_whole_referral_loop_leaves_no_client_data_in_logs_emails_or_error_pages(
    module_engine, capture, caplog
):
    caplog.set_level(logging.DEBUG)
    app = create_app(get_settings(), engine=module_engine)
    with TestClient(app) as case_manager, TestClient(app) as partner:
        referral_id = _loop(case_manager, partner)
        error_pages = _error_pages(app, case_manager, referral_id)

    with Session(module_engine) as session:
        queued = session.exec(select(OutboxMessage)).all()
        # The loop really stored each text (encrypted; the model reads it back).
        referral = session.get(Referral, referral_id)
        assert referral.status == "closed"
        assert (referral.note, referral.health_note, referral.contact_detail) == (
            SECRETS["note"],
            SECRETS["health note"],
            SECRETS["contact"],
        )
        assert referral.outcome_note == SECRETS["status note"]
        assert referral.feedback_note == SECRETS["feedback"]
        bodies = session.exec(
            select(ReferralMessage.body).where(ReferralMessage.referral_id == referral_id)
        ).all()
        assert set(bodies) == {SECRETS["message to partner"], SECRETS["message to case manager"]}
    assert queued, "the loop queued no email"
    inbox = Inbox()
    port = free_port()
    with smtp_server(port=port, inbox=inbox):
        report = deliver_due(
            session_factory=lambda: Session(module_engine), settings=smtp_settings(port)
        )
    assert report.sent == len(queued) and inbox.messages
    delivered = [
        "\n".join(f"{name}: {value}" for name, value in message.items())
        + "\n"
        + message.get_body(("plain",)).get_content()
        for message in inbox.messages
    ]

    assert capture.lines and caplog.records
    assert any("/referrals/" in line for line in capture.lines)  # the access log was captured
    for where, texts in {
        "log (text and JSON)": capture.lines,
        # pytest's own formatter quotes exceptions unscrubbed; the messages are what counts.
        "log (caplog)": [r.getMessage() for r in caplog.records if from_server(r)],
        "queued emails": [f"{m.subject}\n{m.body}" for m in queued],
        "delivered emails": delivered,
        "error pages": error_pages,
    }.items():
        for text in texts:
            assert not leaks(text), (where, leaks(text), text[:2000])
