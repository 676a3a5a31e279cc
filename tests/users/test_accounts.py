"""An account's life: deactivation ends every session, password and role changes take effect at once,
and the clinic never loses its last admin."""

from __future__ import annotations

from sqlalchemy import select

from app.models import AuditEvent, AuthToken
from tests.factories import PASSWORD

USERS = "/api/v1/users"
TOKEN = "/api/v1/auth/token"
ME = f"{USERS}/me"


def if_match(member, version):
    return {**member.headers, "If-Match": f'W/"{version}"'}


def login(client, email, password=PASSWORD):
    return client.post(TOKEN, data={"username": email, "password": password})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def live_tokens(db, member):
    db.expire_all()
    return db.scalars(select(AuthToken).where(AuthToken.user_id == member.id, AuthToken.revoked_at.is_(None))).all()


# --- deactivation ----------------------------------------------------------------------------------------------


def test_deactivation_ends_every_session_and_sign_in(client, staff, db):
    admin, therapist = staff("admin"), staff("therapist")
    second = login(client, therapist.email).json()["access_token"]
    response = client.post(f"{USERS}/{therapist.id}/deactivate", headers=admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["active"] is False and body["deactivated_at"] is not None
    assert body["version"] == 2 and response.headers["etag"] == 'W/"2"'
    assert "password" not in response.text
    for headers in (therapist.headers, bearer(second)):
        refused = client.get(ME, headers=headers)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert live_tokens(db, therapist) == []
    assert login(client, therapist.email).status_code == 401
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "deactivate")).all()
    assert event.resource_id == str(therapist.id) and event.actor_id == admin.id
    assert client.get(f"{USERS}/{therapist.id}", headers=admin.headers).json()["active"] is False


def test_deactivation_leaves_other_accounts_signed_in(client, staff):
    admin, leaving, staying = staff("admin"), staff("reception"), staff("reception")
    assert client.post(f"{USERS}/{leaving.id}/deactivate", headers=admin.headers).status_code == 200
    assert client.get(ME, headers=staying.headers).status_code == 200
    assert client.get(ME, headers=admin.headers).status_code == 200


def test_deactivating_twice_changes_nothing_more(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    first = client.post(f"{USERS}/{therapist.id}/deactivate", headers=admin.headers).json()
    again = client.post(f"{USERS}/{therapist.id}/deactivate", headers=admin.headers)
    assert again.status_code == 200
    assert again.json()["deactivated_at"] == first["deactivated_at"] and again.json()["version"] == first["version"]


def test_active_cannot_be_set_through_an_update(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    client.post(f"{USERS}/{therapist.id}/deactivate", headers=admin.headers)
    response = client.patch(f"{USERS}/{therapist.id}", json={"active": True}, headers=if_match(admin, 2))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "active"
    assert login(client, therapist.email).status_code == 401


# --- the last admin --------------------------------------------------------------------------------------------


def test_the_last_active_admin_cannot_be_deactivated_or_demoted(client, staff):
    admin = staff("admin")
    staff("admin", active=False)  # an inactive admin does not count
    deactivate = client.post(f"{USERS}/{admin.id}/deactivate", headers=admin.headers)
    assert deactivate.status_code == 409
    assert deactivate.headers["content-type"] == "application/problem+json"
    for role in ("therapist", "reception", "auditor"):
        demote = client.patch(f"{USERS}/{admin.id}", json={"role": role}, headers=if_match(admin, 1))
        assert demote.status_code == 409, role
    me = client.get(ME, headers=admin.headers)  # still signed in, still an active admin
    assert me.status_code == 200 and me.json()["role"] == "admin" and me.json()["active"] is True
    assert me.headers["etag"] == 'W/"1"'
    keep = client.patch(f"{USERS}/{admin.id}", json={"role": "admin", "full_name": "Still Admin"},
                        headers=if_match(admin, 1))
    assert keep.status_code == 200


def test_with_a_second_admin_one_may_go(client, staff):
    first, second = staff("admin"), staff("admin")
    demote = client.patch(f"{USERS}/{first.id}", json={"role": "therapist"}, headers=if_match(second, 1))
    assert demote.status_code == 200 and demote.json()["role"] == "therapist"
    # Now `second` is the last admin.
    assert client.post(f"{USERS}/{second.id}/deactivate", headers=second.headers).status_code == 409
    third = staff("admin")
    assert client.post(f"{USERS}/{second.id}/deactivate", headers=third.headers).status_code == 200


def test_an_admin_may_deactivate_themselves_when_another_admin_remains(client, staff):
    admin = staff("admin")
    staff("admin")
    response = client.post(f"{USERS}/{admin.id}/deactivate", headers=admin.headers)
    assert response.status_code == 200 and response.json()["active"] is False
    assert client.get(ME, headers=admin.headers).status_code == 401


def test_non_admin_accounts_are_never_protected_as_last_admin(client, staff):
    admin, only_auditor = staff("admin"), staff("auditor")
    assert client.post(f"{USERS}/{only_auditor.id}/deactivate", headers=admin.headers).status_code == 200


# --- password and role changes -------------------------------------------------------------------------------


def test_changing_a_password_revokes_existing_tokens(client, staff, db):
    admin, therapist = staff("admin"), staff("therapist")
    other_session = login(client, therapist.email).json()["access_token"]
    response = client.patch(f"{USERS}/{therapist.id}", json={"password": "a brand new passphrase"},
                            headers=if_match(admin, 1))
    assert response.status_code == 200 and response.headers["etag"] == 'W/"2"'
    assert "password" not in response.text and "brand new" not in response.text
    for headers in (therapist.headers, bearer(other_session)):
        assert client.get(ME, headers=headers).status_code == 401
    assert live_tokens(db, therapist) == []
    assert client.get(ME, headers=admin.headers).status_code == 200  # the admin's own session is untouched
    assert login(client, therapist.email).status_code == 401  # the old password is gone
    fresh = login(client, therapist.email, "a brand new passphrase")
    assert fresh.status_code == 200
    assert client.get(ME, headers=bearer(fresh.json()["access_token"])).status_code == 200
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "update",
                                               AuditEvent.resource_id == str(therapist.id)))
    assert event.detail == {"fields": ["password"]}


def test_other_changes_keep_sessions_alive(client, staff, db):
    admin, therapist = staff("admin"), staff("therapist")
    response = client.patch(f"{USERS}/{therapist.id}", json={"full_name": "Renamed", "registration_number": "R1"},
                            headers=if_match(admin, 1))
    assert response.status_code == 200
    assert client.get(ME, headers=therapist.headers).json()["full_name"] == "Renamed"
    assert len(live_tokens(db, therapist)) == 1


def test_an_admin_changing_their_own_password_is_signed_out(client, staff):
    admin = staff("admin")
    response = client.patch(f"{USERS}/{admin.id}", json={"password": "my own new passphrase"},
                            headers=if_match(admin, 1))
    assert response.status_code == 200
    assert client.get(ME, headers=admin.headers).status_code == 401
    assert login(client, admin.email, "my own new passphrase").status_code == 200


def test_a_role_change_applies_to_existing_tokens_at_once(client, staff):
    admin, member = staff("admin"), staff("therapist")
    patient = client.post("/api/v1/patients", json={"given_name": "A", "family_name": "B",
                                                    "birth_date": "1970-01-01"}, headers=member.headers).json()
    episodes = f"/api/v1/patients/{patient['id']}/episodes"
    assert client.get(episodes, headers=member.headers).status_code == 200
    changed = client.patch(f"{USERS}/{member.id}", json={"role": "reception"}, headers=if_match(admin, 1))
    assert changed.status_code == 200 and changed.json()["role"] == "reception"
    assert client.get(episodes, headers=member.headers).status_code == 403  # no clinical content any more
    assert client.get(ME, headers=member.headers).json()["role"] == "reception"
    promoted = client.patch(f"{USERS}/{member.id}", json={"role": "admin"}, headers=if_match(admin, 2))
    assert promoted.status_code == 200
    assert client.get(USERS, headers=member.headers).status_code == 200


# --- only admins manage staff --------------------------------------------------------------------------------


def test_staff_cannot_manage_accounts_or_promote_themselves(client, staff, db):
    staff("admin")
    for role in ("therapist", "reception", "auditor"):
        member = staff(role)
        own = f"{USERS}/{member.id}"
        attempts = [
            client.get(USERS, headers=member.headers),
            client.get(own, headers=member.headers),
            client.post(USERS, json={"email": f"x-{role}@clinic.example", "full_name": "X", "role": "admin",
                                     "password": "a long enough password"}, headers=member.headers),
            client.patch(own, json={"role": "admin"}, headers=if_match(member, 1)),
            client.patch(own, json={"password": "my own new passphrase"}, headers=if_match(member, 1)),
            client.post(f"{own}/deactivate", headers=member.headers),
        ]
        for response in attempts:
            assert response.status_code == 403, f"{role}: {response.request.method} {response.request.url}"
            assert response.headers["content-type"] == "application/problem+json"
        me = client.get(ME, headers=member.headers).json()
        assert me["role"] == role and me["version"] == 1
        denied = db.scalars(select(AuditEvent).where(AuditEvent.actor_id == member.id,
                                                     AuditEvent.outcome == "denied")).all()
        assert len(denied) == len(attempts) and {e.action for e in denied} == {"access"}
