"""Settings: defaults, validation, and one clear line naming a bad setting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.live_server import REPO_ROOT
from wallet_api.db import normalise_url
from wallet_api.settings import DevelopmentSecretWarning, SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("GOVWALLET_") and name != "GOVWALLET_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_use_sqlite_in_the_data_directory(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "d")
    expected = f"sqlite:///{(tmp_path / 'd').resolve()}/govwallet.sqlite3"
    assert settings.effective_database_url == expected
    assert settings.issuer_url == "http://127.0.0.1:8000"
    assert settings.secure_cookies is False  # http issuer
    assert load_settings(issuer="https://id.example.gov.cn/").secure_cookies is True


def test_environment_variables_and_dotenv_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("GOVWALLET_SESSION_IDLE_SECONDS=900\n")
    monkeypatch.setenv("GOVWALLET_ISSUER", "https://id.example.gov.cn")
    settings = load_settings()
    assert settings.issuer_url == "https://id.example.gov.cn"
    assert settings.session_idle_seconds == 900


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GOVWALLET_DATABASE_URL": "mysql://x/y"}, "GOVWALLET_DATABASE_URL: must be a sqlite"),
        ({"GOVWALLET_ISSUER": "not a url"}, "GOVWALLET_ISSUER:"),
        ({"GOVWALLET_ISSUER": "https://x.example/?a=b"}, "GOVWALLET_ISSUER: must not carry"),
        ({"GOVWALLET_KEY_ENCRYPTION_SECRET": "short"}, "GOVWALLET_KEY_ENCRYPTION_SECRET: must"),
        ({"GOVWALLET_SESSION_IDLE_SECONDS": "soon"}, "GOVWALLET_SESSION_IDLE_SECONDS:"),
        ({"GOVWALLET_LOG_LEVEL": "LOUD"}, "GOVWALLET_LOG_LEVEL:"),
        ({"GOVWALLET_ENVIRONMENT": "staging"}, "GOVWALLET_ENVIRONMENT:"),
        (
            {"GOVWALLET_ENVIRONMENT": "production", "GOVWALLET_ISSUER": "http://x.example"},
            "GOVWALLET_ISSUER: must be an https URL in production",
        ),
        (
            {"GOVWALLET_ENVIRONMENT": "production", "GOVWALLET_ISSUER": "https://x.example"},
            "GOVWALLET_KEY_ENCRYPTION_SECRET: is required in production",
        ),
    ],
)
def test_invalid_settings_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("invalid setting ")
    assert expected in message
    assert "\n" not in message


def test_cli_stops_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "GOVWALLET_DATABASE_URL": "oracle://nope"}
    result = subprocess.run(
        [sys.executable, "-m", "wallet_api", "db", "current"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "govwallet: invalid setting GOVWALLET_DATABASE_URL: "
        "Value error, must be a sqlite:/// or postgresql:// URL".replace("Value error, ", "")
    ]
    assert "Traceback" not in result.stderr
    assert REPO_ROOT.exists()


def test_development_secret_is_generated_once_private_and_warned_about(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "d")
    with pytest.warns(DevelopmentSecretWarning):
        first = settings.master_secret.derive("x")
    secret_file = tmp_path / "d" / "secrets" / "key-encryption-secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    with pytest.warns(DevelopmentSecretWarning):
        again = load_settings(data_dir=tmp_path / "d").master_secret.derive("x")
    assert first == again


def test_configured_secret_never_touches_the_disk(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "d", key_encryption_secret="s" * 40)
    settings.master_secret.derive("x")
    assert not (tmp_path / "d" / "secrets").exists()
    assert "s" * 40 not in repr(settings)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_urls_use_psycopg3(url: str, expected: str) -> None:
    assert normalise_url(url) == expected
