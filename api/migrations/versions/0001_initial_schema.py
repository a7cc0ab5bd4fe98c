"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26 16:03:00.294193
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
    )
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_allocations_created_at"), ["created_at"], unique=False)

    op.create_table(
        "fairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("booths", sa.Integer(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'planned', 'published', 'done', 'cancelled')",
            name=op.f("ck_fairs_status"),
        ),
        sa.CheckConstraint("booths > 0", name=op.f("ck_fairs_booths_positive")),
        sa.CheckConstraint("slot_minutes > 0", name=op.f("ck_fairs_slot_positive")),
        sa.CheckConstraint("start_time < end_time", name=op.f("ck_fairs_time_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fairs")),
    )
    with op.batch_alter_table("fairs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fairs_county_code"), ["county_code"], unique=False)

    op.create_table(
        "firms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=20), nullable=False),
        sa.Column("district", sa.String(length=40), nullable=False),
        sa.Column("industry", sa.String(length=100), nullable=False),
        sa.Column("contact_name", sa.String(length=50), nullable=False),
        sa.Column("contact_phone", sa.String(length=30), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_firms")),
    )
    with op.batch_alter_table("firms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_firms_name"), ["name"], unique=False)

    op.create_table(
        "workers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("id_cipher", sa.LargeBinary(), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("id_masked", sa.String(length=18), nullable=False),
        sa.Column("gender", sa.String(length=2), nullable=False),
        sa.Column("ethnicity", sa.String(length=20), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("township", sa.String(length=50), nullable=False),
        sa.Column("village", sa.String(length=50), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("education", sa.String(length=10), nullable=False),
        sa.Column("skills_text", sa.Text(), nullable=False),
        sa.Column("desired_jobs", sa.JSON(), nullable=False),
        sa.Column("certificates", sa.JSON(), nullable=False),
        sa.Column("certificates_unrecognised", sa.JSON(), nullable=False),
        sa.Column("preferred_cities", sa.JSON(), nullable=False),
        sa.Column("min_wage", sa.Integer(), nullable=False),
        sa.Column("needs_dormitory", sa.Boolean(), nullable=False),
        sa.Column("needs_halal", sa.Boolean(), nullable=False),
        sa.Column("poverty_registered", sa.Boolean(), nullable=False),
        sa.Column("group_id", sa.String(length=50), nullable=False),
        sa.Column("registered_at", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("gender IN ('男', '女')", name=op.f("ck_workers_gender")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workers_county_code"), ["county_code"], unique=False)
        batch_op.create_index("ix_workers_id_hash", ["id_hash"], unique=True)

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=True),
        sa.Column("region_prefix", sa.String(length=6), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "role != 'bureau' OR region_prefix IS NOT NULL",
            name=op.f("ck_api_keys_bureau_has_region"),
        ),
        sa.CheckConstraint(
            "role != 'hr' OR firm_id IS NOT NULL", name=op.f("ck_api_keys_hr_has_firm")
        ),
        sa.CheckConstraint(
            "role IN ('admin', 'hr', 'bureau', 'organiser')", name=op.f("ck_api_keys_role")
        ),
        sa.ForeignKeyConstraint(["firm_id"], ["firms.id"], name=op.f("fk_api_keys_firm_id_firms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "fair_firms",
        sa.Column("fair_id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("booths", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fair_id"], ["fairs.id"], name=op.f("fk_fair_firms_fair_id_fairs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_fair_firms_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("fair_id", "firm_id", name=op.f("pk_fair_firms")),
    )
    op.create_table(
        "fair_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fair_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fair_id"],
            ["fairs.id"],
            name=op.f("fk_fair_invitations_fair_id_fairs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["workers.id"],
            name=op.f("fk_fair_invitations_worker_id_workers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fair_invitations")),
        sa.UniqueConstraint(
            "fair_id", "worker_id", name=op.f("uq_fair_invitations_fair_id_worker_id")
        ),
    )
    with op.batch_alter_table("fair_invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fair_invitations_fair_id"), ["fair_id"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("occupation_code", sa.String(length=20), nullable=False),
        sa.Column("city", sa.String(length=20), nullable=False),
        sa.Column("district", sa.String(length=40), nullable=False),
        sa.Column("wage_min", sa.Integer(), nullable=False),
        sa.Column("wage_max", sa.Integer(), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("hired_count", sa.Integer(), nullable=False),
        sa.Column("age_min", sa.Integer(), nullable=False),
        sa.Column("age_max", sa.Integer(), nullable=False),
        sa.Column("education_min", sa.String(length=10), nullable=True),
        sa.Column("certificates_required", sa.JSON(), nullable=False),
        sa.Column("certificates_unrecognised", sa.JSON(), nullable=False),
        sa.Column("dormitory", sa.Boolean(), nullable=False),
        sa.Column("meals", sa.Boolean(), nullable=False),
        sa.Column("halal_canteen", sa.Boolean(), nullable=False),
        sa.Column("novice_ok", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("posted_at", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("status IN ('open', 'filled', 'closed')", name=op.f("ck_jobs_status")),
        sa.CheckConstraint("age_min <= age_max", name=op.f("ck_jobs_age_range")),
        sa.CheckConstraint("headcount > 0", name=op.f("ck_jobs_headcount_positive")),
        sa.CheckConstraint("hired_count >= 0", name=op.f("ck_jobs_hired_count_nonnegative")),
        sa.CheckConstraint("wage_min <= wage_max", name=op.f("ck_jobs_wage_range")),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_jobs_firm_id_firms"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_city"), ["city"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_firm_id"), ["firm_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_jobs_occupation_code"), ["occupation_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_jobs_status"), ["status"], unique=False)
        batch_op.create_index("ix_jobs_status_city", ["status", "city"], unique=False)
        batch_op.create_index(
            "ix_jobs_status_occupation", ["status", "occupation_code"], unique=False
        )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("object_type", sa.String(length=30), nullable=False),
        sa.Column("object_id", sa.String(length=40), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_audit_log_api_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_api_key_id"), ["api_key_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_log_object", ["object_type", "object_id"], unique=False)

    op.create_table(
        "fair_interviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fair_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("booth", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.CheckConstraint('start < "end"', name=op.f("ck_fair_interviews_time_range")),
        sa.ForeignKeyConstraint(
            ["fair_id"],
            ["fairs.id"],
            name=op.f("fk_fair_interviews_fair_id_fairs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_fair_interviews_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_fair_interviews_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["workers.id"],
            name=op.f("fk_fair_interviews_worker_id_workers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fair_interviews")),
        sa.UniqueConstraint("fair_id", "booth", "start", name="uq_fair_interviews_booth_slot"),
        sa.UniqueConstraint("fair_id", "worker_id", "start", name="uq_fair_interviews_worker_slot"),
    )
    with op.batch_alter_table("fair_interviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fair_interviews_fair_id"), ["fair_id"], unique=False)

    op.create_table(
        "outcome_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "stage IN ('recommended', 'applied', 'interviewed', 'hired', "
            "'retained_3m', 'retained_6m', 'left')",
            name=op.f("ck_outcome_events_stage"),
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_outcome_events_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["workers.id"],
            name=op.f("fk_outcome_events_worker_id_workers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_events")),
    )
    with op.batch_alter_table("outcome_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outcome_events_job_id"), ["job_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outcome_events_worker_id"), ["worker_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outcome_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcome_events_worker_id"))
        batch_op.drop_index(batch_op.f("ix_outcome_events_job_id"))

    op.drop_table("outcome_events")
    with op.batch_alter_table("fair_interviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fair_interviews_fair_id"))

    op.drop_table("fair_interviews")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_object")
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_api_key_id"))

    op.drop_table("audit_log")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status_occupation")
        batch_op.drop_index("ix_jobs_status_city")
        batch_op.drop_index(batch_op.f("ix_jobs_status"))
        batch_op.drop_index(batch_op.f("ix_jobs_occupation_code"))
        batch_op.drop_index(batch_op.f("ix_jobs_firm_id"))
        batch_op.drop_index(batch_op.f("ix_jobs_city"))

    op.drop_table("jobs")
    with op.batch_alter_table("fair_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fair_invitations_fair_id"))

    op.drop_table("fair_invitations")
    op.drop_table("fair_firms")
    op.drop_table("api_keys")
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_index("ix_workers_id_hash")
        batch_op.drop_index(batch_op.f("ix_workers_county_code"))

    op.drop_table("workers")
    with op.batch_alter_table("firms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_firms_name"))

    op.drop_table("firms")
    with op.batch_alter_table("fairs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fairs_county_code"))

    op.drop_table("fairs")
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allocations_created_at"))

    op.drop_table("allocations")
