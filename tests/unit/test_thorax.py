"""Pneumothorax rules, without a database: site decides, depth is judged, both sides flagged, consent named."""

from __future__ import annotations

import pytest

from app.assessments.schemas import AssessmentContent
from app.assessments.summary import summarise
from app.reference.catalog import over_pleura
from app.treatments import thorax
from tests.unit.anatomy import CAT, NOW, content, ims_consent, needle


@pytest.mark.parametrize(("code", "level", "expected"), [
    ("latissimus_dorsi", "C7", True), ("rhomboid_major", "C5", True), ("pectoralis_major", "C6", True),
    ("upper_trapezius", "C3", True), ("multifidus_t5", "T5", True), ("quadratus_lumborum", "L1", True),
    ("quadratus_lumborum", "T12", True), ("quadratus_lumborum", "L2", False), ("deltoid", "C5", False),
    ("multifidus_l5", "L5", False), ("tibialis_anterior", "L5", False),
])
def test_the_site_not_the_root_decides(code, level, expected):
    assert over_pleura(CAT.muscles[code], level) is expected


def test_each_thoracic_needle_is_judged_against_the_safe_depth_rule():
    session = content(needle("rhomboid_major", "C5", depth_mm=12, length_mm=25),
                      needle("latissimus_dorsi", "C7", depth_mm=None), needle("deltoid", "C5"),
                      needle("lower_trapezius", "T6", length_mm=50, depth_mm=30))
    warnings = {w.field: w.message for w in thorax.warnings(CAT, session)}
    assert set(warnings) == {"needles[0]", "needles[1]", "needles[3]"}
    assert "within the 19 mm safe-depth rule" in warnings["needles[0]"]
    assert "depth not recorded" in warnings["needles[1]"] and "record the depth" in warnings["needles[1]"]
    assert "deeper than the 19 mm" in warnings["needles[3]"] and "longer than 30 mm" in warnings["needles[3]"]
    assert "needle length 50 mm, depth 30 mm" in warnings["needles[3]"]


def test_both_sides_of_the_thorax_in_one_session_are_flagged():
    same_side = content(needle("rhomboid_major", "C5"), needle("multifidus_t5", "T5"))
    both = content(needle("rhomboid_major", "C5"), needle("multifidus_t5", "T5", side="right"))
    lumbar = content(needle("multifidus_l5", "L5"), needle("multifidus_l5", "L5", side="right"))
    assert not [w for w in thorax.warnings(CAT, same_side) if w.field == "needles"]
    assert [w.field for w in thorax.warnings(CAT, both) if "bilateral" in w.message] == ["needles"]
    assert not [w for w in thorax.warnings(CAT, lumbar) if "bilateral" in w.message]


def test_signing_needs_pneumothorax_among_the_risks_discussed_only_for_thoracic_sessions():
    thoracic, lumbar = content(needle("pectoralis_major", "C6")), content(needle("multifidus_l5", "L5"))
    problem = thorax.consent_problem(CAT, thoracic, [ims_consent("bleeding_bruising")], NOW)
    assert problem is not None and problem.field == "consent.risks_discussed" and "pneumothorax" in problem.message
    assert thorax.consent_problem(CAT, thoracic, [ims_consent("pneumothorax")], NOW) is None
    assert thorax.consent_problem(CAT, thoracic, [], NOW) is not None
    assert thorax.consent_problem(CAT, lumbar, [ims_consent()], NOW) is None


def test_the_segmental_summary_marks_thoracic_targets():
    exam = AssessmentContent.model_validate({
        "assessed_at": NOW, "impression": [{"level": "T5", "side": "left"}, {"level": "L5", "side": "left"}],
        "findings": [{"level": "T5", "side": "left", "muscle_shortening": [{"muscle": "rhomboid_major"}]},
                     {"level": "L5", "side": "left", "muscle_shortening": [{"muscle": "tibialis_anterior"}]}]})
    targets = {t.muscle: t.thoracic for t in summarise(CAT, exam, "a1").suggested_targets}
    assert targets == {"rhomboid_major": True, "multifidus_t5": True, "tibialis_anterior": False,
                       "multifidus_l5": False}
