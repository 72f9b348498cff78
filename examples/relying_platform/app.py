"""The example platform's web pages (Starlette): home, login, callback."""

from __future__ import annotations

import html

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from examples.relying_platform.platform import Outcome, RelyingPlatform


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang='en'><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><body><h1>{html.escape(title)}</h1>{body}</body></html>",
        status_code=status,
    )


def _outcome_html(outcome: Outcome) -> str:
    e = html.escape
    rows = []
    for item in outcome.licenses:
        claims = "".join(
            f"<li data-claim='{e(name)}'>{e(name)}: {e(str(value))}</li>"
            for name, value in sorted(item.claims.items())
        )
        verdict = "VALID" if item.valid else "NOT VALID: " + ", ".join(item.failed_checks)
        rows.append(
            f"<section class='license' data-license-type='{e(str(item.license_type))}' "
            f"data-valid='{str(item.valid).lower()}'><h2>{e(str(item.license_type))}</h2>"
            f"<p class='verdict'>{e(verdict)}</p><p>Issuer: {e(str(item.issuer_name))}</p>"
            f"<ul>{claims}</ul></section>"
        )
    report = outcome.report
    materials = "".join(
        f"<li data-material='{e(m['code'])}' data-outcome='{e(m['outcome'])}'>"
        f"{e(m['name_en'])}: {e(m['outcome'])}</li>"
        for m in report["materials"]
    )
    return (
        f"<p>Signed in as <code data-subject>{e(outcome.subject)}</code>.</p>"
        + "".join(rows)
        + f"<h2>Paper avoided for {e(report['name_en'])}</h2>"
        f"<p data-electronic='{report['electronic']}' data-total='{report['total']}'>"
        f"{report['electronic']} of {report['total']} materials arrived electronically "
        f"({report['paper_avoided_share']:.0%} of the paper avoided).</p>"
        f"<ul class='materials'>{materials}</ul>"
    )


def create_app(platform: RelyingPlatform) -> Starlette:
    def home(request: Request) -> Response:
        item = platform.service_item()
        return _page(
            "Example relying platform",
            f"<p>Apply for <b>{html.escape(item['name']['en'])}</b> "
            f"({html.escape(item['code'])}) without paper copies.</p>"
            "<p><a href='/login'>Log in with govwallet and share your licenses</a></p>",
        )

    def login(request: Request) -> Response:
        return RedirectResponse(platform.login_url(), status_code=302)

    def callback(request: Request) -> Response:
        params = request.query_params
        if "error" in params:
            return _page("Not signed in", f"<p>{html.escape(params['error'])}</p>", 400)
        try:
            outcome = platform.complete(str(request.url), state=params.get("state", ""))
        except PermissionError:
            return _page("Not signed in", "<p>Unknown or reused login attempt.</p>", 400)
        except httpx.HTTPStatusError as exc:
            detail = exc.response.text[:300]
            return _page("govwallet refused", f"<pre>{html.escape(detail)}</pre>", 502)
        return _page("Your licenses", _outcome_html(outcome))

    return Starlette(
        routes=[
            Route("/", home),
            Route("/login", login),
            Route("/callback", callback),
        ]
    )
