"""Search in every language on a directory that is not the Hagen demo: a small town imported
from HSDS with a taxonomy of its own (codes MS-100 …) and some machine translations.

Queries find offers through the translated listing texts, and through the synonym table,
which binds to the town's terms by their names ("Wohnen", "Sprache"), not to the demo's codes.
"""

import uuid

import pytest
from sqlmodel import Session, select

from directory.interop.hsds.importer import import_parsed
from directory.interop.hsds.parse import parse_bytes
from directory.models import Service
from directory.search.engine import SearchIndex, SearchRequest, Synonyms
from directory.search.indexing import category_names, load_documents
from lotse import migrate
from lotse.db import make_engine
from lotse.settings import get_settings
from lotse.timeutil import utcnow
from tests import FIXTURES
from tests.conftest import drop_database, fresh_database_url

HSDS = FIXTURES / "other_town" / "hsds.json"


@pytest.fixture(scope="module")
def town():
    """The imported town's search index and its services by name, on a database of its own."""
    url = fresh_database_url(f"lotse_other_town_{uuid.uuid4().hex[:8]}")
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            parsed = parse_bytes(HSDS.read_bytes(), filename="hsds.json")
            import_parsed(session=session, parsed=parsed)
            session.commit()
            names, _ = category_names(session)
            index = SearchIndex(
                load_documents(session),
                synonyms=Synonyms.load(get_settings().seed_dir / "synonyms.json"),
                category_names=names,
            )
            services = {service.id: service.name for service in session.exec(select(Service))}
        yield index, services
    finally:
        engine.dispose()
        drop_database(url)


def found(town, query: str) -> list[str]:
    index, services = town
    result = index.search(SearchRequest(text=query), now=utcnow(), timezone="Europe/Berlin")
    return [services[hit.service_id] for hit in result.hits]


def test_the_import_keeps_the_towns_own_taxonomy(town):
    index, services = town
    assert sorted(services.values()) == [
        "Deutschkurs am Abend",
        "Offene Sprechstunde Musterstadt",
        "Wohnraumhilfe Musterstadt",
    ]
    assert set(index.category_matcher.codes) == {"MS-100", "MS-200", "MS-300"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Through the translated name and description of the clinic.
        ("лікар без страхування", "Offene Sprechstunde Musterstadt"),
        ("طبيب بدون تأمين صحي", "Offene Sprechstunde Musterstadt"),
        ("doktor muayenesi", "Offene Sprechstunde Musterstadt"),
        # Through a translated summary.
        ("akşam almanca", "Deutschkurs am Abend"),
        # Through the German summary.
        ("Feierabend", "Deutschkurs am Abend"),
    ],
)
def test_translated_listing_texts_are_searched(town, query, expected):
    assert found(town, query)[:1] == [expected]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # The synonym table's "wohnen" entry binds to the town's term named "Wohnen" (MS-100);
        # the housing offer has no translation at all.
        ("житло", "Wohnraumhilfe Musterstadt"),
        ("سكن", "Wohnraumhilfe Musterstadt"),
        ("konut", "Wohnraumhilfe Musterstadt"),
        ("жильё", "Wohnraumhilfe Musterstadt"),
        # "sprache" binds to the term named "Sprache" (MS-300).
        ("мовні курси", "Deutschkurs am Abend"),
        ("dil kursu", "Deutschkurs am Abend"),
    ],
)
def test_synonyms_bind_to_the_towns_terms_by_name(town, query, expected):
    assert found(town, query)[:1] == [expected]


def test_synonyms_of_a_topic_the_town_does_not_have_match_no_category(town):
    index, _ = town
    assert index.category_matcher.match(["jobcenter"]) == {}
