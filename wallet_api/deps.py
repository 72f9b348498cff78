"""FastAPI dependencies, declared once as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from keys import KeyStore
from licenses.services import Registry
from wallet_api.runtime import Runtime
from wallet_api.settings import Settings


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


def get_keystore(runtime: RuntimeDep) -> KeyStore:
    return runtime.keystore


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """A session for the request; routes commit what they change, the rest is rolled back."""
    session = runtime.sessions()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
KeyStoreDep = Annotated[KeyStore, Depends(get_keystore)]
SessionDep = Annotated[Session, Depends(get_session)]


def get_registry(runtime: RuntimeDep) -> Registry:
    """The license registry's context: key store, holder digests and ciphers, issuer URL."""
    return Registry.create(
        keystore=runtime.keystore,
        master=runtime.settings.master_secret,
        platform_issuer=runtime.settings.issuer_url,
    )


RegistryDep = Annotated[Registry, Depends(get_registry)]
