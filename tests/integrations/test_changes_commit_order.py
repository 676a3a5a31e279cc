"""The changes feed under transactions that commit out of order (PostgreSQL: real concurrent writers).

Why no change is ever skipped or repeated: a change's `seq` is not taken when the row is written but in
the transaction's `before_commit`, by an UPDATE of the single `change_seq` counter row, and the row lock
that UPDATE takes is held until that transaction commits. So

- a transaction that wrote early but commits late takes its number late: it sorts after everything that
  committed before it, never behind a cursor a consumer has already moved past; and
- once a transaction holds a number, anyone wanting the next one queues on the counter row until the
  holder has committed (or rolled back). Numbers therefore become visible strictly in order: a reader can
  never see seq n+1 while seq n is still uncommitted, and `after=<cursor>` is a complete resume point.

SQLite has a single writer (each transaction begins IMMEDIATE), so there the interleavings below cannot
happen at all; the tests run on PostgreSQL, where they can.
"""

from __future__ import annotations

import threading
import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.auth.permissions import ROLE_PERMISSIONS
from app.kit import events
from app.kit.actor import Actor
from app.patients import service as patients
from app.patients.schemas import PatientCreate
from tests.factories import Member


@pytest.fixture
def postgresql_only(engine_kind: str) -> None:
    if engine_kind != "postgresql":
        pytest.skip("SQLite serialises writers: transactions cannot commit out of order there")


def as_actor(member: Member) -> Actor:
    return Actor(id=member.id, type="user", role=member.role, label=member.email,
                 permissions=ROLE_PERMISSIONS[member.role])


def write_patient(session: Session, member: Member, family_name: str) -> str:
    """Create a patient in `session` without committing (a chart number of its own: no chart counter lock)."""
    data = PatientCreate(given_name="Out", family_name=family_name, birth_date=date(1970, 1, 1),
                         chart_number=f"OOO-{uuid.uuid4().hex[:8]}")
    patient = patients.create(session, as_actor(member), data)
    return str(patient.id)


class Consumer:
    def __init__(self, client: Any, member: Member) -> None:
        self.client, self.headers, self.cursor, self.seen = client, member.headers, None, []

    def poll(self) -> list[str]:
        params = {"types": "patient", **({"after": self.cursor} if self.cursor else {})}
        page = self.client.get("/api/v1/changes", params=params, headers=self.headers).json()
        self.cursor = page["next_cursor"]
        got = [i["resource_id"] for i in page["items"]]
        self.seen += got
        return got


def test_a_transaction_that_writes_first_but_commits_last_is_still_seen(postgresql_only, app, client, staff):
    """A writes, B commits, the consumer polls (its cursor passes B), then A commits: the consumer still sees A,
    once. It holds because A's seq is taken from the counter row inside A's commit, after B's: had A numbered
    its change when it wrote, it would sit behind the cursor, lost."""
    therapist = staff("therapist")
    consumer = Consumer(client, therapist)
    consumer.poll()
    factory = app.state.sessionmaker
    with factory() as a:
        a.begin()
        a_id = write_patient(a, therapist, "Early")  # A has written its row, but not committed
        with factory() as b, b.begin():
            b_id = write_patient(b, therapist, "Late")  # B writes after A ... and commits first
        assert consumer.poll() == [b_id]  # the consumer's cursor moves past B
        a.commit()  # A commits last: it takes its number now, after B's
    assert consumer.poll() == [a_id]
    assert consumer.poll() == []
    assert consumer.seen == [b_id, a_id]


def test_a_writer_holding_the_next_number_makes_later_committers_wait(postgresql_only, app, client, staff):
    """The other half of the argument: once A holds its number (the counter row's lock), B cannot take the next
    one until A commits, so B's higher number can never be visible while A's lower one is not."""
    therapist = staff("therapist")
    consumer = Consumer(client, therapist)
    consumer.poll()
    factory = app.state.sessionmaker
    b_result: dict[str, str] = {}

    def b_writes_and_commits() -> None:
        with factory() as b, b.begin():
            b_result["id"] = write_patient(b, therapist, "Second")

    with factory() as a:
        a.begin()
        a_id = write_patient(a, therapist, "First")
        a.flush()
        events.write_pending(a)  # what before_commit does first: A now holds the counter row, with its number
        b = threading.Thread(target=b_writes_and_commits)
        b.start()
        b.join(timeout=1.0)
        assert b.is_alive(), "B must queue on the counter row behind A"
        assert consumer.poll() == []  # neither is visible: A has not committed, B cannot commit yet
        a.commit()
    b.join(timeout=30)
    assert not b.is_alive()
    assert consumer.poll() == [a_id, b_result["id"]]
    assert consumer.poll() == []
