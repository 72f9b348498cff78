"""Mutual recognition and the service-item catalogue.

A recognition rule says: this verifier — one agency (by credit code) or every
agency of a region — accepts license type T, issued by agencies of the given
regions or by the given agencies, as satisfying material M. A material is a
required document of service items; the catalogue lists which license types can
stand in for it (none: paper only). A rule is only accepted for a license type
the catalogue allows for that material.

Region codes (GB/T 2260) cover their subdivisions: ``440000`` (a province)
covers ``440300`` (a city) and ``440305`` (a district); ``440300`` covers
``440305``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from keys import KeyStore
from licenses.audit.services import append_entry
from licenses.codes import DATA_DIR, RegistryError, validate_credit_code, validate_region_code
from licenses.identifiers import validate_type_code
from licenses.recognition import models
from licenses.recognition.errors import (
    DuplicateRecognitionRule,
    ForeignRecognitionRule,
    InvalidCatalogue,
    InvalidHeldLicense,
    InvalidRecognitionRule,
    RecognitionRuleNotFound,
    ServiceItemNotFound,
)
from licenses.recognition.schemas import (
    CatalogueIn,
    CatalogueSummary,
    Handler,
    HeldLicense,
    LocalisedName,
    Material,
    MaterialOutcome,
    PaperReport,
    RuleCreate,
    ServiceItemPublic,
)

SHIPPED_CATALOGUE = DATA_DIR / "service_items.json"


def region_covers(scope: str, region: str) -> bool:
    """Whether the GB/T 2260 ``scope`` (province, city or county) contains ``region``."""
    if scope.endswith("0000"):
        return region[:2] == scope[:2]
    if scope.endswith("00"):
        return region[:4] == scope[:4]
    return region == scope


def _loc(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def _as_field_error(
    error_class: type[RegistryError], exc: ValidationError, prefix: str = ""
) -> RegistryError:
    first = exc.errors()[0]
    field = prefix + _loc(first.get("loc", ()))
    return error_class(f"{field}: {first.get('msg', 'invalid')}", field=field)


def _relabel(exc: RegistryError, error_class: type[RegistryError]) -> RegistryError:
    """A code-validation error re-raised as this package's error, same field and message."""
    return error_class(str(exc), field=exc.field)


# -- the catalogue --------------------------------------------------------------------


def import_catalogue(
    session: Session, *, catalogue: Mapping[str, Any] | CatalogueIn, now: datetime | None = None
) -> CatalogueSummary:
    """Create or update materials and service items by code (all or nothing)."""
    try:
        parsed = (
            catalogue
            if isinstance(catalogue, CatalogueIn)
            else CatalogueIn.model_validate(catalogue)
        )
    except ValidationError as exc:
        raise _as_field_error(InvalidCatalogue, exc) from exc
    moment = now or datetime.now(UTC)
    try:
        _check_catalogue(parsed)
    except RegistryError as exc:
        raise _relabel(exc, InvalidCatalogue) from exc

    known = {row.code: row for row in session.scalars(select(models.Material))}
    for material in parsed.materials:
        row = known.get(material.code)
        if row is None:
            row = models.Material(code=material.code)
            session.add(row)
            known[material.code] = row
        row.name_zh, row.name_en = material.name.zh, material.name.en
        row.license_types = list(material.license_types)
    for i, item in enumerate(parsed.service_items):
        for j, code in enumerate(item.materials):
            if code not in known:
                field = f"service_items[{i}].materials[{j}]"
                raise InvalidCatalogue(
                    f"{field}: no material {code!r} in the catalogue", field=field
                )
    session.flush()

    items = {row.code: row for row in session.scalars(select(models.ServiceItem))}
    for item in parsed.service_items:
        item_row = items.get(item.code)
        if item_row is None:
            item_row = models.ServiceItem(code=item.code)
            session.add(item_row)
        item_row.name_zh, item_row.name_en = item.name.zh, item.name.en
        item_row.handler_region = item.handler.region
        item_row.handler_credit_code = item.handler.credit_code
        item_row.updated_at = moment
        item_row.requirements = [
            models.ServiceItemMaterial(material=known[code], position=position)
            for position, code in enumerate(item.materials)
        ]
    session.flush()
    return CatalogueSummary(
        materials=len(parsed.materials), service_items=len(parsed.service_items)
    )


def _check_catalogue(catalogue: CatalogueIn) -> None:
    seen: set[str] = set()
    for i, material in enumerate(catalogue.materials):
        if material.code in seen:
            raise InvalidCatalogue(
                f"materials[{i}].code: {material.code} appears twice", field=f"materials[{i}].code"
            )
        seen.add(material.code)
        for j, type_code in enumerate(material.license_types):
            validate_type_code(type_code, field=f"materials[{i}].license_types[{j}]")
    seen.clear()
    for i, item in enumerate(catalogue.service_items):
        if item.code in seen:
            raise InvalidCatalogue(
                f"service_items[{i}].code: {item.code} appears twice",
                field=f"service_items[{i}].code",
            )
        seen.add(item.code)
        validate_region_code(item.handler.region, field=f"service_items[{i}].handler.region")
        if item.handler.credit_code is not None:
            validate_credit_code(
                item.handler.credit_code, field=f"service_items[{i}].handler.credit_code"
            )
        if len(set(item.materials)) != len(item.materials):
            raise InvalidCatalogue(
                f"service_items[{i}].materials: a material appears twice",
                field=f"service_items[{i}].materials",
            )


def import_catalogue_file(session: Session, *, path: Path = SHIPPED_CATALOGUE) -> CatalogueSummary:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, ValueError) as exc:
        raise InvalidCatalogue(f"file: cannot read {path.name}: {exc}", field="file") from exc
    if not isinstance(data, dict):
        raise InvalidCatalogue("file: a JSON object is expected", field="file")
    return import_catalogue(session, catalogue=data)


def _material_public(row: models.Material, service_items: list[str] | None = None) -> Material:
    return Material(
        code=row.code,
        name_zh=row.name_zh,
        name_en=row.name_en,
        license_types=list(row.license_types),
        paper_only=row.paper_only,
        service_items=service_items or [],
    )


def service_item_public(row: models.ServiceItem) -> ServiceItemPublic:
    return ServiceItemPublic(
        code=row.code,
        name=LocalisedName(zh=row.name_zh, en=row.name_en),
        handler=Handler(region=row.handler_region, credit_code=row.handler_credit_code),
        materials=[_material_public(m) for m in row.materials],
    )


def list_service_items(
    session: Session, *, region: str | None = None, license_type: str | None = None
) -> list[models.ServiceItem]:
    """Items in code order; ``region``: handled there; ``license_type``: it can stand in."""
    rows = list(session.scalars(select(models.ServiceItem).order_by(models.ServiceItem.code)))
    if region is not None:
        validate_region_code(region, field="region")
        rows = [
            r
            for r in rows
            if region_covers(r.handler_region, region) or region_covers(region, r.handler_region)
        ]
    if license_type is not None:
        rows = [r for r in rows if any(license_type in m.license_types for m in r.materials)]
    return rows


def get_service_item(session: Session, *, code: str) -> models.ServiceItem:
    row = session.scalars(
        select(models.ServiceItem).where(models.ServiceItem.code == code)
    ).one_or_none()
    if row is None:
        raise ServiceItemNotFound(f"service_item: no service item {code!r}", field="service_item")
    return row


# -- rules ----------------------------------------------------------------------------


def create_rule(
    session: Session,
    *,
    rule: RuleCreate | Mapping[str, Any],
    actor: str,
    acting_credit_code: str | None = None,
    now: datetime | None = None,
    keystore: KeyStore | None = None,
) -> models.RecognitionRule:
    """Add a rule; ``acting_credit_code`` (an agency's own API call) limits it to that agency."""
    try:
        spec = rule if isinstance(rule, RuleCreate) else RuleCreate.model_validate(rule)
    except ValidationError as exc:
        raise _as_field_error(InvalidRecognitionRule, exc) from exc
    try:
        spec = _checked_rule(session, spec)
    except RegistryError as exc:
        if isinstance(exc, InvalidRecognitionRule):
            raise
        raise _relabel(exc, InvalidRecognitionRule) from exc
    if acting_credit_code is not None and spec.verifier_credit_code != acting_credit_code:
        raise ForeignRecognitionRule(
            "verifier_credit_code: an agency can only create rules for itself "
            "(region-wide rules are made by an operator)",
            field="verifier_credit_code",
        )
    for existing in _rules_for(
        session, license_types={spec.license_type}, material_codes={spec.material_code}
    ):
        if (
            existing.verifier_credit_code == spec.verifier_credit_code
            and existing.verifier_region == spec.verifier_region
            and sorted(existing.issuer_regions) == spec.issuer_regions
            and sorted(existing.issuer_credit_codes) == spec.issuer_credit_codes
        ):
            raise DuplicateRecognitionRule(
                f"material_code: the same rule exists already ({existing.id})",
                field="material_code",
            )
    moment = now or datetime.now(UTC)
    row = models.RecognitionRule(**spec.model_dump(), created_by=actor, created_at=moment)
    session.add(row)
    session.flush()
    append_entry(
        session,
        actor=actor,
        action="recognition.rule_created",
        subject=f"recognition-rule:{row.id}",
        details=spec.model_dump(),
        now=moment,
        keystore=keystore,
    )
    return row


def _checked_rule(session: Session, spec: RuleCreate) -> RuleCreate:
    if (spec.verifier_credit_code is None) == (spec.verifier_region is None):
        raise InvalidRecognitionRule(
            "verifier_credit_code: give exactly one of verifier_credit_code (one agency) "
            "and verifier_region (every agency of a region)",
            field="verifier_credit_code",
        )
    if spec.verifier_credit_code is not None:
        validate_credit_code(spec.verifier_credit_code, field="verifier_credit_code")
    if spec.verifier_region is not None:
        validate_region_code(spec.verifier_region, field="verifier_region")
    validate_type_code(spec.license_type, field="license_type")
    if not spec.issuer_regions and not spec.issuer_credit_codes:
        raise InvalidRecognitionRule(
            "issuer_regions: name at least one issuing region or issuing agency",
            field="issuer_regions",
        )
    for i, region in enumerate(spec.issuer_regions):
        validate_region_code(region, field=f"issuer_regions[{i}]")
    for i, code in enumerate(spec.issuer_credit_codes):
        validate_credit_code(code, field=f"issuer_credit_codes[{i}]")
    material = session.scalars(
        select(models.Material).where(models.Material.code == spec.material_code)
    ).one_or_none()
    if material is None:
        raise InvalidRecognitionRule(
            f"material_code: no material {spec.material_code!r} in the service-item catalogue",
            field="material_code",
        )
    if spec.license_type not in material.license_types:
        accepted = ", ".join(material.license_types) or "none: paper only"
        raise InvalidRecognitionRule(
            f"license_type: the catalogue does not accept {spec.license_type} for material "
            f"{material.code} (accepted: {accepted})",
            field="license_type",
        )
    return spec.model_copy(
        update={
            "issuer_regions": sorted(set(spec.issuer_regions)),
            "issuer_credit_codes": sorted(set(spec.issuer_credit_codes)),
        }
    )


def list_rules(
    session: Session,
    *,
    verifier_credit_code: str | None = None,
    license_type: str | None = None,
    material_code: str | None = None,
) -> list[models.RecognitionRule]:
    stmt = select(models.RecognitionRule).order_by(models.RecognitionRule.created_at)
    if verifier_credit_code is not None:
        stmt = stmt.where(models.RecognitionRule.verifier_credit_code == verifier_credit_code)
    if license_type is not None:
        stmt = stmt.where(models.RecognitionRule.license_type == license_type)
    if material_code is not None:
        stmt = stmt.where(models.RecognitionRule.material_code == material_code)
    return list(session.scalars(stmt))


def delete_rule(
    session: Session,
    *,
    rule_id: uuid.UUID,
    actor: str,
    acting_credit_code: str | None = None,
    now: datetime | None = None,
    keystore: KeyStore | None = None,
) -> None:
    row = session.get(models.RecognitionRule, rule_id)
    if row is None:
        raise RecognitionRuleNotFound(f"id: no recognition rule {rule_id}", field="id")
    if acting_credit_code is not None and row.verifier_credit_code != acting_credit_code:
        raise ForeignRecognitionRule("id: the rule belongs to another verifier", field="id")
    session.delete(row)
    session.flush()
    append_entry(
        session,
        actor=actor,
        action="recognition.rule_deleted",
        subject=f"recognition-rule:{rule_id}",
        details={"license_type": row.license_type, "material_code": row.material_code},
        now=now,
        keystore=keystore,
    )


def _rules_for(
    session: Session, *, license_types: set[str], material_codes: set[str] | None = None
) -> list[models.RecognitionRule]:
    if material_codes is None:
        return list(session.scalars(_RULES_OF_TYPES, {"types": sorted(license_types)}))
    return list(
        session.scalars(
            _RULES_OF_TYPES_AND_MATERIALS,
            {"types": sorted(license_types), "materials": sorted(material_codes)},
        )
    )


#: Built once (every verification by an agency asks): building and keying an ORM
#: statement costs about as much CPU as executing it.
_RULES_OF_TYPES = select(models.RecognitionRule).where(
    models.RecognitionRule.license_type.in_(bindparam("types", expanding=True))
)
_RULES_OF_TYPES_AND_MATERIALS = _RULES_OF_TYPES.where(
    models.RecognitionRule.material_code.in_(bindparam("materials", expanding=True))
)


def _applies(
    rule: models.RecognitionRule,
    *,
    verifier_credit_code: str | None,
    verifier_region: str,
    issuer_credit_code: str,
    issuer_region: str,
) -> bool:
    if rule.verifier_credit_code is not None:
        verifier_ok = rule.verifier_credit_code == verifier_credit_code
    else:
        verifier_ok = rule.verifier_region is not None and region_covers(
            rule.verifier_region, verifier_region
        )
    issuer_ok = issuer_credit_code in rule.issuer_credit_codes or any(
        region_covers(scope, issuer_region) for scope in rule.issuer_regions
    )
    return verifier_ok and issuer_ok


# -- what a license is worth to a verifier ---------------------------------------------


def satisfied_materials(
    session: Session,
    *,
    verifier_credit_code: str,
    verifier_region: str,
    license_type: str,
    issuer_credit_code: str,
    issuer_region: str,
) -> list[Material]:
    """The verifier's materials this license satisfies, with the verifier's items needing each."""
    validate_credit_code(verifier_credit_code, field="verifier_credit_code")
    validate_region_code(verifier_region, field="verifier_region")
    validate_type_code(license_type, field="license_type")
    validate_credit_code(issuer_credit_code, field="issuer_credit_code")
    validate_region_code(issuer_region, field="issuer_region")
    codes = {
        rule.material_code
        for rule in _rules_for(session, license_types={license_type})
        if _applies(
            rule,
            verifier_credit_code=verifier_credit_code,
            verifier_region=verifier_region,
            issuer_credit_code=issuer_credit_code,
            issuer_region=issuer_region,
        )
    }
    if not codes:
        return []
    materials = session.scalars(
        select(models.Material)
        .where(models.Material.code.in_(sorted(codes)))
        .order_by(models.Material.code)
    ).all()
    # Only the items that require one of these materials: the whole catalogue (every item
    # with its requirements) grows with the country, this does not.
    needing: dict[str, list[str]] = {code: [] for code in codes}
    for item_code, handler_credit_code, handler_region, material_code in session.execute(
        _ITEMS_NEEDING, {"materials": sorted(codes)}
    ):
        if handler_credit_code == verifier_credit_code or (
            handler_credit_code is None and region_covers(handler_region, verifier_region)
        ):
            needing[material_code].append(item_code)
    return [
        _material_public(material, needing[material.code])
        for material in materials
        if license_type in material.license_types
    ]


#: The service items (code order) requiring any of ``materials``, one row per requirement.
_ITEMS_NEEDING = (
    select(
        models.ServiceItem.code,
        models.ServiceItem.handler_credit_code,
        models.ServiceItem.handler_region,
        models.Material.code,
    )
    .join(
        models.ServiceItemMaterial,
        models.ServiceItemMaterial.service_item_id == models.ServiceItem.id,
    )
    .join(models.Material, models.Material.id == models.ServiceItemMaterial.material_id)
    .where(models.Material.code.in_(bindparam("materials", expanding=True)))
    .order_by(models.ServiceItem.code, models.Material.code)
)


def _checked_held(held: Sequence[HeldLicense | Mapping[str, Any]]) -> list[HeldLicense]:
    out: list[HeldLicense] = []
    for i, raw in enumerate(held):
        prefix = f"held_licenses[{i}]"
        try:
            item = raw if isinstance(raw, HeldLicense) else HeldLicense.model_validate(raw)
            validate_type_code(item.license_type, field=f"{prefix}.license_type")
            validate_credit_code(item.issuer_credit_code, field=f"{prefix}.issuer_credit_code")
            validate_region_code(item.issuer_region, field=f"{prefix}.issuer_region")
        except ValidationError as exc:
            raise _as_field_error(InvalidHeldLicense, exc, prefix=f"{prefix}.") from exc
        except RegistryError as exc:
            raise _relabel(exc, InvalidHeldLicense) from exc
        out.append(item)
    return out


def paper_avoided(
    session: Session,
    *,
    service_item_code: str,
    held_licenses: Sequence[HeldLicense | Mapping[str, Any]],
) -> PaperReport:
    """For one service item: which materials the citizen's licenses satisfy electronically
    under the handler's recognition rules, and the share of paper avoided."""
    held = _checked_held(held_licenses)
    item = get_service_item(session, code=service_item_code)
    materials = item.materials
    type_codes = {t for m in materials for t in m.license_types}
    rules = (
        _rules_for(session, license_types=type_codes, material_codes={m.code for m in materials})
        if type_codes
        else []
    )

    outcomes: list[MaterialOutcome] = []
    for material in materials:
        outcome = MaterialOutcome(
            code=material.code,
            name_zh=material.name_zh,
            name_en=material.name_en,
            outcome="paper-only" if material.paper_only else "not-held",
            accepted_license_types=list(material.license_types),
        )
        candidates = [h for h in held if h.license_type in material.license_types]
        if candidates:
            outcome.outcome = "not-recognised"
        for candidate in candidates:
            if any(
                rule.material_code == material.code
                and rule.license_type == candidate.license_type
                and _applies(
                    rule,
                    verifier_credit_code=item.handler_credit_code,
                    verifier_region=item.handler_region,
                    issuer_credit_code=candidate.issuer_credit_code,
                    issuer_region=candidate.issuer_region,
                )
                for rule in rules
            ):
                outcome.outcome = "electronic"
                outcome.satisfied_by = candidate
                break
        outcomes.append(outcome)
    electronic = sum(1 for o in outcomes if o.outcome == "electronic")
    total = len(outcomes)
    return PaperReport(
        service_item=item.code,
        name_zh=item.name_zh,
        name_en=item.name_en,
        materials=outcomes,
        total=total,
        electronic=electronic,
        paper=total - electronic,
        paper_avoided_share=round(electronic / total, 4) if total else 0.0,
    )
