"""A tiny HTTP round-robin load balancer for the two-node test run.

``python -m tests.support.round_robin --port P --backend URL --backend URL`` forwards each
request (not each connection: keep-alive would pin a client to one node) to the next
backend in turn, passing the Host header, the body and every response header through
unchanged (several ``Set-Cookie`` headers included), and never following redirects.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
}


def build_app(backends: list[str]) -> Starlette:
    cycle = itertools.cycle(backends)
    # A balancer keeps no cookies: each browser's cookies travel in its own requests.
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    client = httpx.AsyncClient(timeout=60, follow_redirects=False, cookies=no_cookies)

    async def forward(request: Request) -> Response:
        backend = next(cycle)
        url = backend + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        headers = [(k, v) for k, v in request.headers.raw if k.decode().lower() not in HOP_BY_HOP]
        upstream = await client.request(
            request.method, url, headers=headers, content=await request.body()
        )
        response = Response(content=upstream.content, status_code=upstream.status_code)
        response.raw_headers = [
            (k, v) for k, v in upstream.headers.raw if k.decode().lower() not in HOP_BY_HOP
        ] + [(b"content-length", str(len(upstream.content)).encode())]
        return response

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)], lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backend", action="append", required=True)
    args = parser.parse_args()
    uvicorn.run(build_app(args.backend), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
