"""Outcome questionnaires on the tablet, in Chromium: fill in, the server scores, the score is shown; the API's
field errors appear beside the item they name; the result is on the patient's questionnaires page."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import SignedIn


def test_an_odi_is_filled_in_and_scored_by_the_server(therapist_page: SignedIn, shot) -> None:
    page, pid = therapist_page.page, therapist_page.visit.patient_id
    page.goto(f"/app/patients/{pid}")
    page.get_by_role("link", name="Questionnaires").click()
    page.get_by_role("link", name="Oswestry Disability Index").click()
    expect(page.get_by_role("heading", name="Oswestry Disability Index")).to_be_visible()
    for i in range(9):  # nine sections answered 2, one left unanswered (the ODI allows one)
        page.locator(f'input[name="item-{i}"][value="2"]').check()
    shot(page, "odi-filled")
    page.get_by_role("button", name="Score").click()
    result = page.get_by_test_id("result")
    expect(result).to_be_visible()
    expect(page.locator("#result-score")).to_have_text("40")  # 18 / (5 x 9) = 40 %: prorated by the server
    shot(page, "odi-scored")
    stored = therapist_page.live.api.get(f"/api/v1/patients/{pid}/outcomes",
                                         headers=therapist_page.member.headers).json()["items"]
    assert [(o["instrument"], o["score"], o["episode_id"]) for o in stored] == [
        ("odi", 40.0, therapist_page.visit.episode["id"])]
    page.get_by_role("link", name="Back to the questionnaires").click()
    expect(page.get_by_test_id("results")).to_contain_text("Oswestry Disability Index")
    shot(page, "results")


def test_the_apis_field_errors_show_beside_their_item(therapist_page: SignedIn, shot) -> None:
    page, pid = therapist_page.page, therapist_page.visit.patient_id
    page.goto(f"/app/patients/{pid}/questionnaires/visa_a")
    for i in range(6):
        page.locator(f'input[name="item-{i}"][value="7"]').check()
    page.locator('input[name="item-6"][value="modified_training"]').check()
    page.locator('input[name="item-7-branch"][value="B"]').check()  # a branch, but no training time
    page.get_by_role("button", name="Score").click()
    error = page.locator("#item-7-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("one of nil")
    expect(page.locator("#item-7")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#form-error")).to_be_hidden()
    shot(page, "visa-a-item-8-error")
    page.locator('input[name="item-7-minutes"][value="11-20"]').check()
    page.get_by_role("button", name="Score").click()
    expect(page.locator("#result-score")).to_have_text("56")  # 6 x 7 + 4 + 10
    shot(page, "visa-a-scored")


def test_too_many_unanswered_items_is_the_apis_message_at_the_top(therapist_page: SignedIn, shot) -> None:
    page, pid = therapist_page.page, therapist_page.visit.patient_id
    page.goto(f"/app/patients/{pid}/questionnaires/ndi")
    page.locator('input[name="item-0"][value="3"]').check()
    page.get_by_role("button", name="Score").click()
    expect(page.locator("#form-error")).to_contain_text("at most 1 item(s) may be left unanswered")
    shot(page, "ndi-refused")
