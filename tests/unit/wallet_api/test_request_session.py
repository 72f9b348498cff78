"""The request's database session (``wallet_api.deps.get_session``) always goes back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import cast

import anyio
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from identity.models import Citizen
from wallet_api.deps import get_session
from wallet_api.runtime import Runtime


async def _session_in_use(runtime: Runtime) -> tuple[AsyncGenerator[Session, None], Session]:
    # the dependency's generator, and its session holding a connection (get_session is an
    # async generator, annotated as the AsyncIterator it returns)
    dependency = cast(AsyncGenerator[Session, None], get_session(runtime))
    session = await anext(dependency)
    session.execute(select(Citizen.id).limit(1)).all()  # a transaction on a connection
    assert session.in_transaction()
    return dependency, session


@pytest.mark.parametrize("committed", [True, False], ids=["committed", "left-in-transaction"])
def test_the_session_goes_back_to_the_pool(runtime: Runtime, committed: bool) -> None:
    """Committed: closed on the loop. Left in a transaction: rolled back, then closed."""

    async def main() -> None:
        dependency, session = await _session_in_use(runtime)
        if committed:
            session.commit()
        await dependency.aclose()
        assert cast(QueuePool, runtime.engine.pool).checkedout() == 0

    asyncio.run(main())


def test_a_cancelled_request_still_returns_its_connection(runtime: Runtime) -> None:
    """The client went away: the request is cancelled while its session is closed."""

    async def main() -> None:
        dependency, _ = await _session_in_use(runtime)
        with anyio.CancelScope() as scope:
            scope.cancel()
            await dependency.aclose()
        assert cast(QueuePool, runtime.engine.pool).checkedout() == 0

    asyncio.run(main())
