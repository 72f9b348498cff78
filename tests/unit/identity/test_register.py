"""Population register implementations: each conforms to the Protocol; settings choose."""

from __future__ import annotations

import pytest

from identity.crypto import IdentityCrypto
from identity.errors import RegisterEntryConflict, UnknownPopulationRegister
from identity.interfaces import PopulationRegister
from identity.register import (
    DevelopmentRegister,
    DevelopmentRegisterWarning,
    LocalRegister,
    population_register,
)
from keys import MasterSecret
from tests.unit.identity.factories import id_number
from wallet_api.runtime import Runtime

CRYPTO = IdentityCrypto.from_master(MasterSecret("x" * 32))


def test_local_register_conforms() -> None:
    assert isinstance(LocalRegister(CRYPTO), PopulationRegister)


def test_development_register_conforms_and_warns_loudly() -> None:
    with pytest.warns(DevelopmentRegisterWarning, match="EVERY name is confirmed"):
        register = DevelopmentRegister(CRYPTO)
    assert isinstance(register, PopulationRegister)


def test_settings_name_chooses_the_implementation() -> None:
    assert isinstance(population_register("local", crypto=CRYPTO), LocalRegister)
    with pytest.warns(DevelopmentRegisterWarning):
        assert isinstance(population_register("development", crypto=CRYPTO), DevelopmentRegister)
    with pytest.raises(UnknownPopulationRegister, match="known: development, local"):
        population_register("national", crypto=CRYPTO)


def test_local_register_confirms_number_and_name(runtime: Runtime) -> None:
    register = LocalRegister(runtime.identity.crypto)
    number = id_number(7)
    with runtime.transaction() as session:
        assert not register.confirms(session, id_number=number, name="张三")
        _, created = register.add(session, id_number=number, name=" 张三 ")
        assert created
    with runtime.transaction() as session:
        assert register.confirms(session, id_number=number, name="张三")
        assert not register.confirms(session, id_number=number, name="张四")
        assert not register.confirms(session, id_number=id_number(9), name="张三")
        assert register.add(session, id_number=number, name="张三")[1] is False
        with pytest.raises(RegisterEntryConflict):
            register.add(session, id_number=number, name="李四")


def test_settings_refuse_the_development_register_in_production() -> None:
    from wallet_api.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="GOVWALLET_POPULATION_REGISTER"):
        load_settings(
            _env_file=None,
            environment="production",
            issuer="https://id.example.gov.cn",
            key_encryption_secret="s" * 32,
            population_register="development",
        )
