"""Managing organisations that take part, and their staff's accounts.

Coordinators and admins manage every organisation. Who may act on which account is one rule,
``may_manage_account`` in lotse/permissions.py: admins every other account, coordinators only
accounts with no rights beyond theirs, partner administrators their own organisation's partner
staff; another organisation's accounts do not exist for a partner administrator (404).
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lotse import accounts, i18n
from lotse.account_views import client_ip
from lotse.audit import Actor
from lotse.auth import Principal, roles_of
from lotse.db import SessionDep
from lotse.errors import LotseError
from lotse.models import Role, User
from lotse.permissions import (
    Access,
    AccountHolder,
    Forbidden,
    Permission,
    assignable_roles,
    may_manage_account,
    permissions_of,
)
from lotse.templating import render
from partners import organizations
from partners.organizations import PartnerIn

router = APIRouter(include_in_schema=False, prefix="/admin")

ManagesPartners = Annotated[Principal, Depends(Access.allowed(Permission.manage_partners))]
ManagesAccounts = Annotated[
    Principal, Depends(Access.allowed(Permission.manage_users, Permission.manage_own_staff))
]


def _actor(request: Request, principal: Principal) -> Actor:
    return Actor.of(principal.user, client_ip(request))


# --- organisations --------------------------------------------------------------------------


@router.get("/organizations", name="partner_list", response_class=HTMLResponse)
def partner_list(request: Request, session: SessionDep, principal: ManagesPartners) -> HTMLResponse:
    return render(
        request,
        "partners/partner_list.html",
        {"partners": organizations.list_partners(session=session)},
    )


def _partner_form(
    request: Request,
    session: SessionDep,
    partner=None,
    errors=None,
    values: PartnerIn | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    directory_id = (
        values.directory_organization_id
        if values
        else (partner.directory_organization_id if partner else None)
    )
    chosen = (
        values.referral_service_ids
        if values
        else (
            organizations.referral_service_ids(session=session, partner_id=partner.id)
            if partner
            else set()
        )
    )
    return render(
        request,
        "partners/partner_form.html",
        {
            "partner": partner,
            "values": values,
            "errors": errors or {},
            "listings": organizations.directory_organizations(session=session),
            "services": organizations.listing_services(
                session=session, organization_id=directory_id
            ),
            "chosen_services": chosen,
            "directory_id": directory_id,
            "email_languages": list(email_languages().items()),
        },
        status_code=status_code,
    )


@router.get("/organizations/new", name="partner_new", response_class=HTMLResponse)
def partner_new(request: Request, session: SessionDep, principal: ManagesPartners) -> HTMLResponse:
    return _partner_form(request, session)


def _partner_in(
    name: str,
    notification_email: str,
    directory_organization_id: str,
    referral_services: list[str],
    notification_language: str = "",
) -> tuple[PartnerIn, dict[str, str]]:
    errors: dict[str, str] = {}
    if notification_language and notification_language not in email_languages():
        errors["notification_language"] = i18n.gettext("Please choose a language from the list.")
    if len(name.strip()) < 2:
        errors["name"] = i18n.gettext("Please enter the organisation's name.")
    email = notification_email.strip()
    if email and ("@" not in email or "." not in email.split("@")[-1]):
        errors["notification_email"] = i18n.gettext("This is not a valid email address.")
    listing = None
    try:
        listing = uuid.UUID(directory_organization_id) if directory_organization_id else None
        services = frozenset(uuid.UUID(value) for value in referral_services)
    except ValueError:
        errors["directory_organization_id"] = i18n.gettext("Please choose a listing from the list.")
        services = frozenset()
    return PartnerIn(
        name=name,
        notification_email=email or None,
        directory_organization_id=listing,
        referral_service_ids=services,
        notification_language=notification_language or None,
    ), errors


def email_languages() -> dict[str, str]:
    """The languages emails are written in: the interface's, by their own names (Leichte
    Sprache covers only the public pages and the handout, not emails)."""
    return {
        info.code: info.native_name for info in i18n.ui_languages() if info.code != i18n.EASY_GERMAN
    }


@router.post("/organizations/new", name="partner_create")
def partner_create(
    request: Request,
    session: SessionDep,
    principal: ManagesPartners,
    name: Annotated[str, Form(max_length=300)] = "",
    notification_email: Annotated[str, Form(max_length=254)] = "",
    directory_organization_id: Annotated[str, Form(max_length=40)] = "",
    referral_services: Annotated[list[str] | None, Form()] = None,
    notification_language: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    partner_in, errors = _partner_in(
        name,
        notification_email,
        directory_organization_id,
        referral_services or [],
        notification_language,
    )
    if not errors:
        try:
            partner = organizations.create_partner(
                session=session, partner_in=partner_in, actor=_actor(request, principal)
            )
        except LotseError as error:
            errors["referral_services"] = error.translated()
        else:
            session.commit()
            return RedirectResponse(f"/admin/organizations/{partner.id}?saved=1", status_code=303)
    session.rollback()
    return _partner_form(request, session, errors=errors, values=partner_in, status_code=422)


@router.get("/organizations/{partner_id}", name="partner_edit", response_class=HTMLResponse)
def partner_edit(
    request: Request, session: SessionDep, principal: ManagesPartners, partner_id: uuid.UUID
) -> HTMLResponse:
    partner = organizations.get_partner(session=session, partner_id=partner_id)
    return _partner_form(request, session, partner=partner)


@router.post("/organizations/{partner_id}", name="partner_update")
def partner_update(
    request: Request,
    session: SessionDep,
    principal: ManagesPartners,
    partner_id: uuid.UUID,
    name: Annotated[str, Form(max_length=300)] = "",
    notification_email: Annotated[str, Form(max_length=254)] = "",
    directory_organization_id: Annotated[str, Form(max_length=40)] = "",
    referral_services: Annotated[list[str] | None, Form()] = None,
    notification_language: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    partner = organizations.get_partner(session=session, partner_id=partner_id)
    partner_in, errors = _partner_in(
        name,
        notification_email,
        directory_organization_id,
        referral_services or [],
        notification_language,
    )
    if not errors:
        try:
            organizations.update_partner(
                session=session,
                partner=partner,
                partner_in=partner_in,
                actor=_actor(request, principal),
            )
        except LotseError as error:
            errors["referral_services"] = error.translated()
        else:
            session.commit()
            return RedirectResponse(f"/admin/organizations/{partner.id}?saved=1", status_code=303)
    session.rollback()
    partner = organizations.get_partner(session=session, partner_id=partner_id)
    return _partner_form(
        request, session, partner=partner, errors=errors, values=partner_in, status_code=422
    )


@router.post("/organizations/{partner_id}/active", name="partner_set_active")
def partner_set_active(
    request: Request,
    session: SessionDep,
    principal: ManagesPartners,
    partner_id: uuid.UUID,
    active: Annotated[bool, Form()] = False,
) -> Response:
    partner = organizations.get_partner(session=session, partner_id=partner_id)
    organizations.set_partner_active(
        session=session, partner=partner, active=active, actor=_actor(request, principal)
    )
    session.commit()
    return RedirectResponse(f"/admin/organizations/{partner.id}?saved=1", status_code=303)


# --- accounts -------------------------------------------------------------------------------
# Every action on an account goes through ``may_manage_account`` (lotse/permissions.py).


def _scope(principal: Principal) -> uuid.UUID | None:
    """None: every organisation; otherwise only the principal's own."""
    if Permission.manage_users in permissions_of(principal.roles):
        return None
    return principal.organization_id


def _holder(session: SessionDep, user: User) -> AccountHolder:
    return AccountHolder(
        roles=roles_of(session=session, user_id=user.id),
        organization_id=user.organization_id,
        id=user.id,
    )


def _visible_user(session: SessionDep, principal: Principal, user_id: uuid.UUID) -> User:
    """An account the principal may see; another organisation's do not exist for partner
    admins."""
    user = accounts.get_user(session=session, user_id=user_id)
    scope = _scope(principal)
    if scope is not None and user.organization_id != scope:
        raise accounts.UserNotFound()
    return user


def _managed_user(session: SessionDep, principal: Principal, user_id: uuid.UUID) -> User:
    """An account the principal may act on, or Forbidden before anything changes."""
    user = _visible_user(session, principal, user_id)
    if not may_manage_account(principal, _holder(session, user)):
        raise Forbidden()
    return user


@router.get("/users", name="user_list", response_class=HTMLResponse)
def user_list(request: Request, session: SessionDep, principal: ManagesAccounts) -> HTMLResponse:
    users = accounts.list_users(session=session, organization_id=_scope(principal))
    partners = {p.id: p for p in organizations.list_partners(session=session)}
    return render(
        request,
        "partners/user_list.html",
        {
            "users": users,
            "partners": partners,
            "roles": {user.id: roles_of(session=session, user_id=user.id) for user in users},
        },
    )


def _user_form(
    request: Request,
    session: SessionDep,
    principal: Principal,
    *,
    user=None,
    errors=None,
    values=None,
    link_sent_to=None,
    status_code: int = 200,
) -> HTMLResponse:
    scope = _scope(principal)
    partners = [
        p
        for p in organizations.list_partners(session=session, include_inactive=False)
        if scope is None or p.id == scope
    ]
    return render(
        request,
        "partners/user_form.html",
        {
            "user": user,
            "user_roles": roles_of(session=session, user_id=user.id) if user else frozenset(),
            "may_manage": user is None or may_manage_account(principal, _holder(session, user)),
            "values": values or {},
            "errors": errors or {},
            "partners": partners,
            "assignable_roles": assignable_roles(principal),
            "link_sent_to": link_sent_to,
        },
        status_code=status_code,
    )


@router.get("/users/new", name="user_new", response_class=HTMLResponse)
def user_new(request: Request, session: SessionDep, principal: ManagesAccounts) -> HTMLResponse:
    return _user_form(request, session, principal)


def _chosen_roles(
    principal: Principal, roles: list[str], errors: dict[str, str]
) -> frozenset[Role]:
    allowed = set(assignable_roles(principal))
    chosen = set()
    for value in roles:
        try:
            role = Role(value)
        except ValueError:
            continue
        if role in allowed:
            chosen.add(role)
        else:
            errors["roles"] = i18n.gettext("You cannot give this role.")
    if not chosen:
        errors.setdefault("roles", i18n.gettext("Choose at least one role."))
    return frozenset(chosen)


@router.post("/users/new", name="user_create")
def user_create(
    request: Request,
    session: SessionDep,
    principal: ManagesAccounts,
    email: Annotated[str, Form(max_length=254)] = "",
    display_name: Annotated[str, Form(max_length=120)] = "",
    organization_id: Annotated[str, Form(max_length=40)] = "",
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    errors: dict[str, str] = {}
    values = {
        "email": email,
        "display_name": display_name,
        "organization_id": organization_id,
        "roles": roles or [],
    }
    if "@" not in email or "." not in email.split("@")[-1]:
        errors["email"] = i18n.gettext("This is not a valid email address.")
    if len(display_name.strip()) < 2:
        errors["display_name"] = i18n.gettext("Please enter the person's name.")
    chosen = _chosen_roles(principal, roles or [], errors)
    scope = _scope(principal)
    try:
        org_id = uuid.UUID(organization_id) if scope is None else scope
        organizations.get_partner(session=session, partner_id=org_id)
    except (ValueError, LotseError):
        errors["organization_id"] = i18n.gettext("Please choose an organisation.")
        org_id = None
    if (
        org_id is not None
        and chosen
        and not may_manage_account(principal, AccountHolder(roles=chosen, organization_id=org_id))
    ):
        errors["roles"] = i18n.gettext("You cannot give this role.")
    if not errors and org_id is not None:
        try:
            user = accounts.create_user(
                session=session,
                user_in=accounts.NewUser(
                    email=email, display_name=display_name, organization_id=org_id, roles=chosen
                ),
                actor=_actor(request, principal),
                base_url=request.app.state.settings.base_url,
            )
        except accounts.EmailTaken as error:
            errors["email"] = error.translated()
        else:
            session.commit()
            return _user_form(request, session, principal, user=user, link_sent_to=user.email)
    session.rollback()
    return _user_form(request, session, principal, errors=errors, values=values, status_code=422)


@router.get("/users/{user_id}", name="user_edit", response_class=HTMLResponse)
def user_edit(
    request: Request, session: SessionDep, principal: ManagesAccounts, user_id: uuid.UUID
) -> HTMLResponse:
    return _user_form(request, session, principal, user=_visible_user(session, principal, user_id))


@router.post("/users/{user_id}", name="user_update")
def user_update(
    request: Request,
    session: SessionDep,
    principal: ManagesAccounts,
    user_id: uuid.UUID,
    display_name: Annotated[str, Form(max_length=120)] = "",
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    user = _managed_user(session, principal, user_id)
    errors: dict[str, str] = {}
    if len(display_name.strip()) < 2:
        errors["display_name"] = i18n.gettext("Please enter the person's name.")
    chosen = _chosen_roles(principal, roles or [], errors)
    if chosen and not may_manage_account(
        principal, AccountHolder(roles=chosen, organization_id=user.organization_id, id=user.id)
    ):
        errors["roles"] = i18n.gettext("You cannot give this role.")
    if errors:
        return _user_form(
            request,
            session,
            principal,
            user=user,
            errors=errors,
            values={"display_name": display_name, "roles": roles or []},
            status_code=422,
        )
    user.display_name = display_name.strip()
    session.add(user)
    accounts.set_roles(session=session, user=user, roles=chosen, actor=_actor(request, principal))
    session.commit()
    return RedirectResponse(f"/admin/users/{user.id}?saved=1", status_code=303)


@router.post("/users/{user_id}/active", name="user_set_active")
def user_set_active(
    request: Request,
    session: SessionDep,
    principal: ManagesAccounts,
    user_id: uuid.UUID,
    active: Annotated[bool, Form()] = False,
) -> Response:
    user = _visible_user(session, principal, user_id)
    if user.id == principal.id:
        return _user_form(
            request,
            session,
            principal,
            user=user,
            status_code=422,
            errors={"active": i18n.gettext("You cannot disable your own account.")},
        )
    user = _managed_user(session, principal, user_id)
    accounts.set_active(session=session, user=user, active=active, actor=_actor(request, principal))
    session.commit()
    return RedirectResponse(f"/admin/users/{user.id}?saved=1", status_code=303)


@router.post("/users/{user_id}/reset-password", name="user_reset_password")
def user_reset_password(
    request: Request, session: SessionDep, principal: ManagesAccounts, user_id: uuid.UUID
) -> Response:
    user = _managed_user(session, principal, user_id)
    accounts.reset_password(
        session=session,
        user=user,
        actor=_actor(request, principal),
        base_url=request.app.state.settings.base_url,
    )
    session.commit()
    return _user_form(request, session, principal, user=user, link_sent_to=user.email)
