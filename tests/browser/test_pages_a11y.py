"""Every page (the visit's exam and needling pages too), in Chromium: axe-core finds no serious or critical
violation, the page's HTML + JS + CSS stay
under the weight budget (README "Charting pages"), and it fits a 10" tablet in landscape (1280x800) and
portrait (800x1280) with no horizontal scroll. Screenshots of each page in both orientations are kept.

The walk runs on SQLite only (the default install): a page's markup, weight and layout come from the templates
and the data, not from the engine the data sits in. PostgreSQL's side of the same pages (their queries and
the API calls they make) is walked by tests/web and the other browser tests, which run on both engines.

axe-core comes from npm, pinned in .ci/axe (`npm ci` there; .ci/run does it), and is evaluated in the page
from node_modules: nothing is fetched at run time. To cover a new page, add its URL to `pages()`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.assessments.helpers import assessment_body
from tests.browser.conftest import LANDSCAPE, PORTRAIT, SignedIn
from tests.treatments.helpers import record_session

AXE = Path(__file__).resolve().parents[2] / ".ci" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WEIGHT_BUDGET = 100_000  # bytes of HTML + JS + CSS per page, uncompressed (README "Charting pages")
# The chart inlines its pictures: the segmental map is most of its weight (a titled cell per level, side and
# finding kind), and each open episode adds a progress chart.
BUDGETS = {"chart": 160_000}
SERIOUS = ("serious", "critical")


def _need_axe() -> None:
    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: (cd .ci/axe && npm ci --no-audit --no-fund)")


def pages(s: SignedIn, made: dict[str, str] | None = None) -> dict[str, str]:
    """Every page of a therapist's visit, by name: Today, the chart, the questionnaires, and with `made` (from
    `_enrich`) the Gunn exam new / draft / signed and the needling log new / draft / signed."""
    pid = s.visit.patient_id
    urls = {"today": "/app", "chart": f"/app/patients/{pid}", "questionnaires": f"/app/patients/{pid}/questionnaires",
            "odi": f"/app/patients/{pid}/questionnaires/odi", "visa-a": f"/app/patients/{pid}/questionnaires/visa_a",
            "psfs": f"/app/patients/{pid}/questionnaires/psfs", "not-found": "/app/patients/not-a-uuid"}
    if made:
        urls.update({
            "exam-new": f"/app/episodes/{s.visit.episode['id']}/exam",
            "exam-draft": f"/app/assessments/{made['exam_draft']}",
            "exam-signed": f"/app/assessments/{made['exam_signed']}",
            "needling-new": f"/app/assessments/{made['exam_signed']}/needling",
            "needling-draft": f"/app/treatments/{made['treatment_draft']}",
            "needling-signed": f"/app/treatments/{made['treatment_signed']}",
        })
    return urls


def _enrich(s: SignedIn) -> dict[str, str]:
    """A signed-in chart with something to draw — assessments (the segmental map) and treatments (progress) —
    each as a draft and signed, for the visit pages that show them; returns their ids."""
    api, member, pid, eid = s.live.api, s.member, s.visit.patient_id, s.visit.episode["id"]
    made: dict[str, str] = {}
    for kind, post in (("exam", lambda: api.post(f"/api/v1/patients/{pid}/assessments",
                                                  json=assessment_body(eid), headers=member.headers)),
                       ("treatment", lambda **more: record_session(api, member, pid, eid, **more))):  # type: ignore[arg-type]
        for state in ("draft", "signed"):
            answer = post(needles_removed=6) if kind == "treatment" and state == "signed" else post()
            assert answer.status_code == 201, answer.text
            made[f"{kind}_{state}"] = answer.json()["id"]
        path = "assessments" if kind == "exam" else "treatments"
        signed = api.post(f"/api/v1/{path}/{made[f'{kind}_signed']}/sign", headers=member.headers)
        assert signed.status_code == 200, signed.text
    return made


def _axe(page: Any) -> list[dict[str, Any]]:
    # The pages' CSP (script-src 'self') refuses an injected <script> tag, rightly; evaluating the file over the
    # DevTools protocol is not subject to it, so the page under test keeps its real policy.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
            for v in found if v["impact"] in SERIOUS]


def _weight(page: Any, path: str) -> int:
    """The page's HTML plus every script and stylesheet it loads, as the server sends them."""
    sizes = [len(page.request.get(path).body())]
    for url in page.evaluate("""() => [...document.querySelectorAll('script[src], link[rel=stylesheet]')]
                                      .map(e => e.src || e.href)"""):
        sizes.append(len(page.request.get(url).body()))
    return sum(sizes)


def _no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def _walk(page: Any, urls: dict[str, str], shot: Callable[[Any, str], Path], who: str) -> dict[str, Any]:
    problems: dict[str, Any] = {}
    for name, path in urls.items():
        # One load per orientation: the landscape one is photographed and measured before axe runs in it.
        for size, label in ((LANDSCAPE, "landscape"), (PORTRAIT, "portrait")):
            page.set_viewport_size(size)
            page.goto(path)
            shot(page, f"{who}-{name}-{label}")
            if not _no_horizontal_scroll(page):
                problems[f"{name}: {label} scrolls sideways"] = True
            if size is LANDSCAPE:
                violations = _axe(page)
                if violations:
                    problems[f"{name}: axe"] = violations
                    print(f"axe {who}/{name}: {violations}")
                weight, budget = _weight(page, path), BUDGETS.get(name, WEIGHT_BUDGET)
                print(f"weight {who}/{name}: {weight} bytes (budget {budget})")  # shown with pytest -s
                if weight > budget:
                    problems[f"{name}: weight"] = weight
    return problems


@pytest.fixture
def walked_once(engine_kind: str) -> None:
    """First among a walk's fixtures, so the other engine skips before its visit is seeded and signed in."""
    if engine_kind != "sqlite":
        pytest.skip("the pages' markup does not depend on the engine: walked once, on SQLite")
    _need_axe()


def test_every_therapist_page_is_accessible_light_and_fits_a_tablet(walked_once, therapist_page: SignedIn, shot):
    made = _enrich(therapist_page)
    page = therapist_page.page
    assert _walk(page, pages(therapist_page, made), shot, "therapist") == {}


def test_sign_in_and_the_front_desk_pages_are_accessible_and_fit(walked_once, reception_page: SignedIn, shot, chromium,
                                                               live):
    page = reception_page.page
    urls = {"today": "/app", "chart": f"/app/patients/{reception_page.visit.patient_id}"}
    assert _walk(page, urls, shot, "reception") == {}
    context = chromium.new_context(base_url=live.base_url, viewport=LANDSCAPE)  # signed out: the sign-in form
    try:
        assert _walk(context.new_page(), {"login": "/app/login"}, shot, "anonymous") == {}
    finally:
        context.close()

