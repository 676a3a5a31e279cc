"""Which red flags are shown and which block signing, and what an acknowledgement must say, without a database.
(Which assessments carry them, and the signing refusal itself, are tested on both engines in
tests/treatments/.)"""

from __future__ import annotations

import typing
import uuid

import pytest
from pydantic import ValidationError

from app.assessments.schemas import RedFlags
from app.screenings.red_flags import BLOCKING, SHOWN, AcknowledgementCreate, Flag

ASSESSMENT = uuid.uuid4()


def test_every_red_flag_the_assessment_records_is_shown_and_none_other():
    recorded = set(RedFlags.model_fields) - {"notes"}
    assert set(SHOWN) == recorded and len(SHOWN) == len(recorded)
    assert set(typing.get_args(Flag)) == recorded


def test_cauda_equina_malignancy_and_a_progressive_deficit_block_signing_and_the_rest_do_not():
    assert BLOCKING == ("cauda_equina_symptoms", "suspected_malignancy", "progressive_neurological_deficit")
    assert SHOWN[:3] == BLOCKING  # the blocking flags come first on the chart
    assert not {"night_pain", "history_of_cancer", "unexplained_weight_loss"} & set(BLOCKING)


def test_an_acknowledgement_names_flags_and_what_was_done():
    ack = AcknowledgementCreate(assessment_id=ASSESSMENT, flags=["cauda_equina_symptoms"],
                                action="  urgent referral to ED  ")
    assert ack.action == "urgent referral to ED"


def _refused(**body: object) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        AcknowledgementCreate.model_validate({"assessment_id": str(ASSESSMENT), "flags": ["night_pain"],
                                              "action": "referred to GP", **body})
    return [(".".join(str(p) for p in e["loc"]), e["type"]) for e in caught.value.errors()]


@pytest.mark.parametrize(("body", "field", "kind"), [
    ({"flags": []}, "flags", "too_short"),
    ({"flags": ["chest_pain"]}, "flags.0", "literal_error"),
    ({"action": "ok"}, "action", "string_too_short"),
    ({"action": "   ok   "}, "action", "string_too_short"),  # blanks do not count towards the three characters
    ({"action": "x" * 2001}, "action", "string_too_long"),
    ({"assessment_id": "not-a-uuid"}, "assessment_id", "uuid_parsing"),
    ({"acknowledged_by": str(ASSESSMENT)}, "acknowledged_by", "extra_forbidden"),
])
def test_a_bad_acknowledgement_is_refused_on_its_field(body, field, kind):
    assert _refused(**body) == [(field, kind)]


def test_the_shortest_and_longest_action_are_accepted():
    for action in ("abc", "x" * 2000):
        AcknowledgementCreate(assessment_id=ASSESSMENT, flags=["night_pain"], action=action)
