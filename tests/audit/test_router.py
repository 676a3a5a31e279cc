"""Reading the audit trail: who saw or changed which patient's record, and when."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.models import AuditEvent
from tests.factories import make_patient

EVENTS = "/api/v1/audit-events"


def walk(client, headers, **params) -> list[dict]:
    """Every page of a query, following next_cursor."""
    items, cursor = [], None
    for _ in range(200):
        page = client.get(EVENTS, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("paging never ended")


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("auditor", 200), ("therapist", 403),
                                              ("reception", 403)])
def test_only_admin_and_auditor_read_the_trail(client, staff, role, status):
    response = client.get(EVENTS, headers=staff(role).headers)
    assert response.status_code == status
    if status == 403:
        assert response.headers["content-type"] == "application/problem+json"
        assert "items" not in response.json()


def test_no_token_no_trail(client):
    response = client.get(EVENTS)
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")


def test_filters_by_patient_actor_and_action_newest_first(client, staff):
    first, second, auditor = staff("therapist"), staff("therapist"), staff("auditor")
    mine = make_patient(client, first)
    other = make_patient(client, second, family_name="Other")
    client.get(f"/api/v1/patients/{mine['id']}", headers=second.headers)
    client.get(f"/api/v1/patients/{other['id']}", headers=first.headers)

    response = client.get(EVENTS, params={"patient_id": mine["id"]}, headers=auditor.headers)
    assert response.status_code == 200
    items = response.json()["items"]
    # (registering a patient also puts the registering therapist on its care team: audited as care_start)
    assert [(e["action"], e["actor_id"]) for e in items] == [("read", str(second.id)), ("care_start", str(first.id)),
                                                             ("create", str(first.id))]
    assert {e["patient_id"] for e in items} == {mine["id"]}
    assert set(items[0]) >= {"occurred_at", "actor_id", "actor_type", "actor_role", "action", "resource_type",
                             "resource_id", "patient_id", "request_id", "client_ip", "user_agent", "outcome"}

    by_first = client.get(EVENTS, params={"actor_id": str(first.id)}, headers=auditor.headers).json()["items"]
    assert [(e["action"], e["patient_id"]) for e in by_first] == [("read", other["id"]), ("care_start", mine["id"]),
                                                                  ("create", mine["id"])]

    reads = client.get(EVENTS, params={"action": "read"}, headers=auditor.headers).json()["items"]
    assert {(e["actor_id"], e["patient_id"]) for e in reads} == {(str(second.id), mine["id"]),
                                                                 (str(first.id), other["id"])}
    combined = client.get(EVENTS, params={"actor_id": str(first.id), "action": "read", "patient_id": mine["id"]},
                          headers=auditor.headers)
    assert combined.json()["items"] == []


def test_the_whole_trail_is_newest_first(client, staff):
    therapist, admin = staff("therapist"), staff("admin")
    patient = make_patient(client, therapist)
    for _ in range(3):
        client.get(f"/api/v1/patients/{patient['id']}", headers=therapist.headers)
    items = client.get(EVENTS, headers=admin.headers).json()["items"]
    keys = [(datetime.fromisoformat(e["occurred_at"]), e["id"]) for e in items]
    assert len(keys) >= 6 and keys == sorted(keys, reverse=True)


def test_since_is_inclusive_until_exclusive_and_offsets_are_honoured(client, staff, db):
    therapist, admin = staff("therapist"), staff("admin")
    patient = make_patient(client, therapist)
    client.get(f"/api/v1/patients/{patient['id']}", headers=therapist.headers)
    created, read = db.scalars(select(AuditEvent).where(AuditEvent.patient_id == uuid.UUID(patient["id"]),
                                                        AuditEvent.resource_type == "Patient")
                               .order_by(AuditEvent.occurred_at)).all()
    assert read.occurred_at > created.occurred_at

    def actions(**params) -> list[str]:
        response = client.get(EVENTS, params={"patient_id": patient["id"], **params}, headers=admin.headers)
        assert response.status_code == 200, response.text
        # (our own searches filtered by this patient are on the trail too; they are not what we look for)
        return [e["action"] for e in response.json()["items"] if e["resource_type"] == "Patient"]

    assert actions(since=read.occurred_at.isoformat()) == ["read"]
    assert actions(until=read.occurred_at.isoformat()) == ["create"]
    assert actions(since=created.occurred_at.isoformat(), until=read.occurred_at.isoformat()) == ["create"]
    toronto = read.occurred_at.astimezone(timezone(timedelta(hours=-5)))  # same instant, another offset
    assert actions(since=toronto.isoformat()) == ["read"]
    assert actions(since=(read.occurred_at + timedelta(minutes=1)).isoformat()) == []
    assert actions(since=read.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")) == ["read"]


@pytest.mark.parametrize("name", ["since", "until"])
def test_a_time_without_offset_is_refused(client, staff, name):
    response = client.get(EVENTS, params={name: "2026-01-01T00:00:00"}, headers=staff("auditor").headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [name]


def test_paging_walks_every_event_exactly_once(client, staff, db):
    therapist, auditor = staff("therapist"), staff("auditor")
    patient = make_patient(client, therapist)
    for _ in range(6):
        client.get(f"/api/v1/patients/{patient['id']}", headers=therapist.headers)
    existing = set(map(str, db.scalars(select(AuditEvent.id)).all()))
    # Each page request is itself audited, so the trail grows while it is walked: new rows are newer than
    # the first page and must not show up later in the walk.
    seen = [e["id"] for e in walk(client, auditor.headers, limit=3)]
    assert len(seen) == len(set(seen)) and set(seen) == existing
    filtered = [e["id"] for e in walk(client, auditor.headers, limit=2, patient_id=patient["id"])]
    assert len(filtered) == len(set(filtered)) == 8  # create, care_start (the registering therapist), 6 reads


def test_reading_the_trail_is_itself_audited(client, staff, db):
    auditor = staff("auditor")
    response = client.get(EVENTS, params={"action": "login"}, headers={**auditor.headers, "X-Request-ID": "who-looked"})
    assert response.status_code == 200
    row = db.scalars(select(AuditEvent).where(AuditEvent.request_id == "who-looked")).one()
    assert (row.action, row.resource_type, row.actor_id, row.outcome) == ("search", "AuditEvent", auditor.id,
                                                                           "success")
    assert row.detail["action"] == "login"
