"""Reading one FHIR resource reads only the rows it is made of, and returns exactly what $everything shows."""

from __future__ import annotations

from tests.chart.test_chart import counting
from tests.fhir.test_fhir import seeded  # noqa: F401
from tests.fhir.test_visits import assess, everything, treat
from tests.treatments.helpers import record_session

# Statements for GET /fhir/Procedure/<id>, as measured on PostgreSQL (SQLite: 9): the token, the care-team check,
# the owner lookup, the patient, the visit's rows (assessment, treatments, episode), then the audit chain and row.
# Loading the whole compartment took 15 and grew with the chart.
READ_CAP = 11


def test_every_resource_reads_back_as_everything_shows_it(client, staff, seeded):  # noqa: F811
    therapist, patient, episode, _, _ = seeded
    visit = assess(client, therapist, patient, episode)
    treat(client, therapist, patient, episode, visit)  # a visit: the assessment's Encounter holds the treatment
    resources = everything(client, therapist, patient)
    assert {r["resourceType"] for r in resources} >= {"Patient", "Practitioner", "Condition", "Encounter",
                                                     "Observation", "Procedure", "Consent", "Provenance"}
    for resource in resources:
        response = client.get(f"/fhir/{resource['resourceType']}/{resource['id']}", headers=therapist.headers)
        assert response.status_code == 200, (resource["resourceType"], resource["id"], response.text)
        assert response.json() == resource


def test_reading_one_resource_does_not_read_the_whole_chart(app, client, staff, seeded, steady_clinic_profile):  # noqa: F811
    therapist, patient, episode, _, t = seeded
    url = f"/fhir/Procedure/{t['id']}"

    def statements() -> int:
        client.get(url, headers=therapist.headers)  # warm: per-process caches (the catalogue) filled
        with counting(app.state.engine) as seen:
            assert client.get(url, headers=therapist.headers).status_code == 200
        return len(seen)

    before = statements()
    for _ in range(3):  # a longer chart: more visits, sessions and outcomes
        visit = assess(client, therapist, patient, episode)
        treat(client, therapist, patient, episode, visit)
        assert record_session(client, therapist, patient["id"], episode["id"]).status_code == 201
    assert statements() == before <= READ_CAP
