"""Login throttling under concurrency: at most `login_max_failures` passwords are ever checked per window.

The probe that found the bug: 40 simultaneous wrong passwords for one account on PostgreSQL had 19
of them checked against a limit of 5, because the lock was read before the failure was counted.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from app.models.audit import AuditEvent
from tests.factories import PASSWORD
from tests.faults.test_races import at_once

TOKEN = "/api/v1/auth/token"
GUESSES = 24


def _outcomes(db, email: str) -> Counter[str]:
    rows = db.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed",
                                               AuditEvent.actor_label == email)).all()
    return Counter(row.outcome for row in rows)


def test_concurrent_wrong_passwords_evaluate_at_most_the_limit(client, staff, settings, db):
    victim = staff("therapist")
    responses = at_once([lambda i=i: client.post(TOKEN, data={"username": victim.email, "password": f"wrong-{i}"})
                         for i in range(GUESSES)])
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {401, 429}, statuses
    assert statuses[401] == settings.login_max_failures, statuses  # exactly the allowed guesses were checked
    outcomes = _outcomes(db, victim.email)
    assert outcomes["failure"] == settings.login_max_failures and outcomes["denied"] == statuses[429]
    # the right password, now, is refused too: the window's guesses are spent
    assert client.post(TOKEN, data={"username": victim.email, "password": PASSWORD}).status_code == 429


def test_concurrent_guesses_mixed_with_the_right_password_never_exceed_the_limit(client, staff, settings, db):
    victim = staff("therapist")
    passwords = [PASSWORD if i % 6 == 0 else f"wrong-{i}" for i in range(GUESSES)]
    responses = at_once([lambda p=p: client.post(TOKEN, data={"username": victim.email, "password": p})
                         for p in passwords])
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {200, 401, 429}, statuses
    # a success resets the count, so wrong guesses are bounded per streak between successes
    assert statuses[401] <= settings.login_max_failures * (statuses[200] + 1), statuses
    assert _outcomes(db, victim.email)["failure"] == statuses[401]


def test_unknown_accounts_are_held_to_the_same_limit_under_concurrency(client, settings):
    responses = at_once([lambda i=i: client.post(TOKEN, data={"username": "nobody@clinic.example",
                                                              "password": f"wrong-{i}"})
                         for i in range(12)])
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {401: settings.login_max_failures, 429: 12 - settings.login_max_failures}, statuses
