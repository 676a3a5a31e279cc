"""The segmental summary and map: involved levels and what to needle, at a glance."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.assessments.helpers import chart_visit

SVG = "{http://www.w3.org/2000/svg}"


def test_summary_names_the_involved_levels_and_targets(client, staff):
    therapist = staff("therapist")
    _, _, a = chart_visit(client, therapist)
    response = client.get(f"/api/v1/assessments/{a['id']}/segmental-summary", headers=therapist.headers)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["involved"] == [{"level": "L5", "side": "left"}, {"level": "S1", "side": "left"}]
    rows = {(r["level"], r["side"]): r for r in summary["levels"]}
    assert set(rows) == {("L5", "left"), ("S1", "left")}
    l5 = rows[("L5", "left")]
    assert l5["muscle_shortening"] == {"count": 3, "max_severity": 3}
    assert l5["tender_points"] == {"count": 1, "max_severity": 3}
    assert l5["motor_points"] == 1
    assert l5["skin_changes"] == ["dermatomal_hyperalgesia", "trophedema"]
    assert l5["skin_changes_present"] is True and l5["paraspinal_tenderness"] is True
    assert l5["in_impression"] is True
    assert rows[("S1", "left")]["skin_changes_present"] is False
    targets = {(t["muscle"], t["level"], t["reason"]) for t in summary["suggested_targets"]}
    assert ("gluteus_medius", "L5", "shortened") in targets
    assert ("tibialis_anterior", "L5", "shortened") in targets
    assert ("gastrocnemius", "S1", "shortened") in targets
    muscles = {t["muscle"] for t in summary["suggested_targets"]}
    assert {"multifidus_l5", "multifidus_s1"} <= muscles  # paraspinals at the involved segments
    assert all(t["side"] == "left" for t in summary["suggested_targets"])
    assert len(muscles) == len(summary["suggested_targets"])  # each muscle suggested once per side


def test_bilateral_finding_counts_on_both_sides(client, staff):
    therapist = staff("therapist")
    ecrb = {"muscle": "extensor_carpi_radialis_brevis"}
    findings = [{"level": "C6", "side": "bilateral", "muscle_shortening": [ecrb]}]
    _, _, a = chart_visit(client, therapist, findings=findings, impression=[{"level": "C6", "side": "right"}])
    summary = client.get(f"/api/v1/assessments/{a['id']}/segmental-summary", headers=therapist.headers).json()
    rows = {(r["level"], r["side"]): r for r in summary["levels"]}
    assert rows[("C6", "left")]["muscle_shortening"]["count"] == 1
    assert rows[("C6", "right")]["in_impression"] is True and rows[("C6", "left")]["in_impression"] is False
    assert {t["side"] for t in summary["suggested_targets"]} == {"right"}
    assert "extensor_carpi_radialis_brevis" in {t["muscle"] for t in summary["suggested_targets"]}


def test_segmental_map_is_a_valid_standalone_svg(client, staff):
    therapist = staff("therapist")
    _, _, a = chart_visit(client, therapist)
    response = client.get(f"/api/v1/assessments/{a['id']}/segmental-map.svg", headers=therapist.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{SVG}svg"
    labels = [t.text for t in root.iter(f"{SVG}text")]
    for level in ("C1", "C8", "T12", "L5", "S1", "S5"):
        assert level in labels
    assert labels.index("C1") < labels.index("L5") < labels.index("S5")  # top to bottom
    involved = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "involved"]
    assert {r.find(f"{SVG}title").text for r in involved} == {"L5 left: involved", "S1 left: involved"}
    shaded = [r.find(f"{SVG}title").text for r in root.iter(f"{SVG}rect")
              if r.get("fill-opacity") not in (None, "0.00")]
    assert "L5 left: Skin changes" in shaded
    assert "L5 right: Skin changes - none" not in shaded
