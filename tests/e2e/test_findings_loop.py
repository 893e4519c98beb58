"""A finding's way in a real browser, with the demo users: the case manager records a finding
from a declined referral; the coordinator merges it into a similar one and forwards that to the
language school; the school answers; the coordinator marks it resolved; the case manager sees
it resolved. axe-core finds nothing on any page on the way."""

from playwright.sync_api import Page, expect
from sqlmodel import Session

from findings.models import FindingKind
from referrals.models import ReferralStatus
from tests.e2e.axe import violations
from tests.e2e.steps import log_in, log_out
from tests.findings.factories import INTEGRATION_COURSE_GAP, make_finding
from tests.referrals.factories import make_referral

SIMILAR = (
    "Im Integrationskurs am Abend gibt es keinen freien Platz, die Warteliste ist lang, "
    "seit drei Monaten."
)


def clean(page: Page) -> None:
    found = violations(page)
    assert found == [], f"{page.url}: {found}"


def test_a_finding_from_a_declined_referral_to_its_resolution(page: Page, engine):
    with Session(engine) as session:
        referral = make_referral(session=session, status=ReferralStatus.declined)
        referral.status_reason = "no_capacity"
        session.add(referral)
        earlier = make_finding(
            session,
            "other_partner",
            kind=FindingKind.not_enough_places,
            description=INTEGRATION_COURSE_GAP,
            topic=None,
            district=None,
            affected_count=5,
        )
        session.commit()
        referral_url, earlier_id = f"/referrals/{referral.id}", str(earlier.id)

    # The case manager notices the gap on the declined referral and reports it.
    log_in(page, "case_manager")
    page.goto(referral_url)
    clean(page)
    page.get_by_role("link", name="Lücke oder Fehler melden").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    clean(page)
    # A decline for lack of places speaks of too few places: the form says so already.
    expect(page.locator('input[name="kind"][value="not_enough_places"]')).to_be_checked()
    page.get_by_label("Betroffene Klient:innen (Anzahl)").fill("3")
    page.get_by_label("Was haben Sie bemerkt?").fill(SIMILAR)
    page.get_by_role("button", name="Hinweis speichern").click()
    expect(page.get_by_role("status")).to_be_visible()
    clean(page)
    own_url = page.url.split("?")[0]
    log_out(page)

    # The coordinator finds it on the board and merges it into the similar earlier finding.
    log_in(page, "coordinator")
    page.get_by_role("link", name="Hinweis-Übersicht").click()
    clean(page)
    page.goto(own_url)
    clean(page)
    page.get_by_label("Zusammenführen mit").select_option(earlier_id)
    page.locator("form", has=page.get_by_label("Zusammenführen mit")).get_by_label("Grund").fill(
        "Derselbe Engpass im Abendkurs."
    )
    page.get_by_role("button", name="Zusammenführen", exact=True).click()
    expect(page.locator(".status")).to_have_text("Zusammengeführt")
    clean(page)

    # … and forwards the merged finding to the language school with a question.
    page.goto(f"/findings/{earlier_id}")
    expect(page.get_by_text("Ein anderer Hinweis wurde mit diesem zusammengeführt")).to_be_visible()
    page.get_by_label("Dienststelle", exact=True).select_option(
        label="Sprachschule Volmetal (Demo)"
    )
    page.get_by_label("Frage an die Dienststelle").fill("Ist ein zweiter Abendkurs möglich?")
    page.get_by_role("button", name="An die Dienststelle weiterleiten").click()
    expect(page.locator(".status")).to_have_text("An eine Dienststelle weitergeleitet")
    clean(page)
    # The planning conference pack lists it among the open questions to offices.
    page.goto("/findings/board")
    # (by address: the pack's labels are not translated yet when this is written)
    page.locator('a[href$="/findings/conference"]').click()
    questions = page.locator("section", has=page.locator("#section-open-questions"))
    expect(questions.locator("tr", has_text="Sprachschule Volmetal (Demo)")).to_contain_text(
        "Seit drei Monaten"
    )
    clean(page)
    page.locator('a[href*="/findings/conference/print"]').click()
    expect(page.locator("#section-open-questions")).to_be_visible()
    clean(page)
    page.goto("/findings/board")
    log_out(page)

    # The language school answers in Lotse.
    log_in(page, "partner_staff")
    page.get_by_role("link", name="Meine Hinweise").click()
    clean(page)
    page.locator(f'a[href$="/findings/{earlier_id}"]').first.click()
    page.get_by_label("Antwort", exact=True).fill("Ab März gibt es einen zweiten Abendkurs.")
    page.get_by_role("button", name="Antwort senden").click()
    expect(page.locator(".status")).to_have_text("Beantwortet")
    clean(page)
    log_out(page)

    # The coordinator closes it with the answer.
    log_in(page, "coordinator")
    page.goto(f"/findings/{earlier_id}")
    page.get_by_label("Was getan wurde").fill("Zweiter Abendkurs ab März.")
    page.get_by_role("button", name="Als erledigt markieren").click()
    expect(page.locator(".status")).to_have_text("Erledigt")
    clean(page)
    log_out(page)

    # The case manager follows the finding they reported into the merged one: resolved.
    log_in(page, "case_manager")
    page.get_by_role("link", name="Meine Hinweise").click()
    row = page.locator("tr", has=page.locator(f'a[href$="/findings/{earlier_id}"]'))
    expect(row.locator(".status")).to_have_text("Erledigt")
    clean(page)
    page.locator(f'a[href$="/findings/{earlier_id}"]').first.click()
    expect(page.get_by_text("Ab März gibt es einen zweiten Abendkurs.")).to_be_visible()
    clean(page)
