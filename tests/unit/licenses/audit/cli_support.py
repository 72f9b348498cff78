"""The environment that points a CLI run at a test's runtime (database, data dir, secret)."""

from __future__ import annotations

from wallet_api.runtime import Runtime


def cli_env_for(runtime: Runtime) -> dict[str, str]:
    secret = runtime.settings.key_encryption_secret
    assert secret is not None
    return {
        "GOVWALLET_DATABASE_URL": runtime.settings.effective_database_url,
        "GOVWALLET_DATA_DIR": str(runtime.settings.data_dir),
        "GOVWALLET_KEY_ENCRYPTION_SECRET": secret.get_secret_value(),
    }
