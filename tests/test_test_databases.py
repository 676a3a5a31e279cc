"""The suite's own PostgreSQL databases: a used copy is put back exactly as migrated, or not reused at all."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import make_url

from tests.databases import TemplateDatabase, _Contents


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def pg_copy(template_db: TemplateDatabase):
    if template_db.kind != "postgresql":
        pytest.skip("the reuse of test databases is PostgreSQL's (SQLite copies a file)")
    url = template_db.copy()
    yield _dsn(url)
    template_db.drop(url)


def test_a_used_database_is_put_back_as_migrated(pg_copy, template_db):
    migrated = _Contents.of(pg_copy)
    with psycopg.connect(pg_copy, autocommit=True) as conn:
        conn.execute("UPDATE clinic SET name = 'Changed by a test'")
        conn.execute("DELETE FROM reference_muscles WHERE ctid IN (SELECT ctid FROM reference_muscles LIMIT 3)")
        conn.execute("INSERT INTO counters (name, value) VALUES ('test-only', 7)")
        assert migrated.sequences, "the schema has sequences (identity columns): this test moves one"
        conn.execute("SELECT nextval(%s::regclass)", (next(iter(migrated.sequences)),))
    assert _Contents.of(pg_copy) != migrated
    assert template_db._as_migrated.restore(pg_copy) is True
    after = _Contents.of(pg_copy)
    assert (after.tables, after.sequences, after.shape) == (migrated.tables, migrated.sequences, migrated.shape)
    # Rows a test changed come back in the migrations' order or not (a heap's order is PostgreSQL's own).
    assert {t: sorted(rows.splitlines()) for t, rows in after.seeded.items()} == \
        {t: sorted(rows.splitlines()) for t, rows in migrated.seeded.items()}
    # Tables the test left alone are not rewritten at all.
    assert after.seeded["reference_levels"] == migrated.seeded["reference_levels"]


def test_a_database_whose_shape_a_test_changed_is_not_reused(pg_copy, template_db):
    with psycopg.connect(pg_copy, autocommit=True) as conn:
        conn.execute("CREATE TABLE left_behind (id int)")
    assert template_db._as_migrated.restore(pg_copy) is False


def test_a_database_still_in_use_is_not_reused(pg_copy, template_db):
    with psycopg.connect(pg_copy, autocommit=True):
        assert template_db._as_migrated.restore(pg_copy) is False


def test_what_a_test_left_connected_is_cut_off_before_its_database_is_reused(pg_copy, template_db):
    """`drop` does not wait for the test's connections (the audit group commit's writer is usually one of
    them); the background thread ends them before it resets the database for the next test."""
    left = psycopg.connect(pg_copy, autocommit=True)
    try:
        assert template_db._cut_off(make_url(pg_copy).database) is True
        with pytest.raises(psycopg.OperationalError):
            left.execute("SELECT 1")
        assert template_db._as_migrated.restore(pg_copy) is True
    finally:
        left.close()
