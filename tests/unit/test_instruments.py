"""Scoring rules and the catalogue's citations, checked without a database."""

from __future__ import annotations

import pytest

from app.outcomes.instruments import INSTRUMENTS, ScoringError

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
