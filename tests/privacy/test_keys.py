"""`lotse privacy rotate-key`: every encrypted value to the newest key, plain ones included."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlmodel import select

from lotse.datakeys import new_key
from lotse.fieldcrypt import active_ring
from lotse.settings import get_settings
from privacy.keys import census, encrypted_tables, rotate
from referrals.models import Referral, ReferralMessage
from tests.lotse.test_cli import run
from tests.referrals.factories import make_message, make_referral

SECRETS = ("Panikattacken seit März", "Telefon 0171 5550101", "Nachricht: Befund liegt vor")


@contextmanager
def data_keys(value: str) -> Iterator[None]:
    """The application's key ring for a while, as LOTSE_DATA_KEYS would set it."""
    before = os.environ.get("LOTSE_DATA_KEYS")
    os.environ["LOTSE_DATA_KEYS"] = value
    get_settings.cache_clear()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("LOTSE_DATA_KEYS")
        else:
            os.environ["LOTSE_DATA_KEYS"] = before
        get_settings.cache_clear()


def _referral_with_secrets(session_factory) -> tuple:
    with session_factory() as session:
        referral = make_referral(session=session)
        referral.health_note = SECRETS[0]
        referral.contact_detail = SECRETS[1]
        make_message(session=session, referral=referral, body=SECRETS[2])
        session.commit()
        return referral.id, referral.number


def _raw(engine, sql: str) -> list[str]:
    with engine.connect() as connection:
        return [value for value in connection.execute(text(sql)).scalars() if value is not None]


def test_every_encrypted_column_is_found_from_the_models():
    found = {f"{t.name}.{c}" for t in encrypted_tables() for c in t.columns}
    assert {
        "referral.note",
        "referral.health_note",
        "referral.contact_detail",
        "referral.status_note",
        "referral.outcome_note",
        "referral.feedback_note",
        "referral_event.note",
        "referral_message.body",
        "consent.purpose",
    } == found


def test_rotation_moves_everything_to_the_new_key_and_the_old_one_can_go(
    module_engine, session_factory
):
    old, new = new_key(), new_key()
    with data_keys(old):
        old_id = active_ring().newest_id
        referral_id, number = _referral_with_secrets(session_factory)
        # A value from before encryption existed, written by the older code.
        with module_engine.begin() as connection:
            connection.execute(
                text("UPDATE referral SET note = 'Abendkurs, alte Notiz' WHERE number = :n"),
                {"n": number},
            )
        assert census(engine=module_engine)["plain"] >= 1

    with data_keys(f"{new},{old}"):
        ring = active_ring()
        seen: list[tuple[str, int, int]] = []
        result = rotate(
            engine=module_engine,
            ring=ring,
            batch_size=2,
            progress=lambda table, done, total: seen.append((table, done, total)),
        )
        assert not result.unreadable
        assert result.rewritten["plain"] >= 1 and result.rewritten[old_id] >= 3
        assert set(census(engine=module_engine)) == {ring.newest_id}
        last = {table: (done, total) for table, done, total in seen}
        assert set(last) == {"consent", "referral", "referral_event", "referral_message"}
        assert all(done == total for done, total in last.values())
        # Safe to run again: nothing left to do.
        again = rotate(engine=module_engine, ring=ring, batch_size=2)
        assert sum(again.rewritten.values()) == 0 and again.rows == result.rows

    with data_keys(new):  # the old key is gone from the ring
        stored = " ".join(
            _raw(module_engine, "SELECT note FROM referral")
            + _raw(module_engine, "SELECT health_note FROM referral")
            + _raw(module_engine, "SELECT contact_detail FROM referral")
            + _raw(module_engine, "SELECT body FROM referral_message")
        )
        for secret in (*SECRETS, "alte Notiz", "Abendkurs"):
            assert secret not in stored
        with session_factory() as session:
            referral = session.get(Referral, referral_id)
            assert referral.note == "Abendkurs, alte Notiz"
            assert (referral.health_note, referral.contact_detail) == SECRETS[:2]
            message = session.exec(
                select(ReferralMessage).where(ReferralMessage.referral_id == referral_id)
            ).one()
            assert message.body == SECRETS[2]


def test_the_command_reports_progress_and_refuses_to_leave_unreadable_values(
    module_engine, session_factory
):
    old, new = new_key(), new_key()
    with data_keys(old):
        _referral_with_secrets(session_factory)
    url = module_engine.url.render_as_string(hide_password=False)
    done = run(
        "privacy",
        "rotate-key",
        "--batch-size",
        "1",
        LOTSE_DATABASE_URL=url,
        LOTSE_DATA_KEYS=f"{new},{old}",
    )
    assert done.returncode == 0, done.stderr
    assert "referral_message: 1/1 rows" in done.stderr
    assert "older keys may be removed" in done.stderr
    for secret in SECRETS:
        assert secret not in done.stdout + done.stderr

    # A key that is missing from the ring: the command names the rows and fails.
    lost = run("privacy", "rotate-key", LOTSE_DATABASE_URL=url, LOTSE_DATA_KEYS=new_key())
    assert lost.returncode == 1
    assert "cannot be decrypted" in lost.stderr and "referral_message.body" in lost.stderr
