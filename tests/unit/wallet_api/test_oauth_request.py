"""The OAuth request handed to Authlib: the same state as Authlib's own, the transport
checked (RFC 6749 §3.1) once per origin without letting an insecure one through."""

from __future__ import annotations

import pytest
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.errors import InsecureTransportError

from wallet_api.oauth_server import StarletteOAuth2Request


def _request(uri: str) -> StarletteOAuth2Request:
    return StarletteOAuth2Request(
        method="POST",
        uri=uri,
        headers={"authorization": "Basic eDp5"},
        query=[("a", "1")],
        form=[("grant_type", "client_credentials"), ("scope", "x"), ("scope", "y")],
        db=None,
    )


def test_has_every_attribute_authlib_sets() -> None:
    authlib_own = set(vars(OAuth2Request("POST", "https://gw.example/token")))
    ours = _request("https://gw.example/token")
    assert authlib_own <= set(vars(ours))
    assert ours.uri == "https://gw.example/token"
    assert ours.method == "POST"
    assert ours.client is None
    assert ours.user is None
    assert ours.scope == "x"  # from the payload until a grant sets it
    assert ours.form["grant_type"] == "client_credentials"
    assert ours.payload.datalist["scope"] == ["x", "y"]
    assert ours.args == {"a": "1"}


@pytest.mark.parametrize(
    "uri", ["https://gw.example/token", "http://127.0.0.1:8000/token", "http://localhost/x"]
)
def test_secure_or_loopback_transport_is_accepted(
    uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUTHLIB_INSECURE_TRANSPORT", raising=False)
    for _ in range(2):
        assert _request(uri).uri == uri


def test_plain_http_elsewhere_is_refused_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTHLIB_INSECURE_TRANSPORT", raising=False)
    for _ in range(2):  # a refusal is never remembered as a pass
        with pytest.raises(InsecureTransportError):
            _request("http://gw.example/token?x=1")
