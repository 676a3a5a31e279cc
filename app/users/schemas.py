from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from app.auth.passwords import password_problem

Role = Literal["admin", "therapist", "reception", "auditor"]
# Taken exactly as typed (the models strip other strings): sign-in compares the password unstripped.
Password = Annotated[str, StringConstraints(strip_whitespace=False)]


def _check_password(value: str | None) -> str | None:
    if value is not None and (problem := password_problem(value)):
        raise ValueError(f"password {problem}")
    return value


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr
    full_name: str = Field(min_length=1, max_length=200)
    role: Role
    password: Password = Field(json_schema_extra={"writeOnly": True}, description="At least 12 characters")
    registration_number: str | None = Field(None, max_length=40, description="College registration number")
    authorized_to_needle: bool = Field(False, description="Rostered with the College to perform dry needling")
    roster_expires_on: date | None = Field(None, description="The needling roster's expiry: signing needs it current")

    _pw = field_validator("password")(_check_password)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr | None = None
    full_name: str | None = Field(None, min_length=1, max_length=200)
    role: Role | None = None
    password: Password | None = Field(None, json_schema_extra={"writeOnly": True})
    registration_number: str | None = Field(None, max_length=40)
    authorized_to_needle: bool | None = None
    roster_expires_on: date | None = None

    _pw = field_validator("password")(_check_password)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    registration_number: str | None
    authorized_to_needle: bool
    roster_expires_on: date | None = None
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime
    deactivated_at: datetime | None
