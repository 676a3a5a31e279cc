"""Each page costs about what the API call it wraps costs: a capped number of SQL statements per page view
(begin/commit included, as the driver sees them), measured beside its API call in the same run. Like
tests/perf/test_hot_paths.py this is a count, not a timer: a change that adds a query per patient on Today,
or per record on the chart, breaks the cap on purpose.

The pages add a fixed handful to their API call: the browser session (token + user), Today's alerts (consents,
screens, draft notes: three queries for the whole list, whatever its length), and the chart's pictures (the
reference catalogue, cached per process).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.perf.test_hot_paths import capture
from tests.treatments.helpers import record_session
from tests.web.scene import seed_visit, sign_in

pytestmark = pytest.mark.usefixtures("steady_clinic_profile")  # counts, so no random profile revalidation

# page -> (its API call, the most statements the page may run beyond that call's count)
EXTRA = {"today": 10, "chart": 3, "questionnaires": 3, "questionnaire form": 3}


def _count(client: TestClient, app, url: str, headers: dict[str, str] | None = None) -> int:
    client.get(url, headers=headers)  # warm: per-process caches filled
    with capture(app.state.engine) as statements:
        assert client.get(url, headers=headers).status_code == 200, url
    return len(statements)


def test_pages_cost_about_what_their_api_call_costs(browser_client: TestClient, app, staff):
    therapist, desk = staff("therapist"), staff("reception")
    visit = seed_visit(browser_client, therapist, desk, family_name="Costed", anticoagulants=True)
    assert record_session(browser_client, therapist, visit.patient_id, visit.episode["id"]).status_code == 201
    pid = visit.patient_id
    pairs = {"today": ("/app", f"/api/v1/schedule/day?therapist={therapist.id}"),
             "chart": (f"/app/patients/{pid}", f"/api/v1/patients/{pid}/chart"),
             "questionnaires": (f"/app/patients/{pid}/questionnaires", f"/api/v1/patients/{pid}/outcomes"),
             "questionnaire form": (f"/app/patients/{pid}/questionnaires/odi",
                                    f"/api/v1/patients/{pid}/episodes?status=open")}
    api = {name: _count(browser_client, app, url, therapist.headers) for name, (_, url) in pairs.items()}
    sign_in(browser_client, therapist)
    pages = {name: _count(browser_client, app, url) for name, (url, _) in pairs.items()}
    over = {name: (pages[name], api[name], EXTRA[name]) for name in pairs if pages[name] > api[name] + EXTRA[name]}
    assert not over, f"page statements over their API call's + the allowance (page, api, allowance): {over}; " \
                     f"pages {pages}, api {api}"


def test_todays_alerts_cost_the_same_for_one_patient_or_several(browser_client: TestClient, app, staff):
    therapist, desk = staff("therapist"), staff("reception")
    seed_visit(browser_client, therapist, desk, family_name="First")
    sign_in(browser_client, therapist)
    one = _count(browser_client, app, "/app")
    for n in range(3):  # three more patients in care with open episodes (alerts shown on their cards)
        other = staff("therapist")
        visit = seed_visit(browser_client, other, desk, family_name=f"More{'abc'[n]}")
        added = browser_client.post(f"/api/v1/patients/{visit.patient_id}/care-team",
                                    json={"user_id": str(therapist.id)}, headers=desk.headers)
        assert added.status_code in (200, 201), added.text
    page = browser_client.get("/app").text
    assert all(f"More{c}" in page for c in "abc")  # their open episodes (and alerts, if any) are on Today
    assert _count(browser_client, app, "/app") == one
