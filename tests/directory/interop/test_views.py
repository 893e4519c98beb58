"""Open formats in the UI: HSDS downloads, upload with preview, apply as a background job."""

import io
import json
import re
import time
import uuid
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from directory.interop import import_jobs
from directory.interop.hsds.export import dump_json, export_document
from directory.interop.hsds.importer import import_parsed
from directory.interop.hsds.parse import parse_bytes
from directory.models import ImportJob, ImportJobStatus, Service
from lotse.app import create_app
from lotse.audit import SYSTEM
from lotse.models import AuditEvent, User
from lotse.settings import get_settings
from tests import FIXTURES, demo
from tests.accounts import PASSWORDS, csrf_token, login, post
from tests.referrals.factories import own_database

EXAMPLES = FIXTURES / "hsds-3.0" / "examples"
EXAMPLE_SERVICE_ID = uuid.UUID("ac148810-d857-441c-9679-408f346de14b")


def _count(session, model):
    return session.exec(select(func.count()).select_from(model)).one()


def _upload(client, name: str, content: bytes):
    return client.post(
        "/open-formats/upload",
        data={"csrf_token": csrf_token(client)},
        files={"file": (name, content, "application/octet-stream")},
        follow_redirects=False,
    )


def _token(response) -> str:
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/open-formats/uploads/([A-Za-z0-9_-]+)", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


def _broken_example() -> bytes:
    record = json.loads((EXAMPLES / "service_full.json").read_text(encoding="utf-8"))
    record["name"] = 42
    record["email"] = "not an address"
    return json.dumps(record).encode()


def test_page_offers_downloads_and_upload(client):
    login(client, "coordinator")
    page = client.get("/open-formats")
    assert page.status_code == 200
    assert "/open-formats/hsds.json" in page.text and "/open-formats/hsds-csv.zip" in page.text
    assert 'enctype="multipart/form-data"' in page.text
    assert "/open-formats" in client.get("/editor").text


def test_json_download_contains_the_directory(client, session):
    login(client, "coordinator")
    response = client.get("/open-formats/hsds.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    document = response.json()
    kim = demo.kim(session)
    assert any(record["id"] == str(kim.id) for record in document["services"])


def test_csv_download_is_a_package(client, session):
    login(client, "admin")
    response = client.get("/open-formats/hsds-csv.zip")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        package = json.loads(archive.read("datapackage.json"))
        services = archive.read("services.csv").decode()
    assert {r["name"] for r in package["resources"]} >= {"service", "organization"}
    assert str(demo.kim(session).id) in services


def test_upload_shows_a_preview_and_changes_nothing(client, session):
    login(client, "coordinator")
    before = _count(session, Service)
    content = (EXAMPLES / "service_full.json").read_bytes()
    token = _token(_upload(client, "service_full.json", content))
    page = client.get(f"/open-formats/uploads/{token}")
    assert page.status_code == 200
    assert f"/open-formats/uploads/{token}/apply" in page.text
    rows = dict(re.findall(r'<tr><th scope="row">(\w+)</th><td>(\d+)</td>', page.text))
    assert rows["service"] == "1" and rows["organization"] == "1"  # created
    assert "wait_time" in page.text  # a field Lotse ignores is listed
    assert _count(session, Service) == before
    assert session.get(Service, EXAMPLE_SERVICE_ID) is None
    assert _count(session, ImportJob) == 0


def test_csv_package_upload_previews(client):
    login(client, "coordinator")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in (EXAMPLES / "csv").iterdir():
            archive.write(path, path.name)
    token = _token(_upload(client, "package.zip", buffer.getvalue()))
    assert client.get(f"/open-formats/uploads/{token}").status_code == 200


def test_broken_file_lists_problems_and_changes_nothing(client, session):
    login(client, "coordinator")
    before = _count(session, Service)
    response = _upload(client, "broken.json", _broken_example())
    assert response.status_code == 422
    assert "error-summary" in response.text
    problems = response.text.split('id="problems"', 1)[1].split("</table>", 1)[0]
    assert str(EXAMPLE_SERVICE_ID) in problems
    assert "<code>name</code>" in problems and "<code>email</code>" in problems
    assert _count(session, Service) == before
    assert _count(session, ImportJob) == 0
    assert not any(
        (folder / "meta.json").is_file()
        and "broken.json" in (folder / "meta.json").read_text(encoding="utf-8")
        for folder in import_jobs.upload_root().iterdir()
    )


@pytest.mark.parametrize(
    ("name", "content"),
    [("", b""), ("notes.txt", b"hello"), ("empty.json", b""), ("bad.json", b"{not json")],
)
def test_unusable_files_get_a_message_next_to_the_field(client, name, content):
    login(client, "coordinator")
    response = _upload(client, name, content) if name else post(client, "/open-formats/upload")
    assert response.status_code == 422
    assert 'id="file-error"' in response.text


def test_uploads_belong_to_their_uploader(client):
    login(client, "admin")
    token = _token(_upload(client, "s.json", (EXAMPLES / "service_full.json").read_bytes()))
    post(client, "/logout")
    login(client, "coordinator")
    assert client.get(f"/open-formats/uploads/{token}").status_code == 404
    assert post(client, f"/open-formats/uploads/{token}/apply").status_code == 404
    assert client.get("/open-formats/uploads/..%2F..%2Fetc").status_code == 404


@pytest.mark.parametrize("who", ["anonymous", "case_manager", "partner_staff", "partner_admin"])
def test_others_may_not_export_or_import(client, who):
    if who != "anonymous":
        login(client, who)
    for url in ("/open-formats", "/open-formats/hsds.json", "/open-formats/hsds-csv.zip"):
        response = client.get(url, follow_redirects=False)
        assert response.status_code in (303, 401, 403), url
        assert "services" not in response.headers.get("content-type", "") + response.text[:20]
    response = _upload(client, "s.json", (EXAMPLES / "service_full.json").read_bytes())
    assert response.status_code in (303, 401, 403)
    assert "/uploads/" not in response.headers.get("location", "")


def test_progress_partial_polls_while_running(client, session):
    login(client, "coordinator")
    user = session.exec(select(User).where(User.email == PASSWORDS["coordinator"][0])).one()
    job = import_jobs.create(session=session, kind="hsds", user_id=user.id, source_name="x.json")
    job.status, job.stage, job.done, job.total = ImportJobStatus.running, "importing", 40, 100
    session.flush()
    partial = client.get(f"/open-formats/jobs/{job.id}/progress")
    assert 'hx-trigger="every 1s"' in partial.text
    assert re.search(r'<progress id="job-progress-bar" max="100" value="40">', partial.text)
    page = client.get(f"/open-formats/jobs/{job.id}")
    assert 'aria-live="polite"' in page.text and 'http-equiv="refresh"' in page.text
    assert '<label for="job-progress-bar">' in page.text
    # Another coordinator's job is not shown.
    login(client, "admin")
    assert client.get(f"/open-formats/jobs/{job.id}").status_code == 404


# --- applying, on a database of its own: the job commits for real ------------------------------


@pytest.fixture(scope="module")
def own_engine():
    with own_database("hsds_views") as engine:
        yield engine


@pytest.fixture
def own_client(own_engine):
    with TestClient(
        create_app(get_settings(), engine=own_engine), headers={"Accept-Language": "en"}
    ) as test_client:
        yield test_client


def _wait_for(client, job_url: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        partial = client.get(job_url + "/progress")
        assert partial.status_code == 200
        status = re.search(r'data-status="(\w+)"', partial.text).group(1)
        if status in ("done", "failed"):
            return partial.text
        time.sleep(0.2)
    pytest.fail(f"the import job did not finish within {timeout} s")


def _new_job(engine, source_name: str) -> uuid.UUID:
    """A coordinator's import job, committed, as applying an upload creates it."""
    with Session(engine) as setup:
        user = setup.exec(select(User).where(User.email == PASSWORDS["coordinator"][0])).one()
        job = import_jobs.create(
            session=setup, kind="hsds", user_id=user.id, source_name=source_name
        )
        setup.commit()
        return job.id


def _run_job(client, engine, filename: str, content: bytes) -> str:
    """Launch an import job in the background and return its finished progress partial."""
    job_id = _new_job(engine, filename)
    import_jobs.launch(
        engine=engine, job_id=job_id, filename=filename, content=content, actor=SYSTEM
    ).join(timeout=60)
    return _wait_for(client, f"/open-formats/jobs/{job_id}")


def test_apply_runs_the_import_in_the_background(own_client, own_engine):
    login(own_client, "coordinator")
    content = (EXAMPLES / "service_full.json").read_bytes()
    token = _token(_upload(own_client, "service_full.json", content))
    with Session(own_engine) as check:
        assert check.get(Service, EXAMPLE_SERVICE_ID) is None
    applied = post(own_client, f"/open-formats/uploads/{token}/apply")
    assert applied.status_code == 303
    job_url = applied.headers["location"]
    assert job_url.startswith("/open-formats/jobs/")
    finished = _wait_for(own_client, job_url)
    assert 'data-status="done"' in finished and "hx-trigger" not in finished
    assert re.search(r'<tr><th scope="row">service</th><td>1</td>', finished)
    with Session(own_engine) as check:
        assert check.get(Service, EXAMPLE_SERVICE_ID).name == "Community Counselling"
        job = check.get(ImportJob, uuid.UUID(job_url.rsplit("/", 1)[1]))
        assert job.status == ImportJobStatus.done and job.done == job.total > 0
        assert check.exec(
            select(AuditEvent).where(AuditEvent.action == "directory.hsds_import")
        ).first()
    # The upload is gone once applied: it cannot be applied twice.
    assert post(own_client, f"/open-formats/uploads/{token}/apply").status_code == 404
    overview = own_client.get("/open-formats")
    assert job_url in overview.text and "service_full.json" in overview.text


def test_a_failed_job_says_that_nothing_changed(own_client, own_engine):
    login(own_client, "coordinator")
    with Session(own_engine) as before:
        services = _count(before, Service)
    finished = _run_job(own_client, own_engine, "broken.json", _broken_example())
    assert 'data-status="failed"' in finished
    assert "nothing was changed" in finished
    assert "<code>name</code>" in finished
    with Session(own_engine) as check:
        assert _count(check, Service) == services


def test_an_unexpected_failure_shows_no_internals(own_client, own_engine, monkeypatch):
    def explode(**_kwargs):
        raise RuntimeError("SELECT secret FROM internals")

    monkeypatch.setattr(import_jobs, "import_parsed", explode)
    login(own_client, "coordinator")
    finished = _run_job(own_client, own_engine, "x.json", _broken_example())
    assert 'data-status="failed"' in finished
    assert "secret" not in finished and "RuntimeError" not in finished
    assert "server log" in finished or "Serverprotokoll" in finished


def test_csv_package_keeps_cells_exact_and_says_so(client, session):
    """The HSDS package is a machine format: a formula-like name goes out verbatim (export →
    import gives back what came in), and the page, the package and its README warn about it."""
    kim = demo.kim(session)
    kim.name = '=HYPERLINK("https://evil.example","x")'
    session.add(kim)
    session.flush()
    login(client, "coordinator")
    page = client.get("/open-formats", headers={"Accept-Language": "en"})
    assert 'id="csv-package-note"' in page.text and "not protected against spreadsheet" in (
        page.text.replace("\n", " ")
    )
    response = client.get("/open-formats/hsds-csv.zip")
    # Served as a zip to save, never as text/csv a browser could hand to a spreadsheet.
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith("attachment")
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        readme = archive.read("README.txt").decode()
        package = json.loads(archive.read("datapackage.json"))
        services = archive.read("services.csv").decode()
    assert "nicht gegen Tabellenformeln geschützt" in readme  # in the language of the download
    assert "not protected against spreadsheet formulas" in package["description"]
    assert '"=HYPERLINK(""https://evil.example"",""x"")"' in services


UNSAFE_SERVICE_ID = uuid.UUID("0b9f6f0e-2d1c-4a57-9a41-7d1e2f3a4b5c")
UNSAFE_ORGANIZATION_ID = uuid.UUID("5a0c1d2e-3f40-4b51-8c62-9d7e8f901a2b")
JAVASCRIPT_URL = "javascript:alert(document.domain)"
DATA_URL = "data:text/html,<script>alert(1)</script>"


def _unsafe_document() -> bytes:
    return json.dumps(
        {
            "id": str(UNSAFE_SERVICE_ID),
            "name": "Beratung Unsichere Adresse",
            "description": "Beratung mit einer unsicheren Adresse",
            "status": "active",
            "url": JAVASCRIPT_URL,
            "organization": {
                "id": str(UNSAFE_ORGANIZATION_ID),
                "name": "Verein Unsichere Adresse",
                "description": "Ein Verein",
                "website": DATA_URL,
            },
        }
    ).encode()


def test_imported_unsafe_addresses_are_kept_warned_about_and_never_links(client, session):
    """DESIGN "Lossless imports and safe links": imported verbatim, exported verbatim, listed as
    warnings in the import report, and shown as text wherever a page would make a link."""
    login(client, "coordinator")
    token = _token(_upload(client, "unsafe.json", _unsafe_document()))
    preview = client.get(f"/open-formats/uploads/{token}")
    assert preview.status_code == 200
    assert 'id="unsafe-links"' in preview.text
    assert "javascript:alert(document.domain)" in preview.text
    assert "data:text/html,&lt;script&gt;" in preview.text

    parsed = parse_bytes(_unsafe_document(), filename="unsafe.json")
    report = import_parsed(session=session, parsed=parsed)
    assert {(link.record_type, link.field, link.value) for link in report.unsafe_links} == {
        ("service", "url", JAVASCRIPT_URL),
        ("organization", "website", DATA_URL),
    }
    assert report.as_dict()["unsafe_link_count"] == 2
    session.flush()
    service = session.get(Service, UNSAFE_SERVICE_ID)
    assert service is not None and service.url == JAVASCRIPT_URL

    def no_unsafe_link(html: str) -> None:
        assert 'href="javascript' not in html.lower() and 'href="data:' not in html.lower()

    page = client.get(f"/services/{UNSAFE_SERVICE_ID}")
    assert page.status_code == 200
    no_unsafe_link(page.text)
    # Shown as text (isolated left to right, like every address), never as a link.
    assert re.search(
        rf'<span class="unlinked-url"[^>]*>{re.escape(JAVASCRIPT_URL)}</span>', page.text
    )
    organization = client.get(f"/organizations/{UNSAFE_ORGANIZATION_ID}")
    assert organization.status_code == 200
    no_unsafe_link(organization.text)
    assert "data:text/html,&lt;script&gt;" in organization.text
    handout = client.get(f"/services/{UNSAFE_SERVICE_ID}/handout")
    assert handout.status_code == 200
    no_unsafe_link(handout.text)
    assert JAVASCRIPT_URL in handout.text
    no_unsafe_link(client.get("/services", params={"q": "Unsichere Adresse"}).text)

    exported = json.loads(dump_json(export_document(session=session)))
    by_id = {record["id"]: record for record in exported["services"]}
    assert by_id[str(UNSAFE_SERVICE_ID)]["url"] == JAVASCRIPT_URL
    organizations = {record["id"]: record for record in exported["organizations"]}
    assert organizations[str(UNSAFE_ORGANIZATION_ID)]["website"] == DATA_URL


def _bomb() -> bytes:
    """One CSV of zeros that unpacks to 101 MB: 100 KB on disk."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("services.csv", b"id,name\n" + b"0" * (101 * 1024 * 1024))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bomb.zip", _bomb(), "services.csv in the zip file unpacks to more than 100 MB"),
        ("deep.json", b"[" * 200_000 + b"]" * 200_000, "nested more than 64 levels deep"),
        (
            "entries.zip",
            "many",
            "The zip file holds more than 1000 files",
        ),
    ],
)
def test_files_beyond_the_limits_get_a_clear_message(client, session, name, content, message):
    if content == "many":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for number in range(1001):
                archive.writestr(f"t{number}.csv", b"")
        content = buffer.getvalue()
    client.headers["Accept-Language"] = "en"
    login(client, "coordinator")
    started = time.monotonic()
    response = _upload(client, name, content)
    assert time.monotonic() - started < 20
    assert response.status_code == 413
    summary = response.text.split('id="file-error"', 1)[1].split("</p>", 1)[0]
    assert message in summary and "nothing was changed" in summary
    assert _count(session, ImportJob) == 0
    client.headers["Accept-Language"] = "de"
    german = _upload(client, name, content)
    assert german.status_code == 413 and "nichts wurde geändert" in german.text


def test_a_file_with_many_problems_gives_a_short_page(client):
    rows = "".join(f"not-a-uuid-{i},,nonsense\n" for i in range(100_000))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("services.csv", "id,name,status\n" + rows)
    login(client, "coordinator")
    response = _upload(client, "broken.zip", buffer.getvalue())
    assert response.status_code == 422
    assert len(response.content) < 300_000
    problems = response.text.split('id="problems"', 1)[1].split("</table>", 1)[0]
    assert problems.count("<tr>") == 1 + import_jobs.PROBLEMS_SHOWN  # heading + rows
    assert re.search(r"… und \d{3} weitere", response.text)
    assert "Die Prüfung wurde nach 10" in response.text


def test_an_import_job_beyond_the_time_limit_fails_and_changes_nothing(own_engine, monkeypatch):
    from directory.interop.import_limits import ImportLimits

    job_id = _new_job(own_engine, "x")
    with Session(own_engine) as setup:
        before = _count(setup, Service)
    record = {"id": str(uuid.uuid4()), "name": "Zu spät", "status": "active"}
    import_jobs.run_hsds_import(
        engine=own_engine,
        job_id=job_id,
        filename="late.json",
        content=json.dumps(record).encode(),
        actor=SYSTEM,
        limits=ImportLimits(max_seconds=1e-9),
    )
    with Session(own_engine) as check:
        job = check.get(ImportJob, job_id)
        assert job.status == ImportJobStatus.failed
        problem = job.summary["problems"][0]
        assert problem["reason"].startswith("Reading, checking and importing the file took")
        assert _count(check, Service) == before
    shown = import_jobs.translated(job.summary)
    assert "0" in shown["problems"][0]["reason"] and shown["problem_count"] == 1
