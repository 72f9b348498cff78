"""Simplified Chinese and English for every page.

Messages live in ``locales/<locale>/<area>.json`` (one file per feature area, so
features do not edit each other's catalogues) and are merged at start-up. The
locale is chosen from, in order: the OIDC ``ui_locales`` parameter, the ``lang``
query parameter, the ``gw_lang`` cookie, ``Accept-Language``, then Chinese.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path

from starlette.requests import Request

SUPPORTED_LOCALES = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"
LOCALE_COOKIE = "gw_lang"
_LOCALES_DIR = Path(__file__).parent / "locales"

Translator = Callable[..., str]


@cache
def catalogue(locale: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((_LOCALES_DIR / locale).glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def match_locale(tag: str | None) -> str | None:
    """Map a BCP 47 tag (``zh``, ``zh-Hans-CN``, ``en-GB`` …) to a supported locale."""
    if not tag:
        return None
    primary = tag.strip().lower().split("-")[0].split("_")[0]
    if primary == "zh":
        return "zh-CN"
    if primary == "en":
        return "en"
    return None


def negotiate(request: Request, *, ui_locales: str | None = None) -> str:
    for candidate in (ui_locales or "").split():
        if found := match_locale(candidate):
            return found
    for explicit in (request.query_params.get("lang"), request.cookies.get(LOCALE_COOKIE)):
        if found := match_locale(explicit):
            return found
    header = request.headers.get("accept-language", "")
    weighted: list[tuple[float, str]] = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if found := match_locale(tag):
            weighted.append((quality, found))
    if weighted:
        return max(weighted, key=lambda item: item[0])[1]
    return DEFAULT_LOCALE


def translator(locale: str) -> Translator:
    """``t("key", name=...)``: the message in ``locale``, else English, else the key itself."""
    primary = catalogue(locale)
    fallback = catalogue("en")

    def translate(key: str, /, **params: object) -> str:
        text = primary.get(key) or fallback.get(key) or key
        return text.format(**params) if params else text

    return translate
