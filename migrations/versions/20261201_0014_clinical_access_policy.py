"""clinical access policy: export files expire

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


def upgrade() -> None:
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', app.models.base.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_export_jobs_expires_at'), ['expires_at'], unique=False)

    jobs = sa.table('export_jobs', sa.column('id', sa.Uuid()), sa.column('created_at', app.models.base.UTCDateTime()),
                    sa.column('expires_at', app.models.base.UTCDateTime()))
    conn = op.get_bind()
    for job_id, created_at in conn.execute(sa.select(jobs.c.id, jobs.c.created_at)).all():
        conn.execute(jobs.update().where(jobs.c.id == job_id).values(expires_at=created_at + DEFAULT_RETENTION))


def downgrade() -> None:
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_jobs_expires_at'))
        batch_op.drop_column('expires_at')
