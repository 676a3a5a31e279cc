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
    for pre, post in ((8, 5), (6, 3), (0, None), (None, 10)):  # the database reads them out of each session's content
        assert record_session(client, therapist, patient["id"], episode["id"], pre_pain_nprs=pre,
                              post_pain_nprs=post, needles=six_needles(e_stim=False)).status_code == 201
    progress = client.get(f"/api/v1/episodes/{episode['id']}/progress", headers=therapist.headers)
    assert progress.status_code == 200, progress.text
    body = progress.json()
    assert [(p["pre_pain_nprs"], p["post_pain_nprs"]) for p in body["pain"]] == [(8, 5), (6, 3), (0, None),
                                                                                  (None, 10)]
    chart = client.get(f"/api/v1/patients/{patient['id']}/chart", headers=therapist.headers).json()
    assert chart["progress"][0]["pain"] == body["pain"]
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


def test_progress_picture_is_dated_spaced_by_time_and_says_how_the_patient_changed(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    base = f"/api/v1/patients/{patient['id']}/outcomes"
    # Pain 6 -> 2: one day, then thirteen days later.
    for when, score in (("2026-11-10T15:00:00Z", 6), ("2026-11-11T15:00:00Z", 4), ("2026-11-24T15:00:00Z", 2)):
        assert client.post(base, headers=therapist.headers, json={
            "instrument": "nprs", "responses": [score], "administered_at": when,
            "episode_id": episode["id"]}).status_code == 201
    body = client.get(f"/api/v1/episodes/{episode['id']}/progress", headers=therapist.headers).json()
    nprs = body["instruments"][0]
    assert nprs["improvement"] == 4 and nprs["change"] == 4  # `change` stays, deprecated, same meaning
    svg = client.get(f"/api/v1/episodes/{episode['id']}/progress.svg", headers=therapist.headers)
    root = ET.fromstring(svg.content)
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text or "" for t in root.iter(f"{ns}text")]
    joined = " ".join(texts)
    assert "Numeric Pain Rating Scale: improved by 4 points (baseline 6, latest 2)" in joined
    assert "change +4" not in joined
    assert "LINDQVIST, Margaret" in root.find(f"{ns}title").text
    # A dated axis in the clinic's zone, not 0, 0.5, 1 ...
    assert "2026-11-10" in texts and "2026-11-24" in texts and "date (clinic time, America/Toronto)" in texts
    # Spaced by real time: the gap of 13 days is 13 times the gap of one day.
    points = [float(c.get("cx")) for c in root.iter(f"{ns}circle")
              if (c.find(f"{ns}title") is not None and c.find(f"{ns}title").text.startswith("nprs"))]
    assert len(points) == 3
    assert abs((points[2] - points[1]) / (points[1] - points[0]) - 13) < 0.05
    # The MCID band: baseline 6 down to the threshold 4 (lower is better).
    band = [r for r in root.iter(f"{ns}rect") if r.get("class") == "mcid-band"]
    assert len(band) == 1 and band[0].find(f"{ns}title").text == "MCID band: 6 to 4"


def test_openapi_documents_change_as_deprecated_and_improvement_as_its_replacement(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["InstrumentProgress"]
    assert schema["properties"]["change"].get("deprecated") is True
    assert "improvement" in schema["required"] and "positive = improved" in schema["properties"]["improvement"][
        "description"]
    assert "use `improvement`" in schema["properties"]["change"]["description"]
