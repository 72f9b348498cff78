"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from wallet_api import metrics
from wallet_api.deps import KeyStoreDep, SessionDep
from wallet_api.problems import problem_response
from wallet_api.runtime import PROVIDER_ALGORITHMS, PROVIDER_OWNER

router = APIRouter(tags=["operations"])
logger = logging.getLogger("govwallet.health")


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the database answers and the provider's signing keys are present",
    responses={503: {"description": "Not ready; the problem document names the failed check"}},
)
def readyz(session: SessionDep, keystore: KeyStoreDep) -> Response:
    try:
        session.execute(text("SELECT 1"))
        missing = [
            alg
            for alg in PROVIDER_ALGORITHMS
            if not keystore.has_active(session, owner=PROVIDER_OWNER, alg=alg)
        ]
    except SQLAlchemyError as exc:
        logger.warning("readiness: database check failed: %s", type(exc).__name__)
        return problem_response(
            503, "not-ready", "database: unreachable or not migrated", checks={"database": "fail"}
        )
    if missing:
        return problem_response(
            503,
            "not-ready",
            f"keys: no active provider key for {', '.join(missing)}",
            checks={"database": "ok", "keys": "fail"},
        )
    return Response(
        content='{"status":"ready","checks":{"database":"ok","keys":"ok"}}',
        media_type="application/json",
    )


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def prometheus_metrics(request: Request) -> Response:
    held: metrics.RequestMetrics | None = getattr(request.app, "request_metrics", None)
    if held is not None:
        held.flush()  # this worker's requests up to now (the others' within a second)
    body, content_type = metrics.render()
    return Response(content=body, media_type=content_type)
