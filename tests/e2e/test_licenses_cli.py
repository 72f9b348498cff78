"""The license registry as operators and agencies drive it: a real server and real CLI processes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from stdnum.iso7064 import mod_11_2

from licenses import sdjwt, statuslist
from licenses.models import License
from tests.support.live_server import REPO_ROOT, LiveServer, live_server

pytestmark = pytest.mark.e2e

ID_CARD = "111000000000130013001"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("licenses-e2e"), demo=True) as running:
        yield running


def cli_json(server: LiveServer, *args: str) -> Any:
    return json.loads(server.cli(*args, "--json").stdout)


def token(server: LiveServer, client_id: str, secret: str) -> dict[str, str]:
    response = httpx.post(
        f"{server.base_url}/token",
        data={
            "grant_type": "client_credentials",
            "scope": "licenses:issue licenses:read licenses:verify",
        },
        auth=(client_id, secret),
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def holder_ids(count: int) -> list[str]:
    return [
        f"22010219800101{i:03d}" + mod_11_2.calc_check_digit(f"22010219800101{i:03d}")
        for i in range(count)
    ]


def server_engine(server: LiveServer) -> Engine:
    """The server's own database: its SQLite file, or its PostgreSQL (two-node runs)."""
    url = server.env.get("GOVWALLET_DATABASE_URL")
    return create_engine(url or f"sqlite:///{server.data_dir / 'govwallet.sqlite3'}")


def license_count(server: LiveServer) -> int:
    engine = server_engine(server)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(License.__table__)) or 0)
    finally:
        engine.dispose()


def test_demo_prints_two_agencies_in_different_regions_and_their_licenses(
    server: LiveServer,
) -> None:
    log = server.log()
    assert "demo-agency-beijing" in log
    assert "demo-agency-jilin" in log
    assert "region:        110000" in log
    assert "region:        220000" in log
    demo_ids = [line.split()[-1] for line in log.splitlines() if line.startswith("demo license:")]
    assert len(demo_ids) == 4
    lines = log.splitlines()
    start = next(i for i, line in enumerate(lines) if "demo-agency-jilin" in line)
    secret = next(line.split()[-1] for line in lines[start:] if "client secret:" in line)
    headers = token(server, "demo-agency-jilin", secret)
    jilin_license = next(i for i in demo_ids if ".11220000013544541J." in i)
    read = httpx.get(f"{server.base_url}/api/v1/licenses/{jilin_license}", headers=headers)
    assert read.status_code == 200
    assert read.json()["status"]["value"] == "valid"


def test_agency_add_type_catalogue_and_issue(server: LiveServer, tmp_path: Path) -> None:
    types = cli_json(server, "license-type", "list")
    assert len(types) >= 8
    assert all(t["code"] and t["name_zh"] and t["name_en"] for t in types)
    agency = cli_json(
        server,
        "agency",
        "add",
        "--name",
        "北京大学口腔医院",
        "--credit-code",
        "12100000400777097N",
        "--region",
        "110000",
        "--license-type",
        ID_CARD,
    )
    assert {"agency_id", "client_id", "client_secret"} <= set(agency)
    example = json.loads(server.cli("license-type", "example", ID_CARD).stdout)
    headers = token(server, agency["client_id"], agency["client_secret"])
    body = {
        "type": ID_CARD,
        "holder": {"id_number": "11010519491231002X", "name": "张三"},
        "fields": example["fields"],
        "area_code": "110105",
    }
    response = httpx.post(f"{server.base_url}/api/v1/licenses", json=body, headers=headers)
    assert response.status_code == 201, response.text
    bad = server.cli(
        "agency",
        "add",
        "--name",
        "x",
        "--credit-code",
        "12100000400005852X",
        "--region",
        "110000",
        "--license-type",
        ID_CARD,
        check=False,
    )
    assert bad.returncode != 0
    assert "credit_code" in bad.stderr


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(child) for child in (task / "children").read_text().split())
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


#: One agency (credit code, name) for each variant, so each imports into a registry of
#: its own.
IMPORT_AGENCIES = {
    "0": ("12100000400002697C", "重庆大学"),
    "1": ("11100000000013338W", "住房和城乡建设部"),
    "2": ("11430000006122244L", "湖南省住房和城乡建设厅"),
}


@pytest.mark.parametrize(
    "signers", ["0", "1", "2"], ids=["signed-here", "signing-process", "two-signing-processes"]
)
def test_import_killed_mid_file_then_resumed(
    server: LiveServer, tmp_path: Path, signers: str
) -> None:
    """Also with signing in worker processes (``--signers 1`` and ``2``, the default on two
    cores): the importer killed, its workers left behind, the rerun issues every line
    exactly once, verifiably signed."""
    credit_code, name = IMPORT_AGENCIES[signers]
    agency = cli_json(
        server,
        "agency",
        "add",
        "--name",
        name,
        "--credit-code",
        credit_code,
        "--region",
        "500000",
        "--license-type",
        ID_CARD,
    )
    example = json.loads(server.cli("license-type", "example", ID_CARD).stdout)["fields"]
    lines = [
        json.dumps(
            {
                "type": ID_CARD,
                "holder": {"id_number": h, "name": "王五"},
                "fields": example,
                "area_code": "500103",
            }
        )
        for h in holder_ids(400)
    ]
    path = tmp_path / "register.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = license_count(server)

    first = server.cli(
        "license",
        "import",
        "--agency",
        agency["agency_id"],
        str(path),
        "--limit",
        "50",
        "--signers",
        signers,
        "--json",
    )
    assert json.loads(first.stdout)["last_line"] == 50
    assert license_count(server) == before + 50

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wallet_api",
            "license",
            "import",
            "--agency",
            agency["agency_id"],
            str(path),
            "--chunk",
            "40",
            "--signers",
            signers,
        ],
        env=server.env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while license_count(server) < before + 120 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = _children(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    interrupted_at = license_count(server) - before
    # A signing process left behind by the killed importer stops by itself.
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)
    assert 120 <= interrupted_at < 400

    resumed = json.loads(
        server.cli(
            "license",
            "import",
            "--agency",
            agency["agency_id"],
            str(path),
            "--signers",
            signers,
            "--json",
        ).stdout
    )
    assert resumed["state"] == "done"
    assert (resumed["issued"], resumed["failed"], resumed["last_line"]) == (400, 0, 400)
    assert license_count(server) == before + 400
    engine = server_engine(server)
    with engine.connect() as connection:
        digests = (
            connection.execute(
                text("SELECT holder_digest FROM licenses_license WHERE issuer_code = :c"),
                {"c": credit_code},
            )
            .scalars()
            .all()
        )
        credential = connection.execute(
            text("SELECT credential FROM licenses_license WHERE issuer_code = :c LIMIT 1"),
            {"c": credit_code},
        ).scalar_one()
    engine.dispose()
    assert len(digests) == len(set(digests)) == 400
    # Signed where it was signed, it verifies like any other; the audit chain is whole.
    issued = tmp_path / "issued.txt"
    issued.write_text(credential, encoding="utf-8")
    verified = json.loads(server.cli("license", "verify", str(issued), "--json").stdout)
    assert verified["valid"] is True, verified
    assert server.cli("audit", "verify").returncode == 0


def test_revoke_by_cli_shows_in_the_served_status_list_and_verify(
    server: LiveServer, tmp_path: Path
) -> None:
    agency = cli_json(
        server,
        "agency",
        "add",
        "--name",
        "北京理工大学",
        "--credit-code",
        "12100000400009127B",
        "--region",
        "110000",
        "--license-type",
        ID_CARD,
    )
    example = json.loads(server.cli("license-type", "example", ID_CARD).stdout)["fields"]
    body_file = tmp_path / "body.json"
    body_file.write_text(
        json.dumps(
            {
                "type": ID_CARD,
                "holder": {"id_number": "11010519491231002X", "name": "张三"},
                "fields": example,
                "area_code": "110108",
            }
        ),
        encoding="utf-8",
    )
    issued = cli_json(server, "license", "issue", "--agency", agency["credit_code"], str(body_file))
    presentation = sdjwt.present(
        credential=issued["credential"],
        disclose=["holder_name"],
        holder=None,
        audience="x",
        nonce="n",
        iat=datetime.now(UTC),
    )
    pres_file = tmp_path / "presentation.txt"
    pres_file.write_text(presentation, encoding="utf-8")
    verified = cli_json(server, "license", "verify", str(pres_file))
    assert verified["valid"] is True
    assert verified["claims"]["holder_name"] == "张三"

    revoked = cli_json(server, "license", "revoke", issued["id"], "--reason", "issued in error")
    assert revoked["status"]["value"] == "revoked"
    ref = issued["status"]["status_list"]
    served = httpx.get(ref["uri"])
    assert served.status_code == 200
    lst = statuslist.verify_status_list_token(
        token=served.text,
        jwks=httpx.get(f"{server.base_url}/jwks.json").json(),
        expected_sub=ref["uri"],
        now=datetime.now(UTC),
    )
    assert lst.status_list.get(ref["idx"]) == 1

    after = server.cli("license", "verify", str(pres_file), "--json", check=False)
    assert after.returncode == 1
    assert json.loads(after.stdout)["checks"]["status"]["outcome"] == "failed"
    again = server.cli("license", "reinstate", issued["id"], "--reason", "x", check=False)
    assert again.returncode != 0
    assert "cannot reinstate" in again.stderr
    malformed = server.cli("license", "show", "1.2.156.3005.2.bad", check=False)
    assert malformed.returncode != 0


def test_verify_qr_reads_an_offline_qr_image(server: LiveServer, tmp_path: Path) -> None:
    from licenses import qr, qr_images

    agency = cli_json(
        server,
        "agency",
        "add",
        "--name",
        "中国科学院软件研究所",
        "--credit-code",
        "121000004000123696",
        "--region",
        "110000",
        "--license-type",
        ID_CARD,
    )
    example = json.loads(server.cli("license-type", "example", ID_CARD).stdout)["fields"]
    body_file = tmp_path / "body.json"
    body_file.write_text(
        json.dumps(
            {
                "type": ID_CARD,
                "holder": {"id_number": "11010519491231002X", "name": "张三"},
                "fields": example,
                "area_code": "110108",
            }
        ),
        encoding="utf-8",
    )
    issued = cli_json(server, "license", "issue", "--agency", agency["agency_id"], str(body_file))
    presentation = sdjwt.present(
        credential=issued["credential"],
        disclose=["holder_name"],
        holder=None,
        audience="x",
        nonce="n",
        iat=datetime.now(UTC),
    )
    image = tmp_path / "qr.png"
    image.write_bytes(qr_images.render_png(qr.encode_offline(presentation)).content)
    result = cli_json(server, "license", "verify-qr", str(image))
    assert result["valid"] is True
    assert result["license_id"] == issued["id"]
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("L", (200, 200), 255).save(blank)
    none = server.cli("license", "verify-qr", str(blank), check=False)
    assert none.returncode != 0
    assert "no QR code" in none.stderr
