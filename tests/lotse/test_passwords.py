import pytest

from lotse.passwords import (
    PasswordLikeEmail,
    PasswordTooCommon,
    PasswordTooShort,
    check_policy,
    common_passwords,
    hash_password,
    verify_password,
)


def test_argon2id_hashes_and_verifies():
    hashed = hash_password("Sonnenblumen-über-Hagen")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "Sonnenblumen-über-Hagen")
    assert not verify_password(hashed, "sonnenblumen-über-hagen")
    assert not verify_password("not a hash", "x")


@pytest.mark.parametrize(
    ("password", "error"),
    [
        ("kurz", PasswordTooShort),
        ("passwort123", PasswordTooCommon),
        ("Sommer2024!", PasswordTooCommon),
        ("mira.demir-2026", PasswordLikeEmail),
    ],
)
def test_policy_refuses_weak_passwords(password, error):
    with pytest.raises(error):
        check_policy(password, email="mira.demir@example.org")


def test_a_good_password_passes_and_the_list_is_shipped():
    check_policy("Lotse-zeigt-den-Weg-7", email="mira.demir@example.org")
    assert len(common_passwords()) > 2000
