"""Reading Integreat's answers: saved files per language, or the API over HTTP."""

import pytest

from directory.interop.integreat.client import IntegreatError, fetch, read_files
from tests import FIXTURES

FIXTURES = FIXTURES / "integreat"
LANGUAGES = ["de", "ar", "en", "fa", "uk"]  # German first, then as the files sort


def test_files_are_read_per_language_with_german_first(feeds):
    assert list(feeds) == LANGUAGES
    assert len(feeds["de"]) == 6


def test_german_is_required(tmp_path, feeds):
    with pytest.raises(IntegreatError, match=r"German \(de\)"):
        read_files(FIXTURES, region="hagen", languages=["en", "ar"])


def test_a_missing_language_file_is_named(tmp_path):
    with pytest.raises(IntegreatError, match=r"hagen-tr\.json"):
        read_files(FIXTURES, region="hagen", languages=["de", "tr"])


def test_invalid_json_is_a_clear_error(tmp_path):
    (tmp_path / "hagen-de.json").write_text('[{"id": 1,', encoding="utf-8")
    with pytest.raises(IntegreatError) as caught:
        read_files(tmp_path, region="hagen")
    assert "hagen-de.json is not valid JSON" in str(caught.value)


def test_http_errors_are_clear(integreat_server):
    with pytest.raises(IntegreatError, match="HTTP status 404"):
        fetch(base_url=integreat_server, region="dortmund", languages=["de"])
    with pytest.raises(IntegreatError, match="not valid JSON"):
        fetch(base_url=integreat_server, region="hagen", languages=["de", "xx"])
    with pytest.raises(IntegreatError, match="could not be reached"):
        fetch(base_url="http://127.0.0.1:9", region="hagen", languages=["de"])
    with pytest.raises(IntegreatError, match="not an http"):
        fetch(base_url="file:///etc", region="hagen", languages=["de"])


# --- the command ------------------------------------------------------------------------------
