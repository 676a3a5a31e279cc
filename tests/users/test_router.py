"""Staff management by the admin: create, list, read and update accounts; field rules and concurrency."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from app.models import AuditEvent
from app.models.user import User
from tests.factories import PASSWORD

USERS = "/api/v1/users"
NEW_PASSWORD = "twelve chars"  # exactly the minimum
OUTPUT_FIELDS = {"id", "email", "full_name", "role", "registration_number", "authorized_to_needle", "active",
                 "version", "created_at", "updated_at", "deactivated_at", "roster_expires_on"}


def new_user(**overrides):
    body = {"email": "Dr.Kim@Clinic.example", "full_name": "Dr Kim", "role": "therapist",
            "password": NEW_PASSWORD, "registration_number": "12345", "authorized_to_needle": True}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def create(client, admin, **overrides):
    response = client.post(USERS, json=new_user(**overrides), headers=admin.headers)
    assert response.status_code == 201, response.text
    return response.json()


def if_match(member, version):
    return {**member.headers, "If-Match": f'W/"{version}"'}


def assert_no_secret(response):
    assert "password" not in response.text and NEW_PASSWORD not in response.text
    assert "$argon2" not in response.text


def user_count(db):
    return db.scalar(select(func.count()).select_from(User))


def field_names(response):
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [e["field"] for e in response.json()["errors"]]


# --- create and read ---------------------------------------------------------------------------------------


def test_admin_creates_a_staff_account(client, staff, db):
    admin = staff("admin")
    response = client.post(USERS, json=new_user(), headers=admin.headers)
    assert response.status_code == 201, response.text
    user = response.json()
    assert set(user) == OUTPUT_FIELDS
    assert user["email"] == "dr.kim@clinic.example"  # stored lower-cased
    assert (user["full_name"], user["role"], user["registration_number"]) == ("Dr Kim", "therapist", "12345")
    assert user["authorized_to_needle"] is True and user["active"] is True and user["deactivated_at"] is None
    assert user["version"] == 1 and response.headers["etag"] == 'W/"1"'
    assert response.headers["location"] == f"{USERS}/{user['id']}"
    assert_no_secret(response)
    stored = db.get(User, uuid.UUID(user["id"]))
    assert stored.password_hash.startswith("$argon2") and NEW_PASSWORD not in stored.password_hash
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "create",
                                                  AuditEvent.resource_id == user["id"])).all()
    assert event.actor_id == admin.id and event.actor_role == "admin" and event.resource_type == "User"
    assert NEW_PASSWORD not in str(event.detail)
    login = client.post("/api/v1/auth/token", data={"username": "DR.KIM@clinic.example", "password": NEW_PASSWORD})
    assert login.status_code == 200


def test_optional_fields_have_defaults(client, staff):
    admin = staff("admin")
    user = create(client, admin, registration_number=..., authorized_to_needle=..., role="reception")
    assert user["registration_number"] is None and user["authorized_to_needle"] is False


def test_a_password_is_used_exactly_as_typed(client, staff):
    """Spaces are part of a passphrase: what the admin set is what the user signs in with."""
    admin = staff("admin")
    typed = "  spaced passphrase  "
    user = create(client, admin, password=typed)
    token = "/api/v1/auth/token"
    assert client.post(token, data={"username": user["email"], "password": typed}).status_code == 200
    assert client.post(token, data={"username": user["email"], "password": typed.strip()}).status_code == 401


def test_admin_reads_an_account_with_its_etag(client, staff):
    admin = staff("admin")
    user = create(client, admin)
    got = client.get(f"{USERS}/{user['id']}", headers=admin.headers)
    assert got.status_code == 200 and got.json() == user
    assert got.headers["etag"] == 'W/"1"'
    assert_no_secret(got)


@pytest.mark.parametrize("role", ["admin", "therapist", "reception", "auditor"])
def test_everyone_reads_their_own_account(client, staff, role):
    member = staff(role)
    me = client.get(f"{USERS}/me", headers=member.headers)
    assert me.status_code == 200, me.text
    body = me.json()
    assert set(body) == OUTPUT_FIELDS
    assert (body["id"], body["email"], body["role"], body["active"]) == (str(member.id), member.email, role, True)
    assert me.headers["etag"] == 'W/"1"'
    assert PASSWORD not in me.text and "password" not in me.text


def test_unknown_and_malformed_ids(client, staff):
    admin = staff("admin")
    missing = "00000000-0000-0000-0000-00000000abcd"
    for response in (client.get(f"{USERS}/{missing}", headers=admin.headers),
                     client.patch(f"{USERS}/{missing}", json={"full_name": "X"}, headers=if_match(admin, 1)),
                     client.post(f"{USERS}/{missing}/deactivate", headers=admin.headers)):
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404
    for response in (client.get(f"{USERS}/not-a-uuid", headers=admin.headers),
                     client.patch(f"{USERS}/12345", json={"full_name": "X"}, headers=if_match(admin, 1)),
                     client.post(f"{USERS}/not-a-uuid/deactivate", headers=admin.headers)):
        assert field_names(response) == ["user_id"]


# --- list ------------------------------------------------------------------------------------------------------


def walk(client, member, **params):
    seen, cursor, pages = [], None, 0
    while True:
        page = client.get(USERS, params={"limit": 2, **params, **({"cursor": cursor} if cursor else {})},
                          headers=member.headers)
        assert page.status_code == 200, page.text
        assert_no_secret(page)
        body = page.json()
        assert set(body) == {"items", "next_cursor"} and len(body["items"]) <= 2
        seen += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


def test_listing_walks_every_account_exactly_once(client, staff):
    admin = staff("admin")
    made = [create(client, admin, email=f"u{i}@clinic.example", role=("therapist", "reception")[i % 2])
            for i in range(5)]
    seen, pages = walk(client, admin)
    ids = [u["id"] for u in seen]
    assert len(ids) == len(set(ids)) == 6 and pages == 3
    assert set(ids) == {str(admin.id), *(u["id"] for u in made)}
    assert all(set(u) == OUTPUT_FIELDS for u in seen)


def test_listing_filters_by_role_and_active(client, staff):
    admin = staff("admin")
    for i in range(3):
        create(client, admin, email=f"t{i}@clinic.example")
    gone = create(client, admin, email="gone@clinic.example", role="reception")
    client.post(f"{USERS}/{gone['id']}/deactivate", headers=admin.headers)
    therapists, _ = walk(client, admin, role="therapist")
    assert len(therapists) == 3 and {u["role"] for u in therapists} == {"therapist"}
    inactive, _ = walk(client, admin, active="false")
    assert [u["id"] for u in inactive] == [gone["id"]]
    active, _ = walk(client, admin, active="true")
    assert len(active) == 4 and gone["id"] not in {u["id"] for u in active}


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 0}, "limit"), ({"limit": 201}, "limit"), ({"cursor": "not-a-cursor"}, "cursor"),
    ({"role": "surgeon"}, "role"), ({"active": "maybe"}, "active"),
])
def test_bad_list_parameters_are_422(client, staff, params, field):
    assert field_names(client.get(USERS, params=params, headers=staff("admin").headers)) == [field]


# --- field rules on create -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "field"), [
    ({"password": "elevenchars"}, "password"),           # 11 characters: one short
    ({"password": " " * 12}, "password"),
    ({"password": "x" * 257}, "password"),
    ({"password": None}, "password"),
    ({"role": "surgeon"}, "role"),
    ({"role": "Admin"}, "role"),
    ({"email": "not-an-email"}, "email"),
    ({"full_name": ""}, "full_name"),
    ({"full_name": "   "}, "full_name"),
    ({"authorized_to_needle": "sometimes"}, "authorized_to_needle"),
    ({"registration_number": "R" * 41}, "registration_number"),
    ({"id": "00000000-0000-0000-0000-000000000001"}, "id"),
    ({"version": 3}, "version"),
    ({"active": False}, "active"),
    ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
    ({"updated_at": "2020-01-01T00:00:00Z"}, "updated_at"),
    ({"deactivated_at": None}, "deactivated_at"),
    ({"password_hash": "$argon2id$forged"}, "password_hash"),
    ({"email": ...}, "email"),
    ({"full_name": ...}, "full_name"),
    ({"role": ...}, "role"),
    ({"password": ...}, "password"),
])
def test_bad_input_on_create_is_422_naming_the_field(client, staff, db, change, field):
    admin = staff("admin")
    before = user_count(db)
    response = client.post(USERS, json=new_user(**change), headers=admin.headers)
    assert field in field_names(response)
    assert user_count(db) == before  # nothing written


def test_a_short_password_message_names_the_minimum(client, staff):
    response = client.post(USERS, json=new_user(password="short"), headers=staff("admin").headers)
    [error] = response.json()["errors"]
    assert error["field"] == "password" and "12" in error["message"]


def test_duplicate_email_in_any_case_is_409(client, staff, db):
    admin = staff("admin")
    create(client, admin)
    for email in ("dr.kim@clinic.example", "DR.KIM@CLINIC.EXAMPLE", "Dr.Kim@Clinic.example"):
        response = client.post(USERS, json=new_user(email=email), headers=admin.headers)
        assert response.status_code == 409, email
        assert response.headers["content-type"] == "application/problem+json"
    assert db.scalar(select(func.count()).select_from(User).where(User.email == "dr.kim@clinic.example")) == 1
    taken = client.post(USERS, json=new_user(email=admin.email.upper()), headers=admin.headers)
    assert taken.status_code == 409


# --- update ------------------------------------------------------------------------------------------------------


def test_update_needs_the_current_etag(client, staff):
    admin = staff("admin")
    user = create(client, admin)
    url = f"{USERS}/{user['id']}"
    missing = client.patch(url, json={"full_name": "Dr J Kim"}, headers=admin.headers)
    assert missing.status_code == 428 and missing.headers["content-type"] == "application/problem+json"
    star = client.patch(url, json={"full_name": "Dr J Kim"}, headers={**admin.headers, "If-Match": "*"})
    assert star.status_code == 428
    stale = client.patch(url, json={"full_name": "Dr J Kim"}, headers=if_match(admin, 5))
    assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
    assert client.get(url, headers=admin.headers).json()["full_name"] == "Dr Kim"  # untouched

    ok = client.patch(url, json={"full_name": "Dr J Kim", "authorized_to_needle": False,
                                 "registration_number": "R-99"}, headers=if_match(admin, 1))
    assert ok.status_code == 200, ok.text
    assert ok.headers["etag"] == 'W/"2"' and ok.json()["version"] == 2
    body = ok.json()
    assert (body["full_name"], body["authorized_to_needle"], body["registration_number"]) == ("Dr J Kim", False, "R-99")
    assert body["email"] == user["email"] and body["role"] == "therapist"  # untouched fields stay
    assert_no_secret(ok)
    again = client.patch(url, json={"full_name": "Lost update"}, headers=if_match(admin, 1))
    assert again.status_code == 412
    assert client.get(url, headers=admin.headers).headers["etag"] == 'W/"2"'


def test_update_changes_email_and_clears_registration(client, staff, db):
    admin = staff("admin")
    user = create(client, admin)
    response = client.patch(f"{USERS}/{user['id']}", json={"email": "New.Address@Clinic.example",
                                                            "registration_number": None},
                            headers=if_match(admin, 1))
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "new.address@clinic.example"
    assert response.json()["registration_number"] is None
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "update", AuditEvent.resource_id == user["id"]))
    assert event.detail["fields"] == ["email", "registration_number"] and event.actor_id == admin.id


def test_update_to_a_taken_email_is_409_but_own_email_in_another_case_is_fine(client, staff):
    admin = staff("admin")
    kim = create(client, admin)
    lee = create(client, admin, email="lee@clinic.example")
    clash = client.patch(f"{USERS}/{lee['id']}", json={"email": "DR.KIM@clinic.example"}, headers=if_match(admin, 1))
    assert clash.status_code == 409
    own = client.patch(f"{USERS}/{kim['id']}", json={"email": "DR.KIM@clinic.example"}, headers=if_match(admin, 1))
    assert own.status_code == 200 and own.json()["email"] == "dr.kim@clinic.example"


@pytest.mark.parametrize(("change", "field"), [
    ({"password": "elevenchars"}, "password"),
    ({"role": "surgeon"}, "role"),
    ({"email": "nope"}, "email"),
    ({"email": None}, "email"),
    ({"full_name": None}, "full_name"),
    ({"full_name": " "}, "full_name"),
    ({"role": None}, "role"),
    ({"authorized_to_needle": None}, "authorized_to_needle"),
    ({"id": "00000000-0000-0000-0000-000000000001"}, "id"),
    ({"version": 2}, "version"),
    ({"active": True}, "active"),
    ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
    ({"deactivated_at": None}, "deactivated_at"),
])
def test_bad_input_on_update_is_422_naming_the_field(client, staff, change, field):
    admin = staff("admin")
    user = create(client, admin)
    url = f"{USERS}/{user['id']}"
    response = client.patch(url, json=change, headers=if_match(admin, 1))
    assert field in field_names(response)
    after = client.get(url, headers=admin.headers)
    assert after.headers["etag"] == 'W/"1"' and after.json() == user  # nothing written


def test_malformed_json_is_a_4xx_problem(client, staff):
    admin = staff("admin")
    response = client.post(USERS, content=b'{"email": ', headers={**admin.headers, "Content-Type": "application/json"})
    assert response.status_code in (400, 422)
    assert response.headers["content-type"] == "application/problem+json"


def test_the_api_docs_show_the_password_as_write_only(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["UserCreate"]["properties"]["password"]["writeOnly"] is True
    assert "password" in schemas["UserCreate"]["required"]
    assert not any("password" in name for name in schemas["UserOut"]["properties"])
