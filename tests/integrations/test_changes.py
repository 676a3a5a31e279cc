"""The changes feed: every change once, in commit order, even while others write."""

from __future__ import annotations

import threading

from tests.assessments.helpers import chart_visit
from tests.factories import make_patient
from tests.integrations.helpers import api_client, bearer


def feed(client, headers, after=None, **params):
    query = {**params, **({"after": after} if after is not None else {})}
    response = client.get("/api/v1/changes", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_creates_updates_signs_and_amends_in_order(client, staff):
    therapist = staff("therapist")
    patient, _, assessment = chart_visit(client, therapist)
    client.patch(f"/api/v1/patients/{patient['id']}", json={"phone": "416 555 0101"},
                 headers={**therapist.headers, "If-Match": 'W/"1"'})
    client.post(f"/api/v1/assessments/{assessment['id']}/sign", headers=therapist.headers)
    client.post(f"/api/v1/assessments/{assessment['id']}/amendments", headers=therapist.headers,
                json={"reason": "typo", "changes": {"plan": "weekly x4"}})
    client.post(f"/api/v1/patients/{patient['id']}/deactivate", headers=therapist.headers)
    again = client.post(f"/api/v1/patients/{patient['id']}/deactivate", headers=therapist.headers)
    assert again.status_code == 200 and again.json()["active"] is False  # a repeat: no second change
    page = feed(client, therapist.headers)
    got = [(i["resource_type"], i["change"], i["version"]) for i in page["items"]]
    assert got == [("patient", "created", 1), ("episode", "created", 1), ("assessment", "created", 1),
                   ("patient", "updated", 2), ("assessment", "signed", 2), ("assessment", "amended", 3),
                   ("patient", "deactivated", 3)]
    assert page["items"][0]["resource_id"] == patient["id"]
    again = feed(client, therapist.headers, after=page["next_cursor"])
    assert again["items"] == [] and again["next_cursor"] == page["next_cursor"]
    only = feed(client, therapist.headers, types="assessment")
    assert {i["resource_type"] for i in only["items"]} == {"assessment"}
    assert client.get("/api/v1/changes", params={"after": "abc"}, headers=therapist.headers).status_code == 422
    assert client.get("/api/v1/changes", params={"types": "gossip"}, headers=therapist.headers).status_code == 422


def test_discarded_drafts_appear_as_deleted(client, staff):
    therapist = staff("therapist")
    _, _, assessment = chart_visit(client, therapist)
    client.delete(f"/api/v1/assessments/{assessment['id']}", headers=therapist.headers)
    items = feed(client, therapist.headers, types="assessment")["items"]
    assert [i["change"] for i in items] == ["created", "deleted"]


def test_a_patients_read_key_sees_no_clinical_changes(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    chart_visit(client, therapist)
    key = bearer(api_client(client, admin, ["patients:read"])["key"])
    assert {i["resource_type"] for i in feed(client, key)["items"]} == {"patient"}
    assert feed(client, key, types="assessment")["items"] == []


def test_a_clinical_read_key_follows_clinical_records_only(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    chart_visit(client, therapist)
    key = bearer(api_client(client, admin, ["clinical:read"])["key"])
    assert [i["resource_type"] for i in feed(client, key)["items"]] == ["episode", "assessment"]
    assert feed(client, key, types="patient")["items"] == []


def test_staff_changes_are_for_admins_and_the_clinic_profile_for_everyone(client, staff):
    admin = staff("admin")
    start = feed(client, admin.headers)["next_cursor"]
    user = client.post("/api/v1/users", json={"email": "temp@clinic.example", "full_name": "Temp Cover",
                                              "role": "therapist", "password": "a long passphrase here"},
                       headers=admin.headers).json()
    client.patch(f"/api/v1/users/{user['id']}", json={"full_name": "Temp Cover (locum)"},
                 headers={**admin.headers, "If-Match": 'W/"1"'})
    client.post(f"/api/v1/users/{user['id']}/deactivate", headers=admin.headers)
    client.post(f"/api/v1/users/{user['id']}/deactivate", headers=admin.headers)  # a repeat: no second change
    etag = client.get("/api/v1/clinic", headers=admin.headers).headers["etag"]
    client.patch("/api/v1/clinic", json={"name": "Queen St IMS"}, headers={**admin.headers, "If-Match": etag})
    items = feed(client, admin.headers, after=start)["items"]
    assert [(i["resource_type"], i["resource_id"], i["change"], i["version"]) for i in items] == [
        ("user", user["id"], "created", 1), ("user", user["id"], "updated", 2),
        ("user", user["id"], "deactivated", 3), ("clinic", "1", "updated", 2)]
    everything = bearer(api_client(client, admin, ["patients:read", "patients:write", "clinical:read",
                                                    "clinical:write", "export", "webhooks"])["key"])
    assert [i["resource_type"] for i in feed(client, everything, after=start)["items"]] == ["clinic"]
    assert feed(client, everything, types="user")["items"] == []


def test_a_consumer_polling_during_concurrent_writes_sees_every_change_once(client, staff):
    therapist = staff("therapist")
    # 400 writes from 8 threads keep commits landing between the consumer's polls throughout (1,000 found nothing
    # more, at 2.5 times the cost); tests/integrations/test_changes_commit_order.py forces the out-of-order commit.
    writers, per_writer = 8, 50
    done = threading.Event()
    seen: list[str] = []

    def write(n: int) -> None:
        for i in range(per_writer):
            make_patient(client, therapist, family_name=f"W{n}x{i}")

    def consume() -> None:
        cursor = None
        while True:
            finished = done.is_set()
            page = feed(client, therapist.headers, after=cursor, limit=50)
            seen.extend(i["resource_id"] for i in page["items"])
            cursor = page["next_cursor"]
            if finished and not page["items"]:
                return

    consumer = threading.Thread(target=consume)
    consumer.start()
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    consumer.join(timeout=60)
    assert len(seen) == writers * per_writer
    assert len(set(seen)) == len(seen), "a change was delivered twice"


def test_a_list_of_types_pages_like_the_whole_feed_filtered(client, staff):
    """Several types at once (one index walk per type, merged on seq): the same items, in the same order, with the
    same cursors as the whole feed filtered, page by page."""
    therapist = staff("therapist")
    for _ in range(2):
        chart_visit(client, therapist)
    whole = feed(client, therapist.headers, limit=1000)["items"]
    wanted = {"patient", "assessment"}
    expected = [i for i in whole if i["resource_type"] in wanted]
    assert len(expected) >= 4 and len(expected) < len(whole)
    got, after = [], None
    while True:
        page = feed(client, therapist.headers, after=after, types="assessment,patient", limit=3)
        if not page["items"]:
            assert page["next_cursor"] == (after or "0")
            break
        got += page["items"]
        after = page["next_cursor"]
    assert got == expected
