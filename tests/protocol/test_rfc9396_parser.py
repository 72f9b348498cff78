"""RFC 9396 ``authorization_details`` parsing without a server: the type definition, the
injected catalogue and the client's registered types (§10.2)."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

import pytest

from identity.oidc.authorization_details import (
    InvalidAuthorizationDetails,
    LicenseRequest,
    allowed_types,
    parse_authorization_details,
)

ID_CARD = "111000000000130013001"


class FakeCatalogue:
    """Conforms to ``LicenseCatalogue``: one license type, one service item."""

    def requestable_fields(self, session: Any, *, license_type: str) -> Sequence[str] | None:
        return ["holder_name", "fields.birth_date"] if license_type == ID_CARD else None

    def service_item_exists(self, session: Any, *, code: str) -> bool:
        return code == "110000-XK-0002"


# The fake catalogues never open the database: these tests pass ``session=None``.
def parse(
    value: Any, *, client_types: Collection[str] = ("govwallet_license",)
) -> list[LicenseRequest]:
    raw = value if isinstance(value, str) else json.dumps(value)
    return parse_authorization_details(
        raw,
        session=None,  # type: ignore[arg-type]
        catalogue=FakeCatalogue(),
        client_types=client_types,
    )


def test_absent_details_are_no_request() -> None:
    assert parse("") == []
    assert (
        parse_authorization_details(None, session=None, catalogue=FakeCatalogue(), client_types=())  # type: ignore[arg-type]
        == []
    )


def test_a_valid_request_round_trips() -> None:
    detail = {
        "type": "govwallet_license",
        "license_type": ID_CARD,
        "fields": ["holder_name"],
        "service_item": "110000-XK-0002",
        "purpose": "身份核验",
    }
    [request] = parse([detail])
    assert request == LicenseRequest(ID_CARD, ("holder_name",), "110000-XK-0002", "身份核验")
    assert request.as_dict() == detail


def test_a_client_registered_for_other_types_is_refused() -> None:
    detail = {"type": "govwallet_license", "license_type": ID_CARD, "fields": ["holder_name"]}
    with pytest.raises(InvalidAuthorizationDetails) as caught:
        parse([detail], client_types=allowed_types({"authorization_details_types": ["x"]}))
    assert caught.value.error == "invalid_authorization_details"
    assert allowed_types({}) == ("govwallet_license",)
    assert allowed_types({"authorization_details_types": ["govwallet_license"]}) == [
        "govwallet_license"
    ]


def test_descriptions_stay_within_rfc6749_characters() -> None:
    """RFC 6749 §5.2: error_description uses %x20-21 / %x23-5B / %x5D-7E only."""
    detail = {"type": "govwallet_license", "license_type": ID_CARD, "fields": ['名"\\']}
    with pytest.raises(InvalidAuthorizationDetails) as caught:
        parse([detail])
    description = caught.value.description
    assert all(0x20 <= ord(ch) <= 0x7E and ch not in '"\\' for ch in description)
    assert len(description) <= 120
    too_long = "[" + ",".join(["{}"] * 3000) + "]"
    with pytest.raises(InvalidAuthorizationDetails):
        parse(too_long)


def test_all_details_together_ask_for_at_most_sixty_fields() -> None:
    """Each field is a consent checkbox: the form must stay within the endpoint's limit."""

    class WideCatalogue(FakeCatalogue):
        def requestable_fields(self, session: Any, *, license_type: str) -> Sequence[str]:
            return [f"fields.f{i}" for i in range(60)]

    def details(count: int, width: int) -> str:
        return json.dumps(
            [
                {
                    "type": "govwallet_license",
                    "license_type": f"{ID_CARD[:-3]}{index:03d}",
                    "fields": [f"fields.f{i}" for i in range(width)],
                }
                for index in range(count)
            ]
        )

    ok = parse_authorization_details(
        details(2, 30),
        session=None,  # type: ignore[arg-type]
        catalogue=WideCatalogue(),
        client_types=allowed_types({}),
    )
    assert sum(len(r.fields) for r in ok) == 60
    with pytest.raises(InvalidAuthorizationDetails):
        parse_authorization_details(
            details(3, 21),
            session=None,  # type: ignore[arg-type]
            catalogue=WideCatalogue(),
            client_types=allowed_types({}),
        )
