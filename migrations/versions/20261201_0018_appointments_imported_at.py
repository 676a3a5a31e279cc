"""appointments remember when they were imported from another system

A visit brought over from another practice system's CSV as completed was documented there, not in IMS
Chart: it must never land on the unsigned-notes worklist, which is for visits completed here without a
signed note. `imported_at` says which visits came in that way (and when); the worklist skips them.
Existing rows are left NULL: before this migration nothing distinguished them, and the worklist keeps
showing what it showed.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 13:50:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('imported_at', app.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_column('imported_at')
