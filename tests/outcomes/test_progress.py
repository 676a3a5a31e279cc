"""Progress of an episode: session pain, change from baseline, MCID — as data and as a picture."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.treatments.helpers import ready_patient, record_session, six_needles


def test_progress_shows_change_and_mcid(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    base = f"/api/v1/patients/{patient['id']}/outcomes"
    for when, odi, lefs in [("2026-10-01T10:00:00Z", [4] * 10, [2] * 20), ("2026-11-01T10:00:00Z", [3] * 10, [2] * 20),
                            ("2026-11-20T10:00:00Z", [2, 2, 1, 2, 2, 2, 2, None, 2, 2], [2] * 19 + [4])]:
        for instrument, responses in (("odi", odi), ("lefs", lefs)):
            response = client.post(base, headers=therapist.headers, json={
                "instrument": instrument, "responses": responses, "administered_at": when,
                "episode_id": episode["id"]})
            assert response.status_code == 201, response.text
    for pre, post in ((8, 5), (6, 3)):
        assert record_session(client, therapist, patient["id"], episode["id"], pre_pain_nprs=pre,
                              post_pain_nprs=post, needles=six_needles(e_stim=False)).status_code == 201
    progress = client.get(f"/api/v1/episodes/{episode['id']}/progress", headers=therapist.headers)
    assert progress.status_code == 200, progress.text
    body = progress.json()
    assert [(p["pre_pain_nprs"], p["post_pain_nprs"]) for p in body["pain"]] == [(8, 5), (6, 3)]
    by = {i["instrument"]: i for i in body["instruments"]}
    odi = by["odi"]
    assert odi["baseline"] == 80 and odi["latest"] == 37.78 and odi["change"] == 42.22  # lower is better
    assert odi["mcid"] == 10 and odi["mcid_reached"] is True and len(odi["scores"]) == 3
    lefs = by["lefs"]
    assert lefs["baseline"] == 40 and lefs["latest"] == 42 and lefs["change"] == 2  # higher is better
    assert lefs["mcid_reached"] is False

    svg = client.get(f"/api/v1/episodes/{episode['id']}/progress.svg", headers=therapist.headers)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(svg.content)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    titles = [t.text for t in root.iter(f"{ns}title")]
    assert {"pain before needling", "pain after needling", "odi", "lefs"} <= set(titles)
    text = "".join(root.itertext())
    assert "MCID reached" in text and "MCID not reached" in text


def test_a_single_administration_reaches_no_mcid(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    client.post(f"/api/v1/patients/{patient['id']}/outcomes", headers=therapist.headers,
                json={"instrument": "nprs", "responses": [9], "episode_id": episode["id"]})
    body = client.get(f"/api/v1/episodes/{episode['id']}/progress", headers=therapist.headers).json()
    assert body["instruments"][0]["change"] == 0 and body["instruments"][0]["mcid_reached"] is False
    assert client.get(f"/api/v1/episodes/{episode['id']}/progress",
                      headers=staff("reception").headers).status_code == 403
