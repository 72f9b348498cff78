"""``/p/<link>``: the one-time online QR link. A verifier's software fetches the presentation
behind it once, within a few minutes; a second or late fetch fails with a clear reason
(410 ``online-presentation-gone`` with ``reason`` ``already-used`` or ``expired``; 404 for a
link that never existed or was cleaned up).

A person opening the link in a browser (a phone's camera app) gets an explanation page and
does **not** use it up: only a request for JSON takes the presentation.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from licenses.wallet import services as wallet
from wallet_api.deps import RegistryDep, RuntimeDep, SessionDep
from wallet_api.pages import render
from wallet_api.responses import JSONResponse

router = APIRouter(tags=["wallet"])


@router.get("/p/{link}", summary="Fetch a held presentation once (online QR code)")
def take_presentation(
    link: str, request: Request, session: SessionDep, registry: RegistryDep, runtime: RuntimeDep
) -> Response:
    accept = request.headers.get("accept", "")
    if "text/html" in accept and "application/json" not in accept:
        return render(request, "wallet/online_link.html", status_code=200)
    presentation = wallet.take_online(
        session, registry=registry, links=runtime.online_links, token=link
    )
    session.commit()
    return JSONResponse({"presentation": presentation}, headers={"Cache-Control": "no-store"})
