"""CSV headers from other practice software, matched to patient fields.

A header is folded (case, spaces, punctuation and accents ignored) and looked up among the usual
synonyms, so `First Name`, `first_name` and `FIRSTNAME` all land on `given_name`.
"""

from __future__ import annotations

import re

from app.patients.identifiers import fold

# Field -> synonyms, in priority order: when a file has two columns for one field (say `Mobile` and
# `Home Phone`) the first synonym with a value wins.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "chart_number": ("chart_number", "chart_no", "chart", "chart_id", "mrn", "medical_record_number",
                     "patient_number", "patient_no", "patient_id", "file_number", "file_no", "account_number"),
    "given_name": ("given_name", "first_name", "firstname", "given", "first", "forename"),
    "family_name": ("family_name", "last_name", "lastname", "surname", "family", "last"),
    "preferred_name": ("preferred_name", "preferred", "nickname", "known_as", "goes_by"),
    "birth_date": ("birth_date", "date_of_birth", "dob", "birthdate", "birthday", "born"),
    "sex_at_birth": ("sex_at_birth", "sex", "birth_sex", "gender"),
    "gender_identity": ("gender_identity", "pronouns"),
    "phone": ("phone", "mobile", "mobile_phone", "cell", "cell_phone", "phone_number", "telephone", "tel",
              "home_phone", "work_phone", "primary_phone"),
    "email": ("email", "e_mail", "email_address", "mail"),
    "address_line1": ("address_line_1", "address1", "address_1", "address", "street", "street_address",
                      "address_line"),
    "address_line2": ("address_line_2", "address2", "address_2", "unit", "suite", "apt"),
    "city": ("city", "town", "municipality", "locality"),
    "province": ("province", "prov", "state", "region", "province_state", "state_province"),
    "postal_code": ("postal_code", "postcode", "post_code", "zip", "zip_code", "postal"),
    "country": ("country", "country_code"),
    "health_card_number": ("health_card_number", "health_card", "health_card_no", "hcn", "ohip", "ohip_number",
                           "ohip_no", "health_number", "health_insurance_number", "phn", "medicare_number"),
    "health_card_version": ("health_card_version", "version_code", "hc_version", "ohip_version"),
    "health_card_province": ("health_card_province", "hc_province", "health_card_issuer"),
    "emergency_contact_name": ("emergency_contact_name", "emergency_contact", "emergency_name",
                               "next_of_kin", "emergency_contact_full_name"),
    "emergency_contact_phone": ("emergency_contact_phone", "emergency_phone", "emergency_contact_number",
                                "next_of_kin_phone"),
    "emergency_contact_relationship": ("emergency_contact_relationship", "emergency_relationship",
                                       "relationship", "next_of_kin_relationship"),
    "referring_physician_name": ("referring_physician", "referring_physician_name", "referring_doctor",
                                 "referring_practitioner", "referred_by", "referrer", "family_doctor",
                                 "family_physician", "physician"),
    "referring_physician_phone": ("referring_physician_phone", "referring_doctor_phone", "physician_phone"),
    "referring_physician_fax": ("referring_physician_fax", "referring_doctor_fax", "physician_fax"),
    "referring_physician_billing_number": ("referring_physician_billing_number", "billing_number",
                                           "referring_billing_number"),
    "contact_preference": ("contact_preference", "preferred_contact", "preferred_contact_method", "contact_method",
                           "contact_by", "preferred_channel", "reminder_method", "reminder_preference",
                           "reminders_by", "remind_by"),
    "reminder_consent": ("reminder_consent", "consent_to_contact", "contact_consent", "ok_to_contact",
                         "may_contact", "reminders_ok", "send_reminders", "reminder_opt_in", "reminders"),
    "notes": ("notes", "note", "comments", "comment", "remarks", "admin_notes"),
}

_PUNCT = re.compile(r"[^a-z0-9]+")


def header_key(header: str) -> str:
    """'Date of Birth' -> 'date_of_birth'; 'E-mail' -> 'e_mail'; '  Chart #' -> 'chart'."""
    return _PUNCT.sub("_", fold(header)).strip("_")


_LOOKUP: dict[str, tuple[str, int]] = {}
for _field, _names in SYNONYMS.items():
    for _rank, _name in enumerate(_names):
        _LOOKUP.setdefault(_name, (_field, _rank))
        _LOOKUP.setdefault(_name.replace("_", ""), (_field, _rank))


def match_headers(headers: list[str]) -> tuple[dict[str, list[int]], list[str]]:
    """Field -> column positions (best synonym first), and the headers that matched nothing."""
    found: dict[str, list[tuple[int, int]]] = {}
    unmatched: list[str] = []
    for position, header in enumerate(headers):
        key = header_key(header)
        hit = _LOOKUP.get(key) or _LOOKUP.get(key.replace("_", ""))
        if hit is None:
            if key:
                unmatched.append(header)
            continue
        field, rank = hit
        found.setdefault(field, []).append((rank, position))
    return {field: [pos for _, pos in sorted(hits)] for field, hits in found.items()}, unmatched
