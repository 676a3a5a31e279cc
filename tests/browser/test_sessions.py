"""Signing in and out in Chromium, the CSRF refusal, the idle timeout, and page script's `api()` helper
re-authenticating and riding out a lost network without losing what was typed."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import update

from app.auth.browser import SESSION_COOKIE
from app.models.base import utcnow
from app.models.user import AuthToken
from tests.browser.conftest import PORTRAIT, LiveServer, SignedIn, signed_in
from tests.factories import PASSWORD


def _expire(live: LiveServer, member_id: Any) -> None:
    idle = utcnow() - timedelta(minutes=live.app.state.settings.token_idle_minutes + 1)
    with live.app.state.sessionmaker() as session, session.begin():
        session.execute(update(AuthToken).where(AuthToken.user_id == member_id).values(last_used_at=idle))


def test_a_therapist_signs_in_sees_today_opens_the_chart_and_signs_out(therapist_page: SignedIn, shot) -> None:
    page, visit = therapist_page.page, therapist_page.visit
    shot(page, "today")
    expect(page.get_by_test_id("who")).to_contain_text("therapist")
    expect(page.get_by_role("main")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    [cookie] = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    # Chromium keeps a Secure, __Host- cookie on http://127.0.0.1 (a secure context): the flag is always set.
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # page script never sees the session
    page.get_by_role("link", name=visit.name).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(visit.patient["family_name"])
    expect(page.get_by_test_id("episodes")).to_contain_text("sciatica")
    expect(page.get_by_test_id("consents")).to_contain_text("ims_dry_needling")
    shot(page, "chart")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/app/login$"))
    shot(page, "signed-out")
    page.goto("/app")
    page.wait_for_url(re.compile(r"/app/login\?next=/app$"))


def test_a_wrong_password_says_so_and_keeps_the_email(page: Any, live: LiveServer, shot) -> None:
    therapist = live.staff("therapist")
    page.goto("/app/login")
    page.get_by_label("Email").fill(therapist.email)
    page.get_by_label("Password").fill("not it")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Incorrect email or password")
    expect(page.get_by_label("Email")).to_have_value(therapist.email)
    shot(page, "wrong-password")


def test_reception_sees_the_day_list_and_demographics_only(reception_page: SignedIn, shot) -> None:
    page, visit = reception_page.page, reception_page.visit
    expect(page.get_by_test_id("who")).to_contain_text("reception")
    expect(page.get_by_role("heading", name="Day list")).to_be_visible()
    expect(page.get_by_text("Open episodes")).to_have_count(0)
    shot(page, "day-list")
    page.get_by_role("link", name=visit.name).first.click()
    expect(page.get_by_test_id("demographics")).to_contain_text(visit.patient["given_name"])
    expect(page.get_by_test_id("no-clinical")).to_be_visible()
    body = page.locator("main").inner_text()
    assert "sciatica" not in body and "pregnancy" not in body
    shot(page, "demographics-only")


def test_a_forged_form_token_is_refused_and_nothing_happens(therapist_page: SignedIn, shot) -> None:
    page = therapist_page.page
    page.evaluate("document.querySelector('form[action=\"/app/logout\"] input[name=csrf_token]').value = 'forged'")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Missing or wrong CSRF token")
    shot(page, "csrf-refused")
    page.goto("/app")
    expect(page.get_by_test_id("who")).to_be_visible()  # still signed in: the sign-out did not happen


def test_an_idle_session_sends_the_page_to_sign_in_and_back(therapist_page: SignedIn, shot) -> None:
    page, live, visit = therapist_page.page, therapist_page.live, therapist_page.visit
    _expire(live, therapist_page.member.id)
    page.goto(f"/app/patients/{visit.patient_id}")
    page.wait_for_url(re.compile(r"/app/login\?next="))
    shot(page, "timed-out")
    page.get_by_label("Email").fill(therapist_page.member.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(f"/app/patients/{visit.patient_id}$"))
    expect(page.get_by_test_id("demographics")).to_be_visible()


def test_api_re_authenticates_in_a_dialog_without_losing_the_form(therapist_page: SignedIn, shot) -> None:
    page, live = therapist_page.page, therapist_page.live
    page.evaluate("""() => { const t = document.createElement('textarea'); t.id = 'note';
                             t.setAttribute('aria-label', 'Note'); document.querySelector('main').append(t); }""")
    page.get_by_label("Note").fill("L5 left: tender multifidus")
    _expire(live, therapist_page.member.id)
    page.evaluate("() => { window.answer = api('GET', '/app/session'); }")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    shot(page, "reauth-dialog")
    dialog.get_by_label("Password").fill(PASSWORD)
    dialog.get_by_role("button", name="Sign in").click()
    assert page.evaluate("() => window.answer.then(r => r.data.email)") == therapist_page.member.email
    expect(dialog).to_be_hidden()
    expect(page.get_by_label("Note")).to_have_value("L5 left: tender multifidus")
    new_token = page.evaluate("() => document.querySelector('meta[name=csrf-token]').content")
    assert page.evaluate("() => document.querySelector('form[action=\"/app/logout\"] input').value") == new_token
    shot(page, "reauthenticated")


def test_api_keeps_the_request_through_a_lost_network(therapist_page: SignedIn, shot) -> None:
    page = therapist_page.page
    page.context.set_offline(True)
    page.evaluate("() => { window.answer = api('GET', '/app/session'); }")
    expect(page.get_by_role("status")).to_contain_text("Connection lost")
    shot(page, "offline")
    page.context.set_offline(False)
    assert page.evaluate("() => window.answer.then(r => r.status)") == 200
    expect(page.get_by_role("status")).to_be_hidden()


def test_the_api_refuses_a_stale_csrf_token_then_api_recovers_it(therapist_page: SignedIn) -> None:
    page = therapist_page.page
    page.evaluate("() => { document.querySelector('meta[name=csrf-token]').content = 'stale'; }")
    created = page.evaluate("""() => api('POST', '/api/v1/patients',
        {given_name: 'Ann', family_name: 'Fetch', birth_date: '1970-01-01'}).then(r => r.status)""")
    assert created == 201
    status = page.evaluate("""() => fetch('/api/v1/patients', {method: 'POST', headers: {'Content-Type':
        'application/json'}, body: '{}'}).then(r => r.status)""")
    assert status == 401  # the cookie alone opens no API route


def test_today_fits_a_portrait_tablet(therapist_page: SignedIn, shot) -> None:
    page = therapist_page.page
    page.set_viewport_size(PORTRAIT)
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "today-portrait")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()


def test_signed_in_helper_works_for_any_role(page: Any, live: LiveServer) -> None:
    admin = live.staff("admin")
    signed_in(page, admin)
    expect(page.get_by_test_id("who")).to_contain_text("admin")
