"""``python -m examples.relying_platform --issuer URL --client-id ID --client-secret S``."""

from __future__ import annotations

import argparse
import os

import uvicorn

from examples.relying_platform.app import create_app
from examples.relying_platform.platform import PlatformConfig, RelyingPlatform


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.relying_platform")
    parser.add_argument("--issuer", required=True, help="govwallet's issuer URL")
    parser.add_argument("--client-id", required=True)
    parser.add_argument(
        "--client-secret",
        default=os.environ.get("RELYING_PLATFORM_CLIENT_SECRET"),
        help="or RELYING_PLATFORM_CLIENT_SECRET",
    )
    parser.add_argument("--service-item", default="110000-XK-0002")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--redirect-uri", help="default: http://HOST:PORT/callback")
    args = parser.parse_args()
    if not args.client_secret:
        parser.error("--client-secret (or RELYING_PLATFORM_CLIENT_SECRET) is required")
    config = PlatformConfig(
        issuer=args.issuer.rstrip("/"),
        client_id=args.client_id,
        client_secret=args.client_secret,
        redirect_uri=args.redirect_uri or f"http://{args.host}:{args.port}/callback",
        service_item=args.service_item,
    )
    uvicorn.run(create_app(RelyingPlatform(config)), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
