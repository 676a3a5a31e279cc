"""The route guards, defined once: `actor: ClinicalReader` means "403 (audited) unless clinical:read".

Each name says the permission it needs, so a router reads the same everywhere (`Reader` once meant
clinical:read in seven routers and patients:read in another). All are `Authorize(...)` from
`app.auth.deps`, so tests/test_route_roles.py still finds each route's permission on its dependency.
"""

from __future__ import annotations

from typing import Annotated

from app.auth.deps import Authorize
from app.auth.permissions import Permission
from app.kit.actor import Actor

SignedIn = Annotated[Actor, Authorize(Permission.AUTHENTICATED)]
PatientsReader = Annotated[Actor, Authorize(Permission.PATIENTS_READ)]
PatientsWriter = Annotated[Actor, Authorize(Permission.PATIENTS_WRITE)]
PatientsImporter = Annotated[Actor, Authorize(Permission.PATIENTS_IMPORT)]
ClinicalReader = Annotated[Actor, Authorize(Permission.CLINICAL_READ)]
ClinicalWriter = Annotated[Actor, Authorize(Permission.CLINICAL_WRITE)]
# Break-the-glass is how a therapist outside the care team gets in: the care check is that route's own.
ClinicalReaderOutsideCare = Annotated[Actor, Authorize(Permission.CLINICAL_READ, care=False)]
AppointmentsReader = Annotated[Actor, Authorize(Permission.APPOINTMENTS_READ)]
AppointmentsWriter = Annotated[Actor, Authorize(Permission.APPOINTMENTS_WRITE)]
SchedulesWriter = Annotated[Actor, Authorize(Permission.SCHEDULES_WRITE)]
StaffManager = Annotated[Actor, Authorize(Permission.STAFF_MANAGE)]
ClinicWriter = Annotated[Actor, Authorize(Permission.CLINIC_WRITE)]
AuditReader = Annotated[Actor, Authorize(Permission.AUDIT_READ)]
ClinicExporter = Annotated[Actor, Authorize(Permission.EXPORT)]
PatientExporter = Annotated[Actor, Authorize(Permission.PATIENT_EXPORT)]
WebhookManager = Annotated[Actor, Authorize(Permission.WEBHOOKS)]
IntegrationsManager = Annotated[Actor, Authorize(Permission.INTEGRATIONS_MANAGE)]
