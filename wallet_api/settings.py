"""One typed settings object, read from ``GOVWALLET_*`` environment variables and ``.env``.

A wrong value stops start-up with one line naming the setting
(:class:`SettingsError`), never a traceback.
"""

from __future__ import annotations

import os
import secrets
import warnings
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from keys import MasterSecret

ENV_PREFIX = "GOVWALLET_"
DEV_SECRET_FILE = "secrets/key-encryption-secret"  # noqa: S105 (a path, not a secret)


class SettingsError(Exception):
    """A setting is missing or invalid; the message names it in one line."""


class DevelopmentSecretWarning(UserWarning):
    """The key-encryption secret was generated into the data directory (development only)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")
    #: SQLAlchemy URL; default: a SQLite file in the data directory.
    database_url: str | None = None
    #: Connections kept per process (up to three times as many at peak); also the size of
    #: the thread pool and the number of requests admitted at once (wallet_api.admission).
    database_pool_size: int = Field(default=10, ge=1, le=200)
    #: The public base URL: the OpenID ``iss`` and the prefix of every link we hand out.
    issuer: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8000")
    #: Master secret from which key-wrapping and digest keys are derived (>= 32 bytes).
    key_encryption_secret: SecretStr | None = None

    session_cookie_name: str = Field(default="gw_session", pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    session_lifetime_seconds: int = Field(default=8 * 3600, ge=60)
    session_idle_seconds: int = Field(default=30 * 60, ge=60)
    #: ``None`` means: Secure cookies when the issuer is https.
    cookie_secure: bool | None = None
    cookie_samesite: Literal["lax", "strict"] = "lax"

    access_token_ttl_seconds: int = Field(default=600, ge=30, le=86400)
    id_token_ttl_seconds: int = Field(default=600, ge=30, le=86400)
    refresh_token_ttl_seconds: int = Field(default=30 * 86400, ge=60)
    #: Retired provider keys stay published this long (>= the longest token lifetime).
    provider_key_retain_seconds: int = Field(default=2 * 86400, ge=60)

    # -- the OpenID provider (identity/oidc) ----------------------------------------
    #: RFC 7591 initial access token for ``POST /register``; unset = registration disabled.
    oidc_registration_token: SecretStr | None = None
    #: How often the back-channel logout outbox is checked for due deliveries.
    backchannel_logout_interval_seconds: float = Field(default=2.0, ge=0.05, le=3600)
    #: Keep userinfo answers per access token in each worker, exact through PostgreSQL
    #: notifications (identity.oidc.token_state); no effect on SQLite.
    token_state_cache: bool = True

    # -- the citizen's wallet (wallet_api/portal_auth.py, licenses/wallet) ---------
    #: How long after its ``iat`` a wallet presentation's key-binding JWT is accepted.
    wallet_presentation_lifetime_seconds: int = Field(default=300, ge=10, le=3600)
    #: How long an online QR link holds its presentation (fetched once, then gone).
    wallet_online_qr_seconds: int = Field(default=180, ge=1, le=3600)

    # -- citizens' accounts (identity) -------------------------------------------
    #: Argon2id cost (OWASP Password Storage Cheat Sheet: m=19 MiB, t=2, p=1); hashes made
    #: with other parameters are re-hashed at the next successful login.
    argon2_time_cost: int = Field(default=2, ge=1, le=20)
    argon2_memory_cost: int = Field(default=19456, ge=8192, le=4 * 1024 * 1024)  # KiB
    argon2_parallelism: int = Field(default=1, ge=1, le=16)
    password_min_length: int = Field(default=10, ge=8, le=64)
    password_max_length: int = Field(default=128, ge=64, le=1024)
    #: How many of lower case, upper case, digits and other characters a password mixes.
    password_min_character_classes: int = Field(default=2, ge=1, le=4)
    login_max_failures_per_account: int = Field(default=5, ge=1, le=1000)
    login_max_failures_per_address: int = Field(default=30, ge=1, le=100000)
    login_failure_window_seconds: int = Field(default=15 * 60, ge=10)
    login_lockout_seconds: int = Field(default=15 * 60, ge=10)
    #: ``local`` (the register table) or ``development`` (confirms every name; warns loudly).
    population_register: Literal["local", "development"] = "local"
    #: Reads uploaded QR images on the verifier page and in ``govwallet license verify-qr``:
    #: ``zxing`` (ZXing-C++) or ``development`` (takes a text file as the QR text; warns).
    qr_decoder: Literal["zxing", "development"] = "zxing"

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    trusted_proxies: str = "127.0.0.1"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme = value.split(":", 1)[0]
        if scheme not in {"sqlite", "postgresql", "postgresql+psycopg", "postgres"}:
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        if scheme == "postgres":
            value = "postgresql" + value[len("postgres") :]
        return value

    @field_validator("key_encryption_secret")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError("must be at least 32 bytes (generate one with `openssl rand -hex 32`)")
        return value

    @field_validator("issuer")
    @classmethod
    def _issuer_shape(cls, value: AnyHttpUrl) -> AnyHttpUrl:
        if value.query or value.fragment:
            raise ValueError("must not carry a query or fragment (OpenID Discovery §3)")
        return value

    @model_validator(mode="after")
    def _production_rules(self) -> Settings:
        if self.environment == "production":
            if self.issuer.scheme != "https":
                raise ValueError("issuer: must be an https URL in production")
            if self.key_encryption_secret is None:
                raise ValueError("key_encryption_secret: is required in production")
            if self.cookie_secure is False:
                raise ValueError("cookie_secure: cannot be false in production")
            if self.population_register == "development":
                raise ValueError("population_register: 'development' is not allowed in production")
            if self.qr_decoder == "development":
                raise ValueError("qr_decoder: 'development' is not allowed in production")
        return self

    # -- derived values -------------------------------------------------------

    @property
    def issuer_url(self) -> str:
        """The issuer without a trailing slash, as it appears in ``iss``."""
        return str(self.issuer).rstrip("/")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'govwallet.sqlite3').resolve()}"

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.issuer.scheme == "https"

    @cached_property
    def master_secret(self) -> MasterSecret:
        """The configured secret, or in development one generated into the data directory."""
        if self.key_encryption_secret is not None:
            return MasterSecret(self.key_encryption_secret.get_secret_value())
        path = self.data_dir / DEV_SECRET_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        warnings.warn(
            f"development: the key-encryption secret is kept in {path}; set "
            f"{ENV_PREFIX}KEY_ENCRYPTION_SECRET in production",
            DevelopmentSecretWarning,
            stacklevel=2,
        )
        return MasterSecret(path.read_text().strip())


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = [str(part) for part in first.get("loc", ())]
    message = str(first.get("msg", "invalid value"))
    if not loc and ":" in message:
        # model-level rule: "Value error, issuer: must be ..."
        message = message.removeprefix("Value error, ")
        name, _, rest = message.partition(":")
        loc, message = [name.strip()], rest.strip()
    message = message.removeprefix("Value error, ")
    name = f"{ENV_PREFIX}{loc[0].upper()}" if loc else ENV_PREFIX + "*"
    return f"invalid setting {name}: {message}"


def load_settings(**overrides: object) -> Settings:
    """Read settings; raise :class:`SettingsError` with one line naming the bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
