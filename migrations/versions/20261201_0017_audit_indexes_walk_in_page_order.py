"""audit indexes by patient and by actor end in the page order's tie-breaker

The audit trail pages newest first on (occurred_at, id). The indexes on (patient_id, occurred_at) and
(actor_id, occurred_at) gave the rows of one patient or actor but not in that full order, so each page
sorted all of them on the id; (patient_id, occurred_at, id) and (actor_id, occurred_at, id) are walked in
order and stop at the page size. Index-only changes on audit_events (no table rebuild on SQLite, so its
append-only triggers stay in place).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 12:30:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_patient_id_occurred_at_id'),
                              ['patient_id', 'occurred_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_actor_id_occurred_at_id'),
                              ['actor_id', 'occurred_at', 'id'], unique=False)
        batch_op.drop_index(batch_op.f('ix_audit_events_patient_id_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_actor_id_occurred_at'))


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_actor_id_occurred_at'), ['actor_id', 'occurred_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_patient_id_occurred_at'), ['patient_id', 'occurred_at'],
                              unique=False)
        batch_op.drop_index(batch_op.f('ix_audit_events_actor_id_occurred_at_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_patient_id_occurred_at_id'))
