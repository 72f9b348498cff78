"""RFC 9457 problem details: every non-OAuth API error is rendered here.

https://www.rfc-editor.org/rfc/rfc9457

Domain packages raise their own error classes (each with a stable ``code`` and
an HTTP ``status`` class attribute); this module is the one place that turns
them into ``application/problem+json``. What the client sees (title, detail) is
kept apart from what is logged (the exception, with the request id).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from keys import KeyStoreError
from wallet_api.logs import request_id_var
from wallet_api.responses import JSONResponse

logger = logging.getLogger("govwallet.errors")

PROBLEM_TYPE_PREFIX = "urn:govwallet:problem:"
PROBLEM_MEDIA_TYPE = "application/problem+json"

_HTTP_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    410: "Gone",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class Problem(Exception):
    """Raise from a route to answer a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or _HTTP_TITLES.get(status, "Error")
        self.headers = headers or {}
        self.extensions = extensions


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": title or _HTTP_TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    request_id = request_id_var.get()
    if request_id:
        body["request_id"] = request_id
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:] if parts[0] == "body" else parts
    return ".".join(parts) or "body"


async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"field": _field_name(err.get("loc", ())), "message": str(err.get("msg", "invalid"))}
        for err in exc.errors()
    ]
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    detail = f"{first['field']}: {first['message']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return problem_response(422, "validation-error", detail, errors=errors)


async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    detail = exc.detail if isinstance(exc.detail, str) else _HTTP_TITLES.get(exc.status_code, "")
    return problem_response(exc.status_code, code, detail, headers=exc.headers)


async def _problem(_request: Request, exc: Problem) -> JSONResponse:
    return problem_response(
        exc.status, exc.code, exc.detail, title=exc.title, headers=exc.headers, **exc.extensions
    )


async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
    """Any domain error class carrying ``code`` and ``status`` attributes."""
    status = int(getattr(exc, "status", 400))
    code = str(getattr(exc, "code", "error")).replace("_", "-")
    if status >= 500:
        logger.error("domain error", exc_info=exc)
        return problem_response(status, code, "The service could not complete the request.")
    extensions = dict(getattr(exc, "extensions", {}) or {})
    return problem_response(status, code, str(exc), **extensions)


async def _unhandled(_request: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled error", exc_info=exc)
    return problem_response(
        500,
        "internal-error",
        "The service failed to handle this request; quote the request id when reporting it.",
    )


def install(app: FastAPI, *domain_errors: type[Exception]) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(Problem, _problem)  # type: ignore[arg-type]
    app.add_exception_handler(KeyStoreError, domain_error)
    for error_class in domain_errors:
        app.add_exception_handler(error_class, domain_error)
    app.add_exception_handler(Exception, _unhandled)
