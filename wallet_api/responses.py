"""JSON answers encoded by :func:`keys.compact_json.json_bytes`.

The same bytes as Starlette's :class:`~starlette.responses.JSONResponse` (compact, UTF-8,
no ASCII escapes) from orjson; the token, userinfo and introspection answers spent more
time in :mod:`json` than in building their content (bench scenarios 2 and 3).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse as _StarletteJSONResponse

from keys.compact_json import json_bytes


class JSONResponse(_StarletteJSONResponse):
    def render(self, content: Any) -> bytes:
        return json_bytes(content)
