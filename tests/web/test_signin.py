"""Browser sessions without a browser: the sign-in form, the cookie, CSRF, sign-out, idle timeout."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from app.auth.browser import LOGIN_COOKIE, SESSION_COOKIE
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.models.user import AuthToken
from tests.factories import Member
from tests.web.scene import page_csrf, sign_in


def _audit_count(db, **where) -> int:
    stmt = select(func.count()).select_from(AuditEvent)
    for name, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, name) == value)
    return db.scalar(stmt)


def test_sign_in_sets_a_secure_httponly_strict_cookie_and_lands_on_today(browser_client: TestClient, staff, db):
    therapist = staff("therapist")
    answer = sign_in(browser_client, therapist, next_path="/app")
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/app"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "="))
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert {"secure", "httponly", "samesite=strict", "path=/"} <= attributes
    assert not any(a.startswith(("domain", "max-age", "expires")) for a in attributes)  # a __Host- session cookie
    today = browser_client.get("/app")
    assert today.status_code == 200
    assert "Therapist" in today.text and 'data-role="therapist"' in today.text
    assert today.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in today.headers["content-security-policy"]
    assert _audit_count(db, action="login", actor_id=therapist.id) == 1


def test_wrong_password_shows_the_form_again_and_is_audited(browser_client: TestClient, staff, db):
    therapist = staff("therapist")
    answer = sign_in(browser_client, therapist, password="not the password")
    assert answer.status_code == 401
    assert "Incorrect email or password" in answer.text
    assert SESSION_COOKIE not in browser_client.cookies
    assert _audit_count(db, action="login_failed", actor_label=therapist.email) == 1
    assert browser_client.get("/app", follow_redirects=False).status_code == 303


def test_the_account_lockout_applies_to_the_form(browser_client: TestClient, staff, settings):
    therapist = staff("therapist")
    for _ in range(settings.login_max_failures):
        assert sign_in(browser_client, therapist, password="wrong").status_code == 401
    locked = sign_in(browser_client, therapist)  # the right password, too late
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text


def test_a_sign_in_without_the_form_token_is_refused_and_counts_nothing(browser_client: TestClient, staff, db):
    therapist = staff("therapist")
    before = _audit_count(db)
    answer = browser_client.post("/app/login", data={"email": therapist.email, "password": "x"},
                                 follow_redirects=False)
    assert answer.status_code == 403
    assert _audit_count(db) == before


def test_a_page_get_without_a_session_redirects_to_sign_in_with_next(browser_client: TestClient, staff):
    answer = browser_client.get("/app/patients/018f0000-0000-7000-8000-000000000001?tab=x", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app/login?next=/app/patients/018f0000-0000-7000-8000-000000000001%3Ftab%3Dx"


def test_next_never_leaves_the_app(browser_client: TestClient, staff):
    therapist = staff("therapist")
    for evil in ("https://evil.example/app", "//evil.example", "/app/../../x\\y", "/api/v1/patients"):
        answer = sign_in(browser_client, therapist, next_path=evil)
        assert answer.headers["location"] == "/app", evil


def test_an_idle_session_redirects_a_page_and_answers_401_to_script(browser_client: TestClient, staff, db, settings):
    therapist = staff("therapist")
    sign_in(browser_client, therapist)
    csrf = page_csrf(browser_client.get("/app").text)
    idle = utcnow() - timedelta(minutes=settings.token_idle_minutes + 1)
    db.execute(update(AuthToken).where(AuthToken.user_id == therapist.id).values(last_used_at=idle))
    page = browser_client.get("/app", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/app/login?next=/app"
    sign_in(browser_client, therapist)
    csrf = page_csrf(browser_client.get("/app").text)
    db.execute(update(AuthToken).where(AuthToken.user_id == therapist.id).values(last_used_at=idle))
    script = browser_client.get("/app/session", headers={"X-CSRF-Token": csrf, "Accept": "application/json"})
    assert script.status_code == 401
    assert script.headers["content-type"] == "application/problem+json"


def test_sign_out_revokes_the_session_and_needs_the_csrf_token(browser_client: TestClient, staff, db):
    therapist = staff("therapist")
    sign_in(browser_client, therapist)
    csrf = page_csrf(browser_client.get("/app").text)
    refused = browser_client.post("/app/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    assert "Nothing was saved" in refused.text
    assert _audit_count(db, action="logout", actor_id=therapist.id) == 0
    assert browser_client.get("/app").status_code == 200  # still signed in
    out = browser_client.post("/app/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/app/login"
    assert _audit_count(db, action="logout", actor_id=therapist.id) == 1
    assert browser_client.get("/app", follow_redirects=False).status_code == 303


def test_the_api_ignores_the_cookie_unless_page_script_sends_the_csrf_header(browser_client: TestClient, staff,
                                                                             db):
    therapist = staff("therapist")
    sign_in(browser_client, therapist)
    csrf = page_csrf(browser_client.get("/app").text)
    body = {"given_name": "Ann", "family_name": "Cookie", "birth_date": "1970-01-01"}
    before = _audit_count(db, action="create")
    assert browser_client.post("/api/v1/patients", json=body).status_code == 401  # a cross-site form's view
    forged = browser_client.post("/api/v1/patients", json=body, headers={"X-CSRF-Token": "0" * 64})
    assert forged.status_code == 403
    assert forged.json()["type"].endswith("/csrf-refused")
    assert _audit_count(db, action="create") == before  # nothing written
    made = browser_client.post("/api/v1/patients", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.text


def test_a_bearer_token_never_opens_a_page(browser_client: TestClient, staff):
    therapist: Member = staff("therapist")
    answer = browser_client.get("/app", headers=therapist.headers, follow_redirects=False)
    assert answer.status_code == 303


def test_pages_are_not_in_the_openapi_document(browser_client: TestClient):
    paths = browser_client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/app")]


def test_the_login_nonce_cookie_is_strict_too(browser_client: TestClient):
    form = browser_client.get("/app/login")
    cookie = next(c for c in form.headers.get_list("set-cookie") if c.startswith(LOGIN_COOKIE + "="))
    assert {"secure", "httponly", "samesite=strict"} <= {p.strip().lower() for p in cookie.split(";")}


def test_page_script_posts_are_idempotent_per_session(browser_client: TestClient, staff, db):
    """api() sends one Idempotency-Key for every attempt of a POST: a resend after a lost answer replays."""
    therapist = staff("therapist")
    sign_in(browser_client, therapist)
    csrf = page_csrf(browser_client.get("/app").text)
    body = {"given_name": "Ann", "family_name": "Twice", "birth_date": "1970-01-01"}
    headers = {"X-CSRF-Token": csrf, "Idempotency-Key": "page-create-1"}
    first = browser_client.post("/api/v1/patients", json=body, headers=headers)
    again = browser_client.post("/api/v1/patients", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json()["id"] == again.json()["id"]
    assert _audit_count(db, action="create", resource_type="Patient", actor_id=therapist.id) == 1


def test_every_page_but_sign_in_needs_a_browser_session(app, browser_client: TestClient):
    from fastapi.routing import iter_route_contexts

    public = {("GET", "/app/login"), ("POST", "/app/login")}
    pages = [(m, r.path) for r in iter_route_contexts(app.routes) for m in (r.methods or ())
             if r.path.startswith("/app") and m != "HEAD"]
    assert len(pages) >= 5
    for method, path in pages:
        if (method, path) in public:
            continue
        url = path.replace("{patient_id}", "018f0000-0000-7000-8000-000000000001")
        page = browser_client.request(method, url, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/app/login"), (method, path)
        script = browser_client.request(method, url, headers={"Accept": "application/json"})
        assert script.status_code == 401 and script.headers["content-type"] == "application/problem+json"
