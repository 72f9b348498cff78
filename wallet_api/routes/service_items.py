"""The service-item catalogue and the paper-avoided report (public: no personal data)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from licenses.recognition import services
from licenses.recognition.schemas import HeldLicense, PaperReport, ServiceItemPublic
from wallet_api.deps import SessionDep

router = APIRouter(prefix="/api/v1/service-items", tags=["service items"])

ItemCode = Annotated[str, Path(max_length=64)]


class PaperReportRequest(BaseModel):
    """The licenses a citizen holds, by type and issuer (from their license directory entries)."""

    model_config = ConfigDict(extra="forbid")

    held_licenses: list[HeldLicense] = Field(max_length=200)


@router.get("", summary="List service items")
def list_items(
    session: SessionDep,
    region: Annotated[str | None, Query(max_length=6, description="Handled in this region")] = None,
    license_type: Annotated[
        str | None, Query(max_length=21, description="A license of this type stands in")
    ] = None,
) -> list[ServiceItemPublic]:
    rows = services.list_service_items(session, region=region, license_type=license_type)
    return [services.service_item_public(row) for row in rows]


@router.get("/{code}", summary="One service item and its required materials")
def get_item(code: ItemCode, session: SessionDep) -> ServiceItemPublic:
    return services.service_item_public(services.get_service_item(session, code=code))


@router.post(
    "/{code}/paper-report",
    summary="Which materials the given licenses satisfy electronically; the share of paper avoided",
)
def paper_report(code: ItemCode, body: PaperReportRequest, session: SessionDep) -> PaperReport:
    return services.paper_avoided(session, service_item_code=code, held_licenses=body.held_licenses)
