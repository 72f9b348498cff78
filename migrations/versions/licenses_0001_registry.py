"""Licenses registry: catalogue, agencies, licenses, status lists, idempotency, imports.

Revision ID: licenses_0001
Revises: 0001_keys
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "licenses_0001"
down_revision = "0001_keys"
branch_labels = ("licenses",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "licenses_agency",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_agency")),
        sa.UniqueConstraint("client_id", name=op.f("uq_licenses_agency_client_id")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_licenses_agency_credit_code")),
    )
    op.create_table(
        "licenses_license_type",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=21), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("defining_agency_name", sa.String(length=200), nullable=False),
        sa.Column("defining_agency_code", sa.String(length=18), nullable=False),
        sa.Column("subject_schema", sa.JSON(), nullable=False),
        sa.Column("validity_rule", sa.JSON(), nullable=False),
        sa.Column("retention_years", sa.Integer(), nullable=False),
        sa.Column("display_template", sa.JSON(), nullable=False),
        sa.Column("age_over_18_fields", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_license_type")),
        sa.UniqueConstraint("code", name=op.f("uq_licenses_license_type_code")),
    )
    op.create_table(
        "licenses_status_list",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("list_id", sa.String(length=64), nullable=False),
        sa.Column("bits", sa.LargeBinary(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("next_index", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_status_list")),
        sa.UniqueConstraint("list_id", name=op.f("uq_licenses_status_list_list_id")),
    )
    op.create_table(
        "licenses_agency_license_type",
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("license_type_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["licenses_agency.id"],
            name=op.f("fk_licenses_agency_license_type_agency_id_licenses_agency"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["license_type_id"],
            ["licenses_license_type.id"],
            name=op.f("fk_licenses_agency_license_type_license_type_id_licenses_license_type"),
        ),
        sa.PrimaryKeyConstraint(
            "agency_id", "license_type_id", name=op.f("pk_licenses_agency_license_type")
        ),
    )
    op.create_table(
        "licenses_import_job",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("file_digest", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=500), nullable=False),
        sa.Column("total_lines", sa.Integer(), nullable=False),
        sa.Column("last_line", sa.Integer(), nullable=False),
        sa.Column("issued", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("failures", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["licenses_agency.id"],
            name=op.f("fk_licenses_import_job_agency_id_licenses_agency"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_import_job")),
        sa.UniqueConstraint(
            "agency_id", "file_digest", name=op.f("uq_licenses_import_job_agency_id")
        ),
    )
    op.create_table(
        "licenses_license",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("identifier", sa.String(length=128), nullable=False),
        sa.Column("type_code", sa.String(length=21), nullable=False),
        sa.Column("type_name", sa.String(length=200), nullable=False),
        sa.Column("license_number", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("issuer_name", sa.String(length=200), nullable=False),
        sa.Column("issuer_code", sa.String(length=18), nullable=False),
        sa.Column("defining_agency_name", sa.String(length=200), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("holder_code_type", sa.String(length=3), nullable=False),
        sa.Column("holder_digest", sa.String(length=64), nullable=False),
        sa.Column("holder_code_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("fields_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("holder_jwk", sa.JSON(), nullable=True),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("area_code", sa.String(length=6), nullable=False),
        sa.Column("service_item", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_list_id", sa.Uuid(), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("credential", sa.Text(), nullable=False),
        sa.Column("previous_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["licenses_agency.id"],
            name=op.f("fk_licenses_license_agency_id_licenses_agency"),
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["licenses_license.id"],
            name=op.f("fk_licenses_license_previous_id_licenses_license"),
        ),
        sa.ForeignKeyConstraint(
            ["status_list_id"],
            ["licenses_status_list.id"],
            name=op.f("fk_licenses_license_status_list_id_licenses_status_list"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_license")),
        sa.UniqueConstraint("identifier", name=op.f("uq_licenses_license_identifier")),
        sa.UniqueConstraint(
            "issuer_code", "serial", "version", name=op.f("uq_licenses_license_issuer_code")
        ),
        sa.UniqueConstraint(
            "status_list_id", "status_index", name=op.f("uq_licenses_license_status_list_id")
        ),
    )
    op.create_index(
        "ix_licenses_license_agency_id_type_code",
        "licenses_license",
        ["agency_id", "type_code"],
        unique=False,
    )
    op.create_index(
        "ix_licenses_license_holder_digest", "licenses_license", ["holder_digest"], unique=False
    )
    op.create_table(
        "licenses_idempotency_key",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("license_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["licenses_agency.id"],
            name=op.f("fk_licenses_idempotency_key_agency_id_licenses_agency"),
        ),
        sa.ForeignKeyConstraint(
            ["license_id"],
            ["licenses_license.id"],
            name=op.f("fk_licenses_idempotency_key_license_id_licenses_license"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_idempotency_key")),
        sa.UniqueConstraint("agency_id", "key", name=op.f("uq_licenses_idempotency_key_agency_id")),
    )


def downgrade() -> None:
    op.drop_table("licenses_idempotency_key")
    op.drop_index("ix_licenses_license_holder_digest", table_name="licenses_license")
    op.drop_index("ix_licenses_license_agency_id_type_code", table_name="licenses_license")
    op.drop_table("licenses_license")
    op.drop_table("licenses_import_job")
    op.drop_table("licenses_agency_license_type")
    op.drop_table("licenses_status_list")
    op.drop_table("licenses_license_type")
    op.drop_table("licenses_agency")
