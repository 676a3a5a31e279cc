"""Scoring rules and the catalogue's citations, checked without a database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from app.outcomes import interpretation
from app.outcomes.instruments import INSTRUMENTS, Answer, ScoringError, improvement

VISA = INSTRUMENTS["visa_a"]


def visa(item8: object, items: list[object] | None = None, item7: object = "same_or_higher_level") -> float:
    return VISA.score([*(items or [10] * 6), item7, item8])[0]


@pytest.mark.parametrize(("branch", "points"), [
    ("A", {"nil": 0, "1-10": 7, "11-20": 14, "21-30": 21, ">30": 30}),
    ("B", {"nil": 0, "1-10": 4, "11-20": 10, "21-30": 14, ">30": 20}),
    ("C", {"nil": 0, "1-10": 2, "11-20": 5, "21-30": 7, ">30": 10}),
])
def test_visa_a_item_8_scores_each_branch_by_robinson_2001(branch, points):
    for minutes, expected in points.items():
        assert visa({"branch": branch, "minutes": minutes}) == 70 + expected


def test_visa_a_total_is_the_sum_of_its_eight_items():
    assert visa({"branch": "A", "minutes": ">30"}) == 100  # an asymptomatic athlete
    assert visa({"branch": "C", "minutes": "nil"}, items=[0] * 6, item7="not_at_all") == 0
    assert visa({"branch": "A", "minutes": "21-30"}, items=[3, 8, 2, 3, 0, 7], item7=7) == 51
    assert visa({"branch": "b", "minutes": "11-20"}, items=[5] * 6, item7="modified_training") == 44


@pytest.mark.parametrize(("responses", "field"), [
    ([10] * 6 + [5, {"branch": "A", "minutes": ">30"}], "responses[6]"),  # item 7 is 0, 4, 7 or 10
    ([10] * 6 + ["sometimes", {"branch": "A", "minutes": ">30"}], "responses[6]"),
    ([10] * 6 + [10, 30], "responses[7]"),  # item 8 names its branch, not bare points
    ([10] * 6 + [10, {"branch": "D", "minutes": ">30"}], "responses[7].branch"),
    ([10] * 6 + [10, {"branch": "A", "minutes": "45"}], "responses[7].minutes"),
    ([10] * 6 + [10, {"branch": "A", "minutes": ">30", "b_minutes": "nil"}], "responses[7].b_minutes"),
    ([10] * 5 + [None, 10, {"branch": "A", "minutes": ">30"}], "responses"),  # every item answered
    ([10] * 5 + [11, 10, {"branch": "A", "minutes": ">30"}], "responses[5]"),
    ([{"branch": "A"}] + [10] * 5 + [10, {"branch": "A", "minutes": ">30"}], "responses[0]"),
    ([10] * 7, "responses"),
])
def test_visa_a_refuses_answers_off_the_form(responses, field):
    with pytest.raises(ScoringError) as caught:
        VISA.score(responses)
    assert caught.value.field == field


def test_spadi_total_is_over_130_not_the_mean_of_its_subscales():
    score, sub, _ = INSTRUMENTS["spadi"].score([10] * 5 + [0] * 8)
    assert (score, sub) == (38.46, {"pain": 100, "disability": 0})  # 50/130, where the mean would be 50
    assert "130" in INSTRUMENTS["spadi"].scoring_rule and "Roach" in INSTRUMENTS["spadi"].scoring_source
    assert "mean of the two subscales" not in INSTRUMENTS["spadi"].scoring_source


def test_spadi_missing_items_divide_by_the_possible_score_of_those_answered():
    score, sub, _ = INSTRUMENTS["spadi"].score([10, None, 10, 10, 10] + [0] * 8)
    assert score == 33.33 and sub == {"pain": 100, "disability": 0}  # 40 / 120


def test_mcids_follow_their_cited_sources():
    assert INSTRUMENTS["hit6"].mcid == 8 and "tension-type" in INSTRUMENTS["hit6"].mcid_source
    assert INSTRUMENTS["rmdq"].mcid == 5 and "Ostelo" in INSTRUMENTS["rmdq"].mcid_source
    assert INSTRUMENTS["visa_a"].mcid == 6.5 and "McCormack" in INSTRUMENTS["visa_a"].mcid_source


def test_every_instrument_names_the_source_of_its_rule_and_its_mcid():
    for inst in INSTRUMENTS.values():
        public = inst.public()
        for key in ("scoring_rule", "scoring_source", "mcid_source"):
            assert len(public[key]) > 10, (inst.code, key)


def test_a_non_visa_item_refuses_an_object():
    with pytest.raises(ScoringError) as caught:
        INSTRUMENTS["nprs"].score([{"branch": "A"}])
    assert caught.value.field == "responses[0]"


# --- every instrument's published rule, at its edges -----------------------------------------------------------

def score(code: str, responses: Sequence[Answer]) -> tuple[float, dict[str, float]]:
    total, sub, _ = INSTRUMENTS[code].score(responses)
    return total, sub


def refusal(code: str, responses: Sequence[Answer]) -> tuple[str, str]:
    with pytest.raises(ScoringError) as caught:
        INSTRUMENTS[code].score(responses)
    return caught.value.field, caught.value.message


@pytest.mark.parametrize(("code", "floor", "ceiling"), [
    ("nprs", ([0], 0), ([10], 10)),
    ("psfs", ([0] * 3, 0), ([10] * 5, 10)),
    ("odi", ([0] * 10, 0), ([5] * 10, 100)),
    ("rmdq", ([False] * 24, 0), ([True] * 24, 24)),
    ("ndi", ([0] * 10, 0), ([5] * 10, 50)),
    ("quickdash", ([1] * 11, 0), ([5] * 11, 100)),
    ("prtee", ([0] * 15, 0), ([10] * 15, 100)),
    ("spadi", ([0] * 13, 0), ([10] * 13, 100)),
    ("lefs", ([0] * 20, 0), ([4] * 20, 80)),
    ("hit6", (["never"] * 6, 36), (["always"] * 6, 78)),
    ("visa_a", ([0] * 6 + ["not_at_all", {"branch": "C", "minutes": "nil"}], 0),
     ([10] * 6 + ["same_or_higher_level", {"branch": "A", "minutes": ">30"}], 100)),
])
def test_the_lowest_and_highest_answers_reach_the_ends_of_the_score_range(code, floor, ceiling):
    assert (score(code, floor[0])[0], score(code, ceiling[0])[0]) == (floor[1], ceiling[1])
    assert INSTRUMENTS[code].score_range == (floor[1], ceiling[1])


@pytest.mark.parametrize(("code", "sent", "says"), [
    ("nprs", 2, "Numeric Pain Rating Scale has 1 items; 2 were sent"),
    ("nprs", 0, "Numeric Pain Rating Scale has 1 items; 0 were sent"),
    ("psfs", 2, "Patient-Specific Functional Scale has 3-5 items; 2 were sent"),
    ("psfs", 6, "Patient-Specific Functional Scale has 3-5 items; 6 were sent"),
    ("odi", 9, "Oswestry Disability Index has 10 items; 9 were sent"),
])
def test_the_number_of_items_is_checked_first(code, sent, says):
    assert refusal(code, [1] * sent) == ("responses", says)


@pytest.mark.parametrize("count", [3, 4, 5])
def test_psfs_takes_three_to_five_activities_and_scores_their_mean(count):
    assert score("psfs", [2] * (count - 1) + [2 + count])[0] == 3  # (2 (count - 1) + 2 + count) / count


@pytest.mark.parametrize(("code", "lo", "hi"), [("nprs", 0, 10), ("odi", 0, 5), ("quickdash", 1, 5), ("lefs", 0, 4)])
def test_an_item_just_outside_its_range_is_refused_naming_the_item(code, lo, hi):
    count = INSTRUMENTS[code].item_count[0]
    for bad in (lo - 1, hi + 1):
        responses = [lo] * count
        responses[count - 1] = bad
        assert refusal(code, responses) == (f"responses[{count - 1}]", f"must be between {lo} and {hi}")


@pytest.mark.parametrize(("answer", "says"), [
    (3.5, "must be a whole number"), (True, "must be a whole number"), ("3", "must be a whole number"),
    (float("nan"), "must be a finite whole number (NaN and Infinity are not answers)"),
    (float("inf"), "must be a finite whole number (NaN and Infinity are not answers)"),
])
def test_a_numeric_item_must_be_a_whole_number(answer, says):
    assert refusal("nprs", [answer]) == ("responses[0]", says)


def test_a_whole_float_is_a_whole_number():
    assert score("nprs", [7.0]) == (7, {})


def test_yes_no_and_choice_items_refuse_anything_else():
    assert refusal("rmdq", [True] * 23 + [1]) == ("responses[23]", "answer true (yes) or false (no)")
    assert refusal("hit6", ["never"] * 5 + ["often"]) == (
        "responses[5]", "one of never, rarely, sometimes, very_often, always")


@pytest.mark.parametrize(("code", "count", "allowed", "name"), [
    ("nprs", 1, 0, "Numeric Pain Rating Scale"), ("rmdq", 24, 0, "Roland-Morris Disability Questionnaire"),
    ("odi", 10, 1, "Oswestry Disability Index"), ("ndi", 10, 1, "Neck Disability Index"),
    ("quickdash", 11, 1, "QuickDASH"), ("spadi", 13, 2, "Shoulder Pain and Disability Index"),
])
def test_unanswered_items_up_to_the_published_limit(code, count, allowed, name):
    answer = True if code == "rmdq" else 1
    ok = [None] * allowed + [answer] * (count - allowed)
    INSTRUMENTS[code].score(ok)
    too_many = [None] * (allowed + 1) + [answer] * (count - allowed - 1)
    limit = "no item may" if allowed == 0 else f"at most {allowed} item(s) may"
    assert refusal(code, too_many) == ("responses", f"{limit} be left unanswered on the {name}; {allowed + 1} are")


def test_odi_and_ndi_prorate_over_the_sections_answered():
    assert score("odi", [None] + [5] * 9) == (100, {})
    assert score("odi", [None] + [1] * 9) == (20, {})
    assert score("ndi", [None] + [5] * 9) == (50, {"percent": 100})
    assert score("ndi", [2] * 10) == (20, {"percent": 40})


def test_quickdash_is_the_mean_minus_one_times_25_and_prorates():
    assert score("quickdash", [3] * 11)[0] == 50
    assert score("quickdash", [None] + [2] * 10)[0] == 25


def test_prtee_is_pain_plus_half_the_function_items_with_one_missing_item_per_subscale_filled_by_its_mean():
    assert score("prtee", [10] * 5 + [4] * 10) == (70, {"pain": 50, "function": 20})
    assert score("prtee", [None, 8, 8, 8, 8, None] + [6] * 9) == (70, {"pain": 40, "function": 30})
    assert refusal("prtee", [None, None] + [5] * 13) == (
        "responses", "at most 1 pain item may be unanswered on the PRTEE")
    assert refusal("prtee", [5] * 5 + [None, None] + [5] * 8) == (
        "responses", "at most 1 function item may be unanswered on the PRTEE")


def test_spadi_needs_an_answer_in_each_subscale():
    assert refusal("spadi", [None] * 2 + [1] * 3 + [None] * 8)[0] == "responses"  # 10 missing: the count refuses
    spadi = INSTRUMENTS["spadi"]
    no_disability = replace(spadi, max_missing=8)
    with pytest.raises(ScoringError) as caught:
        no_disability.score([1] * 5 + [None] * 8)
    assert (caught.value.field, caught.value.message) == ("responses", "no disability item was answered")


def test_scores_are_rounded_to_two_decimals():
    assert score("psfs", [1, 1, 2]) == (1.33, {})


@pytest.mark.parametrize(("code", "baseline", "latest", "better"), [
    ("ndi", 30, 20, 10), ("ndi", 20, 30, -10), ("lefs", 40, 55, 15), ("lefs", 55, 40, -15), ("visa_a", 50, 50, 0),
])
def test_improvement_is_positive_when_better_whichever_way_the_instrument_runs(code, baseline, latest, better):
    assert improvement(INSTRUMENTS[code], baseline, latest) == better


@pytest.mark.parametrize(("code", "score_", "label"), [
    ("nprs", 0, "no pain"), ("nprs", 1, "mild pain"), ("nprs", 3, "mild pain"), ("nprs", 4, "moderate pain"),
    ("nprs", 7, "severe pain"), ("odi", 20, "minimal disability"), ("odi", 20.01, "moderate disability"),
    ("odi", 100, "bed-bound or exaggerating symptoms"), ("ndi", 4, "no disability"), ("ndi", 4.5, "mild disability"),
    ("ndi", 50, "complete disability"), ("hit6", 49, "little or no impact"), ("hit6", 50, "some impact"),
    ("hit6", 60, "severe impact"), ("lefs", 40, None), ("ndi", 51, None),
])
def test_severity_bands_end_inclusive_at_their_published_upper_bound(code, score_, label):
    assert interpretation.band(code, score_) == label


@pytest.mark.parametrize(("code", "change", "says"), [
    ("odi", 10, "improved by 10 points since baseline: clinically important (MCID 10; lower is better)"),
    ("odi", 9.99, "improved by 9.99 points since baseline: less than the MCID (MCID 10; lower is better)"),
    ("odi", 0, "no change since baseline: less than the MCID (MCID 10; lower is better)"),
    ("lefs", -12, "worsened by 12 points since baseline: less than the MCID (MCID 9; higher is better)"),
    ("quickdash", 15.9, "improved by 15.9 points since baseline: clinically important (MCID 15.9; lower is better)"),
])
def test_change_from_baseline_is_clinically_important_from_the_mcid_itself(code, change, says):
    assert interpretation.change_from_baseline(code, change) == says
