"""Client free text is stored encrypted, read back as written, and refused when tampered with."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from lotse.datakeys import DEFAULT_DATA_KEY, new_key
from lotse.fieldcrypt import KeyRing, UnreadableData, is_encrypted
from referrals.models import Referral
from tests.accounts import login
from tests.referrals.factories import make_message, make_referral

NOTE = "Depression seit der Flucht, Termin bei Dr. Sommer"


def test_a_value_round_trips_and_no_two_ciphertexts_are_alike():
    ring = KeyRing.from_setting(new_key())
    first = ring.encrypt(NOTE, context="referral.note")
    second = ring.encrypt(NOTE, context="referral.note")
    assert first != second and is_encrypted(first)
    assert NOTE not in first and "Depression" not in first
    assert ring.decrypt(first, context="referral.note") == NOTE
    assert ring.decrypt("", context="referral.note") == ""
    assert ring.decrypt(ring.encrypt("", context="referral.note"), context="referral.note") == ""


def test_a_plain_value_from_before_encryption_is_read_as_it_is():
    ring = KeyRing.from_setting(new_key())
    assert ring.decrypt("Abendkurs gewünscht", context="referral.note") == "Abendkurs gewünscht"
    assert ring.key_of("Abendkurs gewünscht") is None


def test_older_keys_decrypt_and_the_newest_encrypts():
    old, new = new_key(), new_key()
    stored = KeyRing.from_setting(old).encrypt(NOTE, context="referral.note")
    ring = KeyRing.from_setting(f"{new},{old}")
    assert ring.decrypt(stored, context="referral.note") == NOTE
    assert ring.key_of(ring.encrypt(NOTE, context="referral.note")) == ring.newest_id
    assert ring.key_of(stored) == ring.ids[1] != ring.newest_id
    with pytest.raises(UnreadableData):
        KeyRing.from_setting(new).decrypt(stored, context="referral.note")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda v: v[:-2] + ("AA" if not v.endswith("AA") else "BB"),  # the ciphertext changed
        lambda v: v[:-30],  # cut short
        lambda v: v + "!",  # not base64
        lambda v: v[: len("lotse:1:")] + "0" * 8 + v[len("lotse:1:") + 8 :],  # another key id
    ],
)
def test_a_tampered_value_is_refused(tamper, caplog):
    ring = KeyRing.from_setting(new_key())
    stored = ring.encrypt(NOTE, context="referral.note")
    with pytest.raises(UnreadableData):
        ring.decrypt(tamper(stored), context="referral.note")
    # The log names the column, never the text.
    assert "referral.note" in caplog.text and "Depression" not in caplog.text


def test_a_value_moved_to_another_column_is_refused():
    ring = KeyRing.from_setting(new_key())
    stored = ring.encrypt(NOTE, context="referral.health_note")
    with pytest.raises(UnreadableData):
        ring.decrypt(stored, context="referral.note")


def test_the_database_holds_only_ciphertext_and_the_models_read_plain_text(session):
    referral = make_referral(session=session)
    referral.note = "Abendkurs, Frau Ö. arbeitet tagsüber"
    referral.health_note = NOTE
    referral.contact_detail = "0170 1234567"
    make_message(
        session=session, referral=referral, body="Bitte den Bescheid vom Jobcenter mitbringen"
    )
    session.flush()
    raw = (
        session.connection()
        .execute(
            text(
                "SELECT note, health_note, contact_detail, body FROM referral "
                "JOIN referral_message ON referral_message.referral_id = referral.id "
                "WHERE referral.id = :id"
            ),
            {"id": referral.id.hex if session.bind.dialect.name == "sqlite" else referral.id},
        )
        .one()
    )
    for value in raw:
        assert is_encrypted(value)
    stored = " ".join(raw)
    for plain in ("Abendkurs", "tagsüber", "Depression", "0170", "1234567", "Jobcenter"):
        assert plain not in stored
    session.expire_all()
    again = session.get(Referral, referral.id)
    assert (again.note, again.health_note, again.contact_detail) == (
        "Abendkurs, Frau Ö. arbeitet tagsüber",
        NOTE,
        "0170 1234567",
    )


def test_a_tampered_note_shows_a_clear_page_not_a_traceback(app, session):
    referral = make_referral(session=session)
    referral.health_note = NOTE
    session.flush()
    referral_id = referral.id
    key = referral.id.hex if session.bind.dialect.name == "sqlite" else referral.id
    session.connection().execute(
        text("UPDATE referral SET note = :forged WHERE id = :id"),
        {
            "forged": KeyRing.from_setting(DEFAULT_DATA_KEY).encrypt("x", context="referral.x"),
            "id": key,
        },
    )
    session.expire_all()
    with TestClient(app, headers={"Accept-Language": "en"}) as browser:
        login(browser, "case_manager")
        page = browser.get(f"/referrals/{referral_id}")
        api = browser.get(f"/api/v1/referrals/{referral_id}")
    assert page.status_code == 500
    assert "A stored text could not be read" in page.text
    assert "Traceback" not in page.text and "InvalidTag" not in page.text
    assert NOTE not in page.text
    assert api.status_code == 500 and api.json()["error"]["code"] == "unreadable_data"
