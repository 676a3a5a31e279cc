"""The audit trail: complete, append-only in the database, and tamper-evident."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import Connection, create_engine, event, func, insert, select, text

from app.kit import audit
from app.models import AuditChainHead, AuditEvent, Counter, Patient
from app.models.audit import AUDIT_CHAINS
from app.models.base import new_id, utcnow
from tests.conftest import TEST_SECRET
from tests.factories import make_patient, patient_body

KEY = audit.audit_key_from_secret(TEST_SECRET)


def problems(app) -> list[audit.ChainProblem]:
    with app.state.sessionmaker() as session:
        return list(audit.verify(session, KEY))


def count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


# --- what a row says -------------------------------------------------------------------------------------------


def test_rows_carry_who_what_when_where(client, staff, db):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    before = utcnow()
    response = client.get(f"/api/v1/patients/{patient['id']}",
                          headers={**therapist.headers, "X-Request-ID": "visit-42", "User-Agent": "FrontDesk/2.1"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "visit-42"  # a client-supplied id is echoed
    row = db.scalar(select(AuditEvent).where(AuditEvent.request_id == "visit-42"))
    assert row.occurred_at.utcoffset() == timedelta(0)  # timezone-aware UTC
    assert before - timedelta(seconds=1) <= row.occurred_at <= utcnow()
    assert (row.actor_id, row.actor_type, row.actor_role) == (therapist.id, "user", "therapist")
    assert (row.action, row.resource_type, row.resource_id) == ("read", "Patient", patient["id"])
    assert str(row.patient_id) == patient["id"]
    assert (row.client_ip, row.user_agent, row.outcome) == ("testclient", "FrontDesk/2.1", "success")
    assert row.resource_version == 1


def test_the_request_id_on_the_row_is_the_one_in_the_response(client, staff, db):
    therapist = staff("therapist")
    created = client.post("/api/v1/patients", json=patient_body(), headers=therapist.headers)
    assert created.status_code == 201
    generated = created.headers["x-request-id"]
    assert generated
    row = db.scalar(select(AuditEvent).where(AuditEvent.action == "create", AuditEvent.resource_type == "Patient"))
    assert row.request_id == generated
    assert (row.actor_id, row.actor_role, str(row.patient_id)) == (therapist.id, "therapist", created.json()["id"])
    # An unusable client id (too long) is replaced, and the replacement is what gets recorded.
    read = client.get(f"/api/v1/patients/{created.json()['id']}", headers={**therapist.headers,
                                                                         "X-Request-ID": "x" * 200})
    assert read.headers["x-request-id"] != "x" * 200
    assert count(db, AuditEvent, AuditEvent.request_id == read.headers["x-request-id"],
                 AuditEvent.action == "read") == 1


def test_a_refused_request_is_recorded_as_denied_not_success(client, staff, db):
    reception = staff("reception")
    response = client.get("/api/v1/audit-events", headers={**reception.headers, "X-Request-ID": "peek"})
    assert response.status_code == 403
    rows = db.scalars(select(AuditEvent).where(AuditEvent.request_id == "peek")).all()
    assert [(r.action, r.outcome, r.actor_id) for r in rows] == [("access", "denied", reception.id)]


def test_a_failed_request_leaves_no_success_row_and_no_partial_write(client, staff, db):
    therapist = staff("therapist")
    rows, patients = count(db, AuditEvent), count(db, Patient)
    counter = db.scalar(select(Counter.value).where(Counter.name == "chart_number"))
    response = client.post("/api/v1/patients", json=patient_body(birth_date="2999-01-01"), headers=therapist.headers)
    assert response.status_code == 422
    assert count(db, AuditEvent) == rows
    assert count(db, Patient) == patients
    assert db.scalar(select(Counter.value).where(Counter.name == "chart_number")) == counter


def _refuse_audit_inserts(db, engine_kind: str) -> None:
    """Make every audit write fail at the database, after the request's own rows were flushed."""
    if engine_kind == "postgresql":
        db.execute(text("CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ "
                        "BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$"))
        db.execute(text("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events "
                        "FOR EACH ROW EXECUTE FUNCTION refuse_audit()"))
    else:
        db.execute(text("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events "
                        "BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END"))
    db.commit()


def test_a_write_whose_audit_row_cannot_be_stored_is_not_stored_either(client, staff, db, engine_kind):
    therapist = staff("therapist")
    patients = count(db, Patient)
    counter = db.scalar(select(Counter.value).where(Counter.name == "chart_number"))
    _refuse_audit_inserts(db, engine_kind)
    response = client.post("/api/v1/patients", json=patient_body(), headers=therapist.headers)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert count(db, Patient) == patients
    assert db.scalar(select(Counter.value).where(Counter.name == "chart_number")) == counter


def test_a_read_fails_rather_than_go_unaudited(client, staff, db, engine_kind):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    _refuse_audit_inserts(db, engine_kind)
    response = client.get(f"/api/v1/patients/{patient['id']}", headers=therapist.headers)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "Lindqvist" not in response.text


# --- append-only --------------------------------------------------------------------------------------------------


def test_database_refuses_to_change_the_trail(app, client, staff, db):
    make_patient(client, staff("therapist"))
    before = db.execute(select(AuditEvent.id, AuditEvent.action, AuditEvent.hash).order_by(AuditEvent.id)).all()
    for statement in ("UPDATE audit_events SET action = 'read'",
                      "UPDATE audit_events SET outcome = 'success' WHERE action = 'create'",
                      "DELETE FROM audit_events",
                      "DELETE FROM audit_events WHERE action = 'create'"):
        with pytest.raises(Exception, match="append-only"):
            db.execute(text(statement))
            db.commit()
        db.rollback()
    after = db.execute(select(AuditEvent.id, AuditEvent.action, AuditEvent.hash).order_by(AuditEvent.id)).all()
    assert after == before
    assert problems(app) == []


def test_truncate_is_refused_on_postgresql(client, staff, db, engine_kind):
    if engine_kind != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    make_patient(client, staff("therapist"))
    rows = count(db, AuditEvent)
    with pytest.raises(Exception, match="append-only"):
        db.execute(text("TRUNCATE audit_events"))
    db.rollback()
    assert count(db, AuditEvent) == rows > 0


# --- tamper evidence ----------------------------------------------------------------------------------------------


@contextmanager
def intruder(db_url: str, engine_kind: str, how: str = "disable") -> Iterator[Connection]:
    """Someone with direct database access, who first switches the append-only triggers off."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            if engine_kind == "postgresql" and how == "replica":
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            elif engine_kind == "postgresql":
                conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change"))
            else:
                conn.execute(text("DROP TRIGGER audit_events_no_update"))
                conn.execute(text("DROP TRIGGER audit_events_no_delete"))
            yield conn
    finally:
        engine.dispose()


def _busiest_chain(db) -> tuple[int, int]:
    head = db.scalars(select(AuditChainHead).order_by(AuditChainHead.seq.desc()).limit(1)).one()
    return head.chain, head.seq


def _many_rows(client, staff, db) -> None:
    """Enough reads that some chain has a first, a middle and a last entry."""
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    for _ in range(100):
        for _ in range(4):
            assert client.get(f"/api/v1/patients/{patient['id']}", headers=therapist.headers).status_code == 200
        if _busiest_chain(db)[1] >= 3:
            return
    raise AssertionError("reads are not spread over chains as expected")


def test_an_intact_trail_verifies(app, client, staff, db):
    assert problems(app) == []  # a fresh database: sixteen empty chains
    _many_rows(client, staff, db)
    assert problems(app) == []


def test_verify_needs_the_right_key(app, client, staff, db):
    _many_rows(client, staff, db)
    with app.state.sessionmaker() as session:
        found = list(audit.verify(session, audit.audit_key_from_secret("another-secret-" + "x" * 40)))
    assert found and all("altered" in p.message or "signature" in p.message for p in found)
    assert any("altered" in p.message for p in found)


@pytest.mark.parametrize(("how", "column", "value"), [
    ("disable", "action", "search"), ("disable", "occurred_at", "2020-01-01 00:00:00"), ("replica", "actor_id", None),
])
def test_verify_detects_an_edited_entry(app, client, staff, db, db_url, engine_kind, how, column, value):
    if how == "replica" and engine_kind != "postgresql":
        pytest.skip("session_replication_role is PostgreSQL's")
    _many_rows(client, staff, db)
    assert problems(app) == []
    chain, _ = _busiest_chain(db)
    target = db.scalars(select(AuditEvent).where(AuditEvent.chain == chain, AuditEvent.seq == 2)).one()
    with intruder(db_url, engine_kind, how) as conn:
        changed = conn.execute(text(f"UPDATE audit_events SET {column} = :v WHERE chain = :c AND seq = :s"),
                               {"v": value, "c": target.chain, "s": target.seq})
        assert changed.rowcount == 1
    found = problems(app)
    assert [(p.chain, p.seq) for p in found] == [(target.chain, target.seq)]
    assert str(target.id) in found[0].message and "altered" in found[0].message


def test_verify_detects_a_removed_middle_entry(app, client, staff, db, db_url, engine_kind):
    _many_rows(client, staff, db)
    chain, _ = _busiest_chain(db)
    with intruder(db_url, engine_kind) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE chain = :c AND seq = 2"), {"c": chain})
    found = problems(app)
    assert [(p.chain, p.seq) for p in found] == [(chain, 2)]
    assert "missing" in found[0].message


def test_verify_detects_a_removed_last_entry(app, client, staff, db, db_url, engine_kind):
    _many_rows(client, staff, db)
    chain, last = _busiest_chain(db)
    with intruder(db_url, engine_kind) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE chain = :c AND seq = :s"), {"c": chain, "s": last})
    found = problems(app)
    assert [p.chain for p in found] == [chain]
    assert "missing" in found[0].message and str(last) in found[0].message


def test_verify_detects_a_cut_tail_even_when_the_head_is_rewritten_to_match(app, client, staff, db, db_url,
                                                                           engine_kind):
    """An intruder deletes the newest entries of a chain and sets the head to the new last entry:
    the chain walks cleanly, but the head's keyed signature no longer fits."""
    _many_rows(client, staff, db)
    chain, last = _busiest_chain(db)
    keep = db.scalars(select(AuditEvent).where(AuditEvent.chain == chain, AuditEvent.seq == last - 1)).one()
    with intruder(db_url, engine_kind) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE chain = :c AND seq = :s"), {"c": chain, "s": last})
        conn.execute(text("UPDATE audit_chain_heads SET seq = :s, hash = :h WHERE chain = :c"),
                     {"s": keep.seq, "h": keep.hash, "c": chain})
    found = problems(app)
    assert [(p.chain, p.seq) for p in found] == [(chain, keep.seq)]
    assert "signature" in found[0].message
    db.execute(text("UPDATE audit_chain_heads SET signature = NULL WHERE chain = :c"), {"c": chain})  # unsigned
    assert [p.chain for p in problems(app)] == [chain]


def test_verify_detects_entries_slipped_in_beside_the_chains(app, client, staff, db):
    """INSERT is allowed (append-only), so a forged row must not hide in a chain verify never walks."""
    _many_rows(client, staff, db)
    genuine = db.scalars(select(AuditEvent).where(AuditEvent.action == "read").limit(1)).one()
    forged_ids = []
    for chain in (AUDIT_CHAINS, -1):
        forged = {c.key: getattr(genuine, c.key) for c in AuditEvent.__table__.columns}
        forged.update(id=new_id(), chain=chain, seq=1, actor_id=None, actor_label="someone else")
        db.execute(insert(AuditEvent.__table__).values(**forged))
        forged_ids.append(str(forged["id"]))
    db.commit()
    found = problems(app)
    assert sorted((p.chain, p.seq) for p in found) == [(-1, 1), (AUDIT_CHAINS, 1)]
    assert all(any(i in p.message for p in found) for i in forged_ids)


def test_verify_detects_an_entry_appended_without_the_key(app, client, staff, db):
    _many_rows(client, staff, db)
    chain, last = _busiest_chain(db)
    tail = db.scalars(select(AuditEvent).where(AuditEvent.chain == chain, AuditEvent.seq == last)).one()
    forged = {c.key: getattr(tail, c.key) for c in AuditEvent.__table__.columns}
    forged.update(id=new_id(), seq=last + 1, prev_hash=tail.hash, hash="f" * 64)
    db.execute(insert(AuditEvent.__table__).values(**forged))
    db.commit()
    found = problems(app)
    assert (chain, last + 1) in {(p.chain, p.seq) for p in found}
    assert any("altered" in p.message for p in found)


# --- concurrency --------------------------------------------------------------------------------------------------


def test_concurrent_requests_all_succeed_and_every_chain_stays_contiguous(app, client, staff, db):
    members = [staff("therapist") for _ in range(4)]
    before = count(db, AuditEvent)

    def visit(i: int) -> list[int]:
        member = members[i % len(members)]
        created = client.post("/api/v1/patients", json=patient_body(family_name=f"Busy{i}"), headers=member.headers)
        pid = created.json()["id"]
        read = client.get(f"/api/v1/patients/{pid}", headers=member.headers)
        patched = client.patch(f"/api/v1/patients/{pid}", json={"notes": f"visit {i}"},
                               headers={**member.headers, "If-Match": read.headers["etag"]})
        found = client.get("/api/v1/patients", params={"q": f"Busy{i}"}, headers=member.headers)
        return [created.status_code, read.status_code, patched.status_code, found.status_code]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(visit, range(24)))
    assert results == [[201, 200, 200, 200]] * 24

    by_action = dict(db.execute(select(AuditEvent.action, func.count()).where(AuditEvent.resource_type == "Patient")
                                .group_by(AuditEvent.action)).all())
    assert by_action == {"create": 24, "read": 24, "update": 24, "search": 24}
    assert count(db, AuditEvent) == before + 96 + 24  # + each registering therapist's care_start
    assert problems(app) == []
    heads = {h.chain: h.seq for h in db.scalars(select(AuditChainHead))}
    for chain, last in heads.items():
        seqs = db.scalars(select(AuditEvent.seq).where(AuditEvent.chain == chain).order_by(AuditEvent.seq)).all()
        assert seqs == list(range(1, last + 1)), f"chain {chain} has gaps or duplicates"
    assert sum(1 for last in heads.values() if last) > 1  # writes spread over several chains


def test_verify_sees_one_moment_while_requests_keep_coming(app, client, staff, engine_kind):
    """`imschart audit verify` on a live clinic: rows committed during the walk are not reported as tampering."""
    if engine_kind != "postgresql":
        pytest.skip("on SQLite verify holds the write lock, so writers simply wait for it")
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    fired = []

    def meanwhile(conn, cursor, statement, *args) -> None:
        if not fired and "FROM audit_events" in statement and "audit_chain_heads" not in statement:
            fired.append(statement)
            for _ in range(4):  # other requests commit while verify is between reading heads and rows
                assert client.get(f"/api/v1/patients/{patient['id']}", headers=therapist.headers).status_code == 200

    event.listen(app.state.engine, "before_cursor_execute", meanwhile)
    try:
        found = problems(app)
    finally:
        event.remove(app.state.engine, "before_cursor_execute", meanwhile)
    assert fired
    assert found == []
    assert problems(app) == []
