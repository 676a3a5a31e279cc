"""Signing in and out: the token endpoint, per-account throttling, logout, and what the audit trail keeps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from app.main import create_app
from app.models import AuditEvent, AuthToken
from app.models.base import utcnow
from app.models.user import LoginAttempt
from tests.factories import PASSWORD

TOKEN = "/api/v1/auth/token"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"
WRONG = "not the password at all"
SAME_MESSAGE = "Incorrect email or password"


def login(client, email, password=PASSWORD):
    return client.post(TOKEN, data={"username": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def events(db, action, **where):
    stmt = select(AuditEvent).where(AuditEvent.action == action)
    for name, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, name) == value)
    return db.scalars(stmt.order_by(AuditEvent.occurred_at)).all()


def assert_401_problem(response, detail=None):
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["status"] == 401 and body["type"].startswith("https://") and body["title"]
    if detail is not None:
        assert body["detail"] == detail
    assert "access_token" not in body


# --- signing in ---------------------------------------------------------------------------------------------


def test_login_issues_a_working_bearer_token(client, staff, db, settings):
    member = staff("therapist")
    response = login(client, member.email)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.token_idle_minutes * 60
    assert response.headers["cache-control"] == "no-store"
    me = client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["id"] == str(member.id) and me.json()["role"] == "therapist"

    # Only a keyed hash of the token is stored, with an absolute lifetime cap.
    rows = db.scalars(select(AuthToken).where(AuthToken.user_id == member.id)).all()
    assert len(rows) == 2  # the factory's token and this one
    assert body["access_token"] not in {r.token_hash for r in rows}
    newest = max(rows, key=lambda r: r.created_at)
    lifetime = newest.expires_at - newest.created_at
    assert lifetime == timedelta(hours=settings.token_max_hours)
    assert newest.revoked_at is None


def test_expires_in_never_promises_more_than_the_absolute_lifetime(staff, settings):
    short_lived = settings.model_copy(update={"token_idle_minutes": 180, "token_max_hours": 1})
    app = create_app(short_lived)
    member = staff("therapist")
    try:
        with TestClient(app) as other_client:
            response = login(other_client, member.email)
    finally:
        app.state.engine.dispose()
    assert response.status_code == 200 and response.json()["expires_in"] == 3600


def test_every_login_gets_its_own_token_and_both_work(client, staff):
    member = staff("reception")
    first, second = login(client, member.email).json(), login(client, member.email).json()
    assert first["access_token"] != second["access_token"]
    for token in (first["access_token"], second["access_token"], member.token):
        assert client.get(ME, headers=bearer(token)).status_code == 200


def test_a_login_is_in_the_audit_trail(client, staff, db):
    member = staff("auditor")
    assert login(client, member.email).status_code == 200
    [event] = events(db, "login", actor_id=member.id)
    assert event.outcome == "success" and event.actor_role == "auditor" and event.actor_type == "user"
    assert event.resource_type == "User" and event.resource_id == str(member.id)
    assert event.request_id and event.occurred_at is not None


@pytest.mark.parametrize("typed", ["upper", "mixed", "padded"])
def test_email_is_case_insensitive(client, staff, typed):
    member = staff("therapist", email="jane.doe@clinic.example")
    email = {"upper": "JANE.DOE@CLINIC.EXAMPLE", "mixed": "Jane.Doe@Clinic.Example",
             "padded": "  jane.doe@clinic.example "}[typed]
    response = login(client, email)
    assert response.status_code == 200, response.text
    assert client.get(ME, headers=bearer(response.json()["access_token"])).json()["email"] == member.email


def test_an_account_created_with_a_mixed_case_email_signs_in_with_any_case(client, staff):
    admin = staff("admin")
    body = {"email": "Dr.Mixed@Clinic.Example", "full_name": "Dr Mixed", "role": "therapist",
            "password": "a long enough password"}
    assert client.post("/api/v1/users", json=body, headers=admin.headers).status_code == 201
    for email in ("dr.mixed@clinic.example", "DR.MIXED@CLINIC.EXAMPLE", "Dr.Mixed@Clinic.Example"):
        assert login(client, email, "a long enough password").status_code == 200, email


def test_wrong_password_and_unknown_email_get_the_same_401(client, staff):
    member = staff("therapist")
    wrong = login(client, member.email, WRONG)
    unknown = login(client, "nobody@clinic.example", PASSWORD)
    for response in (wrong, unknown):
        assert_401_problem(response, SAME_MESSAGE)
    a, b = wrong.json(), unknown.json()
    assert (a["type"], a["title"], a["detail"]) == (b["type"], b["title"], b["detail"])


@pytest.mark.parametrize("username", ["a" * 300 + "@clinic.example", "nul\x00byte@clinic.example",
                                      "line\nbreak@clinic.example"])
def test_a_username_no_account_could_have_is_a_plain_401(client, db, username):
    assert_401_problem(login(client, username, WRONG), SAME_MESSAGE)
    [event] = events(db, "login_failed")
    assert event.outcome == "failure" and len(event.actor_label) <= 254 and "\x00" not in event.actor_label


def test_the_password_is_case_sensitive(client, staff):
    member = staff("therapist")
    assert_401_problem(login(client, member.email, PASSWORD.upper()), SAME_MESSAGE)
    assert_401_problem(login(client, member.email, PASSWORD + " "), SAME_MESSAGE)


def test_failed_logins_are_in_the_audit_trail(client, staff, db):
    member = staff("therapist")
    login(client, member.email, WRONG)
    login(client, "Nobody@Clinic.example", WRONG)
    failed = events(db, "login_failed")
    assert [e.actor_label for e in failed] == [member.email, "nobody@clinic.example"]
    assert all(e.outcome == "failure" and e.actor_id is None and e.actor_type == "anonymous" for e in failed)
    assert failed[0].resource_id == str(member.id) and failed[1].resource_id is None
    assert [e.detail["reason"] for e in failed] == ["bad_credentials", "bad_credentials"]
    assert WRONG not in str([e.detail for e in failed])  # the attempted password is never recorded
    assert events(db, "login") == []
    assert db.scalar(select(func.count()).select_from(AuthToken).where(AuthToken.user_id == member.id)) == 1


def test_a_deactivated_user_cannot_sign_in(client, staff, db):
    member = staff("therapist", active=False)
    assert_401_problem(login(client, member.email), SAME_MESSAGE)  # right password, same message
    [event] = events(db, "login_failed")
    assert event.detail["reason"] == "inactive_account" and event.resource_id == str(member.id)


@pytest.mark.parametrize("data", [
    {"password": PASSWORD},                        # no username
    {"username": "x@clinic.example"},              # no password
    {},
])
def test_an_incomplete_form_is_422_naming_the_field(client, data):
    response = client.post(TOKEN, data=data)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"username", "password"} - set(data)


def test_json_credentials_are_not_accepted(client, staff):
    member = staff("therapist")
    response = client.post(TOKEN, json={"username": member.email, "password": PASSWORD})
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"


# --- throttling -----------------------------------------------------------------------------------------------


def fail(client, email, times):
    for _ in range(times):
        assert login(client, email, WRONG).status_code == 401


def test_repeated_failures_throttle_that_account_even_with_the_right_password(client, staff, settings, db):
    victim, bystander = staff("therapist"), staff("therapist")
    fail(client, victim.email, settings.login_max_failures)
    locked = login(client, victim.email)
    assert locked.status_code == 429
    assert locked.headers["content-type"] == "application/problem+json"
    retry = int(locked.headers["retry-after"])
    assert 0 < retry <= settings.login_lockout_minutes * 60 + 1
    assert str(retry) in locked.json()["detail"]
    assert "access_token" not in locked.json()
    assert login(client, victim.email, WRONG).status_code == 429  # no more guesses either
    assert login(client, victim.email.upper()).status_code == 429  # the same account in another case
    assert login(client, bystander.email).status_code == 200
    throttled = events(db, "login_failed", outcome="denied")
    assert len(throttled) == 3 and {e.detail["reason"] for e in throttled} == {"throttled"}
    assert {e.actor_label for e in throttled} == {victim.email}


def test_failures_in_any_case_count_against_one_account(client, staff, settings):
    member = staff("therapist", email="casey@clinic.example")
    spellings = ["casey@clinic.example", "CASEY@clinic.example", "Casey@Clinic.Example"]
    for i in range(settings.login_max_failures):
        assert login(client, spellings[i % 3], WRONG).status_code == 401
    assert login(client, member.email).status_code == 429


def test_one_failure_short_of_the_limit_is_not_throttled(client, staff, settings):
    member = staff("therapist")
    fail(client, member.email, settings.login_max_failures - 1)
    assert login(client, member.email).status_code == 200


def test_unknown_emails_are_throttled_too(client, settings):
    """Otherwise throttling would tell an attacker which emails are real accounts."""
    fail(client, "ghost@clinic.example", settings.login_max_failures)
    assert login(client, "ghost@clinic.example", WRONG).status_code == 429


def test_a_successful_login_resets_the_counter(client, staff, settings, db):
    member = staff("therapist")
    fail(client, member.email, settings.login_max_failures - 1)
    assert login(client, member.email).status_code == 200
    assert db.get(LoginAttempt, member.email) is None
    fail(client, member.email, settings.login_max_failures - 1)
    assert login(client, member.email).status_code == 200


def test_the_lock_lifts_when_the_lockout_is_over(client, staff, settings, db):
    member = staff("therapist")
    fail(client, member.email, settings.login_max_failures)
    assert login(client, member.email).status_code == 429
    past = utcnow() - timedelta(minutes=settings.login_lockout_minutes, seconds=1)
    db.execute(update(LoginAttempt).where(LoginAttempt.email == member.email)
               .values(locked_until=utcnow() - timedelta(seconds=1), first_failed_at=past))
    assert login(client, member.email, WRONG).status_code == 401  # a new streak: one miss is not a lock
    assert login(client, member.email).status_code == 200


def test_an_old_streak_of_failures_starts_counting_again(client, staff, settings, db):
    member = staff("therapist")
    fail(client, member.email, settings.login_max_failures - 1)
    db.execute(update(LoginAttempt).where(LoginAttempt.email == member.email).values(
        first_failed_at=utcnow() - timedelta(minutes=settings.login_lockout_minutes + 1)))
    fail(client, member.email, 1)  # would be the locking failure if the old streak still counted
    assert db.get(LoginAttempt, member.email).failures == 1
    assert login(client, member.email).status_code == 200


# --- signing out ---------------------------------------------------------------------------------------------


def test_logout_revokes_only_the_token_it_was_sent_with(client, staff, db):
    member = staff("reception")
    other = login(client, member.email).json()["access_token"]
    response = client.post(LOGOUT, headers=member.headers)
    assert response.status_code == 204 and response.content == b""
    assert_401_problem(client.get(ME, headers=member.headers))
    assert "revoked" in client.get(ME, headers=member.headers).json()["detail"]
    assert client.get(ME, headers=bearer(other)).status_code == 200  # another session of the same user
    revoked = db.scalars(select(AuthToken.revoked_at).where(AuthToken.user_id == member.id)).all()
    assert sorted(r is None for r in revoked) == [False, True]  # one of the user's two tokens
    [event] = events(db, "logout", actor_id=member.id)
    assert event.outcome == "success" and event.actor_role == "reception"


def test_logout_needs_a_live_token(client, staff):
    member = staff("therapist")
    assert_401_problem(client.post(LOGOUT))
    assert client.post(LOGOUT, headers=member.headers).status_code == 204
    assert_401_problem(client.post(LOGOUT, headers=member.headers))  # twice: the token is gone


def test_signing_in_again_after_logout_works(client, staff):
    member = staff("admin")
    client.post(LOGOUT, headers=member.headers)
    fresh = login(client, member.email)
    assert fresh.status_code == 200
    assert client.get("/api/v1/users", headers=bearer(fresh.json()["access_token"])).status_code == 200
