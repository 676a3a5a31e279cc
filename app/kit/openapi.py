"""OpenAPI as a product: what the middleware and conventions add to every operation, documented.

FastAPI describes each route from its signature; this post-processing step adds what lives outside the
signatures, once, for every route:

- `Idempotency-Key` on every authenticated POST (app.kit.idempotency), with its 409;
- `429` with `Retry-After` and the `RateLimit-*` headers on every route an API key can reach (and the
  `RateLimit-*` headers on its other responses, errors included);
- error responses under the media type they are really sent as: application/problem+json, or on /fhir an
  OperationOutcome as application/fhir+json;
- the statuses the shared machinery can answer on any route: 400 for a body that is not JSON or a malformed
  `Idempotency-Key`, 413 for a body over the size cap, 422 for a NUL in the URL, 428/412 for `If-Match`;
- an example for every request body: a schema's own `examples` (json_schema_extra) when it has them,
  otherwise the one kept here in `EXAMPLES` (domain owners: move yours next to your schema).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
OPERATION_OUTCOME_REF = {"$ref": "#/components/schemas/OperationOutcome"}
OPERATION_OUTCOME: dict[str, Any] = {
    "title": "OperationOutcome", "type": "object", "required": ["resourceType", "issue"],
    "description": "FHIR R4 OperationOutcome: how /fhir routes report errors",
    "properties": {"resourceType": {"const": "OperationOutcome"}, "issue": {"type": "array", "items": {
        "type": "object", "required": ["severity", "code"], "properties": {
            "severity": {"type": "string"}, "code": {"type": "string"}, "diagnostics": {"type": "string"},
            "expression": {"type": "array", "items": {"type": "string"}}}}}},
}
IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": "Makes a retry safe: a repeat with the same key and body returns the first response (with "
    "`Idempotent-Replayed: true`) and does nothing again; the same key with another body is a 422, and a "
    "repeat while the first is still running a 409. Keys belong to you (the user or API client), so a "
    "retry with a refreshed token still replays.",
    "example": "3f0c2d8e-visit-2026-11-24-001",
}
_RATE_HEADERS: dict[str, Any] = {
    "RateLimit-Limit": {"description": "Requests allowed per minute for this API key",
                        "schema": {"type": "integer"}},
    "RateLimit-Remaining": {"description": "Requests left in the current minute", "schema": {"type": "integer"}},
    "RateLimit-Reset": {"description": "Seconds until the window resets", "schema": {"type": "integer"}},
}
_TOO_MANY: dict[str, Any] = {
    "description": "Too many requests for this API key: wait `Retry-After` seconds",
    "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}, **_RATE_HEADERS},
    "content": {"application/problem+json": {"schema": PROBLEM_REF}},
}
_IN_FLIGHT: dict[str, Any] = {
    "description": "Conflict (also: a request with this Idempotency-Key is still in flight)",
    "content": {"application/problem+json": {"schema": PROBLEM_REF}},
}

_ADDRESS = {"lines": ["12 Queen St W"], "city": "Toronto", "province": "ON", "postal_code": "M5H 2N2"}
# Ids from earlier steps of the story: replace them with the ids your own earlier responses returned.
_EPISODE_ID = "0196f6c2-8a1e-7cc3-9b1e-3f0c2d8e4a10"
_ASSESSMENT_ID = "0196f6c2-9b40-7d21-8c0e-5a7d1e2f3b44"
_NEEDLE = {"muscle": "multifidus_l5", "level": "L5", "side": "left", "kind": "paraspinal", "gauge_mm": 0.25,
           "length_mm": 40, "insertions": 3, "depth_mm": 25, "technique": "pistoning", "responses": ["local_twitch"],
           "e_stim": {"frequency_hz": 2, "pulse_width_us": 250, "intensity_ma": 4, "duration_min": 10}}
_FINDING = {"level": "L5", "side": "left",
            "muscle_shortening": [{"muscle": "gluteus_medius", "severity": 2}],
            "tender_points": [{"muscle": "tibialis_anterior", "severity": 3, "motor_point": True}],
            "skin_changes": {"trophedema": True}, "paraspinal_shortening": True,
            "rom": [{"movement": "lumbar flexion", "percent_of_normal": 60}]}
# Request-body examples for schemas defined outside this module's owners' folders, by component name.
# Together they tell one visit, in this order (tests/test_examples.py replays them; the appointment book's
# examples sit next to its schemas): an admin adds a therapist rostered to needle, who signs in; the admin
# sets the therapist's week and a holiday and adds a follow-up IMS visit type. The therapist registers
# Margaret, opens her sciatica episode, assesses her (positional night pain: a red flag, acknowledged),
# records her IMS and e-stim consents and a precaution screen, treats her with IMS plus e-stim, signs and
# amends, records her pain score. The front desk books her next visit and a weekly course, moves the visit,
# then cancels it when she is unwell; a colleague covering breaks the glass when she arrives in pain, and the
# front desk puts the colleague on her care team. Later she stops e-stim and the episode is discharged. The
# admin imports a patient and his booking from the old system (chart C-1001) and starts FHIR bulk exports.
EXAMPLES: dict[str, Any] = {
    "UserCreate": {"email": "a.chen@clinic.example", "full_name": "Alex Chen", "role": "therapist",
                   "password": "a long passphrase here", "registration_number": "R12345",
                   "authorized_to_needle": True, "roster_expires_on": "2027-06-30"},
    "Body_issueToken": {"grant_type": "password", "username": "a.chen@clinic.example",
                        "password": "a long passphrase here"},
    "PatientCreate": {"given_name": "Margaret", "family_name": "Lindqvist", "birth_date": "1961-04-17",
                      "sex_at_birth": "female", "phone": "416-555-0134", "email": "m.lindqvist@example.com",
                      "address": _ADDRESS, "health_card_number": "1286844020AB", "health_card_province": "ON",
                      "contact_preference": "sms", "reminder_consent": True},
    "PatientUpdate": {"phone": "416-555-0199", "preferred_name": "Maggie", "contact_preference": "email"},
    "ClinicUpdate": {"name": "Queen Street IMS Clinic", "time_zone": "America/Toronto",
                     "screening_recheck_days": 30, "screening_valid_days": 30},
    "EpisodeCreate": {"conditions": ["sciatica"], "side": "left", "onset_date": "2026-09-01",
                      "referral_source": "Dr. Patel", "goals": ["Walk 5 km without pain"],
                      "planned_frequency": "weekly"},
    "EpisodeUpdate": {"goals": ["Walk 5 km without pain", "Return to tennis"]},
    "AssessmentCreate": {"episode_id": _EPISODE_ID,
                         "subjective": {"chief_complaint": "Left buttock and leg pain", "pain_locations": ["left calf"],
                                        "red_flags": {"cauda_equina_symptoms": False, "night_pain": True,
                                                      "notes": "Night pain lying on the left; eases on turning"}},
                         "findings": [_FINDING], "impression": [{"level": "L5", "side": "left"}],
                         "plan": "IMS weekly x4"},
    "AssessmentUpdate": {"plan": "IMS weekly x4 with electrical stimulation at L5"},
    "AmendmentCreate": {"reason": "Plan extended after reviewing goals with the patient",
                        "changes": {"plan": "IMS weekly x6 with electrical stimulation at L5"}},
    "ConsentWithdraw": {"reason": "Prefers needling without electrical stimulation"},
    "ScreeningCreate": {"anticoagulants": False, "pregnancy": False, "diabetes": True,
                        "notes": "Diabetes well controlled"},
    "TreatmentCreate": {"episode_id": _EPISODE_ID, "assessment_id": _ASSESSMENT_ID, "position": "prone",
                        "pre_pain_nprs": 7, "post_pain_nprs": 4, "tolerance": "good",
                        "needles": [_NEEDLE, {**_NEEDLE, "muscle": "gluteus_medius", "kind": "peripheral",
                                              "depth_mm": 30}],
                        "e_stim_leads": [{"needles": [0, 1], "channel": 1}], "needles_removed": 2,
                        "sharps_disposed": True, "verbal_consent_today": True,
                        "retest": "SLR 60 -> 75 degrees", "plan": "Weekly IMS"},
    "TreatmentUpdate": {"post_pain_nprs": 3, "retest": "SLR 60 -> 80 degrees"},
    "TreatmentAmendment": {"reason": "Added the follow-up agreed at the end of the visit",
                           "changes": {"plan": "Weekly IMS x6; review at visit 4"}},
    "OutcomeCreate": {"instrument": "nprs", "responses": [3]},
    "AcknowledgementCreate": {"assessment_id": _ASSESSMENT_ID, "flags": ["night_pain"],
                              "action": "Positional, mechanical night pain; no weight loss, fever or cancer "
                                        "history: treat, and review it at each visit"},
    "EpisodeDischarge": {"discharge_reason": "goals_met", "discharge_outcome": "Pain-free walking; NPRS 1/10"},
    "UserUpdate": {"full_name": "Alex Chen, PT"},
    "ExportRequest": {"format": "ndjson", "since": "2026-11-01T00:00:00Z"},
    "Body_importPatients": {"file": "Chart,First Name,Last Name,DOB\nC-1001,Jonas,Whitfield,1958-11-02\n"},
    "Body_importAppointments": {"file": "Chart,Therapist,Type,Date,Time,Status\n"
                                "C-1001,a.chen@clinic.example,IMS treatment,2027-03-17,14:00,booked\n"},
}
# Bodies with more than one example in the story, by component name: OpenAPI's named `examples`.
NAMED_EXAMPLES: dict[str, dict[str, Any]] = {
    "ConsentCreate": {
        "ims_dry_needling": {"summary": "Consent to IMS (dry needling), before the first session", "value": {
            "kind": "ims_dry_needling", "method": "written", "form_version": "IMS-2026-01",
            "risks_discussed": ["pneumothorax", "bleeding_bruising", "post_needling_soreness"]}},
        "electrical_stimulation": {"summary": "Consent to electrical stimulation through the needles", "value": {
            "kind": "electrical_stimulation", "method": "written", "form_version": "ESTIM-2026-01",
            "risks_discussed": ["post_needling_soreness", "fainting"]}},
    },
}


def install(app: FastAPI, *, reachable_by_api_key: Callable[[APIRoute], bool]) -> None:
    """Replace `app.openapi` with the generated document plus the additions above (built once, cached)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(generate(), app, reachable_by_api_key)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(spec: dict[str, Any], app: FastAPI, reachable_by_api_key: Callable[[APIRoute], bool]) -> dict[str, Any]:
    routes = {(method.lower(), ctx.path_format): ctx.route for ctx in iter_route_contexts(app.routes)
              if isinstance(ctx.route, APIRoute) for method in ctx.methods or ()}
    schemas = spec.get("components", {}).get("schemas", {})
    for path, operations in spec.get("paths", {}).items():
        for method, op in operations.items():
            route = routes.get((method, path))
            if method == "post" and op.get("security"):
                _add_idempotency_key(op)
            _add_machinery_statuses(op)
            if route is not None and reachable_by_api_key(route):
                _add_rate_limits(op)
            if "requestBody" in op:
                _add_examples(op["requestBody"], schemas)
            _error_media_types(path, op)
    schemas.setdefault("OperationOutcome", OPERATION_OUTCOME)
    _drop_unused_schemas(spec, ("HTTPValidationError", "ValidationError"))
    return spec


def _error_media_types(path: str, op: dict[str, Any]) -> None:
    """Errors are sent as application/problem+json (FHIR routes: an OperationOutcome as application/fhir+json):
    describe them so, not as FastAPI's application/json, its default 422 included."""
    fhir = path.startswith("/fhir")
    for status, response in op["responses"].items():
        if status[0] not in "45":
            continue
        if status == "422" and response.get("description") == "Validation Error":
            response["description"] = "Invalid fields"
        response["content"] = ({"application/fhir+json": {"schema": OPERATION_OUTCOME_REF}} if fhir
                               else {"application/problem+json": {"schema": PROBLEM_REF}})


def _add_machinery_statuses(op: dict[str, Any]) -> None:
    """Statuses answered before (or around) the route's own code, by middleware and shared dependencies."""
    responses = op["responses"]
    if "requestBody" in op:
        responses.setdefault("400", {"description": "Malformed request: the body is not valid JSON (or a bad "
                                                    "Idempotency-Key)"})
        responses.setdefault("413", {"description": "Request body too large"})
        responses.setdefault("422", {"description": "Invalid fields"})
    if op.get("parameters"):  # a NUL in the URL (a parameter's value) is refused as a 422 naming the URL
        responses.setdefault("422", {"description": "Invalid fields"})
    if any(p.get("in") == "header" and p.get("name", "").lower() == "if-match" for p in op.get("parameters", [])):
        responses.setdefault("412", {"description": "Stale If-Match version"})
        responses.setdefault("428", {"description": "If-Match header required (or not a single version ETag)"})


def _drop_unused_schemas(spec: dict[str, Any], names: tuple[str, ...]) -> None:
    schemas = spec.get("components", {}).get("schemas", {})
    for name in names:
        if name in schemas and f"#/components/schemas/{name}" not in json.dumps({**spec, "components": {
                "schemas": {k: v for k, v in schemas.items() if k != name}}}):
            del schemas[name]


def _add_idempotency_key(op: dict[str, Any]) -> None:
    params = op.setdefault("parameters", [])
    if not any(p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key" for p in params):
        params.append(copy.deepcopy(IDEMPOTENCY_KEY_PARAMETER))
    op["responses"].setdefault("409", copy.deepcopy(_IN_FLIGHT))
    op["responses"].setdefault("400", {"description": "Malformed request (e.g. an Idempotency-Key over 200 "
                                                      "characters)"})
    op["responses"].setdefault("422", {"description": "Invalid fields (also: this Idempotency-Key was used with "
                                                      "another request body)"})


def _add_rate_limits(op: dict[str, Any]) -> None:
    for status, response in op["responses"].items():
        if status not in ("401", "429"):
            response.setdefault("headers", {}).update(copy.deepcopy(_RATE_HEADERS))
    op["responses"]["429"] = copy.deepcopy(_TOO_MANY)


def _ref_name(schema: dict[str, Any]) -> str | None:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for option in schema.get("anyOf", []):
        if "$ref" in option:
            return str(option["$ref"]).rsplit("/", 1)[-1]
    return None


def _add_examples(body: dict[str, Any], schemas: dict[str, Any]) -> None:
    for media in body.get("content", {}).values():
        if "example" in media or "examples" in media:
            continue
        name = _ref_name(media.get("schema", {}))
        if name is None:
            continue
        if name in NAMED_EXAMPLES:
            media["examples"] = copy.deepcopy(NAMED_EXAMPLES[name])
            continue
        own = schemas.get(name, {}).get("examples")
        if own:
            media["example"] = copy.deepcopy(own[0])
        elif name in EXAMPLES:
            media["example"] = copy.deepcopy(EXAMPLES[name])
