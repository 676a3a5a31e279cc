"""Reads' audit rows are group-committed, durable before the answer, on both engines.

SQLite reads also run in read snapshots (no write lock); on PostgreSQL the point is one chain-head row lock and
one multi-row INSERT per batch instead of per request.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, func, make_url, select, text, update

from app.kit import audit
from app.models import AuditEvent
from app.models.user import AuthToken
from tests.conftest import TEST_SECRET
from tests.factories import make_patient
from tests.perf.test_hot_paths import capture


@contextmanager
def audit_writer_blocked(db_url: str) -> Iterator[None]:
    """Another transaction holds what every audit batch needs: SQLite's write lock, PostgreSQL's chain heads."""
    if db_url.startswith("sqlite"):
        blocker = sqlite3.connect(make_url(db_url).database, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        return
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("LOCK TABLE audit_chain_heads IN EXCLUSIVE MODE")  # blocks SELECT ... FOR UPDATE
            try:
                yield
            finally:
                conn.rollback()
    finally:
        engine.dispose()


@contextmanager
def reads_refused(db, engine_kind: str) -> Iterator[None]:
    """The audit store refuses every 'read' row (a trigger), as a full disk or a broken replica would."""
    if engine_kind == "sqlite":
        db.execute(text("CREATE TRIGGER refuse_reads BEFORE INSERT ON audit_events WHEN NEW.action = 'read' "
                        "BEGIN SELECT RAISE(ABORT, 'audit store refused'); END"))
    else:
        db.execute(text("CREATE FUNCTION refuse_reads() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                        "IF NEW.action = 'read' THEN RAISE EXCEPTION 'audit store refused'; END IF; "
                        "RETURN NEW; END $$"))
        db.execute(text("CREATE TRIGGER refuse_reads BEFORE INSERT ON audit_events FOR EACH ROW "
                        "EXECUTE FUNCTION refuse_reads()"))
    try:
        yield
    finally:
        db.execute(text("DROP TRIGGER refuse_reads" + ("" if engine_kind == "sqlite" else " ON audit_events")))
        if engine_kind != "sqlite":
            db.execute(text("DROP FUNCTION refuse_reads()"))


@contextmanager
def capture_all(app):
    """Statements of the request pool and of the group commit's own writer connection, in order."""
    writer = app.state.sessionmaker.kw["info"][audit.GROUP_COMMIT].factory.kw["bind"]
    with capture(app.state.engine) as statements, capture(writer) as batched:
        yield statements, batched


def _reads(db, patient_id: str) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "read", AuditEvent.resource_id == patient_id))


def test_a_read_writes_nothing_itself_and_its_audit_row_is_written_apart(client, app, staff, engine_kind):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    with capture_all(app) as (statements, batched):
        assert client.get(f"/api/v1/patients/{patient['id']}", headers=therapist.headers).status_code == 200
    sql = [s for s, _ in statements]
    if engine_kind == "sqlite":
        assert sql[0] == "BEGIN" and "BEGIN IMMEDIATE" not in sql, sql  # the request takes no write lock
    assert not [s for s in sql if s.startswith(("INSERT", "UPDATE")) or "FOR UPDATE" in s], sql
    batch = [s for s, _ in batched]
    assert any(s.startswith("INSERT INTO audit_events") for s in batch), batch
    if engine_kind == "sqlite":
        assert batch[0] == "BEGIN IMMEDIATE", batch


def test_reads_wait_for_their_batch_and_many_share_one_commit(client, app, staff, db, db_url):
    therapist = staff("therapist")
    patients = [make_patient(client, therapist, family_name=f"Queue{i}") for i in range(6)]
    answered: list[int] = []

    def read(p: dict) -> None:
        answered.append(client.get(f"/api/v1/patients/{p['id']}", headers=therapist.headers).status_code)

    with capture_all(app) as (_, statements), ThreadPoolExecutor(6) as pool:
        with audit_writer_blocked(db_url):  # no audit batch can commit yet
            futures = [pool.submit(read, p) for p in patients]
            time.sleep(1.5)
            assert answered == [], "a read was answered before its audit row was committed"
        for f in futures:
            f.result(timeout=60)
    assert answered == [200] * 6
    assert all(_reads(db, p["id"]) == 1 for p in patients)
    head_updates = [s for s, _ in statements if s.startswith("UPDATE audit_chain_heads")]
    assert len(head_updates) < 6, f"{len(head_updates)} chain-head updates for 6 reads: not batched"
    inserts = [s for s, _ in statements if s.startswith("INSERT INTO audit_events")]
    assert len(inserts) <= len(head_updates), f"{len(inserts)} INSERTs for {len(head_updates)} batches: not multi-row"
    with app.state.sessionmaker() as session:
        assert list(audit.verify(session, audit.audit_key_from_secret(TEST_SECRET))) == []


def test_a_read_whose_batch_fails_fails_too(client, app, staff, db, engine_kind):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    url = f"/api/v1/patients/{patient['id']}"
    with reads_refused(db, engine_kind):
        results: list[int] = []
        threads = [threading.Thread(target=lambda: results.append(
            client.get(url, headers=therapist.headers).status_code)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert results == [500] * 4
        assert _reads(db, patient["id"]) == 0
    assert client.get(url, headers=therapist.headers).status_code == 200  # the committer carried on
    assert _reads(db, patient["id"]) == 1


def test_a_read_that_stamps_its_token_stays_a_read_and_the_stamp_rides_the_batch(client, app, staff, db,
                                                                                   engine_kind):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    db.execute(update(AuthToken).where(AuthToken.user_id == therapist.id)
               .values(last_used_at=datetime.now(UTC) - timedelta(minutes=5)))
    before = db.scalar(select(AuthToken.last_used_at).where(AuthToken.user_id == therapist.id))
    with capture_all(app) as (statements, batched):
        assert client.get(f"/api/v1/patients/{patient['id']}", headers=therapist.headers).status_code == 200
    # Durable before the answer: no waiting here.
    after = db.scalar(select(AuthToken.last_used_at).where(AuthToken.user_id == therapist.id))
    assert after > before
    assert _reads(db, patient["id"]) == 1
    sql = [s for s, _ in statements]
    assert not [s for s in sql if s.startswith(("INSERT", "UPDATE")) or s == "BEGIN IMMEDIATE"], sql
    batch = [s for s, _ in batched]
    assert any(s.startswith("UPDATE auth_tokens") for s in batch), batch


def test_many_reads_of_one_token_stamp_it_once(client, app, staff, db):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    db.execute(update(AuthToken).where(AuthToken.user_id == therapist.id)
               .values(last_used_at=datetime.now(UTC) - timedelta(minutes=5)))
    with capture_all(app) as (statements, batched), ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: client.get(f"/api/v1/patients/{patient['id']}",
                                                      headers=therapist.headers).status_code, range(12)))
    assert statuses == [200] * 12
    stamps = [s for s, _ in statements + batched if s.startswith("UPDATE auth_tokens")]
    assert 1 <= len(stamps) < 12, f"{len(stamps)} token stamps for 12 reads"


def test_a_read_that_inserts_mid_request_takes_the_write_lock_first(client, staff, db):
    admin = staff("admin")
    kicked = client.get("/fhir/$export", headers={**admin.headers, "Prefer": "respond-async"})
    assert kicked.status_code == 202, kicked.text
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "export")) == 1


def test_more_waiting_reads_than_pooled_connections_still_commit(client, app, staff, db):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    url = f"/api/v1/patients/{patient['id']}"
    pool = app.state.engine.pool
    readers = pool.size() + pool._max_overflow + 5  # each waiting read holds a pooled connection

    def read(_: int) -> int:
        return client.get(url, headers=therapist.headers).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(readers) as executor:
        statuses = list(executor.map(read, range(readers)))
    assert statuses == [200] * readers
    # A group commit waiting for a connection the reads hold would time them out (pool timeout 5 s: 503s, caught
    # above); the bound only catches a hang, with room for a machine shared by parallel test workers.
    assert time.monotonic() - started < 60, "the group commit waited for a connection the reads were holding"
    assert _reads(db, patient["id"]) == readers


def test_a_write_stamps_its_token_in_its_own_transaction(client, app, staff, db):
    reception = staff("reception")
    db.execute(update(AuthToken).where(AuthToken.user_id == reception.id)
               .values(last_used_at=datetime.now(UTC) - timedelta(minutes=5)))
    before = db.scalar(select(AuthToken.last_used_at).where(AuthToken.user_id == reception.id))
    with capture_all(app) as (statements, batched):
        make_patient(client, reception, family_name="Stamped")
    assert db.scalar(select(AuthToken.last_used_at).where(AuthToken.user_id == reception.id)) > before
    assert any(s.startswith("UPDATE auth_tokens") for s, _ in statements)
    assert not any(s.startswith("UPDATE auth_tokens") for s, _ in batched)
