"""Where e-stim current may flow, without a database."""

from __future__ import annotations

import pytest

from app.treatments import estim
from tests.unit.anatomy import CAT, content, needle


def _lead(a, b, flags=frozenset()):
    session = content(a, b, e_stim_leads=[{"needles": [0, 1]}])
    return [p.message for p in estim.refusals(CAT, session, set(flags))]


@pytest.mark.parametrize(("a", "b", "refused"), [
    (needle("biceps_brachii", "C5", e_stim=True), needle("biceps_brachii", "C5", "right", e_stim=True), "chest"),
    (needle("deltoid", "C5", e_stim=True), needle("upper_trapezius", "C3", "right", e_stim=True), "chest"),
    (needle("pectoralis_major", "C6", e_stim=True), needle("multifidus_t5", "T5", e_stim=True), "chest"),
    (needle("sternocleidomastoid", "C2", e_stim=True), needle("upper_trapezius", "C3", e_stim=True), "anterior neck"),
    (needle("scalenus_anterior", "C5", e_stim=True), needle("deltoid", "C5", e_stim=True), "anterior neck"),
    (needle("multifidus_l5", "L5", e_stim=True), needle("multifidus_l5", "L5", "right", e_stim=True), None),
    (needle("rhomboid_major", "C5", e_stim=True), needle("lower_trapezius", "T6", e_stim=True), None),
    (needle("tibialis_anterior", "L5", e_stim=True), needle("tibialis_anterior", "L5", "right", e_stim=True), None),
])
def test_current_paths(a, b, refused):
    messages = _lead(a, b)
    assert bool(messages) is bool(refused)
    if refused:
        assert refused in messages[0]


def test_pregnancy_over_the_trunk_and_epilepsy():
    lumbar = (needle("multifidus_l5", "L5", e_stim=True), needle("multifidus_s1", "L5", e_stim=True))
    assert any("pregnant" in m for m in _lead(*lumbar, flags={"pregnancy"}))
    leg = (needle("tibialis_anterior", "L5", e_stim=True), needle("gluteus_medius", "L5", e_stim=True))
    assert _lead(*leg, flags={"pregnancy"}) == []
    session = content(*leg, e_stim_leads=[{"needles": [0, 1]}])
    assert [w.field for w in estim.warnings(session, {"epilepsy"})] == ["e_stim_leads"]
    assert estim.warnings(session, set()) == []


def test_lead_problems_name_the_field():
    wired = content(needle("tibialis_anterior", "L5", e_stim=True), needle("gluteus_medius", "L5", e_stim=True))
    assert [p.field for p in estim.lead_problems(wired)] == ["needles[0].e_stim", "needles[1].e_stim"]
    amended = content(needle("tibialis_anterior", "L5", e_stim=True), needle("gluteus_medius", "L5"),
                      e_stim_leads=[{"needles": [0, 1]}])
    assert [p.field for p in estim.lead_problems(amended, "changes.")] == ["changes.e_stim_leads[0].needles"]
