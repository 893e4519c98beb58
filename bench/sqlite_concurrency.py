"""Concurrent users on SQLite and on PostgreSQL: server errors, throughput and latency.

``python -m bench.sqlite_concurrency`` seeds the Hagen demo (directory, one account per role,
demo referrals) into a fresh database per backend, starts ``lotse serve`` on it and lets 16
users work at once for 60 s: people searching the public directory, case managers logging
in, opening their clients and referrals and writing messages, partner staff reading their
inbox and answering. Every request counts; a 5xx or a dropped connection is an error. The two
backends are printed side by side.

Options: ``--seconds 10`` for a short run, ``--users``, ``--backends sqlite`` (or
``postgresql``), ``--source DIR`` to serve another checkout of Lotse (a "before" figure), and
``--postgres-url`` for the server that gets the scratch database ``lotse_bench_concurrency``.
The run is bounded: each server gets 90 s to start and each request 30 s.
"""

import argparse
import contextlib
import http.cookiejar
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.server import lotse_serve

HOST = "127.0.0.1"
PORT = 8878
SCRATCH_DATABASE = "lotse_bench_concurrency"
SQLITE_FILE = Path(tempfile.gettempdir()) / "lotse-bench-concurrency.db"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REQUEST_TIMEOUT_S = 30
SEARCHES = ("deutschkurs", "wohnung", "kita", "beratung", "arzt", "sprachkurs", "schulden")
# The demo accounts' public passwords (seed_data/hagen/demo_accounts.json).
CASE_MANAGER = ("fallmanagement@demo.lotse.example.org", "Lotse-Fall-2026")
PARTNER = ("kurse@demo.lotse.example.org", "Lotse-Kurs-2026")


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- the database and the server ------------------------------------------------------------


def _fresh_url(backend: str, postgres_url: str) -> str:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{SQLITE_FILE}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{SCRATCH_DATABASE}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{SCRATCH_DATABASE}"'))
    admin.dispose()
    return (
        make_url(postgres_url).set(database=SCRATCH_DATABASE).render_as_string(hide_password=False)
    )


def _drop_scratch(postgres_url: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{SCRATCH_DATABASE}" WITH (FORCE)'))
    admin.dispose()


def _environment(database_url: str, source: Path | None) -> dict[str, str]:
    env = {**os.environ, "LOTSE_DATABASE_URL": database_url, "LOTSE_ENVIRONMENT": "demo"}
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    return env


def _lotse(*arguments: str) -> list[str]:
    return [sys.executable, "-c", "from lotse.cli import app; app()", *arguments]


@dataclass
class Targets:
    """What the simulated people open: ids read from the seeded database."""

    services: list[str]
    clients: list[str]
    sender_referrals: list[str]
    partner_referrals: list[str]


def _targets(database_url: str, env: dict[str, str], cwd: Path) -> Targets:
    script = """
import json, sys
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1])
def ids(sql, **params):
    with engine.connect() as c:
        return [str(r[0]) for r in c.execute(text(sql), params)]
cm, partner = sys.argv[2], sys.argv[3]
open_ = "('sent','accepted','in_progress','on_hold')"
print(json.dumps({
  "services": ids("SELECT id FROM service ORDER BY name LIMIT 40"),
  "clients": ids("SELECT c.id FROM client c JOIN user_account u ON u.id = c.case_manager_id"
                 " WHERE u.email = :e", e=cm),
  "sender_referrals": ids("SELECT r.id FROM referral r JOIN user_account u ON u.id = r.sender_id"
                          " WHERE u.email = :e AND r.status IN " + open_, e=cm),
  "partner_referrals": ids("SELECT r.id FROM referral r JOIN user_account u"
                           " ON u.organization_id = r.recipient_organization_id"
                           " WHERE u.email = :e AND r.status IN " + open_, e=partner),
}))
"""
    import json

    done = subprocess.run(
        [sys.executable, "-c", script, database_url, CASE_MANAGER[0], PARTNER[0]],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return Targets(**json.loads(done.stdout))


@contextlib.contextmanager
def serving(database_url: str, *, source: Path | None, port: int) -> Any:
    env = _environment(database_url, source)
    cwd = source or Path.cwd()
    say("migrating and seeding the Hagen demo (directory, accounts, referrals)")
    for step in (("db", "upgrade"), ("seed",)):
        subprocess.run(_lotse(*step), env=env, cwd=cwd, check=True, capture_output=True)

    def answers() -> bool:
        with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=5) as answer:
            return answer.status == 200

    with lotse_serve(
        _lotse("serve", "--host", HOST, "--port", str(port), "--no-access-log"),
        env=env,
        cwd=cwd,
        ready=answers,
        say=say,
        log_prefix="lotse-bench-concurrency-",
        keep_log=True,
    ) as log_name:
        # The first search builds the process's index: not part of what is measured.
        with urllib.request.urlopen(
            f"http://{HOST}:{port}/api/v1/search?q=kita", timeout=120
        ) as answer:
            answer.read()
        yield _targets(database_url, env, cwd), log_name


# --- the people -----------------------------------------------------------------------------


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    by_action: Counter[str] = field(default_factory=Counter)
    server_errors: Counter[str] = field(default_factory=Counter)
    dropped: int = 0

    def add(self, action: str, status: int, elapsed_ms: float) -> None:
        with self.lock:
            self.latencies_ms.append(elapsed_ms)
            self.statuses[status] += 1
            self.by_action[action] += 1
            if status >= 500 or status == 0:
                self.server_errors[f"{action} {status}"] += 1
            if status == 0:
                self.dropped += 1


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Person:
    def __init__(self, base_url: str, tally: Tally, seed: int) -> None:
        self.base_url = base_url
        self.tally = tally
        self.random = random.Random(seed)
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def request(self, action: str, path: str, form: dict[str, str] | None = None) -> int:
        data = None
        if form is not None:
            csrf = next((c.value for c in self.cookies if c.name == "lotse_csrf"), "")
            data = urllib.parse.urlencode({"csrf_token": csrf, **form}).encode()
        started = time.perf_counter()
        try:
            with self.opener.open(
                urllib.request.Request(f"{self.base_url}{path}", data=data),  # noqa: S310
                timeout=REQUEST_TIMEOUT_S,
            ) as answer:
                answer.read()
                status = answer.status
        except urllib.error.HTTPError as error:
            error.read()
            status = error.code
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            status = 0
        self.tally.add(action, status, (time.perf_counter() - started) * 1000)
        return status

    def search(self) -> None:
        query = urllib.parse.quote(self.random.choice(SEARCHES))
        if self.random.random() < 0.5:
            self.request("search page", f"/services?q={query}")
        else:
            self.request("search api", f"/api/v1/search?q={query}")

    def login(self, account: tuple[str, str]) -> None:
        if not any(c.name == "lotse_csrf" for c in self.cookies):
            self.request("login page", "/login")
        email, password = account
        self.request("login", "/login", {"email": email, "password": password, "next": "/"})


def _anonymous(person: Person, targets: Targets) -> None:
    if person.random.random() < 0.6 or not targets.services:
        person.search()
    else:
        person.request("service page", f"/services/{person.random.choice(targets.services)}")


@dataclass(frozen=True)
class Party:
    """How a party to referrals works: their account, their start page (action, path) and the
    rolls below which they open it, or write in one of their referrals, and what they write."""

    account: tuple[str, str]
    home: tuple[str, str]
    home_below: float
    posts_below: float
    body: str


SENDING = Party(CASE_MANAGER, ("dashboard", "/referrals"), 0.25, 0.8, "Kurze Rückfrage (Last)")
RECEIVING = Party(PARTNER, ("inbox", "/inbox"), 0.35, 0.85, "Termin folgt (Last)")


def _party(person: Person, roll: float, party: Party, referrals: list[str]) -> None:
    """Sign in now and then, open the start page, open a referral, write in one, or search."""
    if roll < 0.1:
        person.login(party.account)
    elif roll < party.home_below:
        person.request(*party.home)
    elif roll < 0.65 and referrals:
        person.request("open referral", f"/referrals/{person.random.choice(referrals)}")
    elif roll < party.posts_below and referrals:
        referral = person.random.choice(referrals)
        person.request("post message", f"/referrals/{referral}/messages", {"body": party.body})
    else:
        person.search()


def _case_manager(person: Person, targets: Targets) -> None:
    roll = person.random.random()
    if 0.25 <= roll < 0.45 and targets.clients:
        person.request("open client", f"/clients/{person.random.choice(targets.clients)}")
    else:
        _party(person, roll, SENDING, targets.sender_referrals)


def _partner(person: Person, targets: Targets) -> None:
    _party(person, person.random.random(), RECEIVING, targets.partner_referrals)


ROLES = (("anonymous", _anonymous), ("case manager", _case_manager), ("partner", _partner))


def load(base_url: str, targets: Targets, *, users: int, seconds: float) -> dict[str, Any]:
    tally = Tally()
    barrier = threading.Barrier(users + 1)
    go = threading.Event()
    stop = 0.0  # set when everyone has logged in: only the timed period counts

    def work(number: int) -> None:
        person = Person(base_url, tally, seed=number)
        role, act = ROLES[number % len(ROLES)]
        if role == "case manager":
            person.login(CASE_MANAGER)
        elif role == "partner":
            person.login(PARTNER)
        barrier.wait()
        go.wait()
        while time.monotonic() < stop:
            act(person, targets)

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(users)]
    for thread in threads:
        thread.start()
    say(f"  {users} people log in and get ready")
    barrier.wait(timeout=300)
    tally = _reset(tally)
    started = time.monotonic()
    stop = started + seconds
    go.set()
    while any(thread.is_alive() for thread in threads):
        time.sleep(min(5.0, max(0.1, stop - time.monotonic())))
        if time.monotonic() < stop:
            with tally.lock:
                done, errors = len(tally.latencies_ms), sum(tally.server_errors.values())
            say(f"  {time.monotonic() - started:4.0f} s: {done} requests, {errors} server errors")
        if time.monotonic() > stop + REQUEST_TIMEOUT_S + 5:
            break
    elapsed = time.monotonic() - started
    return _figures(tally, elapsed)


def _reset(tally: Tally) -> Tally:
    """Forget the logins before the start: only the timed period counts."""
    with tally.lock:
        tally.latencies_ms.clear()
        tally.statuses.clear()
        tally.by_action.clear()
        tally.server_errors.clear()
        tally.dropped = 0
    return tally


def _figures(tally: Tally, elapsed: float) -> dict[str, Any]:
    with tally.lock:
        latencies = sorted(tally.latencies_ms)
        count = len(latencies)

        def percentile(share: float) -> float:
            return latencies[min(count - 1, int(share * count))] if count else 0.0

        return {
            "requests": count,
            "seconds": elapsed,
            "throughput": count / elapsed if elapsed else 0.0,
            "server_errors": sum(tally.server_errors.values()),
            "dropped": tally.dropped,
            "p50_ms": percentile(0.50),
            "p95_ms": percentile(0.95),
            "statuses": dict(sorted(tally.statuses.items())),
            "errors_by_action": dict(tally.server_errors.most_common()),
            "actions": dict(tally.by_action.most_common()),
        }


# --- the run --------------------------------------------------------------------------------


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sqlite_concurrency", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="timed load per backend")
    parser.add_argument("--users", type=int, default=16, help="people working at once")
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument(
        "--postgres-url", default=DEFAULT_POSTGRES, help="server for the scratch DB"
    )
    parser.add_argument("--source", type=Path, help="serve this checkout of Lotse instead")
    parser.add_argument("--port", type=int, default=PORT)
    return parser.parse_args(argv)


def report(results: dict[str, dict[str, Any]]) -> str:
    names = list(results)
    rows = [
        ("requests", "requests", "{:.0f}"),
        ("seconds", "seconds", "{:.1f}"),
        ("requests/s", "throughput", "{:.1f}"),
        ("server errors (5xx)", "server_errors", "{:.0f}"),
        ("dropped connections", "dropped", "{:.0f}"),
        ("p50 ms", "p50_ms", "{:.1f}"),
        ("p95 ms", "p95_ms", "{:.1f}"),
    ]
    lines = [f"{'':22}" + "".join(f"{name:>14}" for name in names)]
    for label, key, form in rows:
        lines.append(f"{label:22}" + "".join(f"{form.format(results[n][key]):>14}" for n in names))
    for name in names:
        lines.append(f"{name} statuses: {results[name]['statuses']}")
        if results[name]["errors_by_action"]:
            lines.append(f"{name} server errors by action: {results[name]['errors_by_action']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown:
        raise SystemExit(f"unknown backend(s): {', '.join(sorted(unknown))}")
    results: dict[str, dict[str, Any]] = {}
    for backend in backends:
        say(f"{backend}: a fresh database")
        url = _fresh_url(backend, args.postgres_url)
        try:
            with serving(url, source=args.source, port=args.port) as (targets, log_name):
                say(
                    f"{backend}: {args.users} users for {args.seconds:.0f} s"
                    f" ({len(targets.clients)} clients, {len(targets.sender_referrals)}"
                    f" + {len(targets.partner_referrals)} open referrals)"
                )
                results[backend] = load(
                    f"http://{HOST}:{args.port}", targets, users=args.users, seconds=args.seconds
                )
                figures = results[backend]
                say(
                    f"{backend}: {figures['requests']} requests, {figures['throughput']:.1f}/s,"
                    f" {figures['server_errors']} server errors, p50 {figures['p50_ms']:.0f} ms,"
                    f" p95 {figures['p95_ms']:.0f} ms"
                )
                if figures["server_errors"]:
                    say(f"{backend}: the server's log is kept in {log_name}")
                else:
                    os.unlink(log_name)
        finally:
            if backend == "postgresql":
                _drop_scratch(args.postgres_url)
    print()
    print(report(results))


if __name__ == "__main__":
    main()
