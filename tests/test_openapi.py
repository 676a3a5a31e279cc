"""OpenAPI as a product: complete, stable, and good enough to generate a working client from."""

from __future__ import annotations

import datetime
import importlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import TypeAdapter

from app.auth.deps import required_permission
from tests.factories import PASSWORD

# What an API key can be granted (every key also holds "authenticated"; "export" brings "patient:export").
API_KEY_PERMISSIONS = {"patients:read", "patients:write", "clinical:read", "clinical:write", "export", "webhooks",
                       "authenticated", "patient:export", "appointments:read", "appointments:write"}
RATE_HEADERS = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            yield method, path, op


def routes(app) -> dict[tuple[str, str], APIRoute]:
    return {(method.lower(), ctx.path_format): ctx.route for ctx in iter_route_contexts(app.routes)
            if isinstance(ctx.route, APIRoute) for method in ctx.methods or ()}


def permission_of(route: APIRoute) -> str | None:
    declared = [required_permission(d.call) for d in route.dependant.dependencies if d.call is not None]
    return next((str(p) for p in declared if p is not None), None)


def test_every_operation_is_documented(client):
    spec = client.get("/openapi.json").json()
    operation_ids = []
    for method, path, op in operations(spec):
        where = f"{method.upper()} {path}"
        assert op.get("operationId") and op.get("tags") and op.get("summary"), where
        operation_ids.append(op["operationId"])
        errors = {status: r for status, r in op["responses"].items() if status.startswith("4")}
        if op.get("security") or op.get("parameters") or op.get("requestBody"):  # all but the bare probes
            assert errors, f"{where} documents no 4xx error"
        for status, response in op["responses"].items():
            if status[0] in "45":  # as sent: problem+json, or a FHIR OperationOutcome on /fhir
                expected = ({"application/fhir+json": {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}}
                            if path.startswith("/fhir") else
                            {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}})
                assert response["content"] == expected, f"{where} {status}"
        if path.startswith("/api/") and path != "/api/v1/auth/token":
            assert "401" in op["responses"], f"{where} does not document 401"
        if op.get("requestBody") and path.startswith("/api/"):
            assert "422" in op["responses"], f"{where} does not document 422"
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"
    assert "HTTPValidationError" not in json.dumps(spec)
    assert "HTTPBearer" not in json.dumps(spec) and "OAuth2PasswordBearer" in spec["components"]["securitySchemes"]


def test_every_request_body_has_an_example_the_server_accepts(app, client):
    spec = client.get("/openapi.json").json()
    served = routes(app)
    checked = 0
    for method, path, op in operations(spec):
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            assert "example" in media or "examples" in media, f"{method.upper()} {path} {media_type}: no example"
            if media_type != "application/json":
                continue
            [body] = served[(method, path)].dependant.body_params
            examples = [media["example"]] if "example" in media else [e["value"] for e in media["examples"].values()]
            for example in examples:  # a valid body, not prose (tests/test_examples.py replays them all)
                TypeAdapter(body.field_info.annotation).validate_python(example)
            checked += 1
    assert checked >= 20


def test_posts_document_idempotency_keys_and_api_key_routes_their_rate_limit(app, client):
    spec = client.get("/openapi.json").json()
    served = routes(app)
    limited = 0
    for method, path, op in operations(spec):
        where = f"{method.upper()} {path}"
        if method == "post" and op.get("security"):
            [param] = [p for p in op.get("parameters", []) if p["name"] == "Idempotency-Key"]
            assert param["in"] == "header" and not param["required"] and param["description"], where
            assert "409" in op["responses"], where
        permission = permission_of(served[(method, path)])
        if permission in API_KEY_PERMISSIONS:
            limited += 1
            too_many = op["responses"]["429"]
            assert {"Retry-After", *RATE_HEADERS} <= set(too_many["headers"]), where
            for status, response in op["responses"].items():
                if status != "401":
                    assert set(response.get("headers", {})) >= RATE_HEADERS, f"{where} {status}"
        else:
            assert "429" not in op["responses"] or path == "/api/v1/auth/token", f"{where}: no API key gets here"
    assert limited > 40


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app on a real socket, so the generated client is used exactly as an integrator would use it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30  # generous: the machine may be busy with the other engine's tests
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the test server did not start"
        time.sleep(0.025)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_a_generated_client_creates_and_reads_a_patient(client, staff, live_server, tmp_path: Path):
    (tmp_path / "openapi.json").write_text(json.dumps(client.get("/openapi.json").json()))
    (tmp_path / "config.yaml").write_text("post_hooks: []\nproject_name_override: ims_generated\n"
                                          "package_name_override: ims_generated\n")
    subprocess.run([sys.executable, "-m", "openapi_python_client", "generate", "--path", "openapi.json",
                    "--config", "config.yaml", "--meta", "none", "--output-path", "ims_generated"],
                   cwd=tmp_path, check=True, capture_output=True)
    sys.path.insert(0, str(tmp_path))
    try:
        generated = importlib.import_module("ims_generated")
        create = importlib.import_module("ims_generated.api.patients.create_patient")
        read = importlib.import_module("ims_generated.api.patients.get_patient")
        models = importlib.import_module("ims_generated.models")
        member = staff("reception")
        token = client.post("/api/v1/auth/token", data={"username": member.email, "password": PASSWORD}).json()
        with generated.AuthenticatedClient(base_url=live_server, token=token["access_token"],
                                           timeout=httpx.Timeout(30)) as api:
            body = models.PatientCreate(given_name="Gen", family_name="Erated", birth_date=datetime.date(1975, 6, 1))
            created = create.sync(client=api, body=body, idempotency_key="gen-1")
            assert isinstance(created, models.PatientOut), created
            retried = create.sync_detailed(client=api, body=body, idempotency_key="gen-1")
            assert retried.headers["idempotent-replayed"] == "true" and retried.parsed.id == created.id
            again = read.sync(client=api, patient_id=created.id)
            assert again.family_name == "Erated" and again.chart_number == created.chart_number
            missing = read.sync_detailed(client=api, patient_id=created.id.__class__(int=1))
            assert missing.status_code == 404 and isinstance(missing.parsed, models.Problem)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("ims_generated")]:
            del sys.modules[name]
