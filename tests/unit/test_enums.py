"""The named states: the response-schema Literals, the CHECK constraints and the enums say the same thing."""

from __future__ import annotations

from typing import get_args

from app.models.clinical import Assessment, Episode
from app.models.enums import (
    EPISODE_STATUSES,
    RECORD_STATUSES,
    ActorType,
    EpisodeStatus,
    EpisodeStatusName,
    RecordStatus,
    RecordStatusName,
    RevisionKind,
    RevisionKindName,
)


def test_the_literals_offer_exactly_the_enum_values():
    assert set(get_args(RecordStatusName)) == {s.value for s in RecordStatus}
    assert set(get_args(RevisionKindName)) == {k.value for k in RevisionKind}
    assert set(get_args(EpisodeStatusName)) == {s.value for s in EpisodeStatus}


def test_the_check_constraint_lists_plain_strings_in_lifecycle_order():
    assert RECORD_STATUSES == ("draft", "signed", "discarded")
    assert all(type(s) is str for s in RECORD_STATUSES)
    constraint = next(c for c in Assessment.__table__.constraints if getattr(c, "sqltext", None) is not None
                      and "status" in str(c.sqltext))
    assert str(constraint.sqltext) == "status IN ('draft', 'signed', 'discarded')"


def test_members_compare_and_print_as_the_stored_strings():
    assert RecordStatus.SIGNED == "signed" and f"{RecordStatus.DRAFT}" == "draft"
    assert {RecordStatus.DISCARDED: 1}["discarded"] == 1  # lookups keyed by member accept the column's str
    assert [a.value for a in ActorType] == ["user", "api_client", "system", "anonymous"]


def test_an_episodes_check_constraint_and_default_are_the_enums():
    assert EPISODE_STATUSES == ("open", "discharged") and all(type(s) is str for s in EPISODE_STATUSES)
    constraint = next(c for c in Episode.__table__.constraints if getattr(c, "sqltext", None) is not None
                      and "status" in str(c.sqltext))
    assert str(constraint.sqltext) == "status IN ('open', 'discharged')"
    assert Episode.__table__.c.status.default.arg == "open"
