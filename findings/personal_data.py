"""A check of free text for what looks like personal data, before a finding is saved.

Findings are about structures, never about a person. The check warns (it does not refuse): the
reporter removes what it found, or confirms that it is no personal data. It looks for names next
to dates of birth, phone numbers, file numbers (Aktenzeichen, customer and case numbers, the
Jobcenter's BG numbers), email addresses and IBANs.
"""

import re
from dataclasses import dataclass
from enum import StrEnum

from lotse.i18n import N_


class Hint(StrEnum):
    name_with_birth_date = "name_with_birth_date"
    phone_number = "phone_number"
    file_number = "file_number"
    email = "email"
    iban = "iban"


HINT_LABELS: dict[Hint, str] = {
    Hint.name_with_birth_date: N_("a name next to a date of birth"),
    Hint.phone_number: N_("a phone number"),
    Hint.file_number: N_("a file number"),
    Hint.email: N_("an email address"),
    Hint.iban: N_("a bank account number (IBAN)"),
}


@dataclass(frozen=True)
class Hit:
    """One place in the text that looks like personal data."""

    hint: Hint
    excerpt: str


_DATE = r"\d{1,2}\.\s?\d{1,2}\.\s?(?:19|20)?\d{2}\b|\b(?:19|20)\d{2}-\d{2}-\d{2}\b"
_BIRTH_MARK = r"(?:geb\.|geboren(?:\s+am)?|born(?:\s+on)?|dob:?|geburtsdatum:?|\*)"
_NAME = r"[A-ZÄÖÜ][a-zäöüß]+(?:-[A-ZÄÖÜ][a-zäöüß]+)?"
_BIRTH_DATE = re.compile(rf"{_BIRTH_MARK}\s*(?:{_DATE})", re.IGNORECASE)
# A full date whose year could be a birth year, right after what looks like a first and last name.
_BIRTH_YEAR_DATE = r"\d{1,2}\.\s?\d{1,2}\.\s?(?:19\d{2}|20[01]\d)\b"
_NAME_AND_DATE = re.compile(rf"\b{_NAME}\s+{_NAME}\s*,?\s*\(?\s*{_BIRTH_YEAR_DATE}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,}")
_PHONE = re.compile(r"(?<![\w.])(?:\+|00|0)[\d][\d\s/().-]{4,}\d")
_FILE_NUMBER = re.compile(
    r"\b(?:az\.?|aktenzeichen|gesch[äa]ftszeichen|kundennummer|kunden-nr\.?|fallnummer|"
    r"bg-nummer|bg-nr\.?|file\s+(?:no\.?|number))\s*:?\s*[\w/.-]*\d[\w/.-]*"
    r"|\b\d{3,6}\s?BG\s?\d{5,8}\b",
    re.IGNORECASE,
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]){11,30}\b")


def _is_iban(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(char, 36)) for char in rearranged)
    return int(digits) % 97 == 1


def _is_phone(candidate: str) -> bool:
    if re.fullmatch(_DATE, candidate.strip()):
        return False
    digits = re.sub(r"\D", "", candidate)
    return 7 <= len(digits) <= 15


def check(text: str) -> list[Hit]:
    """What in ``text`` looks like personal data, in the order it appears."""
    found: list[tuple[int, Hit]] = []
    taken: list[tuple[int, int]] = []

    def add(match: re.Match[str], hint: Hint) -> None:
        start, end = match.span()
        if any(start < other_end and other_start < end for other_start, other_end in taken):
            return
        taken.append((start, end))
        found.append((start, Hit(hint=hint, excerpt=match.group(0).strip())))

    for pattern in (_BIRTH_DATE, _NAME_AND_DATE):
        for match in pattern.finditer(text):
            add(match, Hint.name_with_birth_date)
    for match in _EMAIL.finditer(text):
        add(match, Hint.email)
    for match in _IBAN.finditer(text):
        if _is_iban(match.group(0)):
            add(match, Hint.iban)
    for match in _FILE_NUMBER.finditer(text):
        add(match, Hint.file_number)
    for match in _PHONE.finditer(text):
        if _is_phone(match.group(0)):
            add(match, Hint.phone_number)
    return [hit for _, hit in sorted(found, key=lambda item: item[0])]
