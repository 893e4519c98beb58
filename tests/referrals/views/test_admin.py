"""The admin's correction: a referral marked as entered in error by its number."""

from fastapi.testclient import TestClient

from referrals.models import Referral
from tests.accounts import login, post
from tests.referrals.views.test_referrals import _sent


def test_an_admin_marks_a_referral_entered_in_error_by_its_number(app, session):
    with TestClient(app) as case_manager, TestClient(app) as admin:
        login(case_manager, "case_manager")
        referral_id = _sent(case_manager, "Blaues Heft")
        number = session.get(Referral, referral_id).number
        login(admin, "admin")
        url = "/admin/referrals/entered-in-error"
        assert post(admin, url, {"number": number}).status_code == 422
        assert post(admin, url, {"number": "V-1999-99999", "note": "falsch"}).status_code == 404
        done = post(admin, url, {"number": f" {number} ", "note": "Falsche Person"})
        assert done.status_code == 303 and done.headers["location"].endswith(
            "/admin/settings?saved=1"
        )
    session.expire_all()
    referral = session.get(Referral, referral_id)
    assert referral.status == "entered_in_error" and referral.status_note == "Falsche Person"
