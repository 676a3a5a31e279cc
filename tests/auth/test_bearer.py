"""Bearer tokens on every request: missing, forged, revoked, idle and over-age tokens all get 401."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import select, update

from app.models import AuthToken
from app.models.base import utcnow
from app.models.user import User

ME = "/api/v1/users/me"
ZERO_ID = "00000000-0000-0000-0000-000000000000"
# The only routes anyone may call without a token: probes, signing in, the API docs, FHIR's capability statement.
PUBLIC = {
    ("GET", "/healthz"), ("GET", "/readyz"), ("POST", "/api/v1/auth/token"),
    ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"), ("GET", "/openapi.json"),  # no /redoc: see app.kit.docs
    ("GET", "/fhir/metadata"),
    ("GET", "/ical/{token}"),  # a therapist's calendar feed: the unguessable, revocable token is the credential
}


def assert_401(response, detail_word: str | None = None) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 401 and body["title"] and body["detail"]
    if detail_word:
        assert detail_word in body["detail"]


def set_token(db, member, **values) -> None:
    db.execute(update(AuthToken).where(AuthToken.user_id == member.id).values(**values))


def stored_last_used(db, member):
    db.expire_all()
    return db.scalar(select(AuthToken.last_used_at).where(AuthToken.user_id == member.id))


# --- expiry and revocation (arranged on the real auth_tokens row) -------------------------------------------


def test_a_token_idle_longer_than_the_limit_is_refused(client, staff, db, settings):
    member = staff("therapist")
    idle_since = utcnow() - timedelta(minutes=settings.token_idle_minutes, seconds=1)
    set_token(db, member, last_used_at=idle_since)
    assert_401(client.get(ME, headers=member.headers), "expired")
    assert stored_last_used(db, member) == idle_since  # a refused request does not revive it
    assert_401(client.get(ME, headers=member.headers), "expired")


def test_use_within_the_idle_limit_keeps_the_token_alive(client, staff, db, settings):
    member = staff("therapist")
    almost = utcnow() - timedelta(minutes=settings.token_idle_minutes - 1)
    set_token(db, member, last_used_at=almost)
    assert client.get(ME, headers=member.headers).status_code == 200
    refreshed = stored_last_used(db, member)
    assert refreshed > utcnow() - timedelta(minutes=1)  # the clock restarted at this request


def test_a_token_past_its_absolute_lifetime_is_refused_even_when_busy(client, staff, db):
    member = staff("therapist")
    set_token(db, member, expires_at=utcnow() - timedelta(seconds=1), last_used_at=utcnow())
    assert_401(client.get(ME, headers=member.headers), "expired")


def test_a_token_close_to_its_absolute_lifetime_still_works(client, staff, db):
    member = staff("therapist")
    set_token(db, member, expires_at=utcnow() + timedelta(minutes=1))
    assert client.get(ME, headers=member.headers).status_code == 200


def test_a_revoked_token_is_refused(client, staff, db):
    member = staff("reception")
    set_token(db, member, revoked_at=utcnow())
    assert_401(client.get(ME, headers=member.headers), "revoked")


def test_a_live_token_of_a_deactivated_account_is_refused(client, staff, db):
    member = staff("admin")
    db.execute(update(User).where(User.id == member.id).values(active=False))
    assert_401(client.get(ME, headers=member.headers))


def test_the_scheme_name_is_case_insensitive(client, staff):
    member = staff("therapist")
    assert client.get(ME, headers={"Authorization": f"bearer {member.token}"}).status_code == 200


# --- missing, garbage and malformed credentials --------------------------------------------------------------


@pytest.mark.parametrize("header", [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Bearer imt_forged",
    "Bearer imk_forged-api-key",
    "Bearer garbage-without-prefix",
    "Bearer " + "imt_" + "x" * 300,
    "Bearer imt_a b",
    "Basic dXNlcjpwYXNz",
    "Token imt_abc",
])
def test_missing_or_bad_credentials_are_401_problems(client, header):
    headers = {"Authorization": header} if header is not None else {}
    for path in (ME, "/api/v1/patients"):
        assert_401(client.get(path, headers=headers))


def test_a_real_token_under_another_scheme_is_refused(client, staff):
    member = staff("therapist")
    assert_401(client.get(ME, headers={"Authorization": f"Basic {member.token}"}))
    assert_401(client.get(ME, headers={"Authorization": member.token}))
    assert_401(client.get(ME, headers={"Authorization": f"Bearer {member.token}x"}))  # one character off


def test_a_token_is_not_accepted_as_a_query_parameter_or_cookie(client, staff):
    member = staff("therapist")
    assert_401(client.get(ME, params={"access_token": member.token}))
    client.cookies.set("access_token", member.token)
    assert_401(client.get(ME))
    client.cookies.clear()


# --- every route but the public ones needs a token ------------------------------------------------------------


def _every_route(app) -> list[tuple[str, str]]:
    """Every API route; the charting pages (/app) take a browser session instead (tests/web/test_signin.py)."""
    found = []
    for route in iter_route_contexts(app.routes):
        for method in route.methods or ():
            if method != "HEAD" and not route.path.startswith("/app"):
                found.append((method, route.path))
    return found


def _fill(path: str) -> str:
    return path.replace("{resource_type}", "Patient").replace("{revision}", "1").format_map(_AnyId())


class _AnyId(dict):
    def __missing__(self, key: str) -> str:
        return ZERO_ID


def test_every_route_except_the_public_ones_needs_a_token(app, client):
    routes = _every_route(app)
    assert len(routes) > 30 and PUBLIC - {("GET", "/fhir/metadata")} <= set(routes)
    for method, path in routes:
        url = _fill(path)
        anonymous = client.request(method, url)
        if (method, path) in PUBLIC:
            assert anonymous.status_code not in (401, 403), f"{method} {path} is public but refused"
            continue
        assert anonymous.status_code == 401, f"{method} {path} answered {anonymous.status_code} without a token"
        assert anonymous.headers["www-authenticate"] == "Bearer", f"{method} {path}"
        if not path.startswith("/fhir"):  # FHIR renders its errors as an OperationOutcome
            assert anonymous.headers["content-type"] == "application/problem+json", f"{method} {path}"
        forged = client.request(method, url, headers={"Authorization": "Bearer imt_forged"})
        assert forged.status_code == 401, f"{method} {path} answered {forged.status_code} to a forged token"


def test_the_probes_and_api_docs_answer_without_a_token(client):
    for path in ("/healthz", "/docs", "/docs/assets/swagger-ui-bundle.js", "/openapi.json"):
        assert client.get(path).status_code == 200, path
    assert client.get("/readyz").status_code in (200, 503)  # whether ready is the health tests' business
