"""Rich authorization requests for license sharing (RFC 9396).

https://www.rfc-editor.org/rfc/rfc9396

A relying platform asks for licenses with ``authorization_details`` of the govwallet
type ``govwallet_license``: one object per license type, naming the claims it wants
disclosed and, optionally, the service item it needs them for and a purpose text::

    [{"type": "govwallet_license",
      "license_type": "111000000000130013001",
      "fields": ["holder_name", "fields.birth_date"],
      "service_item": "demo-...", "purpose": "核验申请人身份"}]

``identity`` does not import ``licenses``: the license catalogue is injected as a
:class:`LicenseCatalogue` (``wallet_api`` provides it), and what the citizen granted is
looked up through a :class:`GrantedDetailsSource`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import jsonschema
from authlib.oauth2.rfc6749.errors import OAuth2Error
from sqlalchemy.orm import Session

#: The one authorization details type govwallet defines.
LICENSE_TYPE = "govwallet_license"
#: RFC 9396 §10.1 ``authorization_details_types_supported``.
TYPES_SUPPORTED = (LICENSE_TYPE,)
#: At most this many license types per request (each is a consent row to read).
MAX_DETAILS = 20
#: At most this many fields over all details: each is a checkbox of the consent form, which
#: must stay within the form-field limit of the authorization endpoint.
MAX_TOTAL_FIELDS = 60
MAX_PARAMETER_LENGTH = 8000

#: RFC 9396 §2: "The AS MUST ... reject ... authorization details not conforming to the
#: respective type definition": the type definition of ``govwallet_license``.
_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["type", "license_type", "fields"],
    "additionalProperties": False,
    "properties": {
        "type": {"const": LICENSE_TYPE},
        "license_type": {"type": "string", "pattern": "^[0-9A-Z]{18}[0-9]{3}$"},
        "fields": {
            "type": "array",
            "minItems": 1,
            "maxItems": 60,
            "uniqueItems": True,
            "items": {"type": "string", "minLength": 1, "maxLength": 100},
        },
        "service_item": {"type": "string", "minLength": 1, "maxLength": 64},
        "purpose": {"type": "string", "minLength": 1, "maxLength": 200},
    },
}
_VALIDATOR = jsonschema.Draft202012Validator(_SCHEMA)


class InvalidAuthorizationDetails(OAuth2Error):
    """RFC 9396 §5: "invalid_authorization_details"."""

    error = "invalid_authorization_details"

    def __init__(self, description: str) -> None:
        super().__init__(description=_short(description))


class LicenseCatalogue(Protocol):
    """What validation needs to know about license types and service items."""

    def requestable_fields(self, session: Session, *, license_type: str) -> Sequence[str] | None:
        """The claim paths a platform may ask for, or ``None`` for an unknown type."""
        ...

    def service_item_exists(self, session: Session, *, code: str) -> bool: ...


class GrantedDetailsSource(Protocol):
    """What the citizen granted for the authorization code a token was issued from."""

    def granted(self, session: Session, *, code_id: uuid.UUID) -> list[dict[str, Any]] | None: ...


@dataclass(frozen=True, slots=True)
class LicenseRequest:
    """One validated ``govwallet_license`` object (or, after consent, what was granted)."""

    license_type: str
    fields: tuple[str, ...]
    service_item: str | None = None
    purpose: str | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": LICENSE_TYPE,
            "license_type": self.license_type,
            "fields": list(self.fields),
        }
        if self.service_item is not None:
            body["service_item"] = self.service_item
        if self.purpose is not None:
            body["purpose"] = self.purpose
        return body

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> LicenseRequest:
        return cls(
            license_type=str(value["license_type"]),
            fields=tuple(value["fields"]),
            service_item=value.get("service_item"),
            purpose=value.get("purpose"),
        )


def allowed_types(client_metadata: Mapping[str, Any]) -> Collection[str]:
    """RFC 9396 §10.2 client metadata ``authorization_details_types``: "Indicates what
    authorization details types the client uses"; unregistered, every supported type."""
    registered = client_metadata.get("authorization_details_types")
    if isinstance(registered, list):
        return [value for value in registered if value in TYPES_SUPPORTED]
    return TYPES_SUPPORTED


def parse_authorization_details(
    raw: str | None,
    *,
    session: Session,
    catalogue: LicenseCatalogue,
    client_types: Collection[str],
) -> list[LicenseRequest]:
    """The request's ``authorization_details`` (RFC 9396 §2), validated; ``[]`` when absent.

    Raises :class:`InvalidAuthorizationDetails` naming the first problem.
    """
    if raw is None or raw == "":
        return []
    if len(raw) > MAX_PARAMETER_LENGTH:
        raise InvalidAuthorizationDetails("authorization_details is too long.")
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        raise InvalidAuthorizationDetails("authorization_details must be JSON.") from None
    #: §2: "The request parameter authorization_details contains, in JSON notation, an
    #: array of objects."
    if not isinstance(value, list) or not value:
        raise InvalidAuthorizationDetails("authorization_details must be a non-empty array.")
    if len(value) > MAX_DETAILS:
        raise InvalidAuthorizationDetails(f"at most {MAX_DETAILS} authorization details.")
    requests: list[LicenseRequest] = []
    total = 0
    for index, item in enumerate(value):
        where = f"authorization_details[{index}]"
        #: §2: "Each JSON object MUST contain the data element type"; §5: the AS MUST
        #: refuse "an unknown authorization details type value".
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise InvalidAuthorizationDetails(f"{where} must be an object with a type.")
        if item["type"] not in TYPES_SUPPORTED:
            raise InvalidAuthorizationDetails(f"{where}: unknown type {item['type']!r}.")
        if item["type"] not in client_types:
            raise InvalidAuthorizationDetails(
                f"{where}: the client is not registered for type {item['type']!r}."
            )
        #: §5: "... containing unknown fields, contains fields of the wrong type ..., or is
        #: missing required fields for the authorization details type."
        error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(item))
        if error is not None:
            path = ".".join(str(part) for part in error.absolute_path)
            raise InvalidAuthorizationDetails(
                f"{where}{'.' + path if path else ''}: {error.message}"
            )
        request = LicenseRequest.from_dict(item)
        total += len(request.fields)
        if total > MAX_TOTAL_FIELDS:
            raise InvalidAuthorizationDetails(f"at most {MAX_TOTAL_FIELDS} fields in all.")
        #: §5: "... contains fields with invalid values for the authorization details type".
        fields = catalogue.requestable_fields(session, license_type=request.license_type)
        if fields is None:
            raise InvalidAuthorizationDetails(
                f"{where}.license_type: unknown license type {request.license_type!r}."
            )
        unknown = [name for name in request.fields if name not in fields]
        if unknown:
            raise InvalidAuthorizationDetails(
                f"{where}.fields: the license type has no field {unknown[0]!r}."
            )
        if request.service_item is not None and not catalogue.service_item_exists(
            session, code=request.service_item
        ):
            raise InvalidAuthorizationDetails(
                f"{where}.service_item: unknown service item {request.service_item!r}."
            )
        if any(other.license_type == request.license_type for other in requests):
            raise InvalidAuthorizationDetails(
                f"{where}.license_type: {request.license_type} is asked for twice."
            )
        requests.append(request)
    return requests


def _short(message: str) -> str:
    """jsonschema messages quote whole values; keep the error description short and to
    the characters RFC 6749 §5.2 allows in ``error_description``."""
    text = message if len(message) <= 120 else message[:117] + "..."
    return "".join(ch for ch in text if 0x20 <= ord(ch) <= 0x7E and ch not in '"\\')
