"""outcome corrections: an event may name the one it corrects

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-02 08:00:00

A wrong outcome event is never edited (the ranker's labels are facts with a history): a new
event names it in ``corrects``. The unique constraint lets each event be corrected once, so two
clerks correcting the same row at once cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outcome_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("corrects", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outcome_events_corrects_outcome_events"),
            "outcome_events",
            ["corrects"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_unique_constraint(batch_op.f("uq_outcome_events_corrects"), ["corrects"])


def downgrade() -> None:
    with op.batch_alter_table("outcome_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_outcome_events_corrects"), type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_outcome_events_corrects_outcome_events"), type_="foreignkey"
        )
        batch_op.drop_column("corrects")
