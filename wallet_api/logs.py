"""Structured JSON logs with a request id, scrubbed of secrets and identity numbers.

Log statements should never carry secrets in the first place; the scrubber is a
second line of defence for what slips through (exception messages, URLs).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

_SCRUBBERS: tuple[tuple[re.Pattern[str], str], ...] = (
    # JWS/JWT compact serializations (tokens, credentials, presentations).
    (re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-~.]*"), "[jwt]"),
    # Resident identity numbers: 17 digits + digit or X.
    (re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"), "[id-number]"),
    # Authorization headers and key=value secrets in URLs or messages.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+"), r"\1 [redacted]"),
    (
        re.compile(
            r"(?i)\b(password|passwd|secret|client_secret|token|access_token|refresh_token|"
            r"id_token|code|code_verifier|otp|id_number|login_hint|assertion)=([^&\s\"']+)"
        ),
        r"\1=[redacted]",
    ),
)


_base_factory = logging.getLogRecordFactory()


def _stamping_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Stamp the request id on each record when it is created, not when it is formatted."""
    record = _base_factory(*args, **kwargs)
    record.request_id = request_id_var.get()
    return record


if not getattr(_base_factory, "_govwallet", False):
    _stamping_factory._govwallet = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(_stamping_factory)


def scrub(text: str) -> str:
    for pattern, replacement in _SCRUBBERS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and extras."""

    _RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {
        "message",
        "asctime",
        "color_message",
    }

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in self._RESERVED and key != "request_id" and not key.startswith("_"):
                entry[key] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def configure_logging(*, level: str = "INFO", json_format: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_format else PlainFormatter("%(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Our own access log replaces uvicorn's, which would log query strings.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
