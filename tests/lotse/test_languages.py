"""Any language a person may speak: codes checked and normalised, named for every reader."""

import pytest

from lotse import languages
from lotse.i18n import language as interface_language
from lotse.languages import InvalidLanguageCode


@pytest.mark.parametrize(
    ("entered", "stored"),
    [
        ("prs", "prs"),
        (" PRS ", "prs"),
        ("ckb", "ckb"),
        ("kmr", "ku"),
        ("ti", "ti"),
        ("so", "so"),
        ("de-CH", "de-CH"),
        ("de_ch", "de-CH"),
        ("deu", "de"),
        ("ara", "ar"),
        ("pes", "fa"),
        ("pbu", "ps"),
        ("ajp", "apc"),
        ("fa-AF", "fa-AF"),
        ("SR-latn-rs", "sr-Latn-RS"),
        ("es-419", "es-419"),
        ("de-CH-1996", "de-CH-1996"),
        ("de-x-ls", "de-x-ls"),
    ],
)
def test_codes_people_enter_are_stored_in_their_normal_form(entered, stored):
    assert languages.normalize(entered) == stored
    assert languages.is_valid(entered)


@pytest.mark.parametrize(
    ("entered", "reason"),
    [
        ("", "Please choose a language."),
        ("   ", "Please choose a language."),
        ("klingon", "is not a language code"),
        ("12", "is not a language code"),
        ("a", "is not a language code"),
        ("x-foo", "is not a language code"),
        ("de-CH-x-foo", "is not a language code"),
        ("en; DROP TABLE", "is not a language code"),
        ("xx", "is not a language Lotse knows"),
        ("qaa", "is not a language Lotse knows"),
        ("und", "is not a language Lotse knows"),
        ("zxx", "is not a language Lotse knows"),
        ("de-XY", "names a region or script that does not exist"),
        ("sr-Abcd", "names a region or script that does not exist"),
        ("sr-Latn-RS-1996abc", "at most 12 characters"),
    ],
)
def test_garbage_is_refused_with_a_reason(entered, reason):
    with pytest.raises(InvalidLanguageCode) as refused:
        languages.normalize(entered)
    with interface_language("en"):
        assert reason in refused.value.translated()
    assert refused.value.status_code == 422
    assert not languages.is_valid(entered)


@pytest.mark.parametrize(
    ("code", "reader", "name"),
    [
        ("prs", "de", "Dari"),
        ("prs", "uk", "Дарі"),
        ("prs", "ar", "الدارية"),
        ("prs", "tr", "Darice"),
        ("kmr", "de", "Kurdisch (Kurmandschi)"),
        ("ku", "en", "Kurdish (Kurmanji)"),
        ("ckb", "de", "Zentralkurdisch"),
        ("ti", "en", "Tigrinya"),
        ("so", "de", "Somali"),
        ("uk", "de", "Ukrainisch"),
        ("uk", "uk", "Українська"),
        ("de-CH", "de", "Schweizer Hochdeutsch"),
        ("sr-Latn", "de", "Serbisch (Lateinisch)"),
        ("haz", "de", "Hazaragi"),
        ("apc", "ar", "العربية الشامية"),
        ("aii", "en", "Assyrian Neo-Aramaic"),
        ("de-x-ls", "en", "Easy-to-read German"),
    ],
)
def test_a_code_is_named_in_the_readers_language(code, reader, name):
    assert languages.display_name(code, reader) == name


def test_the_interface_language_is_the_default_reader():
    with interface_language("uk"):
        assert languages.display_name("ckb") == "Центральнокурдська"
    with interface_language("de"):
        assert languages.display_name("so") == "Somali"


@pytest.mark.parametrize("stored", ["xx", "not a code", "", "de-XY"])
def test_a_stored_code_that_is_not_valid_shows_as_itself(stored):
    assert languages.display_name(stored, "de") == stored
    assert languages.native_name(stored) is None
    assert languages.direction(stored) == "ltr"


@pytest.mark.parametrize(
    ("code", "native", "direction"),
    [
        ("prs", "دری", "rtl"),
        ("ckb", "کوردیی ناوەندی", "rtl"),
        ("ku", "Kurmancî", "ltr"),
        ("ti", "ትግርኛ", "ltr"),
        ("so", "Soomaali", "ltr"),
        ("ar", "العربية", "rtl"),
        ("fa-AF", "فارسی (افغانستان)", "rtl"),
        ("uz-Arab", "اوزبیک (عربی)", "rtl"),
        ("de-x-ls", "Leichte Sprache", "ltr"),
        ("din", None, "ltr"),
    ],
)
def test_native_names_and_writing_direction(code, native, direction):
    assert languages.native_name(code) == native
    assert languages.direction(code) == direction


def test_the_picker_lists_every_nameable_language_once_sorted_by_the_readers_names():
    options = languages.picker_options("de")
    codes = [option.code for option in options]
    assert len(codes) == len(set(codes)) > 500
    assert {"prs", "ckb", "ku", "ti", "so", "haz", "apc", "de", "uk"} <= set(codes)
    # Aliases and non-languages are not offered twice or at all.
    assert not {"kmr", "ajp", "und", "zxx", "mul"} & set(codes)
    names = [option.name.casefold() for option in options]
    assert names.index("dari") < names.index("deutsch") < names.index("zentralkurdisch")
    dari = options[codes.index("prs")]
    assert (dari.name, dari.native_name, dari.offered) == ("Dari", "دری", False)
    assert options[codes.index("uk")].offered
    # Every option's code is valid as it stands, so picking one can never be refused.
    assert all(languages.normalize(code) == code for code in codes)


def test_the_picker_finds_languages_by_code_name_native_or_english_name():
    assert languages.search("Dari", "de")[0].code == "prs"
    assert "prs" in [o.code for o in languages.search("دری", "de")]
    kurdish = [o.code for o in languages.search("kurd", "de")]
    assert kurdish[0] == "ku" and {"ckb", "sdh"} <= set(kurdish)
    assert "ti" in [o.code for o in languages.search("tigrinya", "ar")]
    # Accents and case aside: "turkce" finds Türkçe.
    assert "tr" in [o.code for o in languages.search("turkce", "de")]
    assert languages.search("Klingonisch-Elbisch", "de") == []
