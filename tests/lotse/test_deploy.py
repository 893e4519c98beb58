"""The documented deployment, run for real: Debian's nginx with TLS in front of two Lotse
processes (deploy/nginx/lotse.conf as shipped, only ports and paths changed), on the test
database. A person logs in, searches and sends a referral through it; cookies are secure,
HSTS is sent, and the client's address reaches the audit log only through a trusted proxy.

The test client connects from 127.0.0.2, nginx and the Lotse processes from 127.0.0.1, so the
address nginx forwards and the address of the proxy itself can be told apart.
"""

import datetime
import ipaddress
import os
import re
import secrets
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from sqlmodel import Session, col, select

from lotse import PROJECT_ROOT
from lotse.datakeys import new_key
from lotse.models import AuditEvent
from tests.accounts import PASSWORDS, login
from tests.conftest import _free_port
from tests.referrals.factories import own_database
from tests.referrals.test_loop import act, consent, draft, new_client

NGINX = Path("/usr/sbin/nginx")
CLIENT_ADDRESS = "127.0.0.2"
FORGED = "203.0.113.9"


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def nginx_config(
    directory: Path,
    *,
    https: int,
    http: int,
    untrusting_https: int,
    web: list[int],
    untrusting_web: int,
    cert: Path,
    key: Path,
) -> Path:
    """The shipped site configuration with this test's ports and paths, in a main config."""
    site = (PROJECT_ROOT / "deploy" / "nginx" / "lotse.conf").read_text()
    site = site.replace("server 127.0.0.1:8001", f"server 127.0.0.1:{web[0]}")
    site = site.replace("server 127.0.0.1:8002", f"server 127.0.0.1:{web[1]}")
    site = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", site)
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http};")
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl;")
    site = site.replace("/etc/ssl/lotse/fullchain.pem", str(cert))
    site = site.replace("/etc/ssl/lotse/privkey.pem", str(key))
    site = site.replace("/var/log/nginx/lotse.access.log", str(directory / "access.log"))
    assert str(web[0]) in site and str(https) in site and str(cert) in site
    # The same site once more, in front of a Lotse process that trusts no proxy.
    tls_server = site[site.index("server {", site.index("return 301")) :]
    untrusting = tls_server.replace(
        f"listen 127.0.0.1:{https} ssl;", f"listen 127.0.0.1:{untrusting_https} ssl;"
    )
    untrusting = untrusting.replace(
        "proxy_pass http://lotse;", f"proxy_pass http://127.0.0.1:{untrusting_web};"
    )
    untrusting = untrusting.replace("ssl_session_cache shared:lotse_tls:10m;", "")
    temp = directory / "temp"
    temp.mkdir()
    main = f"""
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} warn;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    {site}
    {untrusting}
}}
"""
    path = directory / "nginx.conf"
    path.write_text(main)
    return path


@dataclass
class Deployment:
    url: str
    http_url: str
    untrusting_url: str
    web_urls: list[str]
    cert: Path
    engine: object


def _wait_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, f"lotse serve stopped:\n{log.read_text()[-3000:]}"
        try:
            if httpx2.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} not ready:\n{log.read_text()[-3000:]}"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[Deployment]:
    if not NGINX.exists():
        pytest.fail("install Debian's nginx package (make test-setup does)")
    directory = tmp_path_factory.mktemp("deploy")
    cert, key = self_signed_certificate(directory)
    https, http, untrusting_https = _free_port(), _free_port(), _free_port()
    web = [_free_port(), _free_port()]
    untrusting_web = _free_port()
    processes: list[subprocess.Popen] = []
    with own_database("deploy") as engine:
        env = {
            **os.environ,
            "LOTSE_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "LOTSE_ENVIRONMENT": "production",
            "LOTSE_SECRET_KEY": secrets.token_urlsafe(48),
            "LOTSE_DATA_KEYS": new_key(),
            "LOTSE_BASE_URL": f"https://127.0.0.1:{https}",
            "LOTSE_LOG_FORMAT": "json",
            "LOTSE_TRUST_REQUEST_ID": "true",
        }
        try:
            for port, trusted in [
                (web[0], "127.0.0.1"),
                (web[1], "127.0.0.1"),
                (untrusting_web, ""),
            ]:
                log = directory / f"lotse-{port}.log"
                processes.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "lotse.cli",
                            "serve",
                            "--host",
                            "127.0.0.1",
                            "--port",
                            str(port),
                        ],
                        env={**env, "LOTSE_TRUSTED_PROXIES": trusted},
                        stdout=log.open("w"),
                        stderr=subprocess.STDOUT,
                    )
                )
            config = nginx_config(
                directory,
                https=https,
                http=http,
                untrusting_https=untrusting_https,
                web=web,
                untrusting_web=untrusting_web,
                cert=cert,
                key=key,
            )
            nginx = subprocess.Popen(
                [str(NGINX), "-c", str(config), "-p", str(directory), "-g", "daemon off;"],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            processes.append(nginx)
            for port, process in zip([*web, untrusting_web], processes, strict=False):
                _wait_ready(f"http://127.0.0.1:{port}", process, directory / f"lotse-{port}.log")
            assert nginx.poll() is None, nginx.stdout.read().decode() if nginx.stdout else ""
            yield Deployment(
                url=f"https://127.0.0.1:{https}",
                http_url=f"http://127.0.0.1:{http}",
                untrusting_url=f"https://127.0.0.1:{untrusting_https}",
                web_urls=[f"http://127.0.0.1:{port}" for port in web],
                cert=cert,
                engine=engine,
            )
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


def browser(url: str, cert: Path, **headers: str) -> httpx2.Client:
    """A client on 127.0.0.2 that trusts only the test's certificate."""
    context = ssl.create_default_context(cafile=str(cert))
    transport = httpx2.HTTPTransport(verify=context, local_address=CLIENT_ADDRESS)
    return httpx2.Client(base_url=url, transport=transport, headers=headers, timeout=30)


def last_login_address(engine, who: str) -> str | None:
    with Session(engine) as session:
        event = session.exec(
            select(AuditEvent)
            .where(
                AuditEvent.action == "login.succeeded", AuditEvent.actor_email == PASSWORDS[who][0]
            )
            .order_by(col(AuditEvent.at).desc())
        ).first()
    return event.ip_address if event else None


def test_log_in_search_and_refer_through_nginx_with_tls(deployment):
    with browser(deployment.url, deployment.cert, **{"X-Forwarded-For": FORGED}) as person:
        first = person.get("/login")
        assert first.status_code == 200
        assert first.headers["strict-transport-security"].startswith("max-age=")
        # nginx's request id reaches Lotse and comes back.
        assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
        csrf_cookie = next(c for c in first.headers.get_list("set-cookie") if "lotse_csrf" in c)
        assert "secure" in csrf_cookie.lower()

        signed_in = login(person, "case_manager")
        assert signed_in.status_code == 303, signed_in.text
        session_cookie = next(
            c for c in signed_in.headers.get_list("set-cookie") if "lotse_session" in c
        )
        assert "secure" in session_cookie.lower() and "httponly" in session_cookie.lower()

        found = person.get("/services", params={"q": "Deutschkurs"})
        assert found.status_code == 200 and "Integrationskurs" in found.text
        api = person.get("/api/v1/search", params={"q": "Deutschkurs"})
        assert api.status_code == 200 and api.json()["items"]

        client_id = new_client(person, alias="Nachtfalter")
        consent(person, client_id)
        referral_id = draft(person, client_id)
        assert act(person, referral_id, "sent").status_code == 303
        assert "Nachtfalter" in person.get(f"/referrals/{referral_id}").text

    # nginx replaced the made-up X-Forwarded-For with the address it saw.
    assert last_login_address(deployment.engine, "case_manager") == CLIENT_ADDRESS


def test_plain_http_is_sent_to_https(deployment):
    response = httpx2.get(f"{deployment.http_url}/login", follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"].startswith("https://127.0.0.1")


def test_a_proxy_that_is_not_trusted_is_recorded_as_the_address(deployment):
    # The same nginx site in front of a Lotse process without LOTSE_TRUSTED_PROXIES: the
    # audit log shows the proxy, not what the proxy claims about the client.
    with browser(deployment.untrusting_url, deployment.cert) as person:
        assert login(person, "partner_staff").status_code == 303
    assert last_login_address(deployment.engine, "partner_staff") == "127.0.0.1"


def test_forwarded_headers_from_anyone_but_the_proxy_are_ignored(deployment):
    # A Lotse process that trusts nginx, reached directly by someone who is not nginx.
    with browser(deployment.web_urls[0], deployment.cert, **{"X-Forwarded-For": FORGED}) as person:
        page = person.get("/login")
        token = page.cookies.get("lotse_csrf")
        email, password = PASSWORDS["coordinator"]
        response = person.post(
            "/login",
            data={"csrf_token": token, "email": email, "password": password, "next": "/"},
            headers={"Cookie": f"lotse_csrf={token}"},
        )
        assert response.status_code == 303, response.text
    assert last_login_address(deployment.engine, "coordinator") == CLIENT_ADDRESS
