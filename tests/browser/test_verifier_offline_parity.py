"""static/offline-verify.js agrees with licenses/verification.py, case by case, in Chromium.

Every presentation below is verified twice: by ``verify_presentation`` in Python and by
``GovwalletOffline.verifyPresentation`` in the system Chromium (WebCrypto, pako), with the
same signed trust list and status list and the same clock. The verdict, every check's
outcome, the status and the disclosed claims must match; the GW1 QR text of each
presentation must decode in the browser to exactly the presentation.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from licenses import qr
from licenses.jose import b64url_decode, b64url_encode
from licenses.verification import CachedStatusLists, verify_presentation
from tests.support.browser import CHROMIUM, LAUNCH_ARGS, require_chromium
from tests.support.credentials import (
    DRIVING_LICENSE,
    NOW,
    PLATFORM,
    REAL_ESTATE,
    STATUS_URI,
    CredentialWorld,
    world_fixture,
)
from tests.support.presentation_fuzz import Mutator

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "wallet_api" / "static"
ORIGIN = "http://localhost"
PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script src="/static/vendor/pako_inflate.min.js"></script>
<script src="/static/offline-verify.js"></script></head><body></body></html>"""

require_chromium()

world = world_fixture("offline-parity")


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=LAUNCH_ARGS,
        )
        tab = browser.new_page()

        def serve(route: Any) -> None:
            path = route.request.url.removeprefix(ORIGIN)
            if path == "/":
                route.fulfill(status=200, content_type="text/html", body=PAGE)
            elif path.startswith("/static/"):
                route.fulfill(status=200, path=str(STATIC / path.removeprefix("/static/")))
            else:
                route.fulfill(status=404, body="")

        tab.route(f"{ORIGIN}/**", serve)
        tab.goto(f"{ORIGIN}/")  # http://localhost is a secure context: WebCrypto works
        tab.wait_for_function("window.GovwalletOffline && window.pako")
        yield tab
        browser.close()


def forge_payload(issuer_jwt: str, **changes: Any) -> str:
    header, payload, signature = issuer_jwt.split(".")
    claims = {**json.loads(b64url_decode(payload)), **changes}
    return ".".join([header, b64url_encode(json.dumps(claims).encode()), signature])


def forge_header(token: str, **changes: Any) -> str:
    header, *rest = token.split(".")
    fields = {**json.loads(b64url_decode(header)), **changes}
    return ".".join([b64url_encode(json.dumps(fields).encode()), *rest])


def cases(world: CredentialWorld) -> dict[str, dict[str, Any]]:
    """name → presentation plus what differs from the default lists."""
    issued = world.issue()
    bound = world.present(issued.credential)
    other = world.issue(idx=9)
    stray = world.present(other.credential, holder=None).split("~")[1]
    sd_jwt, kb_jwt = bound.rsplit("~", 1)
    return {
        "valid, key-bound": {"presentation": bound},
        "valid, no key binding": {"presentation": world.present(issued.credential, holder=None)},
        "valid, with decoys": {"presentation": world.present(world.issue(decoys=3).credential)},
        "revoked": {"presentation": bound, "statuses": {7: 1}},
        "suspended": {"presentation": bound, "statuses": {7: 2}},
        "application-specific status": {"presentation": bound, "statuses": {7: 3}},
        "application-specific status, 8 bits": {
            "presentation": bound,
            "statuses": {7: 0x0B},
            "bits": 8,
        },
        "reserved status, 8 bits": {"presentation": bound, "statuses": {7: 0x10}, "bits": 8},
        "tampered payload": {
            "presentation": bound.replace(
                issued.issuer_jwt, forge_payload(issued.issuer_jwt, license_id="forged")
            )
        },
        "untrusted issuer": {
            "presentation": bound,
            "agencies": [world.agency("b", license_types=(DRIVING_LICENSE,))],
        },
        "not authorised": {
            "presentation": bound,
            "agencies": [world.agency("a", license_types=(REAL_ESTATE,))],
        },
        "expired credential": {
            "presentation": world.present(world.issue(exp=NOW - timedelta(days=1)).credential)
        },
        "not yet valid": {
            "presentation": world.present(world.issue(nbf=NOW + timedelta(days=1)).credential)
        },
        "stale key binding": {
            "presentation": world.present(issued.credential, iat=NOW - timedelta(hours=1))
        },
        "disclosure dropped after key binding": {
            "presentation": "~".join(sd_jwt.split("~")[:-1]) + "~" + kb_jwt
        },
        "unreferenced disclosure": {
            "presentation": world.present(issued.credential, holder=None) + stray + "~"
        },
        "expired status list": {
            "presentation": bound,
            "status_exp": NOW - timedelta(minutes=1),
        },
        "expired trust list": {"presentation": bound, "trust_exp": NOW - timedelta(minutes=1)},
        "status list not cached": {"presentation": bound, "status_uri": f"{PLATFORM}/other"},
        "not a presentation": {"presentation": "no tilde here"},
        "crit not a list": {
            "presentation": bound.replace(
                issued.issuer_jwt, forge_header(issued.issuer_jwt, crit=1.5)
            )
        },
        "key-binding crit not a list": {
            "presentation": bound.replace(kb_jwt, forge_header(kb_jwt, crit="typ"))
        },
        "a character outside ASCII": {
            "presentation": bound.replace(bound.split("~")[1][:4], "é", 1)
        },
    }


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "valid": result["valid"],
        "outcomes": {name: check["outcome"] for name, check in result["checks"].items()},
        "status": result["status"],
        "claims": result["claims"],
        "license_id": result["license_id"],
        "issuer": (result["issuer"] or {}).get("credit_code"),
    }


def both_verdicts(
    world: CredentialWorld,
    page: Any,
    presentation: str,
    trust_list: Any,
    trust_token: str,
    status_list: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``verify_presentation``'s result and the browser's, for the same lists and clock."""
    expected = verify_presentation(
        presentation=presentation,
        trust_list=trust_list,
        status_lists=CachedStatusLists({status_list.uri: status_list}),
        audience=None,
        nonce=None,
        now=NOW,
        key_binding_max_age=timedelta(minutes=5),
        require_key_binding=False,
    ).as_dict()
    cache = {
        "fetched_at": 0,
        "issuer": PLATFORM,
        "jwks": world.jwks("provider"),
        "trust_list": trust_token,
        "status_lists": {status_list.uri: status_list.token},
    }
    actual = page.evaluate(
        "([p, cache, now]) => GovwalletOffline.verifyPresentation(p, cache, now)",
        [presentation, cache, int(NOW.timestamp())],
    )
    return expected, actual


def test_the_browser_verifier_mirrors_verify_presentation(
    world: CredentialWorld, page: Any
) -> None:
    checked = 0
    for name, case in cases(world).items():
        agencies = case.get("agencies")
        trust_exp = case.get("trust_exp", NOW + timedelta(days=1))
        trust_token = world.trust_list_token(agencies, exp=trust_exp)
        trust_list = world.trust_list(agencies, exp=trust_exp, allow_expired=True)
        status_list = world.status_list(
            case.get("statuses"),
            uri=case.get("status_uri", STATUS_URI),
            exp=case.get("status_exp", NOW + timedelta(hours=1)),
            bits=case.get("bits", 2),
        )
        expected, actual = both_verdicts(
            world, page, case["presentation"], trust_list, trust_token, status_list
        )
        assert comparable(actual) == comparable(expected), name
        for check_name, check in expected["checks"].items():
            if check["outcome"] == "failed":
                assert actual["checks"][check_name].get("reason"), (name, check_name)
        checked += 1
    assert checked == 23


def test_gw1_text_decodes_in_the_browser_byte_for_byte(world: CredentialWorld, page: Any) -> None:
    cache = {"gw1_dictionary": base64.b64encode(qr.GW1_DICTIONARY).decode()}
    for name, case in cases(world).items():
        try:
            text = qr.encode_offline(case["presentation"])
        except qr.QrError:
            continue  # not an SD-JWT: nothing to carry
        decoded = page.evaluate(
            "([t, cache]) => GovwalletOffline.decodeGw1(t, cache)", [text, cache]
        )
        assert decoded == case["presentation"], name
    broken = page.evaluate(
        "([t, cache]) => GovwalletOffline.decodeGw1(t, cache).then(() => 'ok', e => e.code)",
        ["GW1:" + "A" * 30, cache],
    )
    assert broken.startswith("qr-")


def test_the_browser_agrees_on_random_presentations(world: CredentialWorld, page: Any) -> None:
    """1,000 seeded random presentations (tests/support/presentation_fuzz.py) with status
    lists of every width: the same verdict, outcomes, status and claims. It found the
    browser accepting what joserfc refuses (unknown header members, a bad crit, b64, parts
    over joserfc's size limits, JWK members of the wrong type), calling an undecodable
    signature malformed, and throwing on a NumericDate beyond 9999."""
    rng = random.Random(20261207)
    mutator = Mutator(world, rng)
    trust_token = world.trust_list_token(None)
    trust_list = world.trust_list(None)
    for round_ in range(1000):
        presentation = mutator.presentation()
        bits = rng.choice((1, 2, 4, 8))
        status_list = world.status_list(
            {7: rng.randrange(1 << bits)} if rng.random() < 0.5 else {}, bits=bits
        )
        expected, actual = both_verdicts(
            world, page, presentation, trust_list, trust_token, status_list
        )
        # JSON numbers beyond 2**53 are floats in a browser: compare every number as one.
        assert as_floats(comparable(actual)) == as_floats(comparable(expected)), (
            round_,
            presentation,
        )


def as_floats(value: Any) -> Any:
    return json.loads(json.dumps(value), parse_int=float)
