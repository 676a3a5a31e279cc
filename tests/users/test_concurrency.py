"""Staff changes racing each other: the rules hold when two admins act at the same moment."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from app.models.user import User

USERS = "/api/v1/users"


def at_once(calls):
    """Run the calls in parallel threads, released together; their responses, in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def active_admins(db):
    return db.scalar(select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True)))


def test_two_admins_deactivating_each_other_leave_one_admin(client, staff, db):
    a, b = staff("admin"), staff("admin")
    responses = at_once([
        lambda: client.post(f"{USERS}/{b.id}/deactivate", headers=a.headers),
        lambda: client.post(f"{USERS}/{a.id}/deactivate", headers=b.headers),
    ])
    statuses = sorted(r.status_code for r in responses)
    assert statuses[0] == 200 and statuses[1] in (401, 409), statuses  # the loser was removed, or is the last
    assert active_admins(db) == 1


def test_two_admins_demoting_each_other_leave_one_admin(client, staff, db):
    a, b = staff("admin"), staff("admin")
    headers = {"If-Match": 'W/"1"'}
    responses = at_once([
        lambda: client.patch(f"{USERS}/{b.id}", json={"role": "therapist"}, headers={**a.headers, **headers}),
        lambda: client.patch(f"{USERS}/{a.id}", json={"role": "therapist"}, headers={**b.headers, **headers}),
    ])
    assert sorted(r.status_code for r in responses) in ([200, 403], [200, 409])
    assert active_admins(db) == 1


def test_concurrent_creates_with_one_email_make_one_account(client, staff, db):
    admin = staff("admin")
    body = {"email": "race@clinic.example", "full_name": "Race", "role": "reception",
            "password": "a long enough password"}
    responses = at_once([lambda: client.post(USERS, json=body, headers=admin.headers) for _ in range(4)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409], [r.text for r in responses]
    assert all(r.headers["content-type"] == "application/problem+json" for r in responses if r.status_code == 409)
    assert db.scalar(select(func.count()).select_from(User).where(User.email == "race@clinic.example")) == 1


def test_concurrent_renames_to_one_email_leave_it_with_one_account(client, staff, db):
    admin = staff("admin")
    people = [staff("therapist") for _ in range(3)]
    responses = at_once([
        lambda m=m: client.patch(f"{USERS}/{m.id}", json={"email": "taken@clinic.example"},
                                 headers={**admin.headers, "If-Match": 'W/"1"'})
        for m in people
    ])
    assert sorted(r.status_code for r in responses) == [200, 409, 409], [r.text for r in responses]
    assert db.scalar(select(func.count()).select_from(User).where(User.email == "taken@clinic.example")) == 1
