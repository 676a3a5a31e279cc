"""Pure rules of the Gunn exam detail: segment -> roots, DN4 scoring, what an amendment changed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.assessments.gunn_exam import DN4, DN4_ITEMS, SEGMENTS, NeuroLevel, roots_for_segment
from app.assessments.schemas import AssessmentContent
from app.kit.clinical_record import changed_paths


@pytest.mark.parametrize(("segment", "roots"), [
    ("C1-C2", ("C2",)), ("C4-C5", ("C5",)), ("C5-C6", ("C6",)), ("C6-C7", ("C7",)), ("C7-T1", ("C8",)),
    ("T1-T2", ("T1",)), ("T12-L1", ("T12",)), ("L3-L4", ("L3", "L4")), ("L4-L5", ("L4", "L5")),
    ("L5-S1", ("L5", "S1")),
])
def test_a_segment_involves_its_exiting_root_and_in_the_lumbar_spine_the_traversing_one(segment, roots):
    assert segment in SEGMENTS and roots_for_segment(segment) == roots


def test_segments_are_adjacent_vertebrae_only():
    assert len(SEGMENTS) == 24 and "L4-L6" not in SEGMENTS and "C7-T1" in SEGMENTS and SEGMENTS[-1] == "L5-S1"


def _dn4(yes: int) -> DN4:
    return DN4.model_validate({name: i < yes for i, name in enumerate(DN4_ITEMS)})


@pytest.mark.parametrize(("yes", "positive"), [(0, False), (3, False), (4, True), (10, True)])
def test_dn4_is_positive_at_4_of_10(yes, positive):
    screen = _dn4(yes)
    assert (screen.score, screen.positive) == (yes, positive)


def test_dn4_has_ten_items_and_refuses_a_client_total():
    assert len(DN4_ITEMS) == 10
    with pytest.raises(ValidationError):
        DN4.model_validate({name: False for name in DN4_ITEMS[:9]})
    with pytest.raises(ValidationError):
        DN4.model_validate({**{name: False for name in DN4_ITEMS}, "score": 2})
    stored = _dn4(5).model_dump()  # a stored, signed screen re-validates to the same score
    assert DN4.model_validate(stored).score == 5


def test_neuro_deficits_name_what_is_abnormal():
    level = NeuroLevel(level="C7", side="right", reflex="reduced", strength_mrc=4, light_touch="normal",
                       pin_prick="absent")
    assert level.deficits() == ["reflex reduced", "strength 4/5", "pin prick absent"]
    assert NeuroLevel(level="C7", side="right", reflex="normal", strength_mrc=5).deficits() == []


def test_content_stored_before_the_exam_detail_still_validates():
    old = {"assessed_at": "2026-11-01T10:00:00+00:00", "subjective": {}, "imaging_notes": None, "findings": [],
           "impression": [], "plan": None}
    content = AssessmentContent.model_validate(old)
    assert content.neuro_screen == [] and content.neuropathic_screen is None


def test_changed_paths_report_leaves_and_ignore_fields_added_later():
    before = {"plan": "a", "findings": [{"level": "L5", "severity": 1}], "impression": []}
    after = {"plan": "b", "findings": [{"level": "L5", "severity": 2}], "impression": [], "neuro_screen": [],
             "neuropathic_screen": None}
    assert changed_paths(before, after) == ["findings[0].severity", "plan"]
    assert changed_paths(before, {**after, "findings": []}) == ["findings", "plan"]
    assert changed_paths(before, before) == []
