"""``lotse jobs``: the scheduled work, for cron or a systemd timer.

Registered in ``lotse/cli.py`` as the sub-command ``jobs``.
"""

import logging
from collections.abc import Callable
from functools import partial

import typer
from sqlmodel import Session

from directory.upkeep.reminders import remind_stale_providers
from lotse import commands, migrate
from lotse.commands import console
from lotse.db import DatabaseError, make_engine, writing
from lotse.mailer import SessionFactory
from lotse.metrics import counted_job
from lotse.settings import Settings, get_settings
from referrals.jobs import run_jobs

app = typer.Typer(
    help="Scheduled work: referral reminders and expiry, stale-listing reminders, email delivery.",
    no_args_is_help=True,
)

# Scheduled work of the domains above this one, added by lotse/cli.py (which may import them;
# referrals may not). Each runs before the referral jobs, whose last step delivers the outbox,
# and answers with a line for the summary (empty when it did nothing).
JobStep = Callable[[SessionFactory, Settings], str]
EARLIER_JOBS: dict[str, JobStep] = {}
# Likewise after the referral jobs (the retention run of privacy/: it removes what the referral
# jobs may just have made due).
LATER_JOBS: dict[str, JobStep] = {}


_fail = commands.fail


@app.command("run")
def run() -> None:
    """Remind partners, expire unanswered referrals and send due emails, once.

    The entry point adds the scheduled work of the packages above (the retention of personal
    data, as `lotse privacy retention`). Meant to run every few minutes (cron or a systemd timer). Several runs at the same moment,
    also on several machines sharing one PostgreSQL database, do each piece of work once.
    """
    try:
        settings = get_settings()
    except ValueError as error:
        _fail(f"invalid configuration:\n{error}")
    # Without LOTSE_SMTP_HOST the emails go to the log "lotse.mail", so Lotse's own log must
    # be visible; the libraries' (Alembic's schema check) only when something is wrong.
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("lotse").setLevel(settings.log_level)
    engine = make_engine(settings.database_url)
    try:
        migrate.ensure_current(engine)
        # Before the referral jobs, whose last step delivers the outbox with these reminders.
        with counted_job("stale_listings"):
            stale = remind_stale_providers(
                session_factory=partial(Session, writing(engine)), settings=settings
            )
        summaries = []
        for name, job in EARLIER_JOBS.items():
            with counted_job(name):
                summaries.append(job(partial(Session, writing(engine)), settings))
        with counted_job("referrals"):
            report = run_jobs(session_factory=partial(Session, writing(engine)), settings=settings)
        for name, job in LATER_JOBS.items():
            with counted_job(name):
                summaries.append(job(partial(Session, writing(engine)), settings))
    except DatabaseError as error:
        _fail(str(error))
    finally:
        engine.dispose()
    delivery = report.delivery
    console.print(
        f"Reminders sent: {report.reminded}, referrals expired: {report.expired}, "
        f"emails sent: {delivery.sent}, failed: {delivery.failed}, pending: {delivery.pending}.",
        highlight=False,
    )
    for summary in filter(None, summaries):
        console.print(summary, highlight=False)
    if report.consents_expired or report.cancelled_for_consent:
        console.print(
            f"Expired consents: {report.consents_expired}; referrals cancelled: "
            f"{report.cancelled_for_consent}, put on hold: {report.held_for_consent}.",
            highlight=False,
        )
    if stale.organizations or stale.without_address:
        console.print(
            f"Stale listings: {stale.services} in reminders to {stale.organizations} "
            f"organisations; {stale.without_address} organisations have no email address.",
            highlight=False,
        )
