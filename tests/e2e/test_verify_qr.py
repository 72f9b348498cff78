"""``govwallet license verify-qr IMAGE``: generated QR images, read back by the QrDecoder.

Each case runs the real CLI process against the test's database (SQLite and PostgreSQL):
a valid license, the same license after revocation, and a tampered presentation.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from licenses import qr, qr_images, sdjwt
from licenses.jose import b64url_decode, b64url_encode
from tests.support.license_factories import BEIJING, license_body, make_agency
from tests.support.live_server import REPO_ROOT
from tests.unit.licenses.audit.cli_support import cli_env_for
from wallet_api.cli.license import issue_license
from wallet_api.runtime import Runtime

pytestmark = pytest.mark.e2e

DISCLOSE = ["holder_name", "license_number", "issue_date", "valid_until", "issuing_agency_name"]


def govwallet(runtime: Runtime, *args: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "wallet_api", *args],
        env={**os.environ, **cli_env_for(runtime)},
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )


def qr_png(tmp_path: Path, presentation: str, name: str = "qr.png") -> Path:
    image = qr_images.render_png(qr.encode_offline(presentation))
    path = tmp_path / name
    path.write_bytes(image.content)
    return path


@pytest.fixture
def issued(runtime: Runtime) -> dict[str, Any]:
    make_agency(runtime, who=BEIJING)
    return issue_license(runtime, agency_ref=BEIJING[1], body=license_body(runtime))


def present(issued: dict[str, Any]) -> str:
    return sdjwt.present(
        credential=issued["credential"],
        disclose=DISCLOSE,
        holder=None,
        audience="unused",
        nonce="unused",
        iat=datetime.now(UTC),
    )


def test_a_valid_license_read_from_a_png_prints_what_verify_prints(
    runtime: Runtime, issued: dict[str, Any], tmp_path: Path
) -> None:
    presentation = present(issued)
    image = qr_png(tmp_path, presentation)
    from_image = govwallet(runtime, "license", "verify-qr", str(image), "--json")
    assert from_image.returncode == 0, from_image.stderr
    result = json.loads(from_image.stdout)
    assert result["valid"] is True
    assert result["license_id"] == issued["id"]
    assert result["claims"]["holder_name"] == "张三"
    assert set(DISCLOSE) <= set(result["claims"])

    text_file = tmp_path / "presentation.txt"
    text_file.write_text(presentation, encoding="utf-8")
    from_text = json.loads(govwallet(runtime, "license", "verify", str(text_file), "--json").stdout)
    for volatile in ("trust_list", "status_list"):
        from_text.pop(volatile)
        result.pop(volatile)
    assert result == from_text

    summary = govwallet(runtime, "license", "verify-qr", str(image))
    assert summary.returncode == 0
    assert summary.stdout.startswith("VALID")

    svg = tmp_path / "qr.svg"
    svg.write_bytes(qr_images.render_svg(qr.encode_offline(presentation)).content)
    from_svg = govwallet(runtime, "license", "verify-qr", str(svg), "--json")
    assert from_svg.returncode == 0, from_svg.stderr
    assert json.loads(from_svg.stdout)["license_id"] == issued["id"]


def test_a_revoked_license_is_not_valid(
    runtime: Runtime, issued: dict[str, Any], tmp_path: Path
) -> None:
    image = qr_png(tmp_path, present(issued))
    revoked = govwallet(runtime, "license", "revoke", issued["id"], "--reason", "issued in error")
    assert revoked.returncode == 0, revoked.stderr
    after = govwallet(runtime, "license", "verify-qr", str(image), "--json")
    assert after.returncode == 1
    result = json.loads(after.stdout)
    assert result["valid"] is False
    assert result["status"] == "invalid"
    assert result["checks"]["status"] == {
        "outcome": "failed",
        "reason": "the license has been revoked",
        "code": "license-revoked",
    }


def test_a_tampered_presentation_fails_its_signature(
    runtime: Runtime, issued: dict[str, Any], tmp_path: Path
) -> None:
    jwt, *rest = present(issued).split("~")
    header, payload, signature = jwt.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["license_id"] = claims["license_id"][:-5] + "001.X"
    forged = ".".join([header, b64url_encode(json.dumps(claims).encode()), signature])
    image = qr_png(tmp_path, "~".join([forged, *rest]))
    result = govwallet(runtime, "license", "verify-qr", str(image), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert report["checks"]["signature"]["outcome"] == "failed"
    assert report["checks"]["status"]["outcome"] == "skipped"


def test_images_without_an_offline_qr_are_refused_with_a_reason(
    runtime: Runtime, tmp_path: Path
) -> None:
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("L", (120, 120), 255).save(blank)
    not_image = tmp_path / "notes.png"
    not_image.write_text("not a picture", encoding="utf-8")
    link = tmp_path / "link.png"
    link.write_bytes(qr_images.render_png("https://gov.example/q/abc").content)
    cases = [
        (blank, "no QR code was found"),
        (not_image, "not an image"),
        (link, "not an offline presentation"),
        (tmp_path / "missing.png", "cannot read"),
    ]
    for path, message in cases:
        result = govwallet(runtime, "license", "verify-qr", str(path), "--json")
        assert result.returncode == 2, (path, result.stdout, result.stderr)
        assert message in result.stderr, (path, result.stderr)
        assert "Traceback" not in result.stderr
