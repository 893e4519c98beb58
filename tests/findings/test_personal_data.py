import pytest

from findings.personal_data import Hint, check


@pytest.mark.parametrize(
    ("text", "hint", "excerpt"),
    [
        (
            "Frau Olena Kowalenko, geb. 12.03.1988, wartet",
            Hint.name_with_birth_date,
            "geb. 12.03.1988",
        ),
        (
            "Olena Kowalenko 12.03.1988 bekam keinen Platz",
            Hint.name_with_birth_date,
            "Olena Kowalenko 12.03.1988",
        ),
        ("Rückruf unter 0171 2345678 erbeten", Hint.phone_number, "0171 2345678"),
        ("Rückruf unter +49 2331 207-0", Hint.phone_number, "+49 2331 207-0"),
        ("siehe Az. 123/45-B beim Amt", Hint.file_number, "Az. 123/45-B"),
        ("BG-Nummer 12345BG0012345 fehlt", Hint.file_number, "BG-Nummer 12345BG0012345"),
        ("Kundennummer: 987A654 im Jobcenter", Hint.file_number, "Kundennummer: 987A654"),
        ("Mail an jan.kowalski@example.org", Hint.email, "jan.kowalski@example.org"),
        ("Konto DE89 3704 0044 0532 0130 00", Hint.iban, "DE89 3704 0044 0532 0130 00"),
    ],
)
def test_what_looks_like_personal_data_is_found(text, hint, excerpt):
    hits = check(text)
    assert [(h.hint, h.excerpt) for h in hits] == [(hint, excerpt)]


@pytest.mark.parametrize(
    "text",
    [
        "Seit dem 01.02.2026 gibt es keinen Abendkurs, 25 Personen warten.",
        "Im Januar 12.01.2026 war die Beratung geschlossen.",
        "Die Wartezeit beträgt 6 bis 8 Monate, Kurse 2025-2026 sind voll.",
        "Öffnungszeiten Mo 9-12 Uhr reichen nicht für Berufstätige.",
        # Not a valid IBAN: the check digits do not add up.
        "Code DE00 1234 5678 9012 3456 78 im Formular",
    ],
)
def test_ordinary_descriptions_raise_no_warning(text):
    assert check(text) == []


def test_several_hits_come_in_the_order_of_the_text():
    hits = check("Tel. 0171 2345678, Mail a@b.de, Az. 12/34")
    assert [h.hint for h in hits] == [Hint.phone_number, Hint.email, Hint.file_number]
