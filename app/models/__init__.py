"""Every ORM model, imported here so Alembic sees one metadata."""

from app.models.access import CareRelationship
from app.models.appointment import Appointment, AppointmentType, CalendarFeed, ScheduleException, TherapistSchedule
from app.models.audit import AuditChainHead, AuditEvent
from app.models.base import Base
from app.models.clinic import Clinic
from app.models.clinical import Assessment, ClinicalRevision, Episode
from app.models.integration import (
                                    ApiClient,
                                    ChangeEvent,
                                    ExportJob,
                                    IdempotencyKey,
                                    RateWindow,
                                    WebhookDelivery,
                                    WebhookSubscription,
)
from app.models.patient import Counter, Patient
from app.models.reference import ReferenceCondition, ReferenceLevel, ReferenceMuscle
from app.models.treatment import Consent, OutcomeAdministration, RedFlagAcknowledgement, Screening, Treatment
from app.models.user import AuthToken, LoginAttempt, User
from app.models.worker import WorkerHeartbeat

__all__ = [
                                    "ApiClient",
                                    "Appointment",
                                    "AppointmentType",
                                    "Assessment",
                                    "AuditChainHead",
                                    "AuditEvent",
                                    "AuthToken",
                                    "Base",
                                    "CalendarFeed",
                                    "CareRelationship",
                                    "ChangeEvent",
                                    "Clinic",
                                    "ClinicalRevision",
                                    "Consent",
                                    "Counter",
                                    "Episode",
                                    "ExportJob",
                                    "IdempotencyKey",
                                    "LoginAttempt",
                                    "OutcomeAdministration",
                                    "Patient",
                                    "RateWindow",
                                    "RedFlagAcknowledgement",
                                    "ReferenceCondition",
                                    "ReferenceLevel",
                                    "ReferenceMuscle",
                                    "ScheduleException",
                                    "Screening",
                                    "TherapistSchedule",
                                    "Treatment",
                                    "User",
                                    "WebhookDelivery",
                                    "WebhookSubscription",
                                    "WorkerHeartbeat",
]
