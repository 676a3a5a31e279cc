from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from app.kit.contact import INPUT as _INPUT
from app.kit.contact import Address, Phone, Province, Text
from app.kit.isodates import IsoDate

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
CANADIAN_JURISDICTIONS = frozenset({"AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"})


def _issuing_province(value: str) -> str:
    if value not in CANADIAN_JURISDICTIONS:
        raise ValueError(f"must be a Canadian province or territory code ({', '.join(sorted(CANADIAN_JURISDICTIONS))})")
    return value


HealthCardProvince = Annotated[Province, AfterValidator(_issuing_province)]
SexAtBirth = Literal["female", "male", "intersex", "unknown"]
ContactPreference = Literal["sms", "email", "phone", "none"]  # as app.models.patient.CONTACT_PREFERENCES
_PREFERENCE = "How the patient wants appointment reminders; none = do not contact"
_CONSENT = "The patient agreed to be contacted with reminders (the server stamps reminder_consent_at)"


class EmergencyContact(BaseModel):
    model_config = _INPUT
    name: Text
    relationship: Text | None = None
    phone: Phone | None = None


class ReferringPhysician(BaseModel):
    model_config = _INPUT
    name: Text
    phone: Phone | None = None
    fax: Phone | None = None
    billing_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = None


class _PatientFields(BaseModel):
    model_config = _INPUT

    given_name: Name
    family_name: Name
    preferred_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    birth_date: IsoDate
    sex_at_birth: SexAtBirth | None = None
    gender_identity: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] | None = None
    phone: Phone | None = None
    email: EmailStr | None = None
    address: Address | None = None
    health_card_number: str | None = Field(
        None, max_length=30, description="Ontario: 10 digits + optional 2-letter version code, e.g. 1286844022AB")
    health_card_province: HealthCardProvince | None = Field(None, description="Issuing province; defaults to ON")
    emergency_contact: EmergencyContact | None = None
    referring_physician: ReferringPhysician | None = None
    notes: Annotated[str, StringConstraints(max_length=4000)] | None = Field(
        None, description="Administrative notes (visible to reception: no clinical content)")
    contact_preference: ContactPreference | None = Field(None, description=_PREFERENCE)
    reminder_consent: bool = Field(False, description=_CONSENT)


class PatientCreate(_PatientFields):
    chart_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40,
                                                   pattern=r"^[A-Za-z0-9][A-Za-z0-9\-/.]*$")] | None = None


class PatientUpdate(BaseModel):
    """PATCH: only the fields sent change; null clears an optional field."""

    model_config = _INPUT

    chart_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40,
                                                   pattern=r"^[A-Za-z0-9][A-Za-z0-9\-/.]*$")] | None = None
    given_name: Name | None = None
    family_name: Name | None = None
    preferred_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    birth_date: IsoDate | None = None
    sex_at_birth: SexAtBirth | None = None
    gender_identity: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] | None = None
    phone: Phone | None = None
    email: EmailStr | None = None
    address: Address | None = None
    health_card_number: str | None = Field(None, max_length=30)
    health_card_province: HealthCardProvince | None = None
    emergency_contact: EmergencyContact | None = None
    referring_physician: ReferringPhysician | None = None
    notes: Annotated[str, StringConstraints(max_length=4000)] | None = None
    contact_preference: ContactPreference | None = Field(None, description=_PREFERENCE)
    reminder_consent: bool | None = Field(None, description=_CONSENT)


class PatientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    chart_number: str
    given_name: str
    family_name: str
    preferred_name: str | None
    birth_date: date
    sex_at_birth: str | None
    gender_identity: str | None
    phone: str | None
    email: str | None
    address: Address | None
    health_card_number: str | None
    health_card_province: str | None
    emergency_contact: EmergencyContact | None
    referring_physician: ReferringPhysician | None
    notes: str | None
    contact_preference: ContactPreference | None
    reminder_consent: bool
    reminder_consent_at: datetime | None
    active: bool
    deactivated_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
