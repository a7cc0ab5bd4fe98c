"""SQLAlchemy 2 typed models: the tables of the service.

Column names follow :mod:`data.schema`; lists are JSON; dates are ``DATE``. Rows that clients edit
(firms, jobs, workers, fairs) carry a ``version`` integer used by SQLAlchemy's optimistic locking
(``version_id_col``): an UPDATE names the version it read and fails if someone else wrote first.

The resident ID number is never stored in clear: ``workers`` holds ``id_cipher`` (AES-GCM),
``id_hash`` (keyed HMAC, UNIQUE: one person, one worker) and ``id_masked`` (see :mod:`api.crypto`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from data.schema import FIRM_DEFAULTS, JOB_DEFAULTS, WORKER_DEFAULTS, default_factory

#: Stable constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("admin", "hr", "bureau", "organiser")
FAIR_STATUSES = ("draft", "planned", "published", "done", "cancelled")


def utcnow() -> dt.datetime:
    """Timestamps are naive UTC: SQLite has no time zones and the two backends must agree."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, list[Any]: JSON}


class Firm(Base):
    """An employer in Jiangsu whose HR department posts jobs."""

    __tablename__ = "firms"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    city: Mapped[str] = mapped_column(String(20), default="")
    district: Mapped[str] = mapped_column(String(40), default=FIRM_DEFAULTS["district"])
    industry: Mapped[str] = mapped_column(String(100), default=FIRM_DEFAULTS["industry"])
    contact_name: Mapped[str] = mapped_column(String(50), default=FIRM_DEFAULTS["contact_name"])
    contact_phone: Mapped[str] = mapped_column(String(30), default=FIRM_DEFAULTS["contact_phone"])
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}


class Job(Base):
    """A job posting (columns of :data:`data.schema.JOB_COLUMNS`, ``job_id`` → ``id``)."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default=JOB_DEFAULTS["description"])
    occupation_code: Mapped[str] = mapped_column(
        String(20), default=JOB_DEFAULTS["occupation_code"], index=True
    )
    city: Mapped[str] = mapped_column(String(20), index=True)
    district: Mapped[str] = mapped_column(String(40), default=JOB_DEFAULTS["district"])
    wage_min: Mapped[int] = mapped_column(Integer)
    wage_max: Mapped[int] = mapped_column(Integer)
    headcount: Mapped[int] = mapped_column(Integer)
    hired_count: Mapped[int] = mapped_column(Integer, default=JOB_DEFAULTS["hired_count"])
    age_min: Mapped[int] = mapped_column(Integer, default=JOB_DEFAULTS["age_min"])
    age_max: Mapped[int] = mapped_column(Integer, default=JOB_DEFAULTS["age_max"])
    education_min: Mapped[str | None] = mapped_column(String(10), nullable=True)
    certificates_required: Mapped[list[str]] = mapped_column(
        default=default_factory(JOB_DEFAULTS, "certificates_required")
    )
    #: Required certificates as HR wrote them that match no catalogue entry: kept, not lost.
    certificates_unrecognised: Mapped[list[str]] = mapped_column(
        default=default_factory(JOB_DEFAULTS, "certificates_unrecognised")
    )
    dormitory: Mapped[bool] = mapped_column(Boolean, default=JOB_DEFAULTS["dormitory"])
    meals: Mapped[bool] = mapped_column(Boolean, default=JOB_DEFAULTS["meals"])
    halal_canteen: Mapped[bool] = mapped_column(Boolean, default=JOB_DEFAULTS["halal_canteen"])
    novice_ok: Mapped[bool] = mapped_column(Boolean, default=JOB_DEFAULTS["novice_ok"])
    status: Mapped[str] = mapped_column(String(10), default=JOB_DEFAULTS["status"], index=True)
    posted_at: Mapped[dt.date] = mapped_column(Date, default=dt.date.today)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("status IN ('open', 'filled', 'closed')", name="status"),
        CheckConstraint("wage_min <= wage_max", name="wage_range"),
        CheckConstraint("age_min <= age_max", name="age_range"),
        CheckConstraint("headcount > 0", name="headcount_positive"),
        CheckConstraint("hired_count >= 0", name="hired_count_nonnegative"),
        # The engine's candidate query: open jobs in a city / of an occupation.
        Index("ix_jobs_status_city", "status", "city"),
        Index("ix_jobs_status_occupation", "status", "occupation_code"),
    )
    __mapper_args__ = {"version_id_col": version}


class Worker(Base):
    """A registered worker (columns of :data:`data.schema.WORKER_COLUMNS` without the raw ID)."""

    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    id_cipher: Mapped[bytes] = mapped_column(LargeBinary)
    id_hash: Mapped[str] = mapped_column(String(64))
    id_masked: Mapped[str] = mapped_column(String(18))
    gender: Mapped[str] = mapped_column(String(2))
    ethnicity: Mapped[str] = mapped_column(String(20), default=WORKER_DEFAULTS["ethnicity"])
    birth_date: Mapped[dt.date] = mapped_column(Date)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    township: Mapped[str] = mapped_column(String(50), default=WORKER_DEFAULTS["township"])
    village: Mapped[str] = mapped_column(String(50), default=WORKER_DEFAULTS["village"])
    phone: Mapped[str] = mapped_column(String(20), default=WORKER_DEFAULTS["phone"])
    education: Mapped[str] = mapped_column(String(10))
    skills_text: Mapped[str] = mapped_column(Text, default=WORKER_DEFAULTS["skills_text"])
    desired_jobs: Mapped[list[str]] = mapped_column(
        default=default_factory(WORKER_DEFAULTS, "desired_jobs")
    )
    certificates: Mapped[list[str]] = mapped_column(
        default=default_factory(WORKER_DEFAULTS, "certificates")
    )
    certificates_unrecognised: Mapped[list[str]] = mapped_column(
        default=default_factory(WORKER_DEFAULTS, "certificates_unrecognised")
    )
    preferred_cities: Mapped[list[str]] = mapped_column(
        default=default_factory(WORKER_DEFAULTS, "preferred_cities")
    )
    min_wage: Mapped[int] = mapped_column(Integer, default=WORKER_DEFAULTS["min_wage"])
    needs_dormitory: Mapped[bool] = mapped_column(
        Boolean, default=WORKER_DEFAULTS["needs_dormitory"]
    )
    needs_halal: Mapped[bool] = mapped_column(Boolean, default=WORKER_DEFAULTS["needs_halal"])
    poverty_registered: Mapped[bool] = mapped_column(
        Boolean, default=WORKER_DEFAULTS["poverty_registered"]
    )
    group_id: Mapped[str] = mapped_column(String(50), default=WORKER_DEFAULTS["group_id"])
    registered_at: Mapped[dt.date] = mapped_column(Date, default=dt.date.today)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("gender IN ('男', '女')", name="gender"),
        # A unique *index* rather than a constraint: the bulk loader drops and rebuilds it, which
        # is several times faster than a million random inserts into a B-tree.
        Index("ix_workers_id_hash", "id_hash", unique=True),
    )
    __mapper_args__ = {"version_id_col": version}


class OutcomeEvent(Base):
    """One step of a placement: recommended, applied, interviewed, hired, retained_3m/6m, left."""

    __tablename__ = "outcome_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    date: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # A correction is a new event naming the one it replaces (never an edit); at most one each.
    corrects: Mapped[int | None] = mapped_column(
        ForeignKey("outcome_events.id", ondelete="SET NULL"), nullable=True, unique=True
    )

    __table_args__ = (
        CheckConstraint(
            "stage IN ('recommended', 'applied', 'interviewed', 'hired', "
            "'retained_3m', 'retained_6m', 'left')",
            name="stage",
        ),
    )


class ApiKey(Base):
    """A client's key. Only the SHA-256 of the token is kept; the token is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(10))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firms.id"), nullable=True)
    region_prefix: Mapped[str | None] = mapped_column(String(6), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    __table_args__ = (
        CheckConstraint("role IN ('admin', 'hr', 'bureau', 'organiser')", name="role"),
        CheckConstraint("role != 'hr' OR firm_id IS NOT NULL", name="hr_has_firm"),
        CheckConstraint("role != 'bureau' OR region_prefix IS NOT NULL", name="bureau_has_region"),
    )

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class User(Base):
    """A person who signs in to the pages (``jobbridge users create``), with the role and scope
    an API key would have. Only an argon2 hash of the password is kept; ``failed_logins`` and
    ``locked_until`` lock the account for a while after repeated wrong passwords."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firms.id"), nullable=True)
    region_prefix: Mapped[str | None] = mapped_column(String(6), nullable=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    __table_args__ = (
        CheckConstraint("role IN ('admin', 'hr', 'bureau', 'organiser')", name="role"),
        CheckConstraint("role != 'hr' OR firm_id IS NOT NULL", name="hr_has_firm"),
        CheckConstraint("role != 'bureau' OR region_prefix IS NOT NULL", name="bureau_has_region"),
    )


class AuditEntry(Base):
    """Who read or wrote which fields of which object, and when (personal-data accountability)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id"), nullable=True, index=True
    )
    actor: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(30))
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    fields: Mapped[list[str]] = mapped_column(default=list)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)

    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)


#: What a change row names (:mod:`api.storage.changes`).
CHANGE_KINDS = ("job", "worker", "firm", "outcome")
CHANGE_OPS = ("upsert", "delete")


class Change(Base):
    """One committed write, announced in the transaction that made it (transactional outbox).

    Serving processes follow this table by increasing ``id`` and re-read the objects it names
    (:mod:`api.storage.changes`). A row names one object (``object_id``) or, for a bulk load or an
    import, a run of ids ``object_id`` … ``last_object_id`` — so 10,000 imported workers with
    consecutive ids are one row, not 10,000.
    """

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    object_id: Mapped[int] = mapped_column(Integer)
    last_object_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    op: Mapped[str] = mapped_column(String(10))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("kind IN ('job', 'worker', 'firm', 'outcome')", name="kind"),
        CheckConstraint("op IN ('upsert', 'delete')", name="op"),
        CheckConstraint(
            "last_object_id IS NULL OR last_object_id >= object_id", name="object_range"
        ),
    )


class Fair(Base):
    """A dedicated job fair (专场招聘) in a western county."""

    __tablename__ = "fairs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    start_time: Mapped[dt.time] = mapped_column(Time)
    end_time: Mapped[dt.time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=15)
    booths: Mapped[int] = mapped_column(Integer)
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("start_time < end_time", name="time_range"),
        CheckConstraint("slot_minutes > 0", name="slot_positive"),
        CheckConstraint("booths > 0", name="booths_positive"),
        CheckConstraint(
            "status IN ('draft', 'planned', 'published', 'done', 'cancelled')", name="status"
        ),
    )
    __mapper_args__ = {"version_id_col": version}


class FairFirm(Base):
    """A firm taking part in a fair."""

    __tablename__ = "fair_firms"

    fair_id: Mapped[int] = mapped_column(
        ForeignKey("fairs.id", ondelete="CASCADE"), primary_key=True
    )
    firm_id: Mapped[int] = mapped_column(
        ForeignKey("firms.id", ondelete="CASCADE"), primary_key=True
    )
    booths: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class FairInvitation(Base):
    """A worker invited to a fair."""

    __tablename__ = "fair_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    fair_id: Mapped[int] = mapped_column(ForeignKey("fairs.id", ondelete="CASCADE"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default="invited")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("fair_id", "worker_id"),)


class FairInterview(Base):
    """One interview slot of a fair plan: a worker meets a firm's job at a booth."""

    __tablename__ = "fair_interviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    fair_id: Mapped[int] = mapped_column(ForeignKey("fairs.id", ondelete="CASCADE"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"))
    booth: Mapped[int] = mapped_column(Integer)
    start: Mapped[dt.datetime] = mapped_column(DateTime)
    end: Mapped[dt.datetime] = mapped_column(DateTime)

    __table_args__ = (
        # A worker is in one place at a time; a booth holds one interview at a time.
        UniqueConstraint("fair_id", "worker_id", "start", name="uq_fair_interviews_worker_slot"),
        UniqueConstraint("fair_id", "booth", "start", name="uq_fair_interviews_booth_slot"),
        CheckConstraint('start < "end"', name="time_range"),
    )


class Allocation(Base):
    """A stored allocation run: what was asked and what the solver answered.

    A run is a proposal (``status = 'proposed'``) until a clerk has reviewed it and confirmed
    it (``'confirmed'``, with who and when); only a confirmed run is what the county acts on.
    """

    __tablename__ = "allocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(10), default="proposed", server_default="proposed")
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    confirmed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)

    __table_args__ = (CheckConstraint("status IN ('proposed', 'confirmed')", name="status"),)


TASK_KINDS = ("import_workers", "import_jobs", "allocation", "fair_plan", "train")
TASK_STATUSES = ("queued", "running", "done", "failed")


class Task(Base):
    """A piece of long work run by the background queue (:mod:`api.tasks`).

    The row is what a page shows after a reload: who asked for what, its state, how far it got
    (``done`` of ``total``, ``stage`` in words), what came out (``result``) or why it failed
    (``error``, in Chinese). The asker's role and scope are kept so that the worker process acts
    with exactly the rights of the person who asked, and so that pages list only one's own.
    """

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str] = mapped_column(String(200), default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(10))
    api_key_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    firm_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    region_prefix: Mapped[str | None] = mapped_column(String(6), nullable=True)
    queue_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    __table_args__ = (
        CheckConstraint(
            "kind IN ('import_workers', 'import_jobs', 'allocation', 'fair_plan', 'train')",
            name="kind",
        ),
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
    )


class CountyTarget(Base):
    """A county's yearly target of workers placed in stable jobs (editable by admins)."""

    __tablename__ = "county_targets"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Workers hired (and so counted towards the cooperation's yearly transfer figure).
    hired_target: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100), default="")

    __table_args__ = (CheckConstraint("hired_target >= 0", name="hired_target"),)


__all__ = [
    "FAIR_STATUSES",
    "ROLES",
    "Allocation",
    "ApiKey",
    "AuditEntry",
    "Base",
    "CHANGE_KINDS",
    "CHANGE_OPS",
    "Change",
    "CountyTarget",
    "Fair",
    "FairFirm",
    "FairInterview",
    "FairInvitation",
    "Firm",
    "Job",
    "OutcomeEvent",
    "TASK_KINDS",
    "TASK_STATUSES",
    "Task",
    "User",
    "Worker",
    "utcnow",
]
