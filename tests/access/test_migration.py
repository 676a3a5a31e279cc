"""Migration 0014: every therapist who had recorded care for a patient keeps that chart (a care-team row),
and export jobs already on record get an expiry."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy import create_engine, text

from app import migrate
from app.models.base import new_id, utcnow


def test_recorded_care_becomes_care_team_membership(template_db):
    url = template_db.empty()
    migrate.upgrade(url, "0009")
    engine = create_engine(url)
    therapist, other, patient, lonely = new_id(), new_id(), new_id(), new_id()
    now = utcnow()
    try:
        with engine.begin() as conn:
            for uid, email in ((therapist, "t@clinic.example"), (other, "o@clinic.example")):
                conn.execute(sa.insert(sa.table("users", sa.column("id", sa.Uuid()), sa.column("email"),
                                                sa.column("full_name"), sa.column("role"), sa.column("password_hash"),
                                                sa.column("authorized_to_needle"), sa.column("active"),
                                                sa.column("created_at", sa.DateTime()),
                                                sa.column("updated_at", sa.DateTime()), sa.column("version"))),
                             {"id": uid, "email": email, "full_name": "T", "role": "therapist", "password_hash": "x",
                              "authorized_to_needle": True, "active": True, "created_at": now, "updated_at": now,
                              "version": 1})
            for pid, chart in ((patient, "C-1"), (lonely, "C-2")):
                conn.execute(sa.insert(sa.table("patients", sa.column("id", sa.Uuid()), sa.column("chart_number"),
                                                sa.column("chart_number_norm"), sa.column("given_name"),
                                                sa.column("family_name"), sa.column("given_name_norm"),
                                                sa.column("family_name_norm"), sa.column("birth_date", sa.Date()),
                                                sa.column("active"), sa.column("created_at", sa.DateTime()),
                                                sa.column("updated_at", sa.DateTime()), sa.column("version"))),
                             {"id": pid, "chart_number": chart, "chart_number_norm": chart.lower(), "given_name": "A",
                              "family_name": "B", "given_name_norm": "a", "family_name_norm": "b",
                              "birth_date": date(1980, 1, 1), "active": True, "created_at": now, "updated_at": now,
                              "version": 1})
            conn.execute(sa.insert(sa.table("episodes", sa.column("id", sa.Uuid()), sa.column("patient_id", sa.Uuid()),
                                            sa.column("created_by", sa.Uuid()), sa.column("status"),
                                            sa.column("conditions", sa.JSON()), sa.column("goals", sa.JSON()),
                                            sa.column("created_at", sa.DateTime()),
                                            sa.column("updated_at", sa.DateTime()), sa.column("version"))),
                         {"id": new_id(), "patient_id": patient, "created_by": therapist, "status": "open",
                          "conditions": ["sciatica"], "goals": [], "created_at": now, "updated_at": now, "version": 1})
        migrate.upgrade(url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT patient_id, user_id, kind, started_by_type FROM care_relationships")).all()
        # Only the pair with a record: the other therapist and the patient nobody charted get no membership.
        assert [(str(p).replace("-", ""), str(u).replace("-", ""), k, s) for p, u, k, s in rows] == [
            (patient.hex, therapist.hex, "care_team", "system")]
    finally:
        engine.dispose()
