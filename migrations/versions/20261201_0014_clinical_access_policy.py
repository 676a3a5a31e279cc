"""clinical access policy: care relationships, and export files expire

`care_relationships` records who is on a patient's care team (and break-the-glass accesses). Until now
a therapist's relationship was inferred from what they had recorded; every such pair on file becomes a
care-team membership, so no one loses access to a chart they were treating.

Export jobs carry `expires_at`; the worker deletes their files then. Jobs already on record expire
three days (the default retention) after they were requested.

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-01 10:45:00
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import app.models.base  # custom column types

revision: str = '0014'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_RETENTION = timedelta(hours=72)


# Who had recorded something for whom: the relationships the earlier code inferred.
_IMPLIED = [("episodes", "created_by"), ("assessments", "author_id"), ("assessments", "signed_by"),
            ("treatments", "author_id"), ("treatments", "signed_by"), ("clinical_revisions", "author_id"),
            ("consents", "obtained_by"), ("screenings", "screened_by"), ("outcome_administrations", "recorded_by")]


def upgrade() -> None:
    op.create_table(
        'care_relationships',
        sa.Column('patient_id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=True),
        sa.Column('started_at', app.models.base.UTCDateTime(), nullable=False),
        sa.Column('started_by', sa.Uuid(), nullable=True),
        sa.Column('started_by_type', sa.String(length=20), nullable=False),
        sa.Column('expires_at', app.models.base.UTCDateTime(), nullable=True),
        sa.Column('ended_at', app.models.base.UTCDateTime(), nullable=True),
        sa.Column('ended_by', sa.Uuid(), nullable=True),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_care_relationships_patient_id_patients')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_care_relationships_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_care_relationships')),
    )
    with op.batch_alter_table('care_relationships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_relationships_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_relationships_user_id_patient_id'), ['user_id', 'patient_id'],
                              unique=False)
    _backfill_care_teams()

    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', app.models.base.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_export_jobs_expires_at'), ['expires_at'], unique=False)

    jobs = sa.table('export_jobs', sa.column('id', sa.Uuid()), sa.column('created_at', app.models.base.UTCDateTime()),
                    sa.column('expires_at', app.models.base.UTCDateTime()))
    conn = op.get_bind()
    for job_id, created_at in conn.execute(sa.select(jobs.c.id, jobs.c.created_at)).all():
        conn.execute(jobs.update().where(jobs.c.id == job_id).values(expires_at=created_at + DEFAULT_RETENTION))


def _backfill_care_teams() -> None:
    conn = op.get_bind()
    pairs: set[tuple[object, object]] = set()
    for table, column in _IMPLIED:
        t = sa.table(table, sa.column('patient_id', sa.Uuid()), sa.column(column, sa.Uuid()))
        pairs |= {(p, u) for p, u in conn.execute(sa.select(t.c.patient_id, t.c[column]).distinct())
                  if p is not None and u is not None}
    users = sa.table('users', sa.column('id', sa.Uuid()))
    known = {row[0] for row in conn.execute(sa.select(users.c.id))}
    care = sa.table('care_relationships', sa.column('id', sa.Uuid()), sa.column('patient_id', sa.Uuid()),
                    sa.column('user_id', sa.Uuid()), sa.column('kind', sa.String()), sa.column('reason', sa.String()),
                    sa.column('started_at', app.models.base.UTCDateTime()), sa.column('started_by', sa.Uuid()),
                    sa.column('started_by_type', sa.String()))
    now = app.models.base.utcnow()
    rows = [{"id": app.models.base.new_id(), "patient_id": p, "user_id": u, "kind": "care_team",
             "reason": "recorded care before care teams were kept (migration 0014)", "started_at": now,
             "started_by": None, "started_by_type": "system"}
            for p, u in sorted(pairs, key=str) if u in known]
    if rows:
        conn.execute(care.insert().values(rows))


def downgrade() -> None:
    op.drop_table('care_relationships')
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_jobs_expires_at'))
        batch_op.drop_column('expires_at')
