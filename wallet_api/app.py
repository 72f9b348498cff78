"""The FastAPI application factory."""

from __future__ import annotations

import gc
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from anyio import to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import ASGIApp

from identity.errors import IdentityError
from identity.oidc.errors import OidcError
from identity.oidc.token_state_feed import PostgresInvalidationFeed
from keys import KeyedDigest
from licenses.codes import RegistryError
from licenses.errors import CredentialError
from wallet_api import problems
from wallet_api.admission import AdmissionLimit
from wallet_api.csrf import CsrfError, CsrfProtection
from wallet_api.direct_answers import DirectAnswers
from wallet_api.hot_paths import Endpoint, HotPaths
from wallet_api.logs import configure_logging
from wallet_api.metrics import RequestMetrics
from wallet_api.middleware import RequestContextMiddleware
from wallet_api.oauth_documents import ProviderDocuments
from wallet_api.oauth_logout import LogoutDeliveryLoop
from wallet_api.oauth_server import MalformedOAuthRequest, StarletteProvider, malformed_request
from wallet_api.oauth_setup import build_provider
from wallet_api.prebuilt import PrebuiltAnswers
from wallet_api.routes import account, health, jwks
from wallet_api.routes import licenses as license_routes
from wallet_api.routes import login as login_routes
from wallet_api.routes import oidc as oidc_routes
from wallet_api.routes import online_qr as online_qr_routes
from wallet_api.routes import recognition as recognition_routes
from wallet_api.routes import service_items as service_item_routes
from wallet_api.routes import shares_pages as shares_page_routes
from wallet_api.routes import sharing as sharing_routes
from wallet_api.routes import status_lists as status_list_routes
from wallet_api.routes import trust_list as trust_list_routes
from wallet_api.routes import verifier_pages as verifier_page_routes
from wallet_api.routes import verify as verify_routes
from wallet_api.routes import wallet as wallet_routes
from wallet_api.routes import wallet_pages as wallet_page_routes
from wallet_api.runtime import Runtime
from wallet_api.settings import DevelopmentSecretWarning, Settings, load_settings

STATIC_DIR = Path(__file__).parent / "static"
#: Paths that never hold a database session across threads (wallet_api.admission).
UNCOUNTED_PATHS = ("/.well-known/openid-configuration", "/jwks.json", "/healthz", "/metrics")
#: What relying platforms call most (bench scenarios 1-3), served by wallet_api.hot_paths
#: straight to the same endpoint functions the FastAPI routes use.
HOT_PATHS: dict[tuple[str, str], Endpoint] = {
    ("GET", "/.well-known/openid-configuration"): oidc_routes.discovery,
    ("GET", "/jwks.json"): jwks.provider_jwks,
    ("POST", "/token"): oidc_routes.token_endpoint,
    ("GET", "/userinfo"): oidc_routes.userinfo_endpoint,
    ("POST", "/userinfo"): oidc_routes.userinfo_endpoint,
    ("POST", "/introspect"): oidc_routes.introspection_endpoint,
}
#: Requests the HTTP protocol hands to these endpoints' own functions without an ASGI task
#: (wallet_api.direct_answers); each answers only what it can without I/O.
DIRECT: dict[tuple[str, str], oidc_routes.DirectHandler] = {
    ("POST", "/token"): oidc_routes.token_direct,
    ("GET", "/userinfo"): oidc_routes.userinfo_direct,
    ("POST", "/introspect"): oidc_routes.introspection_direct,
}
#: Answers to ``GET`` of these paths are kept as bytes and written by the HTTP protocol
#: without the application while they are ready (wallet_api.prebuilt): the same routes'
#: responses, the same headers, counted the same.
PREBUILT: dict[str, Callable[[ProviderDocuments], Response | None]] = {
    "/.well-known/openid-configuration": ProviderDocuments.discovery,
    "/jwks.json": ProviderDocuments.cached_jwks,
}


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    if runtime is None:
        runtime = Runtime(settings or load_settings())
    settings = runtime.settings

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Blocking work holds at most one pooled connection per thread: as many threads as
        # connections, so a burst never opens (and then closes) overflow connections.
        to_thread.current_default_thread_limiter().total_tokens = settings.database_pool_size
        app.state.logout_loop.start()
        feed = token_state_feed(runtime, app.state.provider)
        if feed is not None:
            feed.start()
        yield
        if feed is not None:
            feed.stop()
        await app.state.logout_loop.stop()
        if app.request_metrics is not None:
            app.request_metrics.flush()
        runtime.close()

    app = GovwalletAPI(
        https=settings.issuer.scheme == "https",
        admission_limit=settings.database_pool_size,
        # Metrics are Prometheus (wallet_api/metrics.py), logs are JSON lines; FastAPI's
        # native OpenTelemetry would look up the global providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        title="govwallet",
        summary="Unified real-name identity and electronic-license wallet",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.csrf = CsrfProtection(
        KeyedDigest(settings.master_secret, "csrf"), secure=settings.secure_cookies
    )
    problems.install(app, CsrfError, IdentityError, OidcError)
    app.state.provider = build_provider(runtime)
    app.state.provider_documents = ProviderDocuments(app.state.provider)
    app.state.logout_loop = LogoutDeliveryLoop(
        app.state.provider, interval=settings.backchannel_logout_interval_seconds
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(health.router)
    app.include_router(jwks.router)
    app.include_router(account.router)
    app.include_router(oidc_routes.router)
    app.include_router(login_routes.router)
    app.add_exception_handler(MalformedOAuthRequest, malformed_request)
    app.add_exception_handler(RegistryError, problems.domain_error)
    app.add_exception_handler(CredentialError, problems.domain_error)
    app.include_router(license_routes.router)
    app.include_router(status_list_routes.router)
    app.include_router(trust_list_routes.router)
    app.include_router(verify_routes.router)
    app.include_router(verifier_page_routes.router)
    app.include_router(recognition_routes.router)
    app.include_router(service_item_routes.router)
    app.include_router(wallet_routes.router)
    app.include_router(wallet_page_routes.auth_router)
    app.include_router(wallet_page_routes.router)
    app.include_router(online_qr_routes.router)
    app.include_router(sharing_routes.router)
    app.include_router(shares_page_routes.router)
    return app


class GovwalletAPI(FastAPI):
    """FastAPI with govwallet's request context and hot paths as the outermost layers.

    Outside FastAPI's own layers (its error middleware included), so every answer, a 500
    too, carries the security headers and the request id, is counted and logged; and the
    hot paths skip all of FastAPI's per-request work.
    """

    def __init__(self, *, https: bool, admission_limit: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._https = https
        self._admission_limit = admission_limit
        #: Made with the middleware: what the HTTP protocol answers without the
        #: application, and the request metrics the workers hold until written.
        self.prebuilt_answers: PrebuiltAnswers | None = None
        self.direct_answers: DirectAnswers | None = None
        self.request_metrics: RequestMetrics | None = None

    def build_middleware_stack(self) -> ASGIApp:
        fastapi_stack = super().build_middleware_stack()
        # The hot paths are outside admission control: each opens and closes its sessions
        # inside one thread-pool call (never across threads, which is what admission
        # guards against), and the thread limiter bounds how many run at once.
        admitted = AdmissionLimit(
            fastapi_stack,
            limit=self._admission_limit,
            exempt_paths=UNCOUNTED_PATHS,
            exempt_prefixes=("/static/",),
        )
        hot = HotPaths(admitted, app=self, endpoints=HOT_PATHS)
        context = RequestContextMiddleware(hot, https=self._https)
        documents: ProviderDocuments = self.state.provider_documents
        self.prebuilt_answers = PrebuiltAnswers(
            {path: partial(source, documents) for path, source in PREBUILT.items()},
            headers=context.headers,
            metrics=context.metrics,
        )
        self.direct_answers = DirectAnswers(
            {key: partial(handler, self.state.provider) for key, handler in DIRECT.items()},
            headers=context.headers,
            metrics=context.metrics,
        )
        self.request_metrics = context.metrics
        return context


def token_state_feed(
    runtime: Runtime, provider: StarletteProvider
) -> PostgresInvalidationFeed | None:
    """The notifications that make the provider's token-state cache live (PostgreSQL)."""
    engine = runtime.engine
    if not runtime.settings.token_state_cache or engine.dialect.name != "postgresql":
        return None
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return PostgresInvalidationFeed(conninfo=conninfo, cache=provider.token_state)


def create_app_from_env() -> FastAPI:
    """Entry point for ``uvicorn --factory`` worker processes."""
    settings = load_settings()
    configure_logging(level=settings.log_level, json_format=settings.log_json)
    with warnings.catch_warnings():
        # The parent process already warned about a development secret once.
        warnings.simplefilter("ignore", DevelopmentSecretWarning)
        runtime = Runtime(settings)
    app = create_app(runtime=runtime)
    # Everything built so far lives as long as the worker: move it out of the collector's
    # sight, so full collections under load do not traverse it (shorter pauses, p99).
    gc.collect()
    gc.freeze()
    return app
