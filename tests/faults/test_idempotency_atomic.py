"""An Idempotency-Key's stored response commits in the same transaction as the write it describes.

So a crash can never leave "the patient exists but the key is still in flight" (a retry after the
lease would register the patient twice): either both committed (the retry replays) or neither did.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import event, func, select

from app.models.base import utcnow
from app.models.integration import IdempotencyKey
from app.models.patient import Patient
from tests.factories import patient_body
from tests.integrations.test_idempotency import _in_flight

PATIENTS = "/api/v1/patients"


def _transactions(engine):
    """Statements grouped by the transaction (commit) they ran in, as the database saw them."""
    done: list[list[str]] = []
    current: list[str] = []

    def on_execute(conn, cursor, statement, *_):
        current.append(statement.split()[0].upper() + " " + statement)

    def on_commit(conn):
        done.append(list(current))
        current.clear()

    def on_rollback(conn):
        current.clear()

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    return done


def test_the_write_and_its_stored_response_commit_together(app, client, staff, db):
    reception = staff("reception")
    committed = _transactions(app.state.engine)
    response = client.post(PATIENTS, json=patient_body(), headers={**reception.headers, "Idempotency-Key": "k1"})
    assert response.status_code == 201
    writes = [tx for tx in committed if any("INSERT INTO patients" in s for s in tx)]
    assert len(writes) == 1
    assert any(s.startswith("UPDATE UPDATE idempotency_keys") for s in writes[0]), writes[0]
    stored = db.scalars(select(IdempotencyKey)).one()
    assert stored.status_code == 201 and json.loads(stored.response_body)["id"] == response.json()["id"]


def test_a_request_that_lost_its_lease_to_a_retry_commits_nothing(app, client, staff, db):
    """The first attempt is still running when a retry, seeing an expired lease, takes the key over."""
    reception = staff("reception")
    body = json.dumps(patient_body()).encode()
    headers = {**reception.headers, "Content-Type": "application/json", "Idempotency-Key": "slow"}

    def steal_the_lease(session, *_):  # runs inside the first attempt, before its commit
        with app.state.sessionmaker() as other, other.begin():
            row = other.scalars(select(IdempotencyKey)).one()
            row.created_at = utcnow() + timedelta(seconds=1)  # as a retry's takeover stamps it

    if app.state.engine.dialect.name == "sqlite":
        return  # one writer: a takeover cannot interleave with a running request (BEGIN IMMEDIATE)
    event.listen(app.state.sessionmaker, "after_flush", steal_the_lease, once=True)
    response = client.post(PATIENTS, content=body, headers=headers)
    assert response.status_code == 409 and "lease" in response.json()["detail"]
    assert db.scalar(select(func.count()).select_from(Patient)) == 0


def test_a_crash_before_commit_leaves_only_a_claim_and_the_retry_runs_once(client, staff, db, settings):
    reception = staff("reception")
    body = json.dumps(patient_body()).encode()
    headers = {**reception.headers, "Content-Type": "application/json", "Idempotency-Key": "crashed"}
    _in_flight(db, reception, "crashed", body, utcnow() - timedelta(seconds=settings.idempotency_lease_seconds + 1))
    first = client.post(PATIENTS, content=body, headers=headers)
    again = client.post(PATIENTS, content=body, headers=headers)
    assert first.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert db.scalar(select(func.count()).select_from(Patient)) == 1
