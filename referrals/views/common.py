"""What the referral pages share: the labels and taxonomy every page shows, and the referral's
own page, which both sides see and every step on it renders again when it is refused."""

from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from directory import listings
from directory.translations import Localizer
from lotse import i18n
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.errors import LotseError
from lotse.models import Role
from lotse.templating import render
from partners.models import PartnerOrganization
from referrals import labels, sides, thread, workflow
from referrals.dependencies import Case
from referrals.inputs import BARRIERS, CONTACT_WAYS
from referrals.labels import status_label
from referrals.models import Client, DataCategory, Referral, ReferralStatus


def page_context(session: SessionDep) -> dict[str, Any]:
    """The localizer, the taxonomy and the label functions the referral templates use."""
    loc = Localizer(session=session, language=i18n.get_language())
    tree = listings.taxonomy_tree(session=session)
    loc.load([node.term for node in tree] + [c.term for node in tree for c in node.children])
    return {
        "loc": loc,
        "tree": tree,
        "target_groups": listings.target_groups(session=session),
        "status_label": status_label,
        "category_label": labels.category_label,
        "reason_label": labels.reason_label,
        "capacity_label": lambda code: i18n.gettext(listings.CAPACITY_LABELS[code]),
        "data_categories": list(DataCategory),
    }


def referral_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    case: Case,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The referral with its shared client data, timeline, messages and the next steps."""
    referral, side = case.referral, case.side
    client = session.get(Client, referral.client_id)
    assert client is not None
    today = date.today()
    consent = sides.consent_of(session=session, referral=referral, today=today)
    service = listings.get_service(session=session, service_id=referral.service_id)
    context = page_context(session)
    context["loc"].load([service, service.organization])
    acting_sides = [side] + (["admin"] if principal.has_role(Role.admin) else [])
    timeline = thread.timeline(session=session, referral=referral)
    can_link = side == "sender" and referral.status in (
        ReferralStatus.declined,
        ReferralStatus.expired,
    )
    return render(
        request,
        "referrals/referral_detail.html",
        {
            **context,
            "referral": referral,
            "side": side,
            "client": client,
            "shared": sides.shared_client(
                referral=referral, client=client, consent=consent, today=today
            ),
            "consent": consent,
            "service": service,
            "recipient": session.get(PartnerOrganization, referral.recipient_organization_id),
            "sender_org": session.get(PartnerOrganization, referral.sender_organization_id),
            "timeline": timeline,
            "people": sides.people_on(session=session, referral=referral, timeline=timeline),
            "targets": workflow.legal_targets(ReferralStatus(referral.status), acting_sides),
            "decline_reasons": workflow.DECLINE_REASONS,
            "not_completed_reasons": workflow.NOT_COMPLETED_REASONS,
            "cancel_reasons": [
                reason
                for reason in workflow.CANCEL_REASONS
                if reason not in workflow.SYSTEM_CANCEL_REASONS
            ],
            "outcomes": workflow.OUTCOMES,
            "hold_kinds": workflow.HOLD_KINDS,
            "barriers": BARRIERS,
            "contact_ways": CONTACT_WAYS,
            "error": error,
            "can_link": can_link,
            "ui_languages_all": i18n.KNOWN_LANGUAGES,
            "alternatives": sides.alternatives(session=session, referral=referral)
            if can_link
            else [],
            "previous_referral": session.get(Referral, referral.previous_referral_id)
            if referral.previous_referral_id
            else None,
        },
        status_code=status_code,
    )


def refused(
    request: Request, session: SessionDep, principal: Principal, case: Case, error: LotseError
) -> HTMLResponse:
    """A step on the referral's page was refused: undo what it began, show the page as it is
    now with the reason, and answer the error's status (409 when someone else was quicker)."""
    session.rollback()
    session.refresh(case.referral)
    return referral_page(
        request,
        session,
        principal,
        case,
        error=error.translated(),
        status_code=error.status_code,
    )
