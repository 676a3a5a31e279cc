"""The day sheet, the week view and free-slot search, including the daylight-saving week."""

from __future__ import annotations

from tests.appointments.helpers import IMS, INITIAL, book, booking, set_hours, step
from tests.factories import make_patient


def test_the_day_sheet_lists_hours_and_visits_per_therapist(client, staff, db):
    admin, a, b, reception = staff("admin"), staff("therapist"), staff("therapist"), staff("reception")
    set_hours(client, admin, a)
    set_hours(client, admin, b)
    patient = make_patient(client, reception)
    first = book(client, reception, patient["id"], a, "2027-03-15T09:00:00-04:00")
    gone = book(client, reception, patient["id"], a, "2027-03-15T10:00:00-04:00")
    step(client, reception, gone, "cancel", json={"reason": "x", "cancelled_by": "patient"})
    book(client, reception, patient["id"], b, "2027-03-16T09:00:00-04:00")  # the next day
    sheet = client.get("/api/v1/schedule/day", params={"date": "2027-03-15"}, headers=reception.headers)
    assert sheet.status_code == 200, sheet.text
    body = sheet.json()
    assert body["time_zone"] == "America/Toronto"
    days = {t["therapist_id"]: t for t in body["therapists"]}
    assert [x["id"] for x in days[str(a.id)]["appointments"]] == [first["id"], gone["id"]]  # cancelled stays
    assert days[str(b.id)]["appointments"] == []
    assert [(w["start"], w["end"]) for w in days[str(a.id)]["working"]] == [
        ("2027-03-15T09:00:00-04:00", "2027-03-15T12:00:00-04:00"),
        ("2027-03-15T13:00:00-04:00", "2027-03-15T17:00:00-04:00")]
    one = client.get("/api/v1/schedule/day", params={"date": "2027-03-15", "therapist": str(b.id)},
                     headers=reception.headers).json()
    assert [t["therapist_id"] for t in one["therapists"]] == [str(b.id)]
    assert client.get("/api/v1/schedule/day", params={"date": "15/03/2027"}, headers=admin.headers).status_code == 422
    assert client.get("/api/v1/schedule/day", params={"therapist": str(reception.id)},
                      headers=admin.headers).status_code == 404


def test_the_week_view_spans_the_clock_change(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist)
    patient = make_patient(client, admin)
    book(client, admin, patient["id"], therapist, "2027-03-12T09:00:00-05:00")
    book(client, admin, patient["id"], therapist, "2027-03-15T09:00:00-04:00")
    week = client.get("/api/v1/schedule/week", params={"start": "2027-03-09", "therapist": str(therapist.id)},
                      headers=staff("auditor").headers).json()
    assert [d["date"] for d in week] == [f"2027-03-{d:02d}" for d in range(9, 16)]
    starts = [x["start"] for d in week for t in d["therapists"] for x in t["appointments"]]
    assert starts == ["2027-03-12T09:00:00-05:00", "2027-03-15T09:00:00-04:00"]
    sunday = next(d for d in week if d["date"] == "2027-03-14")
    assert sunday["therapists"][0]["working"] == []


def test_free_slots_follow_hours_breaks_and_bookings_and_can_be_booked(client, staff):
    admin, therapist, reception = staff("admin"), staff("therapist"), staff("reception")
    set_hours(client, admin, therapist)
    patient = make_patient(client, reception)
    book(client, reception, patient["id"], therapist, "2027-03-15T10:00:00-04:00", type_id=INITIAL)  # 10-11
    params = {"type": IMS, "therapist": str(therapist.id), "from": "2027-03-15T00:00:00-04:00",
              "to": "2027-03-16T00:00:00-04:00", "step": 30}
    free = client.get("/api/v1/availability", params=params, headers=reception.headers)
    assert free.status_code == 200, free.text
    starts = [s["start"][11:16] for s in free.json()["items"]]
    assert starts == ["09:00", "09:30", "11:00", "11:30", "13:00", "13:30", "14:00", "14:30", "15:00", "15:30",
                      "16:00", "16:30"]
    # every slot offered can be booked
    slot = free.json()["items"][2]
    assert client.post("/api/v1/appointments", json=booking(patient["id"], therapist, slot["start"]),
                       headers=reception.headers).status_code == 201
    for bad, field in (({"to": "2027-03-14T00:00:00-04:00"}, "to"), ({"to": "2027-05-16T00:00:00-04:00"}, "to"),
                       ({"from": "2027-03-15T00:00:00"}, "from"), ({"type": INITIAL[:-1] + "9"}, "type")):
        response = client.get("/api/v1/availability", params={**params, **bad}, headers=reception.headers)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == field, bad


def test_free_slots_in_the_dst_week_keep_local_times(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist, breaks={})
    params = {"type": INITIAL, "therapist": str(therapist.id), "from": "2027-03-12T00:00:00-05:00",
              "to": "2027-03-16T00:00:00-04:00", "step": 60}
    items = client.get("/api/v1/availability", params=params, headers=admin.headers).json()["items"]
    firsts = {}
    for s in items:
        firsts.setdefault(s["start"][:10], s["start"])
    assert firsts == {"2027-03-12": "2027-03-12T09:00:00-05:00", "2027-03-15": "2027-03-15T09:00:00-04:00"}
    assert len(items) == 16  # 8 one-hour slots on Friday and on Monday, none at the weekend
