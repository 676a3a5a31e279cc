"""patient contact preferences and reminder consent

How each patient wants to be reminded (sms, email, phone, none) and whether they agreed to be
contacted at all, with when they agreed. Existing patients get no preference and no consent, so the
reminders list tells the clinic to ask rather than assuming a yes.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 12:25:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_preference', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('reminder_consent', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('reminder_consent_at', app.models.base.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_patients_contact_preference'), "contact_preference IN ('sms', 'email', 'phone', 'none')")


def downgrade() -> None:
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_patients_contact_preference'), type_='check')
        batch_op.drop_column('reminder_consent_at')
        batch_op.drop_column('reminder_consent')
        batch_op.drop_column('contact_preference')
