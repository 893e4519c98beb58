"""Absurd input anywhere is a clear refusal (422), never a server error."""

import pytest

HSDS_LISTS = (
    "/hsds/services",
    "/hsds/organizations",
    "/hsds/taxonomies",
    "/hsds/taxonomy_terms",
    "/hsds/service_at_locations",
)


@pytest.mark.parametrize("path", HSDS_LISTS)
@pytest.mark.parametrize("page", [2**63, 2**63 + 1, 2**64, 10**30, 0, -1, -(2**63) - 1])
def test_absurd_page_numbers_are_refused(client, path, page):
    response = client.get(path, params={"page": page})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["details"][0]["field"] == "page"


@pytest.mark.parametrize(
    "url",
    [
        "/services?q=a%00b",
        "/api/v1/search?q=a%00b",
        "/hsds/services?search=a%00b",
        "/hsds/organizations?search=%00",
    ],
)
def test_a_nul_byte_in_a_search_is_refused(client, url):
    response = client.get(url)
    assert response.status_code == 422
    if url.startswith(("/api/", "/hsds/")):
        assert response.json()["error"]["code"] == "invalid_character"
    else:
        assert "Nullbyte" in response.text
