"""The request's database session (``wallet_api.deps.get_session``) always goes back."""

from __future__ import annotations

import asyncio

import anyio
from sqlalchemy import select

from identity.models import Citizen
from wallet_api.deps import get_session


async def _session_in_use(runtime):  # -> (generator, session holding a connection)
    dependency = get_session(runtime)
    session = await anext(dependency)
    session.execute(select(Citizen.id).limit(1)).all()  # a transaction on a connection
    assert session.in_transaction()
    return dependency, session


def test_a_committed_session_is_closed_on_the_loop(runtime) -> None:
    async def main() -> None:
        dependency, session = await _session_in_use(runtime)
        session.commit()
        await dependency.aclose()
        assert runtime.engine.pool.checkedout() == 0

    asyncio.run(main())


def test_a_session_left_in_a_transaction_is_rolled_back_and_returned(runtime) -> None:
    async def main() -> None:
        dependency, _ = await _session_in_use(runtime)
        await dependency.aclose()
        assert runtime.engine.pool.checkedout() == 0

    asyncio.run(main())


def test_a_cancelled_request_still_returns_its_connection(runtime) -> None:
    """The client went away: the request is cancelled while its session is closed."""

    async def main() -> None:
        dependency, _ = await _session_in_use(runtime)
        with anyio.CancelScope() as scope:
            scope.cancel()
            await dependency.aclose()
        assert runtime.engine.pool.checkedout() == 0

    asyncio.run(main())
