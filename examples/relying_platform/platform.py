"""What the example platform does, apart from HTTP serving: the code flow with PKCE and
RFC 9396 ``authorization_details``, the shared-licenses read, offline verification and
the paper report. Everything goes through govwallet's public HTTP interfaces."""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from licenses import sdjwt, statuslist, trustlist, verification

#: The claims asked of every license the service item accepts (the directory entry a
#: clerk would otherwise copy from paper); the citizen may untick any of them.
ASKED_FIELDS = ["license_type_name", "license_number", "holder_name", "issuing_agency_name"]
#: How old a key-binding JWT may be when the platform checks it.
KEY_BINDING_MAX_AGE = timedelta(minutes=5)


@dataclass(frozen=True)
class PlatformConfig:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    service_item: str


@dataclass
class Pending:
    """One login in flight, by its ``state``."""

    code_verifier: str
    nonce: str


@dataclass
class VerifiedLicense:
    license_id: str | None
    license_type: str | None
    valid: bool
    failed_checks: list[str]
    claims: dict[str, Any]
    issuer_name: str | None
    issuer_credit_code: str | None
    issuer_region: str | None


@dataclass
class Outcome:
    """What the callback page shows."""

    subject: str
    granted: list[dict[str, Any]]
    licenses: list[VerifiedLicense]
    report: dict[str, Any]
    service_item: dict[str, Any] = field(default_factory=dict)


class RelyingPlatform:
    def __init__(self, config: PlatformConfig, *, http: httpx.Client | None = None) -> None:
        self.config = config
        self.http = http or httpx.Client(timeout=30)
        self._pending: dict[str, Pending] = {}
        self._lock = threading.Lock()

    # -- govwallet's public documents ----------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        url = f"{self.config.issuer}/.well-known/openid-configuration"
        return dict(self._get(url).json())

    def service_item(self) -> dict[str, Any]:
        return dict(self._get(self._api(f"service-items/{self.config.service_item}")).json())

    def authorization_details(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        """One ``govwallet_license`` request per license type the item's materials accept."""
        purposes: dict[str, list[str]] = {}
        for material in item["materials"]:
            for license_type in material["license_types"]:
                purposes.setdefault(license_type, []).append(material["name_en"])
        return [
            {
                "type": "govwallet_license",
                "license_type": license_type,
                "fields": ASKED_FIELDS,
                "service_item": item["code"],
                "purpose": ("Instead of a paper copy of: " + "; ".join(names))[:200],
            }
            for license_type, names in purposes.items()
        ]

    # -- the code flow -------------------------------------------------------------------

    def _oauth(self) -> OAuth2Client:
        return OAuth2Client(
            client_id=self.config.client_id,
            client_secret=self.config.client_secret,
            scope="openid",
            redirect_uri=self.config.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106
        )

    def login_url(self) -> str:
        """The authorization request: code flow, PKCE S256, nonce, and the licenses."""
        item = self.service_item()
        verifier = secrets.token_urlsafe(48)
        nonce = secrets.token_urlsafe(16)
        url, state = self._oauth().create_authorization_url(
            self.metadata()["authorization_endpoint"],
            code_verifier=verifier,
            nonce=nonce,
            authorization_details=json.dumps(self.authorization_details(item)),
        )
        with self._lock:
            self._pending[state] = Pending(code_verifier=verifier, nonce=nonce)
        return str(url)

    def complete(self, callback_url: str, *, state: str) -> Outcome:
        """Exchange the code, check the ID token, read and verify the shared licenses."""
        with self._lock:
            pending = self._pending.pop(state, None)
        if pending is None:
            raise PermissionError("unknown or reused state")
        meta = self.metadata()
        with self._oauth() as oauth:
            token = oauth.fetch_token(
                meta["token_endpoint"],
                authorization_response=callback_url,
                code_verifier=pending.code_verifier,
            )
        claims = self._id_token_claims(meta, token["id_token"], nonce=pending.nonce)
        read_nonce = secrets.token_urlsafe(16)
        shared = self._get(
            self._api("shared-licenses"),
            params={"nonce": read_nonce},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        ).json()
        licenses = self.verify_all(
            [item["presentation"] for item in shared["licenses"]], nonce=read_nonce
        )
        report = self.paper_report(licenses)
        return Outcome(
            subject=str(claims["sub"]),
            granted=list(token.get("authorization_details", [])),
            licenses=licenses,
            report=report,
            service_item=self.service_item(),
        )

    def _id_token_claims(self, meta: dict[str, Any], id_token: str, *, nonce: str) -> Any:
        keys = KeySet.import_key_set(self._get(meta["jwks_uri"]).json())
        verified = jwt.decode(id_token, keys, algorithms=["RS256", "ES256"])
        jwt.JWTClaimsRegistry(
            leeway=30,
            iss={"essential": True, "value": self.config.issuer},
            aud={"essential": True, "value": self.config.client_id},
            nonce={"essential": True, "value": nonce},
            exp={"essential": True},
            sub={"essential": True},
        ).validate(verified.claims)
        return verified.claims

    # -- offline verification --------------------------------------------------------------

    def verify_all(self, presentations: list[str], *, nonce: str) -> list[VerifiedLicense]:
        """Verify with govwallet's offline library against the signed trust list and the
        status lists it serves (fetched once here; a platform would cache them)."""
        now = datetime.now(UTC)
        jwks = self._get(f"{self.config.issuer}/jwks.json").json()
        trust = trustlist.verify_trust_list(
            token=self._get(self._api("trust-list")).text,
            jwks=jwks,
            expected_iss=self.config.issuer,
            now=now,
        )
        lists = verification.CachedStatusLists()
        out = []
        for presentation in presentations:
            unverified = sdjwt.parse_presentation(presentation).unverified_claims
            uri = unverified.get("status", {}).get("status_list", {}).get("uri")
            if uri and lists.get(uri) is None:
                lists.add(
                    statuslist.verify_status_list_token(
                        token=self._get(uri).text, jwks=jwks, expected_sub=uri, now=now
                    )
                )
            result = verification.verify_presentation(
                presentation=presentation,
                trust_list=trust,
                status_lists=lists,
                audience=self.config.client_id,
                nonce=nonce,
                now=now,
                key_binding_max_age=KEY_BINDING_MAX_AGE,
                require_key_binding=True,
            )
            issuer = result.issuer
            out.append(
                VerifiedLicense(
                    license_id=result.license_id,
                    license_type=result.license_type,
                    valid=result.valid,
                    failed_checks=result.failed_checks(),
                    claims=result.claims,
                    issuer_name=issuer.name if issuer else None,
                    issuer_credit_code=issuer.credit_code if issuer else None,
                    issuer_region=issuer.region_code if issuer else None,
                )
            )
        return out

    def paper_report(self, licenses: list[VerifiedLicense]) -> dict[str, Any]:
        """Which of the item's materials the verified licenses replace."""
        held = [
            {
                "license_type": item.license_type,
                "issuer_credit_code": item.issuer_credit_code,
                "issuer_region": item.issuer_region,
                "identifier": item.license_id,
            }
            for item in licenses
            if item.valid
        ]
        response = self.http.post(
            self._api(f"service-items/{self.config.service_item}/paper-report"),
            json={"held_licenses": held},
        )
        response.raise_for_status()
        return dict(response.json())

    # -- helpers ---------------------------------------------------------------------------

    def _api(self, path: str) -> str:
        return f"{self.config.issuer}/api/v1/{path}"

    def _get(self, url: str, **kwargs: Any) -> httpx.Response:
        response = self.http.get(url, **kwargs)
        response.raise_for_status()
        return response
