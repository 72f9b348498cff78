"""Small factories of identity test data (valid synthetic numbers from the vectors)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from stdnum.iso7064 import mod_11_2

if TYPE_CHECKING:
    from identity.models import Citizen
    from wallet_api.runtime import Runtime

PASSWORD = "correct-Horse-7"


def id_numbers(prefix: str = "110105", birth: str = "19900101") -> Iterator[str]:
    """Fresh valid identity numbers (GB 11643-1999) with the check character computed."""
    for sequence in range(1, 1000):
        body = f"{prefix}{birth}{sequence:03d}"
        yield body + mod_11_2.calc_check_digit(body)


def id_number(sequence: int = 1, *, birth: str = "19900101") -> str:
    body = f"110105{birth}{sequence:03d}"
    return body + mod_11_2.calc_check_digit(body)


def verified_citizen(
    runtime: Runtime, *, sequence: int = 1, name: str = "张三", phone: str | None = None
) -> Citizen:
    """A citizen in the local register (loa 2) with :data:`PASSWORD`, committed."""
    from identity import services

    with runtime.transaction() as session:
        services.add_register_entry(
            session, identity=runtime.identity, id_number=id_number(sequence), name=name
        )
        return services.register_citizen(
            session,
            identity=runtime.identity,
            id_number=id_number(sequence),
            name=name,
            password=PASSWORD,
            phone=phone,
        )
