"""Alembic migrations; installed as app.migrations."""
