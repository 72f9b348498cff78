"""The thin Starlette adapter for Authlib's authorization server.

Authlib ships Flask and Django integrations; their ``AuthorizationServer`` shows the
four methods a framework must provide (``create_oauth2_request``,
``create_json_request``, ``handle_response``, ``send_signal``). Authlib is
synchronous and Starlette reads bodies asynchronously, so the route reads the form
first and hands Authlib a request object that already holds it, then runs the
server in the thread pool (it queries the database).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import JsonPayload, JsonRequest, OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.errors import (
    InsecureTransportError,
    InvalidRequestError,
    OAuth2Error,
)
from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, Headers
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from identity.oidc.memory_only import require_storage
from identity.oidc.server import Provider
from identity.oidc.token_state import CachedAnswer
from wallet_api.problems import Problem
from wallet_api.responses import JSONResponse

T = TypeVar("T")
MAX_FORM_FIELDS = 100
#: OAuth requests are a few parameters: a JSON registration document is the largest.
MAX_BODY_BYTES = 64 * 1024
URLENCODED = "application/x-www-form-urlencoded"
FORM_TYPES = (URLENCODED, "multipart/form-data")


class MalformedOAuthRequest(Exception):
    """A request Authlib cannot be given (too many parameters): RFC 6749 ``invalid_request``."""


async def malformed_request(_request: Request, exc: Exception) -> Response:
    """The application's exception handler for :class:`MalformedOAuthRequest`."""
    return invalid_request(str(exc))


class StarlettePayload(OAuth2Payload):
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class StarletteOAuth2Request(OAuth2Request):
    """An ``OAuth2Request`` built from an already-read Starlette request."""

    def __init__(
        self,
        *,
        method: str,
        uri: str,
        headers: Any,
        query: list[tuple[str, str]],
        form: list[tuple[str, str]],
        db: Session | None,
    ) -> None:
        # Authlib's own __init__ checks the transport on the URI (RFC 6749 §3.1: TLS) and
        # sets the attributes below. Every URI here is the issuer plus a path, so the check
        # is made once per origin (_check_transport) instead of parsing on every request;
        # tests/unit/wallet_api/test_oauth_request.py keeps the attributes in step with
        # Authlib's.
        _check_transport("/".join(uri.split("/", 3)[:3]))
        self.method = method
        self.uri = uri
        self.headers = headers
        self._body = None
        self.client = None
        self.auth_method = None
        self.user = None
        self.authorization_code = None
        self.refresh_token = None
        self.credential = None
        self._scope = None
        self._args = dict(query)
        self._form = dict(form)
        self.payload = StarlettePayload(query + form)
        self._db = db
        self._open_db: Callable[[], Session] | None = None
        self.issued: tuple[str, int, str | None] | None = None
        self.confirmed = False
        #: The token-state cache's entry for the request's ``token`` (introspection).
        self.cached_token: CachedAnswer | None = None

    @property
    def db(self) -> Session | None:
        """The request's database session; a deferred one (:meth:`defer_session`) is
        opened here, on first use."""
        if self._db is None and self._open_db is not None:
            require_storage()
            self._db = self._open_db()
        return self._db

    @db.setter
    def db(self, session: Session | None) -> None:
        self._db = session

    @property
    def required_db(self) -> Session:
        """:attr:`db` for the endpoints that are always given one (authorize, logout)."""
        db = self.db
        if db is None:
            raise RuntimeError("this OAuth request was read without a database session")
        return db

    def opened_session(self) -> Session | None:
        """The session if one is open; never opens a deferred one."""
        return self._db

    def defer_session(self, open_session: Callable[[], Session]) -> None:
        """Open a session with ``open_session`` only if something reads :attr:`db`."""
        self._open_db = open_session

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


@lru_cache(maxsize=16)
def _check_transport(origin: str) -> None:
    """Authlib's transport check (raises ``InsecureTransportError``); a pass is remembered."""
    InsecureTransportError.check(origin)


class StarletteJsonPayload(JsonPayload):
    def __init__(self, data: Any) -> None:
        self._data = data

    @property
    def data(self) -> Any:
        return self._data


class StarletteJsonRequest(JsonRequest):
    def __init__(self, *, method: str, uri: str, headers: Headers, data: Any) -> None:
        super().__init__(method, uri, headers)
        self.payload = StarletteJsonPayload(data)


class StarletteProvider(Provider):
    """``Provider`` with the four framework methods for Starlette."""

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        raise TypeError("build the request with wallet_api.oauth_server.read_request first")

    def create_json_request(self, request: Any) -> JsonRequest:
        if isinstance(request, JsonRequest):
            return request
        raise TypeError("build the request with wallet_api.oauth_server.read_json_request first")

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        header_map = dict(headers or [])
        if isinstance(body, dict):
            header_map.pop("Content-Type", None)
            return JSONResponse(body, status_code=status, headers=header_map)
        return Response(body or b"", status_code=status, headers=header_map)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Authlib's signals (client authenticated, token revoked): nothing listens."""


async def read_request(
    request: Request, db: Session | None, *, issuer: str
) -> StarletteOAuth2Request:
    """Read query and form; the URI is rebuilt on the issuer (the public URL)."""
    form: list[tuple[str, str]] = []
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and content_type.startswith(URLENCODED):
        form = _urlencoded(await read_body(request))
    elif request.method == "POST" and content_type.startswith(FORM_TYPES):
        data: FormData = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
        form = [(k, v) for k, v in data.multi_items() if isinstance(v, str)]
    # From the ASGI scope: building Starlette's URL and QueryParams costs more than this.
    return oauth_request(
        method=request.method,
        path=request.scope["path"],
        query_string=request.scope["query_string"].decode("latin-1"),
        headers=request.headers,
        form=form,
        db=db,
        issuer=issuer,
    )


def oauth_request(
    *,
    method: str,
    path: str,
    query_string: str,
    headers: Headers,
    form: list[tuple[str, str]],
    db: Session | None,
    issuer: str,
) -> StarletteOAuth2Request:
    """Authlib's request from a request already read; the URI is rebuilt on the issuer.

    ``headers`` are case-insensitive, as Authlib expects (it asks for ``Authorization``).
    """
    query = _pairs(query_string) if query_string else []
    uri = issuer + path + (f"?{query_string}" if query_string else "")
    return StarletteOAuth2Request(
        method=method, uri=uri, headers=headers, query=query, form=form, db=db
    )


def urlencoded_form(headers: Headers, body: bytes) -> list[tuple[str, str]] | None:
    """The parameters of an ``application/x-www-form-urlencoded`` body; None when the
    body is of another type (which only the application reads)."""
    if not headers.get("content-type", "").startswith(URLENCODED):
        return None
    return _urlencoded(body)


async def read_body(request: Request, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused with 413 beyond ``limit`` bytes (before reading it when
    ``Content-Length`` says so). Reads the ASGI messages directly: Starlette's streaming
    reader costs more than a token request's parameters take to parse."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(limit: int) -> Problem:
    return Problem(413, "request-too-large", f"The request body is larger than {limit} bytes.")


def _urlencoded(body: bytes) -> list[tuple[str, str]]:
    """RFC 6749 appendix B: UTF-8 ``application/x-www-form-urlencoded``; undecodable
    bytes are replaced, so a bad body is a bad parameter, never an exception."""
    return _pairs(body.decode("utf-8", errors="replace"))


def _pairs(text: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise MalformedOAuthRequest(
            f"The request has more than {MAX_FORM_FIELDS} parameters."
        ) from None


async def read_json_request(request: Request, *, issuer: str) -> StarletteJsonRequest:
    try:
        data = json.loads(await read_body(request) or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    return StarletteJsonRequest(
        method=request.method,
        uri=issuer + request.url.path,
        headers=request.headers,  # case-insensitive, as Authlib expects
        data=data,
    )


async def run(call: Callable[..., T], *args: Any) -> T:
    """Run a synchronous Authlib call in the thread pool."""
    return await run_in_threadpool(call, *args)


def token_response(provider: StarletteProvider, oauth: StarletteOAuth2Request) -> Response:
    """The token endpoint with its own database session, committed on success only.

    The session is opened on first use: ``client_credentials`` with the signing key
    cached reads and writes nothing, so it opens none.
    """
    oauth.defer_session(provider.sessions)
    try:
        try:
            response: Response = provider.create_token_response(oauth)
        except ValueError:
            return invalid_request("The request is malformed.")
        db = oauth.opened_session()
        if db is not None and response.status_code == 200 and db.in_transaction():
            db.commit()
        return response
    finally:
        db = oauth.opened_session()
        if db is not None:
            db.close()
            oauth.db = None


def error_response(error: OAuth2Error) -> Response:
    status, body, headers = error()
    return JSONResponse(dict(body), status_code=status, headers=dict(headers))


def invalid_request(description: str) -> Response:
    """Authlib refuses error descriptions with some characters (it raises ``ValueError``)."""
    return error_response(InvalidRequestError(description))
