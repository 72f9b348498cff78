"""Test data for the credential library: real keys from a KeyStore, agencies, lists.

``CredentialWorld`` holds one migrated SQLite runtime whose key store has the platform
key, two agencies' keys and two holders' keys; its factory methods issue credentials,
presentations, trust lists and status lists with those keys, at a fixed time.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from keys import Signer
from licenses.sdjwt import IssuedCredential, issue_credential, present
from licenses.statuslist import (
    StatusList,
    VerifiedStatusList,
    build_status_list_token,
    status_claim,
    verify_status_list_token,
)
from licenses.trustlist import AgencyEntry, TrustList, agency_issuer, build_trust_list
from licenses.trustlist import verify_trust_list as _verify_trust_list
from licenses.verification import CachedStatusLists
from wallet_api.migrate import upgrade
from wallet_api.runtime import Runtime
from wallet_api.settings import Settings

PLATFORM = "https://gov.example"
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
#: Type codes: a defining ministry's credit code + 3 digits (tests/vectors).
BUSINESS_LICENSE = "11100000000013338W011"
DRIVING_LICENSE = "11100000MB0341032Y002"
REAL_ESTATE = "11100000MB03271699022"
AGENCY_A_CODE = "11430000006122244L"
AGENCY_B_CODE = "11330105002500287C"
STATUS_URI = f"{PLATFORM}/api/v1/status-lists/1"
AUDIENCE = "https://verifier.gov.example"
NONCE = "n-0S6_WzA2Mj"
LICENSE_ID = f"1.2.156.3005.2.{BUSINESS_LICENSE}.{AGENCY_A_CODE}.20230000403.001.U"


def subject_claims() -> dict[str, Any]:
    """The directory fields of docs/license-credential.md for one business license."""
    return {
        "license_type_name": "营业执照",
        "license_number": "310115000123456",
        "holder_name": "张三",
        "holder_code": "11010519491231002X",
        "holder_code_type": "111",
        "issuing_agency_name": "湖南省市场监督管理局",
        "issuing_agency_code": AGENCY_A_CODE,
        "defining_agency": "国家市场监督管理总局",
        "issue_date": "2026-11-24",
        "valid_from": "2026-11-24",
        "valid_until": "2036-11-23",
        "area_code": "430100",
        "service_item": "11430000006122244L3000117001000",
        "fields": {
            "enterprise_name": "长沙示例科技有限公司",
            "registered_capital": "100万元",
            "address": {"city": "长沙市", "street": "岳麓大道 1 号"},
            "business_scope": ["软件开发", "信息技术咨询"],
        },
    }


@dataclass
class CredentialWorld:
    runtime: Runtime
    _signers: dict[str, Signer] = field(default_factory=dict)

    @contextmanager
    def session(self) -> Iterator[Any]:
        with self.runtime.transaction() as session:
            yield session

    def signer(self, owner: str) -> Signer:
        if owner not in self._signers:
            with self.session() as session:
                self.runtime.keystore.ensure(session, owner=owner, alg="ES256")
                self._signers[owner] = self.runtime.keystore.signer(
                    session, owner=owner, alg="ES256"
                )
        return self._signers[owner]

    def jwks(self, owner: str) -> dict[str, Any]:
        self.signer(owner)
        with self.session() as session:
            return self.runtime.keystore.jwks(session, owner=owner)

    def public_jwk(self, owner: str) -> dict[str, Any]:
        kid = self.signer(owner).kid
        with self.session() as session:
            return self.runtime.keystore.public_jwk(session, kid=kid)

    def rotate(self, owner: str) -> Signer:
        with self.session() as session:
            self.runtime.keystore.rotate(
                session, owner=owner, alg="ES256", retain_for=timedelta(days=3650)
            )
        self._signers.pop(owner, None)
        return self.signer(owner)

    # -- agencies and the trust list ---------------------------------------------------

    def agency(
        self,
        key: str = "a",
        *,
        credit_code: str | None = None,
        license_types: Collection[str] = (BUSINESS_LICENSE, REAL_ESTATE),
        name: str | None = None,
    ) -> AgencyEntry:
        code = credit_code or (AGENCY_A_CODE if key == "a" else AGENCY_B_CODE)
        return AgencyEntry(
            id=f"agency-{key}",
            name=name or f"示例机构 {key.upper()}",
            credit_code=code,
            region_code="430000" if key == "a" else "330105",
            iss=agency_issuer(PLATFORM, code),
            license_types=tuple(license_types),
            jwks=self.jwks(f"agency:{key}"),
        )

    def trust_list_token(
        self,
        agencies: Collection[AgencyEntry] | None = None,
        *,
        iat: datetime = NOW - timedelta(hours=1),
        exp: datetime = NOW + timedelta(days=1),
        signer_owner: str = "provider",
    ) -> str:
        if agencies is None:
            agencies = [self.agency("a"), self.agency("b", license_types=(DRIVING_LICENSE,))]
        signer = self.signer(signer_owner)
        return build_trust_list(
            signer=signer, iss=PLATFORM, agencies=list(agencies), iat=iat, exp=exp
        )

    def trust_list(
        self,
        agencies: Collection[AgencyEntry] | None = None,
        *,
        iat: datetime = NOW - timedelta(hours=1),
        exp: datetime = NOW + timedelta(days=1),
        now: datetime = NOW,
        allow_expired: bool = False,
    ) -> TrustList:
        return _verify_trust_list(
            token=self.trust_list_token(agencies, iat=iat, exp=exp),
            jwks=self.jwks("provider"),
            expected_iss=PLATFORM,
            now=now,
            allow_expired=allow_expired,
        )

    # -- status lists ------------------------------------------------------------------

    def status_list(
        self,
        statuses: Mapping[int, int] | None = None,
        *,
        uri: str = STATUS_URI,
        iat: datetime = NOW - timedelta(minutes=5),
        exp: datetime | None = NOW + timedelta(hours=1),
        ttl: timedelta | None = timedelta(minutes=30),
        bits: int = 2,
    ) -> VerifiedStatusList:
        entries = StatusList(bits=bits, size=64)
        for idx, value in (statuses or {}).items():
            entries.set(idx, value)
        token = build_status_list_token(
            signer=self.signer("provider"), sub=uri, status_list=entries, iat=iat, exp=exp, ttl=ttl
        )
        return verify_status_list_token(
            token=token, jwks=self.jwks("provider"), expected_sub=uri, now=NOW, allow_expired=True
        )

    def status_lists(
        self, statuses: Mapping[int, int] | None = None, **kw: Any
    ) -> CachedStatusLists:
        cache = CachedStatusLists()
        cache.add(self.status_list(statuses, **kw))
        return cache

    # -- credentials and presentations -------------------------------------------------

    def issue(
        self,
        *,
        agency: str = "a",
        iss: str | None = None,
        vct: str = BUSINESS_LICENSE,
        claims: Mapping[str, Any] | None = None,
        holder: str | None = "holder:1",
        iat: datetime = NOW - timedelta(days=1),
        nbf: datetime | None = NOW - timedelta(days=1),
        exp: datetime | None = NOW + timedelta(days=3650),
        idx: int = 7,
        decoys: int = 0,
    ) -> IssuedCredential:
        return issue_credential(
            signer=self.signer(f"agency:{agency}"),
            iss=iss or agency_issuer(PLATFORM, AGENCY_A_CODE if agency == "a" else AGENCY_B_CODE),
            vct=vct,
            claims=subject_claims() if claims is None else claims,
            always_visible={"license_id": LICENSE_ID},
            iat=iat,
            nbf=nbf,
            exp=exp,
            status=status_claim(uri=STATUS_URI, idx=idx),
            cnf_jwk=self.public_jwk(holder) if holder else None,
            decoys=decoys,
        )

    def present(
        self,
        credential: str,
        *,
        disclose: Collection[str] = ("holder_name", "license_number", "fields.enterprise_name"),
        holder: str | None = "holder:1",
        audience: str = AUDIENCE,
        nonce: str = NONCE,
        iat: datetime = NOW - timedelta(seconds=10),
    ) -> str:
        return present(
            credential=credential,
            disclose=disclose,
            holder=self.signer(holder) if holder else None,
            audience=audience,
            nonce=nonce,
            iat=iat,
        )


def make_world(directory: Path) -> CredentialWorld:
    # pydantic validates str into SecretStr and AnyHttpUrl, which mypy cannot see.
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=directory / "data",
        key_encryption_secret=secrets.token_hex(32),  # type: ignore[arg-type]
        database_url=f"sqlite:///{directory / 'keys.sqlite3'}",
        issuer=PLATFORM,  # type: ignore[arg-type]
    )
    runtime = Runtime(settings)
    upgrade(runtime.engine)
    runtime.bootstrap()
    return CredentialWorld(runtime=runtime)


def world_fixture(name: str) -> Any:
    """A module-scoped ``world`` fixture: ``world = world_fixture("sdjwt")`` in a test module."""

    @pytest.fixture(scope="module")
    def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CredentialWorld]:
        built = make_world(tmp_path_factory.mktemp(name))
        yield built
        built.runtime.close()

    return world
