"""License records: audit log, service-item catalogue, recognition rules, archive filings.

Revision ID: records_0001
Revises: 0001_keys
Create Date: 2026-11-24
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "records_0001"
down_revision = "0001_keys"
branch_labels = ("records",)
depends_on = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    op.create_table(
        "licenses_audit_entry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_audit_entry")),
        sa.UniqueConstraint("seq", name=op.f("uq_licenses_audit_entry_seq")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_licenses_audit_entry_entry_hash")),
    )
    op.create_index(
        "ix_licenses_audit_entry_subject", "licenses_audit_entry", ["subject"], unique=False
    )
    op.create_index(
        "ix_licenses_audit_entry_action", "licenses_audit_entry", ["action"], unique=False
    )
    head = op.create_table(
        "licenses_audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_audit_head")),
    )
    op.bulk_insert(
        head, [{"id": 1, "seq": 0, "entry_hash": GENESIS_HASH, "updated_at": datetime.now(UTC)}]
    )
    op.create_table(
        "licenses_audit_checkpoint",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_audit_checkpoint")),
        sa.UniqueConstraint("seq", name=op.f("uq_licenses_audit_checkpoint_seq")),
    )
    op.create_table(
        "licenses_material",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("license_types", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_material")),
        sa.UniqueConstraint("code", name=op.f("uq_licenses_material_code")),
    )
    op.create_table(
        "licenses_service_item",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("handler_credit_code", sa.String(length=18), nullable=True),
        sa.Column("handler_region", sa.String(length=6), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_service_item")),
        sa.UniqueConstraint("code", name=op.f("uq_licenses_service_item_code")),
    )
    op.create_table(
        "licenses_service_item_material",
        sa.Column("service_item_id", sa.Uuid(), nullable=False),
        sa.Column("material_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["licenses_material.id"],
            name=op.f("fk_licenses_service_item_material_material_id_licenses_material"),
        ),
        sa.ForeignKeyConstraint(
            ["service_item_id"],
            ["licenses_service_item.id"],
            name=op.f("fk_licenses_service_item_material_service_item_id_licenses_service_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "service_item_id", "material_id", name=op.f("pk_licenses_service_item_material")
        ),
    )
    op.create_table(
        "licenses_recognition_rule",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("verifier_credit_code", sa.String(length=18), nullable=True),
        sa.Column("verifier_region", sa.String(length=6), nullable=True),
        sa.Column("license_type", sa.String(length=21), nullable=False),
        sa.Column("material_code", sa.String(length=64), nullable=False),
        sa.Column("issuer_regions", sa.JSON(), nullable=False),
        sa.Column("issuer_credit_codes", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_recognition_rule")),
    )
    op.create_index(
        "ix_licenses_recognition_rule_license_type",
        "licenses_recognition_rule",
        ["license_type"],
        unique=False,
    )
    op.create_table(
        "licenses_archive_package",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_credit_code", sa.String(length=18), nullable=False),
        sa.Column("before", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("license_count", sa.Integer(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_archive_package")),
    )
    op.create_table(
        "licenses_archive_filing",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("license_identifier", sa.String(length=128), nullable=False),
        sa.Column("agency_credit_code", sa.String(length=18), nullable=False),
        sa.Column("type_code", sa.String(length=21), nullable=False),
        sa.Column("retention_years", sa.Integer(), nullable=False),
        sa.Column("retain_until", sa.Date(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("package_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["licenses_archive_package.id"],
            name=op.f("fk_licenses_archive_filing_package_id_licenses_archive_package"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_archive_filing")),
        sa.UniqueConstraint(
            "license_identifier", name=op.f("uq_licenses_archive_filing_license_identifier")
        ),
    )
    op.create_index(
        "ix_licenses_archive_filing_agency_credit_code",
        "licenses_archive_filing",
        ["agency_credit_code"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_licenses_archive_filing_agency_credit_code", "licenses_archive_filing")
    op.drop_table("licenses_archive_filing")
    op.drop_table("licenses_archive_package")
    op.drop_index("ix_licenses_recognition_rule_license_type", "licenses_recognition_rule")
    op.drop_table("licenses_recognition_rule")
    op.drop_table("licenses_service_item_material")
    op.drop_table("licenses_service_item")
    op.drop_table("licenses_material")
    op.drop_table("licenses_audit_checkpoint")
    op.drop_table("licenses_audit_head")
    op.drop_index("ix_licenses_audit_entry_action", "licenses_audit_entry")
    op.drop_index("ix_licenses_audit_entry_subject", "licenses_audit_entry")
    op.drop_table("licenses_audit_entry")
