"""The needling safety gate as pure rules: every refusal names its field, every boundary is pinned."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from app.kit.errors import Conflict, Unprocessable
from app.models.treatment import Consent, Screening
from app.treatments.safety import SafetyContext, check_needle_count, check_needles, gate
from tests.unit.anatomy import CAT, NOW, ROOTED, content, ims_consent, needle, screening

UTC = ZoneInfo("UTC")


def estim_consent() -> Consent:
    return Consent(kind="electrical_stimulation", obtained_at=NOW, method="written", risks_discussed=[],
                   withdrawn_at=None)


def ctx(*, consents: list[Consent] | None = None, screens: list[Screening] | None = None, valid_days: int = 30,
        recheck_days: int = 0, zone: ZoneInfo = UTC) -> SafetyContext:
    return SafetyContext(consents=[ims_consent()] if consents is None else consents,
                         screenings=[screening()] if screens is None else screens, recheck_days=recheck_days,
                         zone=zone, valid_days=valid_days)


def screened(days_before: float, **flags: object) -> Screening:
    screen = screening(**flags)
    screen.screened_at = NOW - timedelta(days=days_before)
    return screen


def refused(check: object) -> list[tuple[str, str]]:
    with pytest.raises(Conflict) as caught:
        check()  # type: ignore[operator]
    return [(e.field, e.message) for e in caught.value.errors or []]


# --- check_needles: 422 for what cannot be true, warnings for anatomical surprises ----------------------------

def test_a_needle_within_its_roots_passes_without_warnings():
    assert check_needles(ROOTED, content(needle("tibialis_anterior", "L5"), needle("deltoid", "C6"))) == []


def test_a_muscle_outside_the_stated_root_is_a_warning_naming_the_needles_level():
    warnings = check_needles(ROOTED, content(needle("deltoid", "C6"), needle("tibialis_anterior", "C5")))
    assert [(w.field, w.message) for w in warnings] == [
        ("needles[1].level", "Tibialis anterior is not usually supplied by C5")]


@pytest.mark.parametrize(("bad", "field", "says"), [
    (needle("tibialis_anterior", "L6"), "needles[1].level", "unknown level 'L6'; use C1-S5"),
    (needle("tibialis_anterieur", "L5"), "needles[1].muscle", "unknown muscle code 'tibialis_anterieur'"),
    (needle("tibialis_anterior", "L5", kind="paraspinal"), "needles[1].kind",
     "Tibialis anterior is a peripheral muscle"),
    (needle("multifidus_l5", "L5", kind="peripheral"), "needles[1].kind", "is a paraspinal muscle"),
])
def test_each_impossible_needle_is_a_422_naming_its_field(bad, field, says):
    with pytest.raises(Unprocessable) as caught:
        check_needles(ROOTED, content(needle("deltoid", "C5"), bad))
    errors = caught.value.errors or []
    assert [e.field for e in errors] == [field]
    assert says in errors[0].message and field in str(caught.value)


def test_a_suboccipital_recorded_as_peripheral_before_migration_0011_still_validates():
    assert check_needles(ROOTED, content(needle("obliquus_capitis_inferior", "C1", kind="peripheral"))) == []


def test_every_problem_is_listed_and_an_amendment_prefixes_its_fields():
    session = content(needle("nonesuch", "Z9"), needle("deltoid", "X1"), ended_at=NOW - timedelta(seconds=1),
                      needles_inserted=1)
    with pytest.raises(Unprocessable) as caught:
        check_needles(ROOTED, session, "changes.")
    assert [e.field for e in caught.value.errors or []] == [
        "changes.needles[0].level", "changes.needles[0].muscle", "changes.needles[1].level", "changes.ended_at",
        "changes.needles_inserted"]
    assert "is 1 but 2 needle sites are logged" in (caught.value.errors or [])[-1].message


def test_ended_at_may_equal_started_at_but_not_precede_it():
    assert check_needles(ROOTED, content(ended_at=NOW)) == []
    with pytest.raises(Unprocessable) as caught:
        check_needles(ROOTED, content(ended_at=NOW - timedelta(microseconds=1)))
    assert [(e.field, e.message) for e in caught.value.errors or []] == [("ended_at", "is before started_at")]


@pytest.mark.parametrize(("inserted", "ok"), [(None, True), (2, True), (5, True), (1, False), (0, False)])
def test_needles_inserted_may_exceed_the_sites_logged_but_not_fall_short(inserted, ok):
    session = content(needle("deltoid", "C5"), needle("deltoid", "C5", "right"), needles_inserted=inserted)
    if ok:
        assert check_needles(ROOTED, session) == []
    else:
        with pytest.raises(Unprocessable) as caught:
            check_needles(ROOTED, session)
        assert [e.field for e in caught.value.errors or []] == ["needles_inserted"]


# --- gate: consent, a current screen, and what the screen refuses ---------------------------------------------

def test_a_consented_screened_session_passes():
    assert gate(ctx(), CAT, content(needle("tibialis_anterior", "L5")), need_ims_consent=True) == []


def test_no_ims_consent_is_refused_naming_the_consent_and_how_to_record_one():
    problems = refused(lambda: gate(ctx(consents=[]), CAT, content(needle("tibialis_anterior", "L5")),
                                    need_ims_consent=True))
    assert [f for f, _ in problems] == ["consent"]
    assert "ims_dry_needling" in problems[0][1] and "POST /api/v1/patients/{id}/consents" in problems[0][1]
    # an amendment of a signed session does not ask again
    assert gate(ctx(consents=[]), CAT, content(needle("tibialis_anterior", "L5")), need_ims_consent=False) == []


def test_a_withdrawn_or_later_consent_does_not_count():
    withdrawn = ims_consent()
    withdrawn.withdrawn_at = NOW - timedelta(minutes=1)
    later = ims_consent()
    later.obtained_at = NOW + timedelta(minutes=10)  # beyond the five-minute clock skew
    for consent in (withdrawn, later):
        assert [f for f, _ in refused(lambda c=consent: gate(ctx(consents=[c]), CAT,
                                                             content(needle("deltoid", "C5")),
                                                             need_ims_consent=True))] == ["consent"]


def test_e_stim_needs_its_own_consent_on_each_stimulated_needle():
    session = content(needle("tibialis_anterior", "L5", e_stim=True), needle("deltoid", "C5"),
                      needle("gluteus_medius", "L5", e_stim=True), e_stim_leads=[{"needles": [0, 2]}])
    problems = refused(lambda: gate(ctx(), CAT, session, need_ims_consent=True))
    assert [f for f, _ in problems] == ["needles[0].e_stim", "needles[2].e_stim"]
    assert all("electrical_stimulation consent" in m for _, m in problems)
    assert gate(ctx(consents=[ims_consent(), estim_consent()]), CAT, session, need_ims_consent=True) == []


@pytest.mark.parametrize(("age", "current"), [(0, True), (30, True), (31, False)])
def test_a_screen_is_current_for_valid_days_clinic_days(age, current):
    context = ctx(screens=[screened(age)])
    session = content(needle("tibialis_anterior", "L5"))
    if current:
        gate(context, CAT, session, need_ims_consent=True)
    else:
        problems = refused(lambda: gate(context, CAT, session, need_ims_consent=True))
        assert [f for f, _ in problems] == ["screening"]
        assert "within 30 day(s)" in problems[0][1] and "the latest is 31 day(s) old" in problems[0][1]


def test_no_screen_at_all_refuses_needling_but_not_a_session_without_needles():
    problems = refused(lambda: gate(ctx(screens=[]), CAT, content(needle("deltoid", "C5")), need_ims_consent=True))
    assert [f for f, _ in problems] == ["screening"] and "none is on file" in problems[0][1]
    assert gate(ctx(screens=[]), CAT, content(), need_ims_consent=True) == []


def test_a_screen_recorded_after_the_session_counts_only_within_the_clock_skew():
    soon, late = screening(), screening()
    soon.screened_at, late.screened_at = NOW + timedelta(seconds=300), NOW + timedelta(seconds=301)
    assert ctx(screens=[soon]).screen_at(NOW) is soon
    assert ctx(screens=[late]).screen_at(NOW) is None
    assert ctx(screens=[late, soon]).screen_at(NOW) is soon  # newest first: the first one not in the future


def test_screen_age_counts_clinic_days_not_24_hour_periods():
    vancouver = ZoneInfo("America/Vancouver")
    evening = screening()
    evening.screened_at = NOW.replace(hour=7, minute=30)  # 23:30 the day before in Vancouver (UTC-8)
    session_at = NOW.replace(hour=17)  # 09:00 in Vancouver: a new clinic day, 9.5 hours later
    assert ctx(zone=vancouver).screen_age(evening, session_at) == 1
    assert ctx(zone=UTC).screen_age(evening, session_at) == 0


def test_a_pacemaker_refuses_e_stim_but_not_needling():
    context = ctx(consents=[ims_consent(), estim_consent()],
                  screens=[screened(0, pacemaker_or_implanted_device=True)])
    stimulated = content(needle("tibialis_anterior", "L5", e_stim=True), needle("gluteus_medius", "L5", e_stim=True),
                         e_stim_leads=[{"needles": [0, 1]}])
    problems = refused(lambda: gate(context, CAT, stimulated, need_ims_consent=True))
    assert [f for f, _ in problems] == ["needles[0].e_stim", "needles[1].e_stim"]
    assert "pacemaker" in problems[0][1]
    assert gate(context, CAT, content(needle("tibialis_anterior", "L5")), need_ims_consent=True) == []


def test_every_refusal_is_reported_at_once():
    session = content(needle("tibialis_anterior", "L5", e_stim=True), needle("gluteus_medius", "L5", e_stim=True),
                      e_stim_leads=[{"needles": [0, 1]}])
    problems = refused(lambda: gate(ctx(consents=[], screens=[screened(45)]), CAT, session, need_ims_consent=True))
    assert [f for f, _ in problems] == ["consent", "needles[0].e_stim", "needles[1].e_stim", "screening"]


@pytest.mark.parametrize(("age", "recheck", "warned"), [(0, 0, False), (1, 0, True), (7, 7, False), (8, 7, True)])
def test_a_screen_older_than_the_recheck_interval_is_a_warning_not_a_refusal(age, recheck, warned):
    warnings = gate(ctx(screens=[screened(age)], recheck_days=recheck), CAT, content(needle("tibialis_anterior", "L5")),
                    need_ims_consent=True)
    assert [w.field for w in warnings] == (["screening"] if warned else [])
    if warned:
        every = "visit (same day)" if recheck == 0 else f"{recheck} day(s)"
        assert warnings[0].message == f"the precaution screen is {age} day(s) old; the clinic re-checks every {every}"


def test_lung_field_caution_on_the_screen_is_passed_to_the_thorax_rules():
    session = content(needle("rhomboid_major", "C5", depth_mm=10, length_mm=25))
    plain = gate(ctx(), CAT, session, need_ims_consent=True)
    cautious = gate(ctx(screens=[screened(0, lung_field_caution=True)]), CAT, session, need_ims_consent=True)
    assert [w.field for w in plain] == [w.field for w in cautious] == ["needles[0]"]
    assert "lung-field caution" not in plain[0].message and "records a lung-field caution" in cautious[0].message


# --- check_needle_count: every needle accounted for before signing --------------------------------------------

def _count(inserted: int | None, removed: int | None, retained: int = 0, sites: int = 2) -> None:
    events = [{"kind": "retained_needle", "severity": "mild"}] * retained
    check_needle_count(content(*[needle("deltoid", "C5")] * sites, needles_inserted=inserted,
                               needles_removed=removed, adverse_events=events))


def test_the_count_balances_when_every_needle_is_removed():
    _count(None, 2)  # needles_inserted defaults to the sites logged
    _count(4, 4)
    _count(0, 0, sites=0)


@pytest.mark.parametrize(("inserted", "removed", "retained", "says"), [
    (4, None, 0, "required to sign"),
    (4, 5, 0, "5 removed, 4 inserted"),
    (4, 3, 0, "3 removed, 4 inserted, 0 documented as retained: 1 unaccounted for"),
    (4, 2, 1, "2 removed, 4 inserted, 1 documented as retained: 1 unaccounted for"),
])
def test_an_unbalanced_count_is_refused_on_needles_removed(inserted, removed, retained, says):
    problems = refused(lambda: _count(inserted, removed, retained))
    assert problems == [("needles_removed", says)]


def test_one_retained_needle_event_accounts_for_one_missing_needle():
    _count(4, 3, retained=1)
    _count(4, 2, retained=2)
    _count(4, 3, retained=2)  # more events than missing needles is not a count error
