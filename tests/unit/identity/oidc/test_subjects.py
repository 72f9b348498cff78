"""identity.oidc.subjects: pairwise per sector, public on request."""

from __future__ import annotations

from typing import Any

from identity.oidc.clients import RegisteredClient
from identity.oidc.subjects import subject_for
from keys import KeyedDigest, MasterSecret

MASTER = MasterSecret("m" * 32)
PAIRWISE = KeyedDigest(MASTER, "oidc/pairwise-subject")


def _client(redirect: str, subject_type: str = "pairwise", **extra: Any) -> RegisteredClient:
    return RegisteredClient(
        client_id="c",
        name="n",
        secret_digest=None,
        client_metadata={"redirect_uris": [redirect], "subject_type": subject_type, **extra},
        _digest=PAIRWISE,
    )


def test_pairwise_is_per_sector_and_not_the_public_subject() -> None:
    a = subject_for(client=_client("https://a.gov.cn/cb"), citizen_subject="S", pairwise=PAIRWISE)
    a2 = subject_for(
        client=_client("https://a.gov.cn/other"), citizen_subject="S", pairwise=PAIRWISE
    )
    b = subject_for(client=_client("https://b.gov.cn/cb"), citizen_subject="S", pairwise=PAIRWISE)
    assert a == a2
    assert a != b
    assert "S" not in (a, b)


def test_registered_sector_identifier_groups_hosts() -> None:
    one = _client("https://a.gov.cn/cb", sector_identifier="sector-1")
    two = _client("https://b.gov.cn/cb", sector_identifier="sector-1")
    assert subject_for(client=one, citizen_subject="S", pairwise=PAIRWISE) == subject_for(
        client=two, citizen_subject="S", pairwise=PAIRWISE
    )


def test_public_subject_is_the_citizen_subject() -> None:
    client = _client("https://a.gov.cn/cb", subject_type="public")
    assert subject_for(client=client, citizen_subject="S", pairwise=PAIRWISE) == "S"
