"""What each role may do. Routes declare one permission; `Authorize` checks it for any actor.

API clients (a later issue) hold scopes drawn from the same vocabulary, so one check covers both.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    PATIENTS_READ = "patients:read"     # demographics
    PATIENTS_WRITE = "patients:write"
    PATIENTS_IMPORT = "patients:import"  # bulk import from other software (admin only)
    CLINICAL_READ = "clinical:read"     # assessments, treatments, outcomes
    CLINICAL_WRITE = "clinical:write"
    STAFF_MANAGE = "staff:manage"
    AUDIT_READ = "audit:read"
    CLINIC_WRITE = "clinic:write"
    EXPORT = "export"                   # the whole clinic (admin, or an API client with the export scope)
    PATIENT_EXPORT = "patient:export"   # one patient's complete record
    WEBHOOKS = "webhooks"
    INTEGRATIONS_MANAGE = "integrations:manage"  # API clients (admin only; never an API-client scope)
    APPOINTMENTS_READ = "appointments:read"    # the appointment book (no clinical content)
    APPOINTMENTS_WRITE = "appointments:write"  # book, move, cancel; a therapist only their own visits
    SCHEDULES_WRITE = "schedules:write"        # working hours and exceptions; a therapist only their own
    AUTHENTICATED = "authenticated"     # any signed-in actor (own profile, clinic profile, reference data)


# What an API client may be granted; every client also holds AUTHENTICATED (reference data, clinic).
API_CLIENT_SCOPES = (Permission.PATIENTS_READ, Permission.PATIENTS_WRITE, Permission.CLINICAL_READ,
                     Permission.CLINICAL_WRITE, Permission.EXPORT, Permission.WEBHOOKS,
                     Permission.APPOINTMENTS_READ, Permission.APPOINTMENTS_WRITE)


ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(Permission),
    "therapist": frozenset({Permission.AUTHENTICATED, Permission.PATIENTS_READ, Permission.PATIENTS_WRITE,
                            Permission.CLINICAL_READ, Permission.CLINICAL_WRITE, Permission.PATIENT_EXPORT,
                            Permission.APPOINTMENTS_READ, Permission.APPOINTMENTS_WRITE, Permission.SCHEDULES_WRITE}),
    "reception": frozenset({Permission.AUTHENTICATED, Permission.PATIENTS_READ, Permission.PATIENTS_WRITE,
                            Permission.APPOINTMENTS_READ, Permission.APPOINTMENTS_WRITE}),
    "auditor": frozenset({Permission.AUTHENTICATED, Permission.PATIENTS_READ, Permission.CLINICAL_READ,
                          Permission.AUDIT_READ, Permission.APPOINTMENTS_READ}),
}
