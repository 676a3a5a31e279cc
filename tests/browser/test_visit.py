"""The visit in a real browser (issue 15, item 2-5): sign in -> Today -> chart -> Gunn exam on L5/S1 -> needling
of the suggested targets -> sign -> PDF; the safety refusals shown before and enforced at sign; autosave with
a conflict from a second device; a keyboard-only pass; the portrait tablet layout. Screenshots of each step
land in tests/browser/artifacts/<test>/."""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, PORTRAIT, SignedIn, signed_in, unique_name
from tests.treatments.helpers import record_session
from tests.web.scene import seed_visit


def _open_exam(s: SignedIn, shot: Any) -> Any:
    page = s.page
    page.get_by_role("link", name=s.visit.name).first.click()
    page.wait_for_url(re.compile(r"/app/patients/"))
    shot(page, "chart")
    page.get_by_role("link", name="Gunn exam").first.click()
    page.wait_for_url(re.compile(r"/exam$"))
    expect(page.locator("#grid")).to_be_visible()
    return page


def _cell(page: Any, level: str, side: str) -> Any:
    return page.locator(f'td.cell[data-level="{level}"][data-side="{side}"]')


def _chart_l5_s1(page: Any, click: bool = True) -> None:
    """Chart L5 and S1 on the left with the grid's keys, as a therapist at the table would."""
    if click:
        _cell(page, "L5", "left").focus()  # a tap on a chip would also chart that finding
    expect(_cell(page, "L5", "left")).to_be_focused()
    page.keyboard.press("s")  # no muscle yet: the picker opens, filtered to L5
    expect(page.locator("#muscle-search")).to_be_focused()
    page.keyboard.type("tibialis ant")
    expect(page.get_by_role("button", name="Add Tibialis anterior")).to_be_visible()
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    expect(_cell(page, "L5", "left")).to_be_focused()
    page.keyboard.press("s")  # shortening 1 -> 2
    page.keyboard.press("p")
    page.keyboard.press("k")
    page.keyboard.press("i")
    page.keyboard.press("ArrowDown")
    expect(_cell(page, "S1", "left")).to_be_focused()
    page.keyboard.press("t")
    page.keyboard.type("gastroc")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.keyboard.press("i")
    expect(_cell(page, "L5", "left")).to_have_attribute(
        "aria-label", re.compile(r"shortening 2.*skin trophedema, paraspinal tender.*in impression"))


def _wait_saved(page: Any) -> None:
    try:
        expect(page.locator("#save-state")).to_have_text("All changes saved", timeout=15_000)
    except AssertionError as exc:
        raise AssertionError(page.locator("#save-problems").inner_text()) from exc


def test_the_whole_visit(therapist_page: SignedIn, shot: Any) -> None:
    s = therapist_page
    page = s.page
    shot(page, "today")
    page = _open_exam(s, shot)
    shot(page, "exam-empty")
    _chart_l5_s1(page)
    page.get_by_label("Plan", exact=True).fill("IMS weekly to L5/S1 left")
    _wait_saved(page)
    targets = page.get_by_test_id("targets")
    expect(targets).to_contain_text("Tibialis anterior")
    expect(page.get_by_test_id("involved")).to_have_text("L5 left, S1 left")
    shot(page, "exam-charted")
    page.get_by_role("button", name="Sign exam").click()
    expect(page.get_by_test_id("signed")).to_be_visible()
    expect(page.locator("#muscle-search")).to_be_disabled()
    shot(page, "exam-signed")
    page.get_by_role("link", name="Needle the suggested targets").click()
    page.wait_for_url(re.compile(r"/needling$"))
    rows = page.locator(".needle-row")
    expect(rows.first).to_be_visible()
    count = rows.count()
    assert count >= 2  # tibialis anterior + the paraspinals at L5/S1 + gastrocnemius, from the server's targets
    expect(page.get_by_test_id("needle-rows")).to_contain_text("Tibialis anterior")
    page.locator("#n0-depth").fill("25")
    page.locator("#n0-insertions").fill("3")
    page.get_by_label("Twitch").first.check()
    page.get_by_label("Needles out").fill(str(count))
    page.get_by_label("Sharps disposed of").check()
    page.get_by_label("Pain before").fill("6")
    page.get_by_label("Pain after").fill("3")
    page.get_by_label("Tolerance").select_option("good")
    page.get_by_label("Verbal consent given today").check()
    _wait_saved(page)
    page.wait_for_url(re.compile(r"/app/treatments/"))
    expect(page.get_by_test_id("sign-check")).to_contain_text("Ready to sign")
    shot(page, "needling-ready")
    page.get_by_role("button", name="Sign session").click()
    expect(page.get_by_test_id("signed")).to_be_visible()
    expect(page.get_by_test_id("history")).to_contain_text("Revision 1")
    shot(page, "needling-signed")
    with page.expect_response(re.compile(r"/export\?format=pdf")) as answer:
        page.get_by_role("link", name="Print the record (PDF)").click()
    assert answer.value.status == 200
    assert answer.value.headers["content-type"].startswith("application/pdf")


def test_amend_a_signed_session_with_a_reason(therapist_page: SignedIn, shot: Any) -> None:
    s = therapist_page
    api, member = s.live.api, s.member
    made = api.post(f"/api/v1/patients/{s.visit.patient_id}/treatments", headers=member.headers, json={
        "episode_id": s.visit.episode["id"],
        "needles": [{"muscle": "tibialis_anterior", "level": "L5", "side": "left"}],
        "needles_removed": 1, "sharps_disposed": True, "verbal_consent_today": True, "pre_pain_nprs": 5})
    assert made.status_code == 201, made.text
    assert api.post(f"/api/v1/treatments/{made.json()['id']}/sign", headers=member.headers).status_code == 200
    page = s.page
    page.goto(f"/app/treatments/{made.json()['id']}")
    expect(page.get_by_label("Pain after")).to_be_disabled()
    page.get_by_role("button", name="Amend…").click()
    page.get_by_label("Reason for the amendment").fill("Post-treatment pain was not recorded")
    page.get_by_label("Pain after").fill("2")
    shot(page, "amending")
    page.get_by_role("button", name="Save amendment").click()
    expect(page.get_by_test_id("history")).to_contain_text("Post-treatment pain was not recorded")
    expect(page.get_by_label("Pain after")).to_have_value("2")
    shot(page, "amended")


def test_safety_refusals_are_shown_before_and_enforced_at_sign(page: Any, live: Any, shot: Any) -> None:
    therapist, desk = live.staff("therapist"), live.staff("reception")
    visit = seed_visit(live.api, therapist, desk, family_name=unique_name(therapist),
                       pacemaker_or_implanted_device=True)
    made = live.api.post(f"/api/v1/patients/{visit.patient_id}/assessments", headers=therapist.headers, json={
        "episode_id": visit.episode["id"],
        "findings": [{"level": "L5", "side": "left",
                      "muscle_shortening": [{"muscle": "tibialis_anterior", "severity": 2}]}],
        "impression": [{"level": "L5", "side": "left"}]})
    assert made.status_code == 201, made.text
    signed_in(page, therapist)
    page.goto(f"/app/assessments/{made.json()['id']}/needling")
    rows = page.locator(".needle-row")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 2
    # E-stim with a pacemaker on the screen: refused as soon as it is charted, the input kept on the page
    page.locator("#n0-estim").check()
    page.locator("#n0-pair").select_option("1")
    expect(page.locator("#save-problems")).to_contain_text("pacemaker", timeout=15_000)
    expect(page.locator("#n0-estim")).to_be_checked()
    shot(page, "estim-pacemaker-refused")
    page.get_by_role("button", name="Sign session").click()
    expect(page.locator("#sign-problems")).to_contain_text("pacemaker")
    shot(page, "estim-refused-at-sign")
    page.locator("#n0-estim").uncheck()
    page.locator("#n1-estim").uncheck()
    # Needles in != out: the checkpoint says so before the click, and sign refuses it
    page.get_by_label("Needles out").fill("1")
    page.get_by_label("Sharps disposed of").check()
    page.get_by_label("Verbal consent given today").check()
    _wait_saved(page)
    check = page.get_by_test_id("sign-check")
    expect(check).to_contain_text("needles_removed")
    expect(page.get_by_test_id("count-state")).to_contain_text("recount")
    shot(page, "count-mismatch-shown")
    page.get_by_role("button", name="Sign session").click()
    expect(page.locator("#sign-problems")).to_contain_text("unaccounted for")
    expect(page.get_by_test_id("signed")).to_have_count(0)  # still a draft
    shot(page, "count-mismatch-refused")


def test_estim_without_estim_consent_is_shown_before_and_refused_at_sign(page: Any, live: Any, shot: Any) -> None:
    """The e-stim consent rule, like the pacemaker one: a draft that holds e-stim when no e-stim consent covers
    the session shows the refusal in the sign checkpoint before the click, signing refuses it, and charting
    e-stim anew is refused as soon as it is saved, the input kept on the page."""
    therapist, desk = live.staff("therapist"), live.staff("reception")
    visit = seed_visit(live.api, therapist, desk, family_name=unique_name(therapist))
    api, pid = live.api, visit.patient_id
    drafted = record_session(api, therapist, pid, visit.episode["id"], needles_removed=6)  # e-stim on rows 1-2
    assert drafted.status_code == 201, drafted.text
    assert drafted.json()["needles"][0]["e_stim"] is not None
    # The patient declines e-stim: the consent is withdrawn from the time it was given, before the session
    listed = api.get(f"/api/v1/patients/{pid}/consents", headers=therapist.headers)
    estim = next(c for c in listed.json() if c["kind"] == "electrical_stimulation")
    withdrawn = api.post(f"/api/v1/patients/{pid}/consents/{estim['id']}/withdraw", headers=therapist.headers,
                         json={"reason": "Declined e-stim", "withdrawn_at": estim["obtained_at"]})
    assert withdrawn.status_code == 200, withdrawn.text
    signed_in(page, therapist)
    page.goto(f"/app/treatments/{drafted.json()['id']}")
    check = page.get_by_test_id("sign-check")
    expect(check).to_contain_text("needles[0].e_stim: electrical stimulation needs an active "
                                  "electrical_stimulation consent", timeout=15_000)
    expect(check).not_to_contain_text("Ready to sign")
    expect(page.locator("#n0-estim")).to_be_checked()
    shot(page, "estim-no-consent-shown")
    page.get_by_role("button", name="Sign session").click()
    expect(page.locator("#sign-problems")).to_contain_text("electrical_stimulation consent")
    expect(page.get_by_test_id("signed")).to_have_count(0)  # still a draft
    stored = api.get(f"/api/v1/treatments/{drafted.json()['id']}", headers=therapist.headers).json()
    assert stored["status"] == "draft"
    shot(page, "estim-no-consent-refused-at-sign")
    # Without the e-stim the session is ready; charting it again is refused at once, the tick kept
    page.locator("#n0-estim").uncheck()
    page.locator("#n1-estim").uncheck()
    _wait_saved(page)
    expect(check).to_contain_text("Ready to sign")
    page.locator("#n0-estim").check()
    page.locator("#n0-pair").select_option("1")
    expect(page.locator("#save-problems")).to_contain_text("electrical_stimulation consent", timeout=15_000)
    expect(page.locator("#n0-estim")).to_be_checked()
    shot(page, "estim-no-consent-refused-as-charted")


def test_autosave_conflict_from_a_second_device(therapist_page: SignedIn, chromium: Any, shot: Any) -> None:
    s = therapist_page
    page = _open_exam(s, shot)
    _cell(page, "L5", "left").locator('button[data-kind="p"]').click()  # a tap on the cell's P chip
    _wait_saved(page)
    url = page.url
    assert "/app/assessments/" in url
    other = chromium.new_context(base_url=s.live.base_url, viewport={"width": 1280, "height": 800})
    try:
        tablet = other.new_page()
        signed_in(tablet, s.member)
        tablet.goto(url)
        tablet.get_by_label("Plan", exact=True).fill("Plan written on the other tablet")
        _wait_saved(tablet)
        shot(tablet, "other-device-saved")
    finally:
        other.close()
    page.get_by_label("Plan", exact=True).fill("Plan written here")
    dialog = page.locator("#conflict")
    expect(dialog).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("theirs")).to_contain_text("Plan written on the other tablet")
    expect(page.get_by_test_id("yours")).to_contain_text("Plan written here")
    shot(page, "conflict-both-versions")
    page.get_by_role("button", name="Keep mine").click()
    _wait_saved(page)
    stored = s.live.api.get("/api/v1/assessments/" + url.rsplit("/", 1)[1], headers=s.member.headers).json()
    assert stored["plan"] == "Plan written here"
    assert stored["findings"][0]["paraspinal_tenderness"] is True
    shot(page, "conflict-resolved")


def _tab_to(page: Any, matches: str, limit: int = 40, back: bool = False) -> None:
    """Press Tab (Shift+Tab) until the focused element matches a JS predicate on `e`: the keyboard only."""
    test = f"(() => {{ const e = document.activeElement; return !!e && ({matches}); }})()"
    for _ in range(limit):
        if page.evaluate(test):
            return
        page.keyboard.press("Shift+Tab" if back else "Tab")
    assert page.evaluate(test), f"{limit} Tabs did not reach {matches}; focus is on " + page.evaluate(
        "document.activeElement && document.activeElement.outerHTML.slice(0, 120)")


def test_keyboard_only_visit_from_sign_in_to_print(page: Any, live: Any, shot: Any) -> None:
    """Sign in, open today's patient, chart L5/S1, sign, needle the targets, count them out, sign and print,
    with key presses alone: no click, no programmatic focus (Alt+G / Alt+C are the pages' documented keys)."""
    therapist, desk = live.staff("therapist"), live.staff("reception")
    visit = seed_visit(live.api, therapist, desk, family_name=unique_name(therapist))
    started = time.monotonic()
    page.goto("/app/login")
    _tab_to(page, "e.id === 'email'")
    page.keyboard.type(therapist.email)
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/app$"))
    _tab_to(page, f"e.tagName === 'A' && e.textContent.trim() === {visit.name!r}", limit=60)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/app/patients/"))
    _tab_to(page, "e.tagName === 'A' && e.textContent.trim() === 'Gunn exam'")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/exam$"))
    _tab_to(page, "e.matches('td.cell')")  # the skip link, the header links and the help come first
    expect(_cell(page, "C1", "left")).to_be_focused()
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_have_attribute("open", "")
    expect(page.get_by_test_id("shortcuts")).to_contain_text("Alt+G")
    page.keyboard.press("End")
    expect(_cell(page, "S5", "left")).to_be_focused()
    for _ in range(4):
        page.keyboard.press("ArrowUp")
    expect(_cell(page, "S1", "left")).to_be_focused()
    page.keyboard.press("ArrowUp")
    _chart_l5_s1(page, click=False)
    page.keyboard.press("Control+s")
    _wait_saved(page)
    expect(page.get_by_test_id("targets")).to_contain_text("Tibialis anterior")
    shot(page, "keyboard-exam")
    page.keyboard.press("Alt+g")  # to the finish: Sign exam
    expect(page.locator("#sign")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("signed")).to_be_visible()
    page.keyboard.press("Alt+g")  # signed: the next step
    expect(page.locator("#to-needling")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/needling$"))
    expect(page.get_by_test_id("needle-rows")).to_contain_text("Tibialis anterior")
    count = page.locator(".needle-row").count()
    assert count >= 2
    page.keyboard.press("Alt+c")  # to the needle count
    expect(page.locator("#needles-out")).to_be_focused()
    for _ in range(count):
        page.keyboard.press("+")
    expect(page.locator("#needles-out")).to_have_value(str(count))
    _tab_to(page, "e.id === 'sharps'", limit=4)
    page.keyboard.press("Space")
    expect(page.locator("#sharps")).to_be_checked()
    _tab_to(page, "e.id === 'verbal-consent'", limit=6)
    page.keyboard.press("Space")
    expect(page.locator("#verbal-consent")).to_be_checked()
    _wait_saved(page)
    expect(page.get_by_test_id("sign-check")).to_contain_text("Ready to sign")
    page.keyboard.press("Alt+g")
    expect(page.locator("#sign")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("signed")).to_be_visible()
    shot(page, "keyboard-signed")
    page.keyboard.press("Alt+g")  # signed: print
    expect(page.locator("#pdf-link")).to_be_focused()
    with page.expect_response(re.compile(r"/export\?format=pdf")) as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 200
    assert answer.value.headers["content-type"].startswith("application/pdf")
    print(f"keyboard-only sign-in to print: {time.monotonic() - started:.1f} s")


def test_portrait_tablet_layout(therapist_page: SignedIn, shot: Any) -> None:
    s = therapist_page
    page = s.page
    page.set_viewport_size(PORTRAIT)
    page = _open_exam(s, shot)
    grid, panel = page.locator("#grid").bounding_box(), page.locator("#cell-panel").bounding_box()
    assert panel["y"] >= grid["y"] + grid["height"] - 1  # stacked, not squeezed side by side
    assert page.evaluate("document.documentElement.scrollWidth") <= PORTRAIT["width"]
    shot(page, "exam-portrait")
