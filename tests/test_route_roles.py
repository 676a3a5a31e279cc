"""Every route x every role: 2xx for the roles allowed, 403 (audited) for the rest.

The table is written by hand from the issues' role rules, never derived from the code's permission
mapping: admin everything; therapist patients + clinical read/write; reception demographics only;
auditor read-only (patients, clinical, audit log); staff, clinic settings and integrations admin-only.

A therapist is walked three times, once per care relationship with the scene's patient (README "Access
policy"): on the care team (the table as written), not in care (every route into that patient's chart is
403, `CARE_SCOPED`), and under a break-the-glass access (reads and writes allowed, `TEAM_ONLY` still 403).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import select

from app.auth.deps import required_permission
from app.jobs.runner import run_due
from app.models import AuditEvent
from tests.assessments.helpers import assessment_body, open_episode
from tests.factories import Member, Staff, make_patient
from tests.treatments.helpers import consent, screen, session_body

ROLES = ("admin", "therapist", "reception", "auditor")
IN_CARE, OUT, BREAK_GLASS = "in care", "not in care", "break the glass"
ALL = frozenset(ROLES)
ADMIN = frozenset({"admin"})
FRONT_DESK = frozenset({"admin", "therapist", "reception"})   # demographics writes
CLINICAL_READ = frozenset({"admin", "therapist", "auditor"})
CLINICAL_WRITE = frozenset({"admin", "therapist"})            # the admin here is also rostered to needle
AUDIT_READ = frozenset({"admin", "auditor"})
EXPORT = frozenset({"admin", "therapist"})                    # one patient's record; the whole clinic is admin
BOOK_WRITE = frozenset({"admin", "therapist", "reception"})   # appointments (a therapist only their own)
SCHEDULES = frozenset({"admin", "therapist"})                 # working hours (a therapist only their own)
PUBLIC = {("POST", "/api/v1/auth/token"), ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/fhir/metadata"),
          ("GET", "/ical/{token}")}  # the calendar feed: its unguessable, revocable token is the credential
DOCS = {"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}


@dataclass
class Call:
    params: dict[str, Any] = field(default_factory=dict)  # path parameters beyond the scene's defaults
    json: Any = None
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    files: dict[str, Any] | None = None


@dataclass
class Scene:
    """One patient with a full chart, plus the integrations objects; fresh objects on demand."""

    client: Any
    staff: Staff
    therapist: Member
    admin: Member
    ids: dict[str, Any]
    relationship: str = IN_CARE  # the walked therapist's relationship with the scene's patient

    def author(self, member: Member) -> Member:
        """Clinical drafts belong to their author: the member when they may write them here, else our therapist."""
        may_write = member.role in CLINICAL_WRITE and not (member.role == "therapist" and self.relationship == OUT)
        return member if may_write else self.therapist

    def post(self, path: str, member: Member, json: Any = None) -> dict[str, Any]:
        response = self.client.post(path.format(**self.ids), json=json, headers=member.headers)
        assert response.status_code in (200, 201, 202), response.text
        return response.json()

    def fresh_patient(self) -> str:
        return make_patient(self.client, self.therapist)["id"]

    def own_patient(self, member: Member) -> str:
        """A therapist exports only patients on whose care team they are: one they registered and charted."""
        if member.role != "therapist" or self.relationship != IN_CARE:
            return self.ids["patient_id"]
        patient_id = make_patient(self.client, member)["id"]
        open_episode(self.client, member, patient_id)
        return patient_id

    def join(self, member: Member, patient_id: str | None = None) -> dict[str, Any]:
        """The front desk (here the admin) puts `member` on a patient's care team."""
        return self.post(f"/api/v1/patients/{patient_id or self.ids['patient_id']}/care-team", self.admin,
                         {"user_id": str(member.id), "reason": "booked with this therapist"})

    def member_of_the_team(self, member: Member) -> str:
        """Whose membership `member` ends: their own when they are a therapist on the team, else a colleague's."""
        if member.role == "therapist" and self.relationship == IN_CARE:
            return str(member.id)
        return self.join(self.staff("therapist"))["user_id"]

    def fresh_episode(self) -> str:
        return open_episode(self.client, self.therapist, self.ids["patient_id"])["id"]

    def draft_assessment(self, member: Member) -> str:
        return self.post("/api/v1/patients/{patient_id}/assessments", self.author(member),
                         assessment_body(self.ids["episode_id"]))["id"]

    def draft_treatment(self, member: Member, **overrides: Any) -> str:
        return self.post("/api/v1/patients/{patient_id}/treatments", self.author(member),
                         session_body(self.ids["episode_id"], **overrides))["id"]

    def bulk_job(self) -> str:
        """A queued FHIR Bulk Data export, kicked off by the admin."""
        response = self.client.get("/fhir/$export", headers={**self.admin.headers, **ASYNC})
        assert response.status_code == 202, response.text
        return response.headers["content-location"].rsplit("/", 1)[1]

    def own_therapist(self, member: Member) -> str:
        """A therapist manages only their own book; anyone else acts on a fresh therapist's."""
        return str(member.id) if member.role == "therapist" else str(self.staff("therapist").id)

    def with_feed(self, member: Member) -> str:
        """The member's own (or a fresh) therapist, with a live calendar feed to revoke."""
        therapist_id = self.own_therapist(member)
        self.post(f"/api/v1/therapists/{therapist_id}/calendar-feed", self.admin)
        return therapist_id

    def fresh_appointment(self, member: Member, *, past: bool = False, arrived: bool = False) -> str:
        """A booked visit (outside hours, overridden) in a slot of its own, in the member's book if a therapist."""
        n = next(_SLOTS)
        start = f"{'2025' if past else '2027'}-03-{1 + n // 8:02d}T{9 + n % 8:02d}:00:00-05:00"
        appt = self.post("/api/v1/appointments", self.admin, {
            "patient_id": self.ids["patient_id"], "type_id": APPT_TYPE, "start": start, "override_hours": True,
            "therapist_id": str(member.id) if member.role == "therapist" else str(self.therapist.id)})
        if arrived:
            self.client.post(f"/api/v1/appointments/{appt['id']}/arrive", headers={**self.admin.headers, **V1})
        return str(appt["id"])

    def etag(self, path: str) -> str:
        return self.client.get(path, headers=self.admin.headers).headers["etag"]


V1 = {"If-Match": 'W/"1"'}
V2 = {"If-Match": 'W/"2"'}
APPT_TYPE = "018f0000-0000-7000-8000-0000000a0001"
_SLOTS = itertools.count()
ASYNC = {"Prefer": "respond-async"}
P = "/api/v1/patients/{patient_id}"
Arrange = Callable[[Scene, Member], Call]


def fixed(**kwargs: Any) -> Arrange:
    return lambda scene, member: Call(**kwargs)


def new_user(scene: Scene, member: Member) -> Call:
    return Call(json={"email": f"new-{member.id}@clinic.example", "full_name": "New Staff", "role": "reception",
                      "password": "a long enough password"})


# (method, path template, roles that get a 2xx, how to make the call succeed for them)
TABLE: list[tuple[str, str, frozenset[str], Arrange | None]] = [
    ("POST", "/api/v1/auth/logout", ALL, None),
    ("GET", "/api/v1/users/me", ALL, None),
    ("POST", "/api/v1/users", ADMIN, new_user),
    ("GET", "/api/v1/users", ADMIN, None),
    ("GET", "/api/v1/users/{user_id}", ADMIN, None),
    ("PATCH", "/api/v1/users/{user_id}", ADMIN, lambda s, m: Call(
        {"user_id": s.staff("reception").id}, json={"full_name": "Renamed"}, headers=V1)),
    ("POST", "/api/v1/users/{user_id}/deactivate", ADMIN, lambda s, m: Call({"user_id": s.staff("reception").id})),
    ("POST", "/api/v1/patients", FRONT_DESK, fixed(json={"given_name": "Ann", "family_name": "Role",
                                                         "birth_date": "1980-01-01"})),
    ("GET", "/api/v1/patients", ALL, None),
    ("GET", P, ALL, None),
    ("PATCH", P, FRONT_DESK, lambda s, m: Call({"patient_id": s.fresh_patient()}, json={"preferred_name": "Annie"},
                                                headers=V1)),
    ("POST", P + "/deactivate", FRONT_DESK, lambda s, m: Call({"patient_id": s.fresh_patient()})),
    ("GET", "/api/v1/clinic", ALL, None),
    ("PATCH", "/api/v1/clinic", ADMIN, lambda s, m: Call(json={"name": f"Clinic {m.role}"},
                                                         headers={"If-Match": s.etag("/api/v1/clinic")})),
    ("GET", "/api/v1/audit-events", AUDIT_READ, None),
    ("GET", "/api/v1/reference/levels", ALL, None),
    ("GET", "/api/v1/reference/muscles", ALL, None),
    ("GET", "/api/v1/reference/muscles/{code}", ALL, None),
    ("GET", "/api/v1/reference/conditions", ALL, None),
    ("GET", "/api/v1/reference/instruments", ALL, None),
    # Episodes and Gunn assessments (issue 3): reception gets none of it.
    ("POST", P + "/episodes", CLINICAL_WRITE, fixed(json={"conditions": ["whiplash"]})),
    ("GET", P + "/episodes", CLINICAL_READ, None),
    ("GET", "/api/v1/episodes/{episode_id}", CLINICAL_READ, None),
    ("PATCH", "/api/v1/episodes/{episode_id}", CLINICAL_WRITE, lambda s, m: Call(
        {"episode_id": s.fresh_episode()}, json={"planned_frequency": "twice weekly"}, headers=V1)),
    ("POST", "/api/v1/episodes/{episode_id}/discharge", CLINICAL_WRITE, lambda s, m: Call(
        {"episode_id": s.fresh_episode()}, json={"discharge_reason": "goals_met"})),
    ("POST", P + "/assessments", CLINICAL_WRITE, lambda s, m: Call(json=assessment_body(s.ids["episode_id"]))),
    ("GET", P + "/assessments", CLINICAL_READ, None),
    ("GET", "/api/v1/assessments/{assessment_id}", CLINICAL_READ, None),
    ("PATCH", "/api/v1/assessments/{assessment_id}", CLINICAL_WRITE, lambda s, m: Call(
        {"assessment_id": s.draft_assessment(m)}, json={"plan": "weekly"}, headers=V1)),
    ("DELETE", "/api/v1/assessments/{assessment_id}", CLINICAL_WRITE, lambda s, m: Call(
        {"assessment_id": s.draft_assessment(m)})),
    ("POST", "/api/v1/assessments/{assessment_id}/sign", CLINICAL_WRITE, lambda s, m: Call(
        {"assessment_id": s.draft_assessment(m)})),
    ("POST", "/api/v1/assessments/{assessment_id}/amendments", CLINICAL_WRITE, lambda s, m: Call(
        json={"reason": "correction", "changes": {"plan": f"amended by {m.role}"}})),
    ("GET", "/api/v1/assessments/{assessment_id}/history", CLINICAL_READ, None),
    ("GET", "/api/v1/assessments/{assessment_id}/history/{revision}", CLINICAL_READ, None),
    ("GET", "/api/v1/assessments/{assessment_id}/segmental-summary", CLINICAL_READ, None),
    ("GET", "/api/v1/assessments/{assessment_id}/segmental-map.svg", CLINICAL_READ, None),
    # Consents, precaution screens, treatment sessions, outcomes, the chart (issue 4).
    ("POST", P + "/consents", CLINICAL_WRITE, fixed(json={"kind": "data_sharing", "method": "verbal"})),
    ("GET", P + "/consents", CLINICAL_READ, None),
    ("GET", P + "/consents/{consent_id}", CLINICAL_READ, None),
    ("POST", P + "/consents/{consent_id}/withdraw", CLINICAL_WRITE, lambda s, m: Call(
        {"consent_id": consent(s.client, s.therapist, s.ids["patient_id"], kind="data_sharing")["id"]})),
    ("POST", P + "/screenings", CLINICAL_WRITE, fixed(json={"diabetes": True})),
    ("GET", P + "/screenings", CLINICAL_READ, None),
    ("GET", P + "/screenings/current", CLINICAL_READ, None),
    ("GET", P + "/screenings/{screening_id}", CLINICAL_READ, None),
    ("POST", P + "/treatments", CLINICAL_WRITE, lambda s, m: Call(json=session_body(s.ids["episode_id"]))),
    ("GET", P + "/treatments", CLINICAL_READ, None),
    ("GET", "/api/v1/treatments/{treatment_id}", CLINICAL_READ, None),
    ("PATCH", "/api/v1/treatments/{treatment_id}", CLINICAL_WRITE, lambda s, m: Call(
        {"treatment_id": s.draft_treatment(m)}, json={"needles_removed": 6}, headers=V1)),
    ("DELETE", "/api/v1/treatments/{treatment_id}", CLINICAL_WRITE, lambda s, m: Call(
        {"treatment_id": s.draft_treatment(m)})),
    ("POST", "/api/v1/treatments/{treatment_id}/sign", CLINICAL_WRITE, lambda s, m: Call(
        {"treatment_id": s.draft_treatment(m, needles_removed=6)})),
    ("POST", "/api/v1/treatments/{treatment_id}/amendments", CLINICAL_WRITE, lambda s, m: Call(
        json={"reason": "correction", "changes": {"plan": f"amended by {m.role}"}})),
    ("GET", "/api/v1/treatments/{treatment_id}/history", CLINICAL_READ, None),
    ("GET", "/api/v1/treatments/{treatment_id}/history/{revision}", CLINICAL_READ, None),
    ("POST", P + "/outcomes", CLINICAL_WRITE, fixed(json={"instrument": "nprs", "responses": [4]})),
    ("GET", P + "/outcomes", CLINICAL_READ, None),
    ("GET", "/api/v1/episodes/{episode_id}/progress", CLINICAL_READ, None),
    ("GET", "/api/v1/episodes/{episode_id}/progress.svg", CLINICAL_READ, None),
    ("GET", P + "/chart", CLINICAL_READ, None),
    # Red flags from the assessments' history (issue 16): read with the chart, acknowledged by a clinician.
    ("GET", P + "/red-flags", CLINICAL_READ, None),
    ("POST", P + "/red-flags/acknowledgements", CLINICAL_WRITE, lambda s, m: Call(json={
        "assessment_id": s.post(P + "/assessments", s.author(m), assessment_body(
            s.ids["episode_id"], subjective={"red_flags": {"night_pain": True}}))["id"],
        "flags": ["night_pain"], "action": "asked about it; mechanical pattern"})),
    # Record export and FHIR (issue 5): a patient's record for admin and therapist, the whole clinic (also as
    # FHIR Bulk Data) for the admin; FHIR reads are clinical reads.
    ("GET", P + "/export", EXPORT, lambda s, m: Call({"patient_id": s.own_patient(m)}, query={"format": "json"})),
    ("POST", "/api/v1/exports", ADMIN, fixed(json={"format": "ndjson"})),
    ("POST", "/api/v1/imports/patients", ADMIN, lambda s, m: Call(files={"file": (
        "p.csv", f"First Name,Last Name,DOB\nImported,By {m.id},1970-01-01\n".encode(), "text/csv")})),
    ("GET", "/api/v1/exports/{job_id}", ADMIN, None),
    ("GET", "/api/v1/exports/{job_id}/download", ADMIN, None),
    ("GET", "/fhir/Patient/{patient_id}/$everything", EXPORT, lambda s, m: Call({"patient_id": s.own_patient(m)})),
    ("GET", "/fhir/{resource_type}/{rid}", CLINICAL_READ, lambda s, m: Call(
        {"resource_type": "Procedure", "rid": s.ids["treatment_id"]})),
    ("GET", "/fhir/{resource_type}", CLINICAL_READ, lambda s, m: Call(
        {"resource_type": "Procedure"}, query={"patient": s.ids["patient_id"]})),
    ("GET", "/fhir/$export", ADMIN, fixed(headers=ASYNC)),
    ("GET", "/fhir/Patient/$export", ADMIN, fixed(headers=ASYNC)),
    ("POST", "/fhir/$export", ADMIN, fixed(headers=ASYNC, json={"resourceType": "Parameters"})),
    ("POST", "/fhir/Patient/$export", ADMIN, fixed(headers=ASYNC, json={"resourceType": "Parameters"})),
    ("GET", "/fhir/$export-poll/{job_id}", ADMIN, lambda s, m: Call({"job_id": s.ids["bulk_job_id"]})),
    ("DELETE", "/fhir/$export-poll/{job_id}", ADMIN, lambda s, m: Call({"job_id": s.bulk_job()})),
    ("GET", "/fhir/$export-file/{job_id}/{name}", ADMIN, lambda s, m: Call(
        {"job_id": s.ids["bulk_job_id"], "name": "Patient.ndjson"})),
    # Integrations (issue 6): admin-only management; the changes feed filters by what the reader may see.
    ("POST", "/api/v1/api-clients", ADMIN, fixed(json={"name": "x", "scopes": ["patients:read"]})),
    ("GET", "/api/v1/api-clients", ADMIN, None),
    ("GET", "/api/v1/api-clients/{client_id}", ADMIN, None),
    ("POST", "/api/v1/api-clients/{client_id}/revoke", ADMIN, lambda s, m: Call({"client_id": s.post(
        "/api/v1/api-clients", s.admin, {"name": "fresh", "scopes": ["export"]})["id"]})),
    ("GET", "/api/v1/changes", ALL, None),
    ("POST", "/api/v1/webhooks", ADMIN, fixed(json={"url": "https://127.0.0.1/h", "event_types": ["*"]})),
    ("GET", "/api/v1/webhooks", ADMIN, None),
    ("GET", "/api/v1/webhooks/{webhook_id}", ADMIN, None),
    ("PATCH", "/api/v1/webhooks/{webhook_id}", ADMIN, lambda s, m: Call(
        json={"active": True}, headers={"If-Match": s.etag("/api/v1/webhooks/{webhook_id}".format(**s.ids))})),
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries", ADMIN, None),
    ("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", ADMIN, None),
    ("POST", "/api/v1/webhooks/{webhook_id}/ping", ADMIN, None),
    ("POST", "/api/v1/webhooks/{webhook_id}/rotate-secret", ADMIN, None),
    # Care relationships (issue 10): the front desk, admins and the care team add clinicians; a therapist
    # outside a patient's care opens a break-the-glass access (a fresh patient: nobody walked is in its care).
    ("GET", P + "/care-team", ALL, None),
    ("POST", P + "/care-team", FRONT_DESK, lambda s, m: Call(json={"user_id": str(s.staff("therapist").id)})),
    ("POST", P + "/care-team/{user_id}/end", FRONT_DESK, lambda s, m: Call({"user_id": s.member_of_the_team(m)})),
    ("POST", P + "/break-glass", frozenset({"therapist"}), lambda s, m: Call(
        {"patient_id": s.fresh_patient()}, json={"reason": "patient collapsed in the waiting room"})),
    # The appointment book (issue 14): reception and therapists book (a therapist their own), auditors read;
    # types are the admin's; working hours the admin's or the therapist's own; the worklist is clinical.
    ("GET", "/api/v1/appointment-types", ALL, None),
    ("POST", "/api/v1/appointment-types", ADMIN, lambda s, m: Call(json={"name": f"T {m.id}", "duration_minutes": 20})),
    ("PATCH", "/api/v1/appointment-types/{type_id}", ADMIN, lambda s, m: Call({"type_id": s.post(
        "/api/v1/appointment-types", s.admin, {"name": f"P {m.id}", "duration_minutes": 20})["id"]},
        json={"colour": "#00ff00"}, headers=V1)),
    ("GET", "/api/v1/therapists/{therapist_id}/schedule", ALL, None),
    ("PUT", "/api/v1/therapists/{therapist_id}/schedule", SCHEDULES, lambda s, m: Call(
        {"therapist_id": s.own_therapist(m)}, json={"hours": {"mon": [{"start": "09:00", "end": "12:00"}]}})),
    ("GET", "/api/v1/therapists/{therapist_id}/schedule/exceptions", ALL, None),
    ("POST", "/api/v1/therapists/{therapist_id}/schedule/exceptions", SCHEDULES, lambda s, m: Call(
        {"therapist_id": s.own_therapist(m)}, json={"on_date": "2027-04-02", "kind": "holiday"})),
    ("DELETE", "/api/v1/therapists/{therapist_id}/schedule/exceptions/{exception_id}", SCHEDULES, lambda s, m: Call(
        {"therapist_id": (t := s.own_therapist(m)), "exception_id": s.post(
            f"/api/v1/therapists/{t}/schedule/exceptions", s.admin, {"on_date": "2027-04-05", "kind": "sick_day"}
        )["id"]})),
    ("POST", "/api/v1/appointments", BOOK_WRITE, lambda s, m: Call(json={
        "patient_id": s.ids["patient_id"], "therapist_id": s.own_therapist(m), "type_id": APPT_TYPE,
        "start": "2027-05-03T10:00:00-04:00", "override_hours": True})),
    ("GET", "/api/v1/appointments", ALL, None),
    ("POST", "/api/v1/appointments/series", BOOK_WRITE, lambda s, m: Call(json={
        "patient_id": s.ids["patient_id"], "therapist_id": s.own_therapist(m), "type_id": APPT_TYPE,
        "start": "2027-05-04T10:00:00-04:00", "rrule": "FREQ=WEEKLY;COUNT=2", "override_hours": True})),
    ("GET", "/api/v1/appointments/{appointment_id}", ALL, None),
    ("PATCH", "/api/v1/appointments/{appointment_id}", BOOK_WRITE, lambda s, m: Call(
        {"appointment_id": s.fresh_appointment(m)}, json={"front_desk_notes": "Bring forms"}, headers=V1)),
    ("POST", "/api/v1/appointments/{appointment_id}/arrive", BOOK_WRITE, lambda s, m: Call(
        {"appointment_id": s.fresh_appointment(m)}, headers=V1)),
    ("POST", "/api/v1/appointments/{appointment_id}/complete", BOOK_WRITE, lambda s, m: Call(
        {"appointment_id": s.fresh_appointment(m, arrived=True)}, headers=V2)),
    ("POST", "/api/v1/appointments/{appointment_id}/no-show", BOOK_WRITE, lambda s, m: Call(
        {"appointment_id": s.fresh_appointment(m, past=True)}, headers=V1)),
    ("POST", "/api/v1/appointments/{appointment_id}/cancel", BOOK_WRITE, lambda s, m: Call(
        {"appointment_id": s.fresh_appointment(m)}, json={"reason": "ill", "cancelled_by": "patient"}, headers=V1)),
    ("GET", "/api/v1/worklists/unsigned-notes", CLINICAL_READ, None),
    ("POST", "/api/v1/therapists/{therapist_id}/calendar-feed", SCHEDULES, lambda s, m: Call(
        {"therapist_id": s.own_therapist(m)})),
    ("DELETE", "/api/v1/therapists/{therapist_id}/calendar-feed", SCHEDULES, lambda s, m: Call(
        {"therapist_id": s.with_feed(m)})),
    ("POST", "/api/v1/imports/appointments", ADMIN, lambda s, m: Call(query={"dry_run": "true"}, files={"file": (
        "a.csv", b"Chart,Therapist,Type,Date,Time\nX,x@example.com,IMS treatment,2027-03-01,09:00\n", "text/csv")})),
    ("GET", "/api/v1/schedule/day", ALL, fixed(query={"date": "2027-03-01"})),
    ("GET", "/api/v1/schedule/week", ALL, None),
    ("GET", "/api/v1/reminders", ALL, fixed(query={"from": "2027-03-01T00:00:00Z", "to": "2027-03-03T00:00:00Z"})),
    ("GET", "/api/v1/availability", ALL, fixed(query={"type": APPT_TYPE, "from": "2027-03-01T00:00:00Z",
                                                      "to": "2027-03-03T00:00:00Z"})),
]

# Routes into the scene patient's chart: a therapist needs a care relationship with that patient.
CARE_SCOPED = {
    ("POST", P + "/episodes"), ("GET", P + "/episodes"), ("GET", "/api/v1/episodes/{episode_id}"),
    ("PATCH", "/api/v1/episodes/{episode_id}"), ("POST", "/api/v1/episodes/{episode_id}/discharge"),
    ("POST", P + "/assessments"), ("GET", P + "/assessments"), ("GET", "/api/v1/assessments/{assessment_id}"),
    ("PATCH", "/api/v1/assessments/{assessment_id}"), ("DELETE", "/api/v1/assessments/{assessment_id}"),
    ("POST", "/api/v1/assessments/{assessment_id}/sign"), ("POST", "/api/v1/assessments/{assessment_id}/amendments"),
    ("GET", "/api/v1/assessments/{assessment_id}/history"),
    ("GET", "/api/v1/assessments/{assessment_id}/history/{revision}"),
    ("GET", "/api/v1/assessments/{assessment_id}/segmental-summary"),
    ("GET", "/api/v1/assessments/{assessment_id}/segmental-map.svg"),
    ("POST", P + "/consents"), ("GET", P + "/consents"), ("GET", P + "/consents/{consent_id}"),
    ("POST", P + "/screenings"), ("GET", P + "/screenings"), ("GET", P + "/screenings/current"),
    ("GET", P + "/screenings/{screening_id}"),
    ("POST", P + "/treatments"), ("GET", P + "/treatments"), ("GET", "/api/v1/treatments/{treatment_id}"),
    ("PATCH", "/api/v1/treatments/{treatment_id}"), ("DELETE", "/api/v1/treatments/{treatment_id}"),
    ("POST", "/api/v1/treatments/{treatment_id}/sign"), ("POST", "/api/v1/treatments/{treatment_id}/amendments"),
    ("GET", "/api/v1/treatments/{treatment_id}/history"),
    ("GET", "/api/v1/treatments/{treatment_id}/history/{revision}"),
    ("POST", P + "/outcomes"), ("GET", P + "/outcomes"), ("GET", "/api/v1/episodes/{episode_id}/progress"),
    ("GET", "/api/v1/episodes/{episode_id}/progress.svg"), ("GET", P + "/chart"),
    ("GET", P + "/red-flags"), ("POST", P + "/red-flags/acknowledgements"),
    # FHIR: the patient is in the query (search) or behind the resource id (read); walked with a Procedure.
    ("GET", "/fhir/{resource_type}/{rid}"), ("GET", "/fhir/{resource_type}"),
}
# ... and these need the care team itself: a break-the-glass access reads and charts, it does not export,
# withdraw a colleague's consent, or manage the team.
TEAM_ONLY = {("GET", P + "/export"), ("GET", "/fhir/Patient/{patient_id}/$everything"),
             ("POST", P + "/consents/{consent_id}/withdraw"), ("POST", P + "/care-team"),
             ("POST", P + "/care-team/{user_id}/end")}


def allowed_for(role: str, relationship: str, method: str, template: str, roles: frozenset[str]) -> bool:
    if role not in roles:
        return False
    if role != "therapist" or relationship == IN_CARE:
        return True
    if (method, template) in TEAM_ONLY:
        return False
    return relationship == BREAK_GLASS or (method, template) not in CARE_SCOPED


def app_routes(app) -> list[tuple[str, str, Any]]:
    """(method, path, route) for every API route the app serves, included routers flattened.

    The charting pages (/app) are left out: they take the browser session, not a bearer token, and call the
    same access policy inside each page (tests/web walks them by role)."""
    return [(method, route.path, route) for route in iter_route_contexts(app.routes)
            for method in sorted(route.methods or ()) if method != "HEAD" and not route.path.startswith("/app")]


# --- the table and the code agree on which routes exist and that each one is guarded ---------------------------


def test_the_table_lists_every_route_of_the_app(app):
    served = {(m, p) for m, p, _ in app_routes(app) if (m, p) not in PUBLIC and p not in DOCS}
    table = {(m, p) for m, p, _, _ in TABLE}
    assert len(table) == len(TABLE), "a route is listed twice"
    assert served - table == set(), "new routes: add them to TABLE with the roles allowed"
    assert table - served == set(), "TABLE lists routes the app no longer has"
    assert {p for _, p in served if p.startswith("/api/v1")} and ("GET", "/api/v1/users") in served


def test_every_protected_route_declares_exactly_one_permission(app):
    for method, path, route in app_routes(app):
        if path in DOCS:
            continue
        declared = [required_permission(dep.call) for dep in route.dependant.dependencies
                    if dep.call is not None and required_permission(dep.call) is not None]
        if (method, path) in PUBLIC:
            assert declared == [], f"{method} {path} is public and must not demand a permission"
        else:
            assert len(declared) == 1, f"{method} {path} must use Authorize(...) exactly once, found {declared}"


# --- walk it ----------------------------------------------------------------------------------------------------


@pytest.fixture
def scene(app, client, staff, settings) -> Scene:
    therapist, admin = staff("therapist"), staff("admin", authorized_to_needle=True)
    patient = make_patient(client, therapist)
    ids: dict[str, Any] = {"patient_id": patient["id"], "rid": patient["id"], "resource_type": "Patient",
                           "code": "tibialis_anterior", "revision": 1, "user_id": staff("reception").id}
    s = Scene(client, staff, therapist, admin, ids)
    ids["episode_id"] = open_episode(client, therapist, patient["id"])["id"]
    draft = s.draft_assessment(therapist)
    ids["assessment_id"] = s.post(f"/api/v1/assessments/{draft}/sign", therapist)["id"]
    ids["consent_id"] = consent(client, therapist, patient["id"])["id"]  # IMS consent: treatments may go ahead
    consent(client, therapist, patient["id"], kind="electrical_stimulation")
    ids["screening_id"] = screen(client, therapist, patient["id"])["id"]
    ids["treatment_id"] = s.post(f"/api/v1/treatments/{s.draft_treatment(therapist, needles_removed=6)}/sign",
                                 therapist)["id"]
    ids["client_id"] = s.post("/api/v1/api-clients", admin, {"name": "w", "scopes": ["patients:read"]})["id"]
    ids["webhook_id"] = s.post("/api/v1/webhooks", admin, {"url": "https://127.0.0.1/h", "event_types": ["*"]})["id"]
    ids["delivery_id"] = s.post("/api/v1/webhooks/{webhook_id}/ping", admin)["id"]
    ids["job_id"] = s.post("/api/v1/exports", admin, {"format": "ndjson"})["id"]
    ids["bulk_job_id"] = s.bulk_job()
    ids["therapist_id"] = str(therapist.id)
    ids["appointment_id"] = s.fresh_appointment(therapist)
    assert run_due(app.state.sessionmaker, settings.data_dir) == 2  # finished exports to download
    return s


WALKS = [("admin", IN_CARE), ("therapist", IN_CARE), ("therapist", OUT), ("therapist", BREAK_GLASS),
         ("reception", IN_CARE), ("auditor", IN_CARE)]


@pytest.mark.parametrize(("role", "relationship"), WALKS, ids=[f"{r}-{c}".replace(" ", "-") for r, c in WALKS])
def test_each_route_allows_exactly_its_roles(client, scene, db, role, relationship):
    scene.relationship = relationship
    denied_paths = []
    for method, template, allowed, arrange in TABLE:
        member = scene.staff(role, authorized_to_needle=role in CLINICAL_WRITE)  # fresh: logout ends a token
        if role == "therapist" and relationship == IN_CARE:
            scene.join(member)
        elif role == "therapist" and relationship == BREAK_GLASS:
            scene.post("/api/v1/patients/{patient_id}/break-glass", member, {"reason": "covering an emergency visit"})
        call = arrange(scene, member) if arrange else Call()
        path = template.format(**{**scene.ids, **call.params})
        response = client.request(method, path, params=call.query, json=call.json, files=call.files,
                                  headers={**member.headers, **call.headers})
        where = f"{role} ({relationship}) {method} {template}"
        if allowed_for(role, relationship, method, template, allowed):
            assert 200 <= response.status_code < 300, f"{where}: {response.status_code} {response.text[:300]}"
        else:
            assert response.status_code == 403, f"{where}: {response.status_code} {response.text[:300]}"
            if not path.startswith("/fhir"):  # FHIR answers with an OperationOutcome instead
                assert response.headers["content-type"] == "application/problem+json", where
                assert response.json()["status"] == 403
            denied_paths.append((method, path))

    # Every refusal is on the audit trail as an access denial by this role, naming what was tried.
    denied = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
    assert all(e.action == "access" and e.actor_role == role and e.actor_type == "user" for e in denied)
    assert sorted((e.detail["method"], e.detail["path"]) for e in denied) == sorted(denied_paths)
    assert len(denied_paths) == sum(1 for m, t, allowed, _ in TABLE
                                    if not allowed_for(role, relationship, m, t, allowed))
    if relationship == OUT:  # the chart stays shut: every route into it refused, for want of a relationship
        assert len(denied_paths) == sum(1 for m, t, allowed, _ in TABLE
                                        if "therapist" not in allowed or (m, t) in CARE_SCOPED | TEAM_ONLY)
    # Everything done under a break-the-glass access is on record as such, one row per request.
    glass = db.scalars(select(AuditEvent).where(AuditEvent.action == "break_glass_access")).all()
    if relationship == BREAK_GLASS:
        assert glass and all(e.detail["reason"] == "covering an emergency visit" for e in glass)
        assert len({e.request_id for e in glass}) == len(glass)
    else:
        assert glass == []


def test_care_scoped_routes_are_every_route_into_a_chart(app):
    """The hand-written CARE_SCOPED + TEAM_ONLY sets and the code agree: every route whose permission opens a
    chart (clinical read/write, patient export) and whose path names a patient's record is care-scoped —
    except break-the-glass itself, which is how a therapist outside the care team gets in."""
    from app.access.policy import CARE_PERMISSIONS, PATIENT_PATH_PARAMS

    into_a_chart = set()
    for method, path, route in app_routes(app):
        if path in DOCS:
            continue
        permission = next((required_permission(d.call) for d in route.dependant.dependencies
                           if d.call is not None and required_permission(d.call) is not None), None)
        params = {p.name for p in route.dependant.path_params}
        if permission in CARE_PERMISSIONS and params & PATIENT_PATH_PARAMS:
            into_a_chart.add((method, path))
    scoped = {(m, t) for m, t in CARE_SCOPED | TEAM_ONLY}
    assert into_a_chart - scoped == {("POST", P + "/break-glass")}
    assert scoped - into_a_chart <= {("POST", P + "/care-team"), ("POST", P + "/care-team/{user_id}/end"),
                                     ("GET", "/fhir/{resource_type}/{rid}"), ("GET", "/fhir/{resource_type}")}


def test_a_denial_is_audited_even_though_the_request_fails(client, staff, db):
    reception = staff("reception")
    patient = make_patient(client, reception)
    response = client.get(f"/api/v1/patients/{patient['id']}/episodes", headers=reception.headers)
    assert response.status_code == 403
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
    assert (event.action, event.actor_id, event.actor_role) == ("access", reception.id, "reception")
    assert event.detail == {"method": "GET", "path": f"/api/v1/patients/{patient['id']}/episodes",
                            "permission": "clinical:read"}
    assert event.request_id == response.headers["x-request-id"]
