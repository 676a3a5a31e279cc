"""Input that used to reach the database badly: forged cursors, NUL characters, racing chart numbers."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from app.models import Patient
from tests.factories import make_patient, patient_body

PATIENTS = "/api/v1/patients"


def cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(("path", "values"), [
    (PATIENTS, [{"a": 1}, "x", str(uuid.uuid4())]),     # a dict where a name belongs
    (PATIENTS, [1, 2, 3]),                              # numbers for text and a UUID
    (PATIENTS, ["a", "b", "not-a-uuid"]),
    (PATIENTS, ["a\u0000", "b", str(uuid.uuid4())]),
    ("/api/v1/users", [5]),                             # wrong length
    ("/api/v1/audit-events", ["0001-01-01T00:00:00+14:00", str(uuid.uuid4())]),  # out of range in UTC
    ("/api/v1/audit-events", ["2026-01-01T00:00:00", str(uuid.uuid4())]),        # no offset
    ("/api/v1/audit-events", [True, str(uuid.uuid4())]),
])
def test_forged_cursors_are_a_422_naming_the_cursor(client, staff, path, values):
    admin = staff("admin")
    response = client.get(path, params={"cursor": cursor(values)}, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize("params", [{"since": "0001-01-01T00:00:00+14:00"}, {"until": "9999-12-31T23:59:59-14:00"}])
def test_audit_search_dates_outside_the_calendar_are_a_422(client, staff, params):
    response = client.get("/api/v1/audit-events", params=params, headers=staff("auditor").headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == next(iter(params))


def test_nul_characters_are_refused_before_they_reach_the_database(client, staff, db):
    member = staff("reception")
    body = json.dumps(patient_body(notes="call before\u0000noon"))
    assert "\\u0000" in body
    response = client.post(PATIENTS, content=body, headers={**member.headers, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [{"field": "body", "message": response.json()["errors"][0]["message"]}]
    search = client.get(PATIENTS, params={"q": "ann\u0000"}, headers=member.headers)
    assert search.status_code == 422 and search.json()["errors"][0]["field"] == "url"
    assert db.scalar(select(func.count()).select_from(Patient)) == 0


def test_a_chart_number_may_change_case_but_not_take_another_patients(client, staff):
    member = staff("reception")
    patient = make_patient(client, member, chart_number="a-100")
    make_patient(client, member, chart_number="B-200")
    fixed = client.patch(f"{PATIENTS}/{patient['id']}", json={"chart_number": "A-100"},
                         headers={**member.headers, "If-Match": 'W/"1"'})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["chart_number"] == "A-100"
    taken = client.patch(f"{PATIENTS}/{patient['id']}", json={"chart_number": "b-200"},
                         headers={**member.headers, "If-Match": 'W/"2"'})
    assert taken.status_code == 409


def test_racing_registrations_of_one_chart_number_give_one_patient_and_409s(client, staff, db):
    member = staff("reception")
    barrier = threading.Barrier(6)

    def register(i: int) -> int:
        barrier.wait()
        body = patient_body(chart_number="RACE-1", given_name=f"Racer{i}")
        return client.post(PATIENTS, json=body, headers=member.headers).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = sorted(pool.map(register, range(6)))
    assert codes == [201, 409, 409, 409, 409, 409]
    assert db.scalar(select(func.count()).select_from(Patient)) == 1


@pytest.mark.parametrize("province", ["ZZ", "NY"])
def test_a_health_card_is_issued_by_a_canadian_province_or_territory(client, staff, province):
    response = client.post(PATIENTS, json=patient_body(health_card_number="98765432", health_card_province=province),
                           headers=staff("reception").headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "health_card_province"


def test_province_codes_are_accepted_in_lower_case(client, staff):
    patient = make_patient(client, staff("reception"), health_card_number="9876 543 210", health_card_province="bc",
                           address={"lines": ["1 Main St"], "city": "Victoria", "province": "bc", "country": "ca"})
    assert (patient["health_card_province"], patient["address"]["province"], patient["address"]["country"]) == (
        "BC", "BC", "CA")


def test_nul_and_oversized_bodies_are_4xx_with_an_idempotency_key_too(client, staff, settings):
    member = staff("reception")
    headers = {**member.headers, "Content-Type": "application/json", "Idempotency-Key": "k-1"}
    nul = client.post(PATIENTS, content=json.dumps(patient_body(notes="a\u0000b")), headers=headers)
    assert nul.status_code == 422 and nul.json()["errors"][0]["field"] == "body"

    def chunks():  # no Content-Length: only the streamed size tells
        for _ in range(settings.max_body_bytes // 1024 + 2):
            yield b" " * 1024

    big = client.post(PATIENTS, content=chunks(), headers={**headers, "Idempotency-Key": "k-2"})
    assert big.status_code == 413 and big.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("after", ["\u00b2", "99999999999999999999", "-1", "1.5"])
def test_a_changes_cursor_that_is_not_a_sequence_number_is_a_422(client, staff, after):
    response = client.get("/api/v1/changes", params={"after": after}, headers=staff("admin").headers)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "after"
