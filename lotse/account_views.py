"""Logging in and out, and each user's own account: password, language, access tokens."""

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lotse import accounts, audit, auth, i18n, oidc
from lotse.audit import Actor
from lotse.db import SessionDep
from lotse.errors import LotseError, NotFound
from lotse.models import AuditCategory, Role, User
from lotse.permissions import Access
from lotse.proxies import client_address as client_ip
from lotse.templating import render
from lotse.views import safe_next

router = APIRouter(include_in_schema=False)

SignedIn = Annotated[auth.Principal, Depends(Access.signed_in())]
SignedInChangingPassword = Annotated[
    auth.Principal, Depends(Access.signed_in(during_password_change=True))
]
TOKEN_VALIDITY_DAYS = (30, 90, 365)


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        auth.SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https" or settings.base_url.startswith("https"),
        max_age=int(settings.session_timeout_hours * 3600),
    )


SSO_STATE_COOKIE = "lotse_sso_state"


def _login_page(
    request: Request, *, status_code: int = 200, next: str = "/", **context: object
) -> HTMLResponse:
    settings = request.app.state.settings
    return render(
        request,
        "account/login.html",
        {
            "next": next,
            "email": "",
            "sso_name": settings.oidc_provider_name if settings.sso_enabled else None,
            "staff_passwords": settings.staff_password_login,
            **context,
        },
        status_code=status_code,
    )


# Where each role's day starts after logging in, the first that applies for someone with
# several: their referrals, the inbox, the review queue, the user accounts; the data protection
# officer reads no case content, only the audit log and the record of processing activities.
START_PAGES: tuple[tuple[Role, str], ...] = (
    (Role.case_manager, "referral_dashboard"),
    (Role.partner_staff, "inbox"),
    (Role.partner_admin, "inbox"),
    (Role.coordinator, "review_queue"),
    (Role.admin, "user_list"),
    (Role.privacy_officer, "audit_log"),
)


def _start_page(request: Request, *, roles: frozenset[Role]) -> str:
    for role, route in START_PAGES:
        if role in roles:
            return request.app.url_path_for(route)
    return "/"


def _signed_in(
    request: Request,
    session: SessionDep,
    user: User,
    target: str,
    *,
    id_token: str | None = None,
) -> Response:
    """A fresh session for this user, with its cookies, on the way to ``target``."""
    if target == "/":
        target = _start_page(request, roles=auth.roles_of(session=session, user_id=user.id))
    old = request.cookies.get(auth.SESSION_COOKIE)
    if old:
        auth.end_session(session=session, token=old)
    token = auth.start_session(
        session=session,
        user=user,
        ip_address=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        id_token=id_token,
    )
    session.commit()
    response = RedirectResponse(target, status_code=303)
    _set_session_cookie(request, response, token)
    if user.language and i18n.is_ui_language(user.language):
        response.set_cookie(
            i18n.LANGUAGE_COOKIE,
            user.language,
            httponly=True,
            samesite="lax",
            max_age=365 * 24 * 3600,
        )
    return response


@router.get(
    "/login", name="login", dependencies=[Depends(Access.public())], response_class=HTMLResponse
)
def login_form(request: Request, next: str | None = None, reason: str | None = None) -> Response:
    return _login_page(request, next=safe_next(next), reason=reason)


@router.post("/login", name="login_submit", dependencies=[Depends(Access.public())])
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    settings = request.app.state.settings
    try:
        user = accounts.authenticate(
            session=session,
            email=email,
            password=password,
            ip_address=client_ip(request),
            staff_passwords=settings.staff_password_login,
            # The attempt's count is committed before the slow hash: parallel attempts see it,
            # and no row or database lock is held while the password is checked.
            after_count=session.commit,
            provider_name=settings.oidc_provider_name,
        )
    except LotseError as error:
        # Failed attempts are recorded even though the login is refused.
        session.commit()
        return _login_page(
            request,
            next=safe_next(next),
            error=error.translated(),
            email=email,
            status_code=error.status_code,
        )
    target = "/account/password" if user.must_change_password else safe_next(next)
    return _signed_in(request, session, user, target)


@router.get("/login/sso", name="sso_login", dependencies=[Depends(Access.public())])
def sso_login(
    request: Request,
    session: SessionDep,
    next: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    """Off to the OpenID provider, with a state bound to this browser by a short-lived cookie."""
    settings = request.app.state.settings
    if not settings.sso_enabled:
        raise oidc.SsoNotConfigured()
    try:
        url, state = oidc.begin(session=session, settings=settings, next_path=safe_next(next))
    except oidc.SsoFailure as failure:
        session.rollback()
        oidc.record_failure(
            session=session, settings=settings, failure=failure, ip_address=client_ip(request)
        )
        session.commit()
        return _login_page(request, error=failure.translated(), status_code=failure.status_code)
    session.commit()
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        SSO_STATE_COOKIE,
        state,
        max_age=int(oidc.LOGIN_STATE_LIFETIME.total_seconds()),
        path=oidc.CALLBACK_PATH,
        httponly=True,
        # Lax: the cookie comes along when the provider sends the browser back (a top-level GET).
        samesite="lax",
        secure=request.url.scheme == "https" or settings.base_url.startswith("https"),
    )
    return response


@router.get(oidc.CALLBACK_PATH, name="sso_callback", dependencies=[Depends(Access.public())])
def sso_callback(
    request: Request,
    session: SessionDep,
    state: Annotated[str, Query(max_length=500)] = "",
    code: Annotated[str, Query(max_length=4000)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    settings = request.app.state.settings
    if not settings.sso_enabled:
        raise oidc.SsoNotConfigured()
    try:
        login = oidc.finish(
            session=session,
            settings=settings,
            state=state,
            code=code,
            error=error,
            bound_state=request.cookies.get(SSO_STATE_COOKIE),
            ip_address=client_ip(request),
        )
    except oidc.SsoFailure as failure:
        # The used-up state and the audit entry are kept; nothing else was written.
        session.commit()
        page = _login_page(request, error=failure.translated(), status_code=failure.status_code)
        page.delete_cookie(SSO_STATE_COOKIE, path=oidc.CALLBACK_PATH)
        return page
    response = _signed_in(request, session, login.user, login.next_path, id_token=login.id_token)
    response.delete_cookie(SSO_STATE_COOKIE, path=oidc.CALLBACK_PATH)
    return response


@router.post("/logout", name="logout")
def logout(request: Request, session: SessionDep, principal: SignedInChangingPassword) -> Response:
    token = request.cookies.get(auth.SESSION_COOKIE)
    id_token = None
    if token:
        id_token = accounts.logout(
            session=session, token=token, actor=Actor.of(principal.user, client_ip(request))
        )
        session.commit()
    # A single sign-on session also ends at the provider, which then sends the browser back.
    target = oidc.end_session_url(settings=request.app.state.settings, id_token=id_token)
    response = RedirectResponse(target or "/login?reason=logged_out", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE)
    return response


def _account_page(
    request: Request, session: SessionDep, principal: auth.Principal, **extra: object
) -> HTMLResponse:
    return render(
        request,
        "account/account.html",
        {
            "principal": principal,
            "organization_name": accounts.organization_name(
                session=session, organization_id=principal.organization_id
            ),
            "tokens": auth.tokens_of(session=session, user_id=principal.id),
            "token_validity_days": TOKEN_VALIDITY_DAYS,
            "has_password": principal.user.password_hash != oidc.NO_PASSWORD,
            "sso_name": request.app.state.settings.oidc_provider_name,
            **extra,
        },
        status_code=422 if extra.get("errors") else 200,
    )


@router.get("/account", name="account", response_class=HTMLResponse)
def account(request: Request, session: SessionDep, principal: SignedIn) -> HTMLResponse:
    return _account_page(request, session, principal)


def _new_password_errors(
    new_password: str, repeat_password: str, save: Callable[[], object]
) -> dict[str, str]:
    """A new-password form's errors by field: the repetition differs, or ``save`` refuses.

    An invalid link is no field's error: it goes to the caller, which shows its own page.
    """
    if new_password != repeat_password:
        return {"repeat_password": i18n.gettext("The two new passwords are not the same.")}
    try:
        save()
    except accounts.WrongCurrentPassword as error:
        return {"current_password": error.translated()}
    except accounts.PasswordLinkInvalid:
        raise
    except LotseError as error:
        return {"new_password": error.translated()}
    return {}


@router.get("/account/password", name="password_change", response_class=HTMLResponse)
def password_form(request: Request, principal: SignedInChangingPassword) -> HTMLResponse:
    return render(request, "account/password.html", {"principal": principal})


@router.post("/account/password", name="password_change_submit")
def change_password(
    request: Request,
    session: SessionDep,
    principal: SignedInChangingPassword,
    current_password: Annotated[str, Form(max_length=1024)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
    repeat_password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    errors = _new_password_errors(
        new_password,
        repeat_password,
        lambda: accounts.change_password(
            session=session,
            user=principal.user,
            current=current_password,
            new=new_password,
            actor=Actor.of(principal.user, client_ip(request)),
            current_session_id=principal.session_id,
        ),
    )
    if errors:
        session.rollback()
        return render(
            request,
            "account/password.html",
            {"principal": principal, "errors": errors},
            status_code=422,
        )
    session.commit()
    return RedirectResponse("/account?changed=password", status_code=303)


def _invalid_link_page(request: Request, error: accounts.PasswordLinkInvalid) -> HTMLResponse:
    return render(
        request,
        "account/password_link.html",
        {"invalid": error.translated()},
        status_code=error.status_code,
    )


@router.get(
    "/account/reset/{secret}",
    name="password_link",
    dependencies=[Depends(Access.public())],
    response_class=HTMLResponse,
)
def password_link_form(
    request: Request, session: SessionDep, secret: Annotated[str, Path(max_length=100)]
) -> HTMLResponse:
    # Opening the link spends nothing: mail scanners open links before their owners do.
    try:
        accounts.password_link(session=session, secret=secret)
    except accounts.PasswordLinkInvalid as error:
        return _invalid_link_page(request, error)
    return render(request, "account/password_link.html", {"secret": secret})


@router.post(
    "/account/reset/{secret}", name="password_link_submit", dependencies=[Depends(Access.public())]
)
def set_password_by_link(
    request: Request,
    session: SessionDep,
    secret: Annotated[str, Path(max_length=100)],
    new_password: Annotated[str, Form(max_length=1024)] = "",
    repeat_password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    try:
        errors = _new_password_errors(
            new_password,
            repeat_password,
            lambda: accounts.set_password_by_link(
                session=session, secret=secret, new=new_password, ip_address=client_ip(request)
            ),
        )
    except accounts.PasswordLinkInvalid as error:
        session.rollback()
        return _invalid_link_page(request, error)
    if errors:
        session.rollback()
        return render(
            request,
            "account/password_link.html",
            {"secret": secret, "errors": errors},
            status_code=422,
        )
    session.commit()
    response = RedirectResponse("/login?reason=password_set", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE)
    return response


@router.post("/account/language", name="account_language")
def change_language(
    request: Request,
    session: SessionDep,
    principal: SignedIn,
    language: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    chosen = language if i18n.is_ui_language(language) else None
    accounts.set_language(session=session, user=principal.user, language=chosen)
    session.commit()
    response = RedirectResponse("/account?changed=language", status_code=303)
    if chosen:
        response.set_cookie(
            i18n.LANGUAGE_COOKIE, chosen, httponly=True, samesite="lax", max_age=365 * 24 * 3600
        )
    return response


@router.post("/account/tokens", name="token_create")
def create_token(
    request: Request,
    session: SessionDep,
    principal: SignedIn,
    token_name: Annotated[str, Form(max_length=120)] = "",
    valid_days: Annotated[int, Form()] = 90,
) -> Response:
    if not token_name.strip() or valid_days not in TOKEN_VALIDITY_DAYS:
        return _account_page(
            request,
            session,
            principal,
            errors={
                "token_name": i18n.gettext("Give the token a name, e.g. the program that uses it.")
            },
        )
    token, secret = auth.create_token(
        session=session, user=principal.user, name=token_name, valid_days=valid_days
    )
    audit.record(
        session=session,
        actor=Actor.of(principal.user, client_ip(request)),
        action="token.created",
        category=AuditCategory.account,
        object_type="api_token",
        object_id=token.id,
        name=token.name,
    )
    session.commit()
    return _account_page(request, session, principal, new_token=secret)


@router.post("/account/tokens/{token_id}/revoke", name="token_revoke")
def revoke_token(
    request: Request, session: SessionDep, principal: SignedIn, token_id: uuid.UUID
) -> Response:
    if not auth.revoke_token(session=session, user_id=principal.id, token_id=token_id):
        raise NotFound()
    audit.record(
        session=session,
        actor=Actor.of(principal.user, client_ip(request)),
        action="token.revoked",
        category=AuditCategory.account,
        object_type="api_token",
        object_id=token_id,
    )
    session.commit()
    return RedirectResponse("/account?changed=token", status_code=303)
