"""Single sign-on through the city's OpenID Connect provider: the authorization code flow with PKCE.

Authlib's OAuth 2.0 client builds the authorization request (with the S256 code challenge) and
exchanges the code at the token endpoint; joserfc, Authlib's JOSE library, checks the ID
token's signature against the provider's published keys (JWKS), and ``verify_id_token`` checks
its issuer, audience, expiry and nonce. The state, nonce and code verifier wait in the database
(``oidc_login_state``), so the callback may reach any app process, and each is used once.

Who someone is in Lotse follows from the provider's subject (``sub``); a first login links an
existing account with the same verified email address. Roles and organisation come from
configurable claims, or an administrator assigns them (``LOTSE_OIDC_ROLE_ASSIGNMENT``). Every
login through the provider, refused or not, is written to the audit log.
"""

import hashlib
import hmac
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
)
from joserfc.jwk import KeySet
from sqlalchemy import delete
from sqlmodel import Session, col, select

from lotse import accounts, audit, auth
from lotse.audit import Actor
from lotse.errors import LotseError, NotFound
from lotse.i18n import N_
from lotse.models import AuditCategory, OidcLoginState, Role, User, partner_organization
from lotse.settings import Settings
from lotse.timeutil import utcnow

# A login not finished within this time must be started again.
LOGIN_STATE_LIFETIME = timedelta(minutes=10)
# Clock difference tolerated between Lotse and the provider when checking exp and iat.
LEEWAY_SECONDS = 60
# How long a process trusts the provider's discovery document and keys; unknown key ids
# fetch the keys again at once, so a key rotation needs no restart.
METADATA_SECONDS = 3600
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
# An account created by single sign-on has no password: this is no valid hash, so no password
# ever matches it.
NO_PASSWORD = "!sso"  # noqa: S105 - a marker, not a secret
CALLBACK_PATH = "/login/sso/callback"
LOGGED_OUT_PATH = "/login?reason=logged_out"


class SsoNotConfigured(NotFound):
    code = "sso_not_configured"
    message = N_("Single sign-on is not set up for this installation.")


class SsoFailure(LotseError):
    """A login through the provider that did not succeed; ``reason`` goes to the audit log."""

    status_code = 403
    code = "sso_failed"
    reason = "failed"

    def __init__(
        self, message: str | None = None, *, reason: str | None = None, **variables: Any
    ) -> None:
        super().__init__(message, **variables)
        self.reason = reason or self.reason
        self.user: User | None = None


class SsoUnavailable(SsoFailure):
    status_code = 502
    code = "sso_unavailable"
    reason = "provider_unreachable"
    message = N_("%(provider)s cannot be reached right now. Please try again in a few minutes.")


class SsoStateInvalid(SsoFailure):
    status_code = 400
    code = "sso_state_invalid"
    reason = "state"
    message = N_("This login has expired or was already used. Please start the login again.")


class SsoRefused(SsoFailure):
    code = "sso_refused"
    reason = "provider_error"
    message = N_("%(provider)s did not confirm your login. Please try again.")


class SsoTokenInvalid(SsoFailure):
    code = "sso_token_invalid"
    reason = "token"
    message = N_(
        "The login confirmation from %(provider)s could not be verified, so you were not "
        "logged in. Please try again; if this keeps happening, tell your administrator."
    )


class SsoNoRole(SsoFailure):
    code = "sso_no_role"
    reason = "no_role"
    message = N_(
        "Your account at %(provider)s does not give you access to Lotse. Please ask your "
        "administrator."
    )


class SsoWaitingForRole(SsoFailure):
    code = "sso_waiting"
    reason = "waiting_for_role"
    message = N_(
        "Your account is known to Lotse, but an administrator has not yet given it a role. "
        "You can log in as soon as that is done."
    )


class SsoNoOrganization(SsoFailure):
    code = "sso_no_organization"
    reason = "no_organization"
    message = N_(
        "Lotse cannot tell which organisation you belong to. Please ask your administrator."
    )


class SsoAccountConflict(SsoFailure):
    status_code = 409
    code = "sso_account_conflict"
    reason = "email_not_verified"
    message = N_(
        "A Lotse account with your email address exists, but %(provider)s has not confirmed "
        "that the address is yours. Please ask your administrator to link the accounts."
    )


class SsoNoEmail(SsoFailure):
    code = "sso_no_email"
    reason = "no_email"
    message = N_(
        "%(provider)s did not tell Lotse your email address. Please ask your administrator."
    )


class SsoDisabled(SsoFailure):
    code = "account_disabled"
    reason = "account_disabled"
    message = accounts.AccountDisabled.message


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _provider(settings: Settings) -> dict[str, str]:
    return {"provider": settings.oidc_provider_name}


# --- the provider's metadata and keys, cached per process -----------------------------------


@dataclass
class _Reading:
    value: Any
    at: float


_cache_lock = threading.Lock()
_cache: dict[str, _Reading] = {}


def _get_json(settings: Settings, url: str) -> dict[str, Any]:
    try:
        response = httpx2.get(url, timeout=settings.oidc_timeout_seconds)
        response.raise_for_status()
        body = response.json()
    except (httpx2.HTTPError, ValueError) as error:
        raise SsoUnavailable(**_provider(settings)) from error
    if not isinstance(body, dict):
        raise SsoUnavailable(**_provider(settings))
    return body


def _cached(key: str, fetch: Any, *, fresh: bool = False) -> Any:
    now = time.monotonic()
    with _cache_lock:
        reading = _cache.get(key)
    if fresh or reading is None or now - reading.at > METADATA_SECONDS:
        reading = _Reading(fetch(), now)
        with _cache_lock:
            _cache[key] = reading
    return reading.value


def forget_provider_metadata() -> None:
    with _cache_lock:
        _cache.clear()


def metadata(settings: Settings) -> dict[str, Any]:
    """The provider's discovery document; its issuer must be the configured one."""
    issuer = settings.oidc_issuer
    if issuer is None:
        raise SsoNotConfigured()

    def fetch() -> dict[str, Any]:
        document = _get_json(settings, f"{issuer}/.well-known/openid-configuration")
        if document.get("issuer") != issuer or "authorization_endpoint" not in document:
            raise SsoUnavailable(**_provider(settings))
        return document

    value: dict[str, Any] = _cached(f"metadata {issuer}", fetch)
    return value


def signing_keys(settings: Settings, *, fresh: bool = False) -> KeySet:
    jwks_uri = metadata(settings).get("jwks_uri")
    if not jwks_uri:
        raise SsoUnavailable(**_provider(settings))

    def fetch() -> KeySet:
        try:
            return KeySet.import_key_set(_get_json(settings, jwks_uri))  # type: ignore[arg-type]
        except (JoseError, KeyError, TypeError, ValueError) as error:
            raise SsoUnavailable(**_provider(settings)) from error

    keys: KeySet = _cached(f"jwks {jwks_uri}", fetch, fresh=fresh)
    return keys


def _client(settings: Settings) -> OAuth2Client:
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
    return OAuth2Client(
        client_id=settings.oidc_client_id,
        client_secret=secret,
        scope=settings.oidc_scopes,
        redirect_uri=settings.base_url.rstrip("/") + CALLBACK_PATH,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
        timeout=settings.oidc_timeout_seconds,
    )


# --- the ID token ---------------------------------------------------------------------------

_CLAIM_REASONS = {"iss": "issuer", "aud": "audience", "nonce": "nonce", "azp": "audience"}


def verify_id_token(
    *,
    id_token: str,
    keys: KeySet,
    issuer: str,
    client_id: str,
    nonce: str,
    now: int | None = None,
) -> dict[str, Any]:
    """The ID token's claims once its signature, issuer, audience, expiry and nonce hold.

    Raises ``SsoTokenInvalid`` whose ``reason`` names what failed (signature, expired, issuer,
    audience, nonce, malformed).
    """
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ID_TOKEN_ALGORITHMS))
    except (BadSignatureError, InvalidKeyIdError) as error:
        raise SsoTokenInvalid(reason="signature") from error
    except (JoseError, ValueError) as error:
        raise SsoTokenInvalid(reason="malformed") from error
    claims = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        now=now,
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError as error:
        raise SsoTokenInvalid(reason="expired") from error
    except ClaimError as error:
        raise SsoTokenInvalid(reason=_CLAIM_REASONS.get(error.claim, "claims")) from error
    audience = claims["aud"]
    # Several audiences: the token must say it was issued to Lotse (OpenID Connect Core 3.1.3.7).
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise SsoTokenInvalid(reason="audience")
    return claims


# --- beginning and finishing a login --------------------------------------------------------


def begin(*, session: Session, settings: Settings, next_path: str) -> tuple[str, str]:
    """The provider's authorization URL to send the browser to, and the state to bind to it."""
    endpoint = metadata(settings)["authorization_endpoint"]
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    # Forgotten logins go when new ones begin, so the table stays small without a job.
    session.exec(
        delete(OidcLoginState).where(
            col(OidcLoginState.created_at) < utcnow() - LOGIN_STATE_LIFETIME
        )
    )
    session.add(
        OidcLoginState(
            state_hash=_digest(state), nonce=nonce, code_verifier=verifier, next_path=next_path
        )
    )
    session.flush()
    with _client(settings) as client:
        url, _ = client.create_authorization_url(
            endpoint, state=state, nonce=nonce, code_verifier=verifier
        )
    return url, state


def _take_state(session: Session, state: str, now: datetime) -> OidcLoginState | None:
    """The waiting login for this state, removed so that it can never be used again."""
    if not state or len(state) > 200:
        return None
    row = session.get(OidcLoginState, _digest(state))
    if row is None:
        return None
    found = OidcLoginState(**row.model_dump())
    # Of two callbacks with the same state, only the one whose delete removes the row goes on.
    result = session.exec(
        delete(OidcLoginState).where(col(OidcLoginState.state_hash) == found.state_hash)
    )
    session.expunge(row)
    if result.rowcount != 1 or now - found.created_at > LOGIN_STATE_LIFETIME:
        return None
    return found


@dataclass(frozen=True)
class SsoLogin:
    user: User
    id_token: str
    next_path: str


def finish(
    *,
    session: Session,
    settings: Settings,
    state: str,
    code: str,
    error: str,
    bound_state: str | None,
    ip_address: str,
    now: datetime | None = None,
) -> SsoLogin:
    """The user the provider vouches for, or an ``SsoFailure``; both outcomes are audited."""
    now = now or utcnow()
    try:
        login = _finish(
            session=session,
            settings=settings,
            state=state,
            code=code,
            error=error,
            bound_state=bound_state,
            ip_address=ip_address,
            now=now,
        )
    except SsoFailure as failure:
        record_failure(session=session, settings=settings, failure=failure, ip_address=ip_address)
        raise
    login.user.last_login_at = now
    session.add(login.user)
    accounts.record_account_event(
        session=session,
        actor=Actor.of(login.user, ip_address),
        action="sso.login_succeeded",
        user_id=login.user.id,
        provider=settings.oidc_provider_name,
    )
    return login


def record_failure(
    *, session: Session, settings: Settings, failure: SsoFailure, ip_address: str
) -> None:
    """A refused login through the provider in the audit log, with the reason."""
    user = failure.user
    audit.record(
        session=session,
        actor=Actor.of(user, ip_address) if user else Actor(None, None, ip_address),
        action="sso.login_failed",
        category=AuditCategory.account,
        object_type="user" if user else None,
        object_id=user.id if user else None,
        reason=failure.reason,
        provider=settings.oidc_provider_name,
    )


def _finish(
    *,
    session: Session,
    settings: Settings,
    state: str,
    code: str,
    error: str,
    bound_state: str | None,
    ip_address: str,
    now: datetime,
) -> SsoLogin:
    names = _provider(settings)
    waiting = _take_state(session, state, now)
    session.flush()
    # The state must also be the one this browser started with: a login link made for
    # someone else's browser is refused.
    if waiting is None or not bound_state or not hmac.compare_digest(bound_state, state):
        raise SsoStateInvalid()
    if error or not code:
        raise SsoRefused(reason="provider_error", **names)
    meta = metadata(settings)
    try:
        with _client(settings) as client:
            token = client.fetch_token(
                meta["token_endpoint"], code=code, code_verifier=waiting.code_verifier
            )
    except httpx2.HTTPError as failure:
        raise SsoUnavailable(**names) from failure
    except (AuthlibBaseError, KeyError, ValueError) as failure:
        # An error answer, or one that is no token response at all.
        raise SsoRefused(reason="token_request", **names) from failure
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise SsoTokenInvalid(reason="no_id_token", **names)
    assert settings.oidc_issuer is not None
    arguments = {
        "id_token": id_token,
        "issuer": settings.oidc_issuer,
        "client_id": settings.oidc_client_id,
        "nonce": waiting.nonce,
        "now": int(now.timestamp()),
    }
    try:
        try:
            claims = verify_id_token(keys=signing_keys(settings), **arguments)  # type: ignore[arg-type]
        except SsoTokenInvalid as failure:
            if failure.reason != "signature":
                raise
            # The provider may have rotated its keys since this process last read them.
            claims = verify_id_token(keys=signing_keys(settings, fresh=True), **arguments)  # type: ignore[arg-type]
    except SsoTokenInvalid as failure:
        failure.variables = names
        raise
    claims = {**_userinfo(settings, meta, token, claims["sub"]), **claims}
    user = _account_for(session=session, settings=settings, claims=claims, ip_address=ip_address)
    return SsoLogin(user=user, id_token=id_token, next_path=waiting.next_path)


def _userinfo(
    settings: Settings, meta: dict[str, Any], token: dict[str, Any], subject: str
) -> dict[str, Any]:
    """The userinfo claims (many providers put email and groups only there), for this subject."""
    endpoint = meta.get("userinfo_endpoint")
    access_token = token.get("access_token")
    if not endpoint or not access_token:
        return {}
    try:
        response = httpx2.get(
            endpoint,
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=settings.oidc_timeout_seconds,
        )
        response.raise_for_status()
        body = response.json()
    except (httpx2.HTTPError, ValueError) as error:
        raise SsoUnavailable(**_provider(settings)) from error
    if not isinstance(body, dict) or body.get("sub") != subject:
        raise SsoTokenInvalid(reason="userinfo_subject", **_provider(settings))
    return body


# --- from claims to a Lotse account ---------------------------------------------------------


def claim_values(claims: dict[str, Any], path: str | None) -> list[str]:
    """The values of a claim named by a dotted path, as strings ("a", ["a", "b"] alike)."""
    if not path:
        return []
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return []
        value = value.get(part)
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [str(item) for item in items if isinstance(item, str | int)]


def mapped_roles(settings: Settings, claims: dict[str, Any]) -> frozenset[Role]:
    return frozenset(
        Role(settings.oidc_role_map[value])
        for value in claim_values(claims, settings.oidc_roles_claim)
        if value in settings.oidc_role_map
    )


def _organization(session: Session, reference: str | None) -> uuid.UUID | None:
    """A partner organisation named by its id or its exact name (the table is the partners
    domain's; the shell reads it by name, as its foreign keys do)."""
    if not reference:
        return None
    try:
        wanted = uuid.UUID(reference)
        query = select(partner_organization.c.id).where(partner_organization.c.id == wanted)
    except ValueError:
        query = select(partner_organization.c.id).where(
            partner_organization.c.name == reference.strip()
        )
    found = session.scalar(query)
    return found if isinstance(found, uuid.UUID) else None


def mapped_organization(
    session: Session, settings: Settings, claims: dict[str, Any]
) -> uuid.UUID | None:
    for value in claim_values(claims, settings.oidc_organization_claim):
        reference = settings.oidc_organization_map.get(value)
        organization = _organization(session, reference)
        if organization is not None:
            return organization
    return None


def _account_for(
    *, session: Session, settings: Settings, claims: dict[str, Any], ip_address: str
) -> User:
    """Find, link or create the account; every check comes before the first write, so a refused
    login changes nothing but the audit log (and a waiting account, which is the point)."""
    names = _provider(settings)
    subject = str(claims["sub"])[:255]
    by_claims = settings.oidc_role_assignment == "claims"
    roles = mapped_roles(settings, claims)
    organization = mapped_organization(session, settings, claims)
    user = session.exec(select(User).where(User.oidc_subject == subject)).first()
    link = False
    if user is None:
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise SsoNoEmail(**names)
        email = accounts.normalise_email(email)
        user = session.exec(select(User).where(User.email == email)).first()
        if user is not None:
            if user.oidc_subject is not None or claims.get("email_verified") is not True:
                conflict = SsoAccountConflict(**names)
                conflict.user = user
                raise conflict
            link = True
    if user is not None and not user.is_active:
        disabled = SsoDisabled()
        disabled.user = user
        raise disabled
    if by_claims and not roles:
        no_role = SsoNoRole(**names)
        no_role.user = user
        raise no_role
    if user is None:
        organization = organization or _organization(session, settings.oidc_default_organization)
        if organization is None:
            raise SsoNoOrganization(**names)
        user = _create(
            session=session,
            settings=settings,
            claims=claims,
            subject=subject,
            organization=organization,
            roles=roles if by_claims else frozenset(),
            ip_address=ip_address,
        )
    elif link:
        user.oidc_subject = subject
        session.add(user)
        accounts.record_account_event(
            session=session,
            actor=Actor.of(user, ip_address),
            action="sso.account_linked",
            user_id=user.id,
            provider=settings.oidc_provider_name,
        )
    if by_claims:
        _follow_claims(session, user, roles, organization, ip_address)
    if not auth.roles_of(session=session, user_id=user.id):
        waiting = SsoWaitingForRole()
        waiting.user = user
        raise waiting
    return user


def _create(
    *,
    session: Session,
    settings: Settings,
    claims: dict[str, Any],
    subject: str,
    organization: uuid.UUID,
    roles: frozenset[Role],
    ip_address: str,
) -> User:
    email = accounts.normalise_email(str(claims["email"]))
    name = claims.get("name") or " ".join(
        str(claims[key]) for key in ("given_name", "family_name") if claims.get(key)
    )
    user = User(
        email=email,
        display_name=(str(name).strip() or email)[:120],
        organization_id=organization,
        password_hash=NO_PASSWORD,
        oidc_subject=subject,
    )
    session.add(user)
    session.flush()
    accounts.set_roles(
        session=session, user=user, roles=roles, actor=Actor.of(user, ip_address), audit_it=False
    )
    accounts.record_account_event(
        session=session,
        actor=Actor.of(user, ip_address),
        action="sso.account_created",
        user_id=user.id,
        provider=settings.oidc_provider_name,
        roles=sorted(roles),
        organization_id=organization,
    )
    return user


def _follow_claims(
    session: Session,
    user: User,
    roles: frozenset[Role],
    organization: uuid.UUID | None,
    ip_address: str,
) -> None:
    """The provider decides: roles (and the organisation, when a claim names one) as it says."""
    actor = Actor.of(user, ip_address)
    accounts.set_roles(session=session, user=user, roles=roles, actor=actor)
    if organization is not None and organization != user.organization_id:
        accounts.record_account_event(
            session=session,
            actor=actor,
            action="user.organization_changed",
            user_id=user.id,
            before=user.organization_id,
            after=organization,
        )
        user.organization_id = organization
        user.updated_at = utcnow()
        session.add(user)
        session.flush()


# --- logging out ----------------------------------------------------------------------------


def end_session_url(*, settings: Settings, id_token: str | None) -> str | None:
    """Where to send the browser so that the provider ends its session too, if it offers that;
    None when it does not or cannot be reached (Lotse's own logout never waits for it)."""
    if not settings.sso_enabled or not settings.oidc_end_session or not id_token:
        return None
    try:
        endpoint = metadata(settings).get("end_session_endpoint")
    except SsoFailure:
        return None
    if not endpoint:
        return None
    query = urlencode(
        {
            "id_token_hint": id_token,
            "client_id": settings.oidc_client_id,
            "post_logout_redirect_uri": settings.base_url.rstrip("/") + LOGGED_OUT_PATH,
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
