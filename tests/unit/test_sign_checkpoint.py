"""The signing checkpoint as a pure rule."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from app.treatments.safety import SafetyContext, check_sign
from tests.unit.anatomy import CAT, content, ims_consent, needle

CTX = SafetyContext(consents=[ims_consent("pneumothorax")], screenings=[], recheck_days=0, zone=ZoneInfo("UTC"))


def test_a_complete_record_passes():
    done = content(needle("gluteus_medius", "L5"), sharps_disposed=True, verbal_consent_today=True,
                   adverse_events=[{"kind": "bleeding", "severity": "mild", "haemostasis": "pressure 1 min"}])
    assert check_sign(CTX, CAT, done) == []


def test_each_missing_item_is_named():
    missing = content(needle("rhomboid_major", "C5"), adverse_events=[{"kind": "bleeding", "severity": "mild"},
                                                                       {"kind": "bruising", "severity": "mild"}])
    no_risk = SafetyContext(consents=[ims_consent()], screenings=[], recheck_days=0, zone=ZoneInfo("UTC"))
    assert [p.field for p in check_sign(no_risk, CAT, missing)] == [
        "sharps_disposed", "verbal_consent_today", "adverse_events[0].haemostasis", "consent.risks_discussed"]
