"""OpenAPI as a product: what the middleware and conventions add to every operation, documented.

FastAPI describes each route from its signature; this post-processing step adds what lives outside the
signatures, once, for every route:

- `Idempotency-Key` on every authenticated POST (app.kit.idempotency), with its 409;
- `429` with `Retry-After` and the `RateLimit-*` headers on every route an API key can reach (and the
  `RateLimit-*` headers on its other responses, errors included);
- error responses under the media type they are really sent as: application/problem+json, or on /fhir an
  OperationOutcome as application/fhir+json;
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
_EPISODE_ID = "0196f6c2-8a1e-7cc3-9b1e-3f0c2d8e4a10"
_NEEDLE = {"muscle": "multifidus_l5", "level": "L5", "side": "left", "kind": "paraspinal", "gauge_mm": 0.25,
           "length_mm": 40, "insertions": 3, "depth_mm": 25, "technique": "pistoning", "responses": ["local_twitch"],
           "e_stim": {"frequency_hz": 2, "pulse_width_us": 250, "intensity_ma": 4, "duration_min": 10}}
_FINDING = {"level": "L5", "side": "left",
            "muscle_shortening": [{"muscle": "gluteus_medius", "severity": 2}],
            "tender_points": [{"muscle": "tibialis_anterior", "severity": 3, "motor_point": True}],
            "skin_changes": {"trophedema": True}, "paraspinal_shortening": True,
            "rom": [{"movement": "lumbar flexion", "percent_of_normal": 60}]}
# Request-body examples for schemas defined outside this module's owners' folders, by component name.
EXAMPLES: dict[str, Any] = {
    "Body_issueToken": {"grant_type": "password", "username": "therapist@clinic.example",
                        "password": "correct horse battery staple"},
    "UserCreate": {"email": "a.chen@clinic.example", "full_name": "Alex Chen", "role": "therapist",
                   "password": "a long passphrase here", "registration_number": "R12345",
                   "authorized_to_needle": True},
    "UserUpdate": {"role": "admin"},
    "PatientCreate": {"given_name": "Margaret", "family_name": "Lindqvist", "birth_date": "1961-04-17",
                      "sex_at_birth": "female", "phone": "416-555-0134", "email": "m.lindqvist@example.com",
                      "address": _ADDRESS, "health_card_number": "1286844022AB", "health_card_province": "ON"},
    "PatientUpdate": {"phone": "416-555-0199", "preferred_name": "Maggie"},
    "ClinicUpdate": {"name": "Queen Street IMS Clinic", "time_zone": "America/Toronto",
                     "screening_recheck_days": 30},
    "EpisodeCreate": {"conditions": ["sciatica"], "side": "left", "onset_date": "2026-09-01",
                      "referral_source": "Dr. Patel", "goals": ["Walk 5 km without pain"],
                      "planned_frequency": "weekly"},
    "EpisodeUpdate": {"goals": ["Walk 5 km without pain", "Return to tennis"]},
    "EpisodeDischarge": {"discharge_reason": "goals_met", "discharge_outcome": "Pain-free walking; NPRS 1/10"},
    "AssessmentCreate": {"episode_id": _EPISODE_ID,
                         "subjective": {"chief_complaint": "Left buttock and leg pain", "pain_locations": ["left calf"],
                                        "red_flags": {"cauda_equina_symptoms": False, "night_pain": False}},
                         "findings": [_FINDING], "impression": [{"level": "L5", "side": "left"}],
                         "plan": "IMS weekly x4"},
    "AssessmentUpdate": {"plan": "IMS weekly x6"},
    "AmendmentCreate": {"reason": "Corrected the side of the L5 finding", "changes": {"plan": "IMS weekly x6"}},
    "ConsentCreate": {"kind": "ims_dry_needling", "method": "written", "form_version": "IMS-2026-01",
                      "risks_discussed": ["pneumothorax", "bleeding_bruising", "post_needling_soreness"]},
    "ConsentWithdraw": {"reason": "Patient prefers manual therapy"},
    "ScreeningCreate": {"anticoagulants": False, "pregnancy": False, "diabetes": True,
                        "notes": "Diabetes well controlled"},
    "TreatmentCreate": {"episode_id": _EPISODE_ID, "position": "prone", "pre_pain_nprs": 7, "post_pain_nprs": 4,
                        "tolerance": "good", "needles": [_NEEDLE], "needles_removed": 1, "sharps_disposed": True,
                        "retest": "SLR 60 -> 75 degrees", "plan": "Weekly IMS"},
    "TreatmentUpdate": {"post_pain_nprs": 3, "needles_removed": 1},
    "TreatmentAmendment": {"reason": "Recorded the wrong lot number", "changes": {"plan": "Weekly IMS x4"}},
    "OutcomeCreate": {"instrument": "nprs", "responses": [4]},
    "ExportRequest": {"format": "ndjson", "since": "2026-11-01T00:00:00Z"},
    "Body_importPatients": {"file": "First Name,Last Name,DOB\nMargaret,Lindqvist,1961-04-17\n"},
    "Body_importAppointments": {"file": "Chart,Therapist,Type,Date,Time,Status\n"
                                "C-1001,a.chen@clinic.example,IMS treatment,2027-03-15,09:00,booked\n"},
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
        own = schemas.get(name, {}).get("examples")
        if own:
            media["example"] = copy.deepcopy(own[0])
        elif name in EXAMPLES:
            media["example"] = copy.deepcopy(EXAMPLES[name])
