"""The application factory: one FastAPI app for the pages and the JSON API."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from lotse import PROJECT_ROOT, __version__, health, logs, metrics
from lotse.csrf import CsrfCookieMiddleware, csrf_protect
from lotse.db import make_engine
from lotse.error_handlers import DatabaseBusyMiddleware, install_error_handlers
from lotse.mailer import failing_count, pending_count
from lotse.middleware import LanguageMiddleware, SecurityHeadersMiddleware
from lotse.migrate import ensure_current
from lotse.proxies import ForwardedHeadersMiddleware
from lotse.settings import Settings, get_settings

logger = logging.getLogger("lotse")


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    check_database: bool = True,
    access_log: bool = True,
) -> FastAPI:
    settings = settings or get_settings()
    # An unknown retention class or a period out of its bounds stops the start, naming them.
    from privacy.concept import periods

    periods(settings.retention_days)
    engine = engine or make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if check_database:
            # Refuse to serve from a database that is missing or behind the code.
            ensure_current(engine)
        yield

    app = FastAPI(
        dependencies=[Depends(csrf_protect)],
        title="Lotse",
        version=__version__,
        summary="Service directory and closed-loop referrals for a city's integration management",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine

    from directory.geo import geocoder_for
    from directory.search.indexing import SearchEngine
    from directory.search.summaries import SummaryCache

    app.state.search_engine = SearchEngine(engine, settings)
    app.state.summary_cache = SummaryCache()
    app.state.geocoder = geocoder_for(
        settings.seed_dir / settings.region / "gazetteer.json",
        settings.geocoder,
        settings.nominatim_user_agent,
    )

    tile_host = urlsplit(settings.map_tile_url.replace("{s}", "a"))
    tile_source = f"{tile_host.scheme}://{tile_host.netloc.replace('a.', '*.', 1)}"
    sso_origin = ""
    if settings.oidc_issuer:
        issuer = urlsplit(settings.oidc_issuer)
        sso_origin = f"{issuer.scheme}://{issuer.netloc}"
    # Innermost, so that its answers carry the language and the security headers.
    app.add_middleware(DatabaseBusyMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, img_sources=tile_source, form_sources=sso_origin)
    app.add_middleware(LanguageMiddleware)
    app.add_middleware(
        CsrfCookieMiddleware,
        secret=settings.secret_key.get_secret_value(),
        secure=settings.base_url.startswith("https"),
    )
    # Outside all but the forwarded headers: the request id is set before anything else logs.
    app.add_middleware(
        logs.RequestMiddleware,
        trust_request_id=settings.trust_request_id,
        access_log=access_log,
        observe=metrics.observe_request,
    )
    logs.protect_uvicorn_access_log()
    # Outermost, so that everything inside (the access log too) sees the client's real address
    # and scheme.
    app.add_middleware(ForwardedHeadersMiddleware, trusted=settings.trusted_proxy_networks)
    install_error_handlers(app)

    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "static"), name="static")

    from directory import api as directory_api
    from directory import views as directory_views
    from directory.interop import views as open_format_views
    from directory.interop.hsds import api as hsds_api
    from directory.upkeep import editor_views, maintenance_views
    from findings import api as finding_api
    from findings import views as finding_views
    from insights import views as insight_views
    from lotse import account_views, admin_views
    from lotse import views as lotse_views
    from partners import views as partner_views
    from privacy import record_views as privacy_record_views
    from privacy import rights_views as privacy_rights_views
    from referrals import api as referral_api
    from referrals import views as referral_views

    app.include_router(health.router)
    app.add_route(
        "/metrics", metrics.endpoint, methods=["GET"], name="metrics", include_in_schema=False
    )
    # In this order: the first route that matches a path answers it.
    for module in (
        lotse_views,
        account_views,
        admin_views,
        partner_views,
        referral_views,
        directory_api,
        hsds_api,
        referral_api,
        maintenance_views,
        editor_views,
        open_format_views,
        insight_views,
        finding_views,
        finding_api,
        privacy_record_views,
        privacy_rights_views,
        directory_views,
    ):
        app.include_router(module.router)
    _register_checks_and_gauges(app, engine)
    return app


def _register_checks_and_gauges(app: FastAPI, engine: Engine) -> None:
    from sqlmodel import Session

    def sessions() -> Session:
        return Session(engine)

    # The app's state is read at each call: tests swap the search engine after the factory.
    health.register_check(app, "search_index", lambda: app.state.search_engine.readiness())
    metrics.register_gauge(
        app,
        "lotse_search_index_lag_seconds",
        "Age of the oldest directory change this process's search index has not taken in",
        lambda: app.state.search_engine.freshness_lag(),
    )
    metrics.register_gauge(
        app, "lotse_outbox_backlog", "Emails waiting to be sent", lambda: pending_count(sessions)
    )
    metrics.register_gauge(
        app,
        "lotse_outbox_failing",
        "Unsent emails whose last attempt failed",
        lambda: failing_count(sessions),
    )
