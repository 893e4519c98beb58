"""Machine translation as a background job, on a small imported town with a database of its
own (the job commits for real): every missing text, listing by listing, and what a provider
failing in the middle leaves behind."""

import uuid

import pytest
from sqlmodel import Session, select

from directory.interop.hsds.importer import import_parsed
from directory.interop.hsds.parse import parse_bytes
from directory.machine_translation import jobs
from directory.models import ImportJob, ImportJobStatus, Service, Translation, TranslationKind
from directory.versions import Author
from lotse import migrate
from lotse.db import make_engine
from lotse.settings import Settings
from tests import FIXTURES
from tests.conftest import drop_database, fresh_database_url
from tests.directory.machine_translation.fake_providers import FakeDeepL, serving

AUTHOR = Author(label="koordination@example.org")


@pytest.fixture
def town():
    url = fresh_database_url(f"lotse_mt_jobs_{uuid.uuid4().hex[:8]}")
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            content = (FIXTURES / "other_town" / "hsds.json").read_bytes()
            import_parsed(session=session, parsed=parse_bytes(content, filename="hsds.json"))
            session.commit()
        yield engine
    finally:
        engine.dispose()
        drop_database(url)


@pytest.fixture
def deepl():
    with serving(FakeDeepL()) as fake:
        yield fake


def settings_for(fake) -> Settings:
    return Settings(mt_provider="deepl", mt_api_key="good-key", mt_url=fake.url)


def run_job(engine, fake, language="uk", targets=None) -> ImportJob:
    with Session(engine) as session:
        job = ImportJob(kind=jobs.KIND, summary={"language": language})
        session.add(job)
        session.commit()
        job_id = job.id
    jobs.run(
        engine=engine,
        job_id=job_id,
        language=language,
        settings=settings_for(fake),
        author=AUTHOR,
        targets=targets,
    )
    with Session(engine) as session:
        finished = session.get(ImportJob, job_id)
        assert finished is not None
        return finished


def texts(engine, name: str, language: str = "uk") -> dict[str, Translation]:
    with Session(engine) as session:
        service = session.exec(select(Service).where(Service.name == name)).one()
        rows = session.exec(
            select(Translation).where(
                Translation.entity_id == service.id, Translation.language == language
            )
        ).all()
        return {row.field: row for row in rows}


def test_all_missing_texts_of_a_language_become_machine_translations(town, deepl):
    job = run_job(town, deepl)
    assert job.status == ImportJobStatus.done
    # The organisation, the course and the housing offer; the clinic is translated already.
    assert (job.done, job.total) == (3, 3)
    assert job.summary["listings"] == 3
    course = texts(town, "Deutschkurs am Abend")
    assert set(course) == {"name", "summary", "description"}
    assert course["summary"].text == "DEUTSCH LERNEN NACH FEIERABEND, FÜR BERUFSTÄTIGE."
    assert {row.kind for row in course.values()} == {TranslationKind.machine}
    # The clinic's existing translations were not sent again.
    assert texts(town, "Offene Sprechstunde Musterstadt")["name"].kind == TranslationKind.machine
    assert len(deepl.paths("POST", "/v2/translate")) == 3
    # Nothing left: a second job has nothing to do.
    again = run_job(town, deepl)
    assert again.status == ImportJobStatus.done and again.total == 0


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((456, {"message": "Quota exceeded"}), "quota"),
        ((403, {"message": "Authorization failure"}), "key"),
        ((503, {"message": "Service unavailable"}), "not reachable"),
    ],
)
def test_a_provider_failing_in_the_middle_leaves_no_listing_half_translated(
    town, deepl, answer, message
):
    # The first two listings are answered, the third gets the error.
    deepl.answers.extend([None, None, answer])
    job = run_job(town, deepl)
    assert job.status == ImportJobStatus.failed
    assert job.summary["listings"] == 2
    assert message in (job.error or "").lower()
    # Listings are translated in the order organisation, then services by name: the course is
    # complete, the housing offer untouched.
    assert set(texts(town, "Deutschkurs am Abend")) == {"name", "summary", "description"}
    assert texts(town, "Wohnraumhilfe Musterstadt") == {}
    # Started again, the job does what is still missing.
    resumed = run_job(town, deepl)
    assert resumed.status == ImportJobStatus.done and resumed.summary["listings"] == 1
    assert set(texts(town, "Wohnraumhilfe Musterstadt")) == {"name", "description"}


def test_a_job_without_a_provider_says_so_and_writes_nothing(town):
    def turkish() -> int:
        with Session(town) as session:
            return len(session.exec(select(Translation).where(Translation.language == "tr")).all())

    before = turkish()
    with Session(town) as session:
        job = ImportJob(kind=jobs.KIND, summary={"language": "tr"})
        session.add(job)
        session.commit()
        job_id = job.id
    jobs.run(engine=town, job_id=job_id, language="tr", settings=Settings(), author=AUTHOR)
    with Session(town) as session:
        job = session.get(ImportJob, job_id)
        assert job.status == ImportJobStatus.failed and "LOTSE_MT_PROVIDER" in job.error
    assert turkish() == before


def test_a_listing_gone_since_the_job_started_is_skipped(town, deepl):
    from directory.models import ListingKind

    with Session(town) as session:
        course = session.exec(select(Service).where(Service.name == "Deutschkurs am Abend")).one()
        targets = [(ListingKind.service, uuid.uuid4()), (ListingKind.service, course.id)]
    job = run_job(town, deepl, targets=targets)
    assert job.status == ImportJobStatus.done
    assert (job.done, job.total, job.summary["listings"]) == (2, 2, 1)
    assert set(texts(town, "Deutschkurs am Abend")) == {"name", "summary", "description"}
