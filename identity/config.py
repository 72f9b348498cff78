"""Everything the identity services need, built once per process from settings.

``wallet_api.runtime.Runtime`` builds an :class:`IdentityConfig` from its settings
(``runtime.identity``); tests build one the same way. The identity package does
not import ``wallet_api``: :class:`IdentitySettings` names the settings it reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from identity.crypto import IdentityCrypto
from identity.interfaces import PopulationRegister
from identity.passwords import Argon2Parameters, PasswordPolicy, Passwords
from identity.register import population_register
from identity.throttle import ThrottlePolicy
from keys import MasterSecret


class IdentitySettings(Protocol):
    """The settings (``wallet_api.settings.Settings``) the identity package reads."""

    @property
    def master_secret(self) -> MasterSecret: ...

    argon2_time_cost: int
    argon2_memory_cost: int
    argon2_parallelism: int
    password_min_length: int
    password_max_length: int
    password_min_character_classes: int
    login_max_failures_per_account: int
    login_max_failures_per_address: int
    login_failure_window_seconds: int
    login_lockout_seconds: int

    @property
    def population_register(self) -> str: ...


@dataclass(frozen=True)
class IdentityConfig:
    crypto: IdentityCrypto
    passwords: Passwords
    throttle: ThrottlePolicy
    register: PopulationRegister

    @classmethod
    def from_settings(cls, settings: IdentitySettings) -> IdentityConfig:
        crypto = IdentityCrypto.from_master(settings.master_secret)
        return cls(
            crypto=crypto,
            passwords=Passwords(
                Argon2Parameters(
                    time_cost=settings.argon2_time_cost,
                    memory_cost=settings.argon2_memory_cost,
                    parallelism=settings.argon2_parallelism,
                ),
                PasswordPolicy(
                    min_length=settings.password_min_length,
                    max_length=settings.password_max_length,
                    min_character_classes=settings.password_min_character_classes,
                ),
            ),
            throttle=ThrottlePolicy(
                max_failures_per_account=settings.login_max_failures_per_account,
                max_failures_per_address=settings.login_max_failures_per_address,
                window=timedelta(seconds=settings.login_failure_window_seconds),
                lockout=timedelta(seconds=settings.login_lockout_seconds),
            ),
            register=population_register(settings.population_register, crypto=crypto),
        )
