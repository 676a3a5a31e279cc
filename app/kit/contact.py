"""Postal addresses and phone numbers: the same shape for a patient, an emergency contact and the clinic.

They live in the kit, not in `patients/`, so a domain that has an address (the clinic profile) does not
depend on the patients domain.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

INPUT = ConfigDict(extra="forbid", str_strip_whitespace=True)  # request bodies: no unknown fields, no padding
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Province = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{2}$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40,
                                         pattern=r"^[0-9+()\-.\s x#]+$")]


class Address(BaseModel):
    model_config = INPUT
    lines: list[Text] = Field(default_factory=list, max_length=4)
    city: Text | None = None
    province: Province | None = None
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, max_length=12)] | None = None
    country: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{2}$")] = "CA"
