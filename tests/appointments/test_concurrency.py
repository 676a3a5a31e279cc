"""Double booking is impossible, not merely unlikely: a booking in flight holds the therapist, so a second one
waits for it to commit and then sees it (app.appointments.service.lock_therapist), on both engines."""

from __future__ import annotations

import threading

from app.appointments import service
from app.appointments.schemas import AppointmentCreate
from app.kit.actor import Actor
from tests.appointments.helpers import booking, set_hours
from tests.factories import make_patient

MON = "2027-02-01"  # a Monday in EST (-05:00)


def test_a_booking_in_flight_makes_the_next_one_wait_and_then_409(client, staff, app):
    admin, therapist, desk = staff("admin"), staff("therapist"), staff("reception")
    set_hours(client, admin, therapist)
    first, second = make_patient(client, admin)["id"], make_patient(client, admin)["id"]
    start = f"{MON}T10:00:00-05:00"
    responses: list = []

    def racer() -> None:
        responses.append(client.post("/api/v1/appointments", json=booking(second, therapist, f"{MON}T10:15:00-05:00"),
                                     headers=desk.headers))

    actor = Actor(id=admin.id, type="user", role="admin", label="the first booking")
    with app.state.sessionmaker() as held, held.begin():  # the first booking's transaction, not yet committed
        appt, _ = service.book(held, actor, AppointmentCreate.model_validate(booking(first, therapist, start)))
        thread = threading.Thread(target=racer)
        thread.start()
        thread.join(timeout=1.5)
        assert thread.is_alive() and responses == []  # waiting on the therapist: no read past an uncommitted booking
    thread.join(timeout=30)
    [response] = responses
    assert response.status_code == 409, response.text
    assert str(appt.id) in response.json()["detail"]  # names the appointment it collides with


def test_a_booking_that_rolls_back_frees_the_slot_for_the_one_waiting(client, staff, app):
    admin, therapist, desk = staff("admin"), staff("therapist"), staff("reception")
    set_hours(client, admin, therapist)
    first, second = make_patient(client, admin)["id"], make_patient(client, admin)["id"]
    start = f"{MON}T11:00:00-05:00"
    responses: list = []
    thread = threading.Thread(target=lambda: responses.append(client.post(
        "/api/v1/appointments", json=booking(second, therapist, start), headers=desk.headers)))
    actor = Actor(id=admin.id, type="user", role="admin", label="a booking that fails")
    with app.state.sessionmaker() as held:
        held.begin()
        service.book(held, actor, AppointmentCreate.model_validate(booking(first, therapist, start)))
        thread.start()
        thread.join(timeout=1.5)
        assert thread.is_alive()
        held.rollback()
    thread.join(timeout=30)
    assert [r.status_code for r in responses] == [201]
