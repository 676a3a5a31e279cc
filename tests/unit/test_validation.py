"""An assessment checked against the reference anatomy, without a database: each 422 names the exact field,
anatomical surprises are warnings (the therapist may know better than the table)."""

from __future__ import annotations

from typing import Any

import pytest

from app.assessments.exam_validation import check_exam
from app.assessments.schemas import AssessmentContent, Segment
from app.assessments.validation import check_content
from app.kit.errors import Unprocessable
from tests.unit.anatomy import NOW, ROOTED


def exam(**fields: Any) -> AssessmentContent:
    return AssessmentContent.model_validate({"assessed_at": NOW, **fields})


def finding(level: str, side: str = "left", *shortened: str, tender: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"level": level, "side": side, "muscle_shortening": [{"muscle": m} for m in shortened],
            "tender_points": [{"muscle": m} for m in tender]}


def errors_of(content: AssessmentContent, prefix: str = "") -> list[tuple[str, str]]:
    with pytest.raises(Unprocessable) as caught:
        check_content(ROOTED, content, prefix)
    errors = caught.value.errors or []
    assert str(caught.value).startswith(f"{errors[0].field}: ")  # the detail leads with the first field
    return [(e.field, e.message) for e in errors]


def test_a_consistent_exam_passes_without_warnings():
    content = exam(findings=[finding("L5", "left", "tibialis_anterior", tender=("gluteus_medius",))],
                   impression=[{"level": "L5", "side": "left"}])
    assert check_content(ROOTED, content) == []


def test_level_codes_are_normalised_before_they_are_checked():
    content = exam(findings=[finding(" l5 ", "left", "Tibialis_Anterior")],
                   impression=[{"level": "l5", "side": "left"}])
    assert check_content(ROOTED, content) == []


@pytest.mark.parametrize(("level", "known"), [("C1", True), ("S5", True), ("C9", False), ("T13", False),
                                              ("L6", False), ("S6", False)])
def test_levels_run_c1_to_s5(level, known):
    content = exam(findings=[finding(level)])
    if known:
        assert check_content(ROOTED, content) == []
    else:
        assert errors_of(content) == [("findings[0].level", f"unknown level {level!r}; use C1-S5")]


def test_an_unknown_muscle_is_a_422_on_its_entry():
    content = exam(findings=[finding("L5", "left", "tibialis_anterior", "tibialis_posterior")])
    assert errors_of(content) == [("findings[0].muscle_shortening[1].muscle",
                                   "unknown muscle code 'tibialis_posterior'; see /api/v1/reference/muscles")]


def test_a_muscle_listed_twice_in_one_list_is_a_422_but_once_in_each_list_is_fine():
    twice = exam(findings=[finding("L5", "left", "tibialis_anterior", "tibialis_anterior")])
    assert errors_of(twice) == [("findings[0].muscle_shortening[1].muscle",
                                 "'tibialis_anterior' is already listed at muscle_shortening[0]; one entry per muscle")]
    both = exam(findings=[finding("L5", "left", "tibialis_anterior", tender=("tibialis_anterior",))])
    assert check_content(ROOTED, both) == []


def test_a_muscle_outside_its_roots_is_a_warning_citing_the_reference_roots():
    content = exam(findings=[finding("C5", "left", "deltoid", "tibialis_anterior", "masseter")])
    warnings = {w.field: w.message for w in check_content(ROOTED, content)}
    assert warnings == {
        "findings[0].muscle_shortening[1].muscle":
            "Tibialis anterior is not usually supplied by C5 (reference roots: L4, L5, S1)",
        "findings[0].muscle_shortening[2].muscle":
            "Masseter is not usually supplied by C5 (reference roots: cranial nerve V)"}


def test_a_cranial_nerve_muscle_belongs_to_the_levels_it_is_examined_with():
    assert check_content(ROOTED, exam(findings=[finding("C2", "left", "masseter")])) == []


def test_no_supply_warning_at_an_unknown_level_only_the_error():
    content = exam(findings=[finding("L9", "left", "deltoid")])
    assert [f for f, _ in errors_of(content)] == ["findings[0].level"]


@pytest.mark.parametrize(("sides", "message"), [
    (("left", "left"), "duplicate entry for L5 left (already at findings[0]); merge them"),
    (("bilateral", "right"), "L5 right overlaps the L5 bilateral entry at findings[0]; record each side once "
                             "(one bilateral entry, or one left and one right)"),
    (("left", "bilateral"), "L5 bilateral overlaps the L5 left entry at findings[0]; record each side once "
                            "(one bilateral entry, or one left and one right)"),
])
def test_one_entry_per_level_and_side(sides, message):
    content = exam(findings=[finding("L5", sides[0]), finding("L5", sides[1])])
    assert errors_of(content) == [("findings[1].side", message)]


def test_left_and_right_at_one_level_or_one_side_at_two_levels_are_fine():
    assert check_content(ROOTED, exam(findings=[finding("L5", "left"), finding("L5", "right"),
                                                finding("S1", "left")])) == []


def test_an_impression_without_findings_is_a_warning():
    content = exam(findings=[finding("L5", "left")],
                   impression=[{"level": "L5", "side": "left"}, {"level": "L5", "side": "right"},
                               {"level": "S1", "side": "bilateral"}])
    assert [(w.field, w.message) for w in check_content(ROOTED, content)] == [
        ("impression[1]", "L5 right is in the impression but has no recorded findings"),
        ("impression[2]", "S1 bilateral is in the impression but has no recorded findings")]


def test_a_bilateral_finding_covers_either_side_of_the_impression():
    content = exam(findings=[finding("L5", "bilateral")], impression=[{"level": "L5", "side": "right"}])
    assert check_content(ROOTED, content) == []


def test_impression_duplicates_overlaps_and_unknown_levels_are_422s():
    content = exam(findings=[finding("L5", "bilateral")],
                   impression=[{"level": "L5", "side": "left"}, {"level": "L5", "side": "left"},
                               {"level": "L5", "side": "bilateral"}, {"level": "X1", "side": "left"}])
    assert errors_of(content) == [
        ("impression[3].level", "unknown level 'X1'; use C1-S5"),
        ("impression[1]", "duplicate segment"),
        ("impression[2]", "L5 bilateral overlaps L5 left at impression[0]")]


def test_every_error_is_listed_the_detail_names_the_first_five_and_an_amendment_prefixes_them():
    content = exam(findings=[finding(f"X{i}") for i in range(7)])
    with pytest.raises(Unprocessable) as caught:
        check_content(ROOTED, content, "changes.")
    fields = [e.field for e in caught.value.errors or []]
    assert fields == [f"changes.findings[{i}].level" for i in range(7)]
    assert str(caught.value).count("unknown level") == 5


# --- the Gunn exam detail (exam_validation.check_exam) --------------------------------------------------------

def exam_errors(content: AssessmentContent, impression: list[Segment] | None = None, prefix: str = ""
                ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    errors, warnings = check_exam(ROOTED, content, content.impression if impression is None else impression, prefix)
    return [(e.field, e.message) for e in errors], [(w.field, w.message) for w in warnings]


@pytest.mark.parametrize(("dermatome", "ok"), [("C2", True), ("S5", True), ("C1", False), ("S6", False)])
def test_a_sign_sited_by_dermatome_needs_a_real_one_c2_to_s5(dermatome, ok):
    content = exam(trophic_signs=[{"side": "left", "dermatome": dermatome, "sign": "pilomotor"}],
                   skin_temperature=[{"side": "left", "dermatome": dermatome, "finding": "cooler"}])
    errors, _ = exam_errors(content)
    message = f"{dermatome!r} is not a dermatome; use C2-S5"
    assert errors == ([] if ok else [("trophic_signs[0].dermatome", message),
                                     ("skin_temperature[0].dermatome", message)])


def test_a_sign_sited_by_region_only_is_not_checked_against_the_levels():
    content = exam(trophic_signs=[{"side": "left", "region": "dorsum of the foot", "sign": "hair_loss"}])
    assert exam_errors(content) == ([], [])


def test_the_neuro_screen_one_entry_per_level_and_side():
    content = exam(neuro_screen=[{"level": "L5", "side": "bilateral", "reflex": "normal"},
                                 {"level": "L5", "side": "left", "strength_mrc": 5},
                                 {"level": "L9", "side": "left", "reflex": "normal"},
                                 {"level": "S1", "side": "left", "reflex": "normal"},
                                 {"level": "S1", "side": "right", "reflex": "normal"}])
    errors, _ = exam_errors(content)
    assert errors == [
        ("neuro_screen[1].side", "L5 left is already screened at neuro_screen[0]; one entry per level and side "
                                 "(bilateral covers both)"),
        ("neuro_screen[2].level", "unknown level 'L9'; use C1-S5")]


@pytest.mark.parametrize(("strength", "warned"), [(5, False), (4, True), (0, True)])
def test_a_deficit_outside_the_impression_is_a_warning(strength, warned):
    content = exam(neuro_screen=[{"level": "S1", "side": "left", "strength_mrc": strength}])
    _, warnings = exam_errors(content, impression=[Segment(level="L5", side="left")])
    expected = [("neuro_screen[0]", f"strength {strength}/5 at S1 left, which is not in the impression")]
    assert warnings == (expected if warned else [])
    assert exam_errors(content, impression=[Segment(level="S1", side="bilateral")])[1] == []


def test_neural_tension_tests_once_per_side():
    content = exam(neural_tension=[{"test": "slr", "side": "left", "result": "positive"},
                                   {"test": "slr", "side": "right", "result": "negative"},
                                   {"test": "slr", "side": "left", "result": "negative"}])
    assert exam_errors(content)[0] == [("neural_tension[2].side", "slr left is already recorded at neural_tension[0]")]


@pytest.mark.parametrize(("segment", "ok"), [("C1-C2", True), ("C7-T1", True), ("L5-S1", True), ("L4-L6", False),
                                             ("C5-C7", False), ("S1-S2", False)])
def test_spondylosis_names_a_motion_segment_of_two_adjacent_vertebrae(segment, ok):
    content = exam(spondylosis=[{"segment": segment, "side": "left", "osteophytes": True, "source": "clinical"}])
    errors, _ = exam_errors(content, prefix="changes.")
    assert errors == ([] if ok else [("changes.spondylosis[0].segment", (
        f"{segment!r} is not a motion segment; name two adjacent vertebrae, e.g. C5-C6, T12-L1, L5-S1"))])


def test_spondylosis_once_per_segment_and_side():
    entry = {"osteophytes": True, "source": "clinical"}
    content = exam(spondylosis=[{"segment": "L4-L5", "side": "right", **entry},
                                {"segment": "L4-L5", "side": "bilateral", **entry}])
    assert exam_errors(content)[0] == [("spondylosis[1].side", "L4-L5 bilateral is already recorded at spondylosis[0]")]


def test_check_content_reports_the_exam_detail_too():
    content = exam(spondylosis=[{"segment": "L4-L6", "side": "left", "osteophytes": True, "source": "clinical"}])
    assert [f for f, _ in errors_of(content, "changes.")] == ["changes.spondylosis[0].segment"]
