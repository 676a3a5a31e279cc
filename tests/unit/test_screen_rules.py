"""What each screen item does to a session, without a database."""

from __future__ import annotations

import pytest

from app.treatments import screen_rules
from tests.unit.anatomy import CAT, content, needle, screening


@pytest.mark.parametrize(("position", "recumbent"), [
    ("prone", True), ("Supine", True), ("side-lying", True), ("left side lying", True), ("side_lying", True),
    ("sitting", False), ("standing", False), (None, False), ("", False),
])
def test_recumbent_positions(position, recumbent):
    assert screen_rules.is_recumbent(position) is recumbent


def test_needle_phobia_refuses_every_needle_unless_overridden():
    phobic = screening(needle_phobia=True)
    session = content(needle("tibialis_anterior", "L5"))
    assert [p.field for p in screen_rules.refusals(CAT, session, phobic)] == ["needles"]
    overridden = content(needle("tibialis_anterior", "L5"),
                         safety_overrides=[{"item": "needle_phobia", "reason": "patient requests a trial"}])
    assert screen_rules.refusals(CAT, overridden, phobic) == []
    assert screen_rules.refusals(CAT, content(), phobic) == []  # nothing needled, nothing refused


def test_an_axillary_dissection_covers_the_arm_and_the_chest_wall_quadrant():
    screen = screening(node_dissections=["right_axilla"])
    session = content(needle("pectoralis_major", "C6", "right"), needle("rhomboid_major", "C5", "right"),
                      needle("biceps_brachii", "C5", "right"), needle("pectoralis_major", "C6", "left"),
                      needle("gluteus_medius", "L5", "right"), needle("multifidus_t5", "T5", "right"))
    assert [p.field for p in screen_rules.refusals(CAT, session, screen)] == ["needles[0]", "needles[1]",
                                                                               "needles[2]"]


def test_arm_lymphoedema_covers_the_arm_only_and_groin_dissection_the_leg():
    arm = screening(lymphedema=True, lymphedema_limb="left_arm")
    session = content(needle("biceps_brachii", "C5"), needle("pectoralis_major", "C6"), needle("gluteus_medius", "L5"))
    assert [p.field for p in screen_rules.refusals(CAT, session, arm)] == ["needles[0]"]
    groin = screening(node_dissections=["left_groin"])
    assert [p.field for p in screen_rules.refusals(CAT, session, groin)] == ["needles[2]"]


def test_specific_warnings_name_their_item():
    screen = screening(immunosuppression=True, diabetes=True, epilepsy=True, metal_allergy=True, recent_surgery=True,
                       vasovagal_history=True, pregnancy=True, anticoagulants=True)
    messages = [w.message for w in screen_rules.warnings(CAT, content(needle("rectus_abdominis", "T10"),
                                                                     position="sitting"), screen)]
    for start in ("immunosuppression", "diabetes", "epilepsy", "vasovagal history", "metal allergy",
                  "recent surgery", "pregnancy: needling", "pregnancy: Rectus", "bleeding risk (anticoagulants)"):
        assert any(m.startswith(start) for m in messages), start
    assert screen_rules.warnings(CAT, content(needle("rectus_abdominis", "T10")), screening()) == []


def test_a_needle_at_a_lesion_site_warns_on_that_needle():
    screen = screening(local_infection_or_lesion=True,
                       lesion_sites=[{"region": "leg", "side": "left", "description": "ulcer"}])
    session = content(needle("tibialis_anterior", "L5", "left"), needle("tibialis_anterior", "L5", "right"),
                      needle("gluteus_medius", "L5", "left"))
    assert [w.field for w in screen_rules.warnings(CAT, session, screen)] == ["needles[0]"]
    midline = screening(local_infection_or_lesion=True, lesion_sites=[{"region": "leg", "side": "midline"}])
    assert len(screen_rules.warnings(CAT, session, midline)) == 2
    unsited = screening(local_infection_or_lesion=True)  # a screen recorded before sites were asked
    assert [w.field for w in screen_rules.warnings(CAT, session, unsited)] == ["screening"]
