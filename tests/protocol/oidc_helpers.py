"""Helpers for driving the provider over HTTP like a browser and a relying platform.

The relying platform is Authlib's own client (``OAuth2Client``), an implementation
independent of the provider's server classes; ID tokens are checked with joserfc
against the published JWKS.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jwt import ClaimsOption

from tests.support.live_server import LiveServer, free_port

PASSWORD = "Protocol-test-2026"
#: Synthetic, valid GB 11643-1999 numbers from tests/vectors/id_numbers.csv.
ID_NUMBERS = ["11010519491231002X", "11010219840406970X", "11010119900307002X"]
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass
class Citizen:
    id_number: str
    name: str
    password: str = PASSWORD


@dataclass
class RegisteredClient:
    client_id: str
    client_secret: str | None
    redirect_uri: str | None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def basic_auth(self) -> tuple[str, str]:
        """``(client_id, client_secret)`` for HTTP Basic; only a confidential client has it."""
        assert self.client_secret is not None, "a public client has no secret"
        return (self.client_id, self.client_secret)


def add_citizen(server: LiveServer, id_number: str, name: str = "王小明") -> Citizen:
    server.cli("citizen", "add", "--id-number", id_number, "--name", name, "--password", PASSWORD)
    return Citizen(id_number=id_number, name=name)


def add_client(server: LiveServer, *args: str, redirect_uri: str | None = None) -> RegisteredClient:
    """``govwallet client add ... --json``; a fresh loopback redirect URI by default."""
    cli_args = ["client", "add", "--name", "Test platform", "--json", *args]
    if redirect_uri is None and "--grant-type" not in args:
        redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    if redirect_uri:
        cli_args += ["--redirect-uri", redirect_uri]
    data = json.loads(server.cli(*cli_args).stdout)
    return RegisteredClient(
        client_id=data["client_id"],
        client_secret=data["client_secret"],
        redirect_uri=redirect_uri,
        metadata=data,
    )


def discovery(server: LiveServer) -> dict[str, Any]:
    meta: dict[str, Any] = httpx.get(f"{server.base_url}/.well-known/openid-configuration").json()
    return meta


def rp_client(
    server: LiveServer, client: RegisteredClient, scope: str, **kwargs: Any
) -> OAuth2Client:
    """An Authlib OAuth 2.0 client for ``client`` (PKCE S256)."""
    return OAuth2Client(
        client_id=client.client_id,
        client_secret=client.client_secret,
        scope=scope,
        redirect_uri=client.redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if client.client_secret else "none",
        **kwargs,
    )


class Browser:
    """A cookie-keeping user agent that never follows redirects by itself."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=30)

    def close(self) -> None:
        self.http.close()

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(url, **kwargs)

    @staticmethod
    def form_fields(page: httpx.Response) -> dict[str, str]:
        return {name: html.unescape(value) for name, value in HIDDEN.findall(page.text)}

    def login(self, citizen: Citizen, *, next_url: str = "/account") -> httpx.Response:
        page = self.get("/login", params={"next": next_url})
        fields = self.form_fields(page)
        return self.post(
            "/login",
            data={**fields, "username": citizen.id_number, "password": citizen.password},
        )

    def authorize(
        self, url: str, citizen: Citizen | None = None, *, decision: str = "allow"
    ) -> httpx.Response:
        """Follow an authorization request through login and consent to the final redirect.

        Returns the response that leaves the provider (a redirect to the client) or the
        page it stopped at.
        """
        response = self.get(url)
        for _ in range(8):
            location = response.headers.get("location", "")
            if response.status_code in (302, 303) and location.startswith("/login"):
                assert citizen is not None, "login required but no citizen given"
                next_url = parse_qs(urlsplit(location).query)["next"][0]
                response = self.login(citizen, next_url=next_url)
            elif response.status_code in (302, 303) and location.startswith("/"):
                response = self.get(location)
            elif response.status_code == 200 and 'name="decision"' in response.text:
                fields = self.form_fields(response)
                response = self.post("/authorize", data={**fields, "decision": decision})
            else:
                return response
        raise AssertionError("too many redirects")


def callback_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code in (302, 303), response.text[:500]
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def code_flow(
    server: LiveServer,
    browser: Browser,
    client: RegisteredClient,
    citizen: Citizen,
    *,
    scope: str = "openid profile",
    **params: Any,
) -> tuple[OAuth2Client, dict[str, Any], str]:
    """Run the full code flow with PKCE; returns the RP client, the token and the nonce."""
    meta = discovery(server)
    rp = rp_client(server, client, scope)
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **params
    )
    response = browser.authorize(url, citizen)
    location = response.headers["location"]
    assert location.startswith(client.redirect_uri or ""), location
    assert callback_params(response)["state"] == state
    token = rp.fetch_token(
        meta["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    return rp, dict(token), nonce


def verify_id_token(
    server: LiveServer, id_token: str, *, client_id: str, nonce: str | None = None
) -> dict[str, Any]:
    jwks = httpx.get(f"{server.base_url}/jwks.json").json()
    token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256", "ES256"])
    claims: dict[str, ClaimsOption] = {
        "iss": {"essential": True, "value": server.base_url},
        "aud": {"essential": True, "value": client_id},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "sub": {"essential": True},
    }
    if nonce is not None:
        claims["nonce"] = {"essential": True, "value": nonce}
    jwt.JWTClaimsRegistry(now=None, leeway=5, **claims).validate(token.claims)
    return {"header": token.header, **token.claims}


class RelyingPlatform:
    """A tiny HTTP server standing in for a platform's back-channel logout endpoint."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._event = threading.Event()

    @property
    def logout_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/backchannel-logout"

    def start(self) -> None:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = parse_qs(self.rfile.read(length).decode())
                platform.received.extend(body.get("logout_token", []))
                platform._event.set()
                self.send_response(200)
                self.send_header("Cache-Control", "no-store")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
