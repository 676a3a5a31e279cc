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


def _svg_cells(client, member, assessment_id: str) -> tuple[ET.Element, dict[str, float]]:
    response = client.get(f"/api/v1/assessments/{assessment_id}/segmental-map.svg", headers=member.headers)
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)
    cells = {r.find(f"{SVG}title").text.removesuffix(" - none"): float(r.get("fill-opacity"))
             for r in root.iter(f"{SVG}rect") if "finding" in (r.get("class") or "").split()}
    return root, cells


def test_every_finding_kind_is_visible_on_the_map_with_a_legend(client, staff):
    therapist = staff("therapist")
    findings = [{"level": "L4", "side": "right", "paraspinal_shortening": True},
                {"level": "T6", "side": "left", "paraspinal_tenderness": True}]
    _, _, a = chart_visit(client, therapist, findings=findings, impression=[])
    root, cells = _svg_cells(client, therapist, a["id"])
    labels = {t.text for t in root.iter(f"{SVG}text")}
    kinds = ("Shortened muscle", "Tender points", "Skin changes", "Paraspinal shortening", "Paraspinal tenderness")
    assert set(kinds) <= labels  # the legend names every kind
    legend = {r.get("class").split()[1]: r.get("fill") for r in root.iter(f"{SVG}rect")
              if (r.get("class") or "").startswith("legend")}
    assert len(legend) == 5 and len(set(legend.values())) == 5  # each kind its own colour
    for level, side in (("L4", "right"), ("T6", "left")):
        for kind in kinds:  # a cell for every kind on every level and side
            assert f"{level} {side}: {kind}" in cells
    assert cells["L4 right: Paraspinal shortening"] > 0  # a paraspinal-only level is not blank
    assert cells["T6 left: Paraspinal tenderness"] > 0
    assert cells["L4 right: Paraspinal tenderness"] == 0 and cells["L4 left: Paraspinal shortening"] == 0
    shaded = {k for k, v in cells.items() if v > 0}
    assert shaded == {"L4 right: Paraspinal shortening", "T6 left: Paraspinal tenderness"}


def test_severity_zero_means_examined_and_not_present(client, staff):
    therapist = staff("therapist")
    findings = [
        {"level": "L5", "side": "left",
         "muscle_shortening": [{"muscle": "tibialis_anterior", "severity": 0},
                               {"muscle": "gluteus_medius", "severity": 1}],
         "tender_points": [{"muscle": "gluteus_medius", "severity": 0, "motor_point": True}]},
        {"level": "S1", "side": "left", "muscle_shortening": [{"muscle": "gastrocnemius", "severity": 0}],
         "tender_points": [{"muscle": "gastrocnemius", "severity": 0}]},
    ]
    _, _, a = chart_visit(client, therapist, findings=findings, impression=[{"level": "L5", "side": "left"}])
    summary = client.get(f"/api/v1/assessments/{a['id']}/segmental-summary", headers=therapist.headers).json()
    rows = {(r["level"], r["side"]): r for r in summary["levels"]}
    assert set(rows) == {("L5", "left")}  # S1 was examined and found clear: not a level with signs
    l5 = rows[("L5", "left")]
    assert l5["muscle_shortening"] == {"count": 1, "max_severity": 1}
    assert l5["tender_points"] == {"count": 0, "max_severity": None}
    assert l5["motor_points"] == 0
    assert "tibialis_anterior" not in {t["muscle"] for t in summary["suggested_targets"]}
    _, cells = _svg_cells(client, therapist, a["id"])
    assert cells["L5 left: Tender points"] == 0
    assert cells["S1 left: Shortened muscle"] == 0 and cells["S1 left: Tender points"] == 0
    assert 0 < cells["L5 left: Shortened muscle"] < 1  # severity 1, not the 0 beside it


def test_summary_suggests_only_the_involved_segments_targets(client, staff):
    therapist = staff("therapist")
    _, _, a = chart_visit(client, therapist, impression=[{"level": "L5", "side": "left"}])
    summary = client.get(f"/api/v1/assessments/{a['id']}/segmental-summary", headers=therapist.headers).json()
    targets = {(t["muscle"], t["side"]) for t in summary["suggested_targets"]}
    assert {("gluteus_medius", "left"), ("tibialis_anterior", "left"), ("multifidus_l5", "left"),
            ("multifidus_s1", "left")} <= targets
    muscles = {m for m, _ in targets}
    assert "multifidus_l4" not in muscles  # L4's paraspinal is not treated with L5
    assert "multifidus_s2" not in muscles and "multifidus_l3" not in muscles
    assert "gastrocnemius" not in muscles  # shortened at S1, which is not in this impression
    assert not any(side == "right" for _, side in targets)
    assert {t["level"] for t in summary["suggested_targets"]} == {"L5"}


def test_segmental_map_names_the_patient_the_date_and_every_column(client, staff):
    therapist = staff("therapist")
    patient, _, a = chart_visit(client, therapist, assessed_at="2026-11-10T15:00:00Z")
    root, _ = _svg_cells(client, therapist, a["id"])
    texts = [t.text or "".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert f"LINDQVIST, Margaret - chart {patient['chart_number']} - born 1961-04-17" in texts
    assert "Assessed 2026-11-10 10:00 EST (draft)" in texts  # clinic-local, labelled
    heads = [t for t in root.iter(f"{SVG}text") if (t.get("class") or "").startswith("column-head")]
    assert len(heads) == 10  # five finding columns on each side, each labelled
    assert {h.find(f"{SVG}title").text for h in heads} == {"Shortened muscle", "Tender points", "Skin changes",
                                                          "Paraspinal shortening", "Paraspinal tenderness"}


def test_pdf_and_svg_maps_are_one_drawing():
    """Both outputs render the same Drawing: every string in it is in the SVG, in order."""
    from reportlab.graphics.shapes import String

    from app.assessments.schemas import AssessmentContent
    from app.assessments.summary import summarise
    from app.assessments.svg import Caption, drawing, render
    from app.reference.catalog import Catalog, Level

    cat = Catalog(levels=[Level(code, i + 1, "lumbar", None, ()) for i, code in enumerate(("L4", "L5", "S1"))],
                  muscles={}, conditions={})
    content = AssessmentContent.model_validate({"assessed_at": "2026-11-10T15:00:00Z", "findings": [
        {"level": "L5", "side": "left", "paraspinal_tenderness": True}],
        "impression": [{"level": "L5", "side": "left"}]})
    caption = Caption("DOE, Jane - chart 1 - born 1970-01-01", "2026-11-10 10:00 EST", "signed")
    summary = summarise(cat, content, "a1")
    strings = [s.text for s in drawing(cat, summary, caption).contents if isinstance(s, String)]
    root = ET.fromstring(render(cat, summary, caption))
    assert ["".join(t.itertext()).replace(t.find(f"{SVG}title").text if t.find(f"{SVG}title") is not None else "",
                                          "", 1) for t in root.iter(f"{SVG}text")] == strings


def test_suggested_thoracic_targets_are_marked(client, staff):
    """Issue 16: a target over the pleura carries `thoracic`, decided by the muscle's site."""
    therapist = staff("therapist")
    findings = [{"level": "T6", "side": "right", "muscle_shortening": [{"muscle": "latissimus_dorsi"}]},
                {"level": "L5", "side": "right", "muscle_shortening": [{"muscle": "gluteus_medius"}]}]
    _, _, a = chart_visit(client, therapist, findings=findings,
                          impression=[{"level": "T6", "side": "right"}, {"level": "L5", "side": "right"}])
    summary = client.get(f"/api/v1/assessments/{a['id']}/segmental-summary", headers=therapist.headers).json()
    thoracic = {t["muscle"]: t["thoracic"] for t in summary["suggested_targets"]}
    assert thoracic["latissimus_dorsi"] is True and thoracic["multifidus_t6"] is True
    assert thoracic["gluteus_medius"] is False and thoracic["multifidus_l5"] is False
