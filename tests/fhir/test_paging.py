"""FHIR search pages are keyset pages: following `next` links while records are added never skips or repeats one.

Patient and Practitioner searches page in SQL with the REST API's cursor (`app.kit.pagination`); clinical
resources are paged within their compartments on the same (sort key, id) keyset. Each `next` link carries the
cursor in `_page`; a position number would shift when a record is inserted before it.
"""

from __future__ import annotations

from itertools import count

from tests.factories import make_patient
from tests.fhir.test_fhir import seeded  # noqa: F401  (fixture)


def _walk(client, member, url, between=None):
    """Every match of every page, calling `between(page_number)` after each page."""
    seen, pages = [], count(1)
    while url:
        response = client.get(url.replace("http://testserver", ""), headers=member.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [e["resource"]["id"] for e in body.get("entry", []) if e["search"]["mode"] == "match"]
        url = next((link["url"] for link in body["link"] if link["relation"] == "next"), None)
        if url:
            assert "_page=" in url
            if between:
                between(next(pages))
    return seen


def test_patient_pages_neither_skip_nor_repeat_while_patients_are_added(client, staff):
    therapist = staff("therapist")
    born = [f"19{year}-06-15" for year in range(50, 98, 6)]  # eight patients, one every six years
    people = [make_patient(client, therapist, family_name="Keyset", birth_date=b) for b in born]
    added = []

    def add(page: int) -> None:  # born between the ones already listed and the ones still to come
        added.append(make_patient(client, therapist, family_name="Keyset", birth_date=f"19{50 + 6 * page}-01-01"))

    seen = _walk(client, therapist, "/fhir/Patient?family=Keyset&_sort=-birthdate&_count=3", add)
    assert len(seen) == len(set(seen)), "a patient was listed twice"
    assert {p["id"] for p in people} <= set(seen), "a patient that was there all along was skipped"
    newest_first = sorted([*people, *[a for a in added if a["id"] in seen]], key=lambda p: p["birth_date"],
                          reverse=True)
    assert seen == [p["id"] for p in newest_first]


def test_clinical_pages_neither_skip_nor_repeat_while_results_are_added(client, seeded):  # noqa: F811
    therapist, patient, episode, _, _ = seeded
    url = f"/fhir/Observation?patient={patient['id']}&_sort=date&_count=4"
    everything = _walk(client, therapist, url)
    assert len(everything) > 8  # several pages

    def administer(page: int) -> None:
        response = client.post(f"/api/v1/patients/{patient['id']}/outcomes", headers=therapist.headers,
                               json={"instrument": "odi", "responses": [2] * 10, "episode_id": episode["id"]})
        assert response.status_code == 201, response.text

    seen = _walk(client, therapist, url, administer)
    assert len(seen) == len(set(seen)), "an observation was listed twice"
    assert set(everything) <= set(seen), "an observation that was there all along was skipped"
    assert seen[:len(everything)] == everything  # new results are later: they come after, in date order


def test_a_forged_page_cursor_is_a_400_outcome_not_a_500(client, staff):
    therapist = staff("therapist")
    make_patient(client, therapist)
    for url in ("/fhir/Patient?_page=bm90LWEtY3Vyc29y", "/fhir/Observation?patient=x&_page=%%%"):
        response = client.get(url, headers=therapist.headers)
        assert 400 <= response.status_code < 500, response.text
        assert response.json()["resourceType"] == "OperationOutcome"
