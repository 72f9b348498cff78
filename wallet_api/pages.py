"""Server-rendered pages: Jinja2 with the request's locale and a CSRF token.

Every template extends ``base.html`` and gets ``t`` (the translator), ``locale``,
``csrf_token`` and ``csrf_field`` (the field name) in its context.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from wallet_api.csrf import CSRF_FIELD
from wallet_api.i18n import LOCALE_COOKIE, SUPPORTED_LOCALES, negotiate, translator

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    ui_locales: str | None = None,
) -> HTMLResponse:
    locale = negotiate(request, ui_locales=ui_locales)
    csrf = request.app.state.csrf
    token, new_cookie = csrf.token(request)
    full_context = {
        "request": request,
        "t": translator(locale),
        "locale": locale,
        "locales": SUPPORTED_LOCALES,
        "csrf_token": token,
        "csrf_field": CSRF_FIELD,
        **(context or {}),
    }
    response = templates.TemplateResponse(request, template, full_context, status_code=status_code)
    if new_cookie is not None:
        csrf.set_cookie(response, new_cookie)
    if request.query_params.get("lang") in SUPPORTED_LOCALES:
        response.set_cookie(LOCALE_COOKIE, request.query_params["lang"], samesite="lax")
    return response
