"""OpenAPI as a product: complete, stable, and good enough to generate a working client from."""

from __future__ import annotations

import datetime
import importlib
import json
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from tests.factories import PASSWORD


def test_every_operation_is_documented(client):
    spec = client.get("/openapi.json").json()
    operation_ids = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            where = f"{method.upper()} {path}"
            assert op.get("operationId") and op.get("tags") and op.get("summary"), where
            operation_ids.append(op["operationId"])
            if path.startswith("/api/") and path != "/api/v1/auth/token":
                assert "401" in op["responses"], f"{where} does not document 401"
                assert "application/problem+json" in op["responses"]["401"]["content"], where
            if op.get("requestBody") and path.startswith("/api/"):
                assert "422" in op["responses"], f"{where} does not document 422"
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"
    assert "HTTPBearer" not in json.dumps(spec) and "OAuth2PasswordBearer" in spec["components"]["securitySchemes"]


def test_a_generated_client_creates_and_reads_a_patient(app, client, staff, tmp_path: Path):
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
        api = generated.AuthenticatedClient(base_url="http://testserver", token=token["access_token"])
        api.set_httpx_client(TestClient(app, base_url="http://testserver",
                                        headers={"Authorization": f"Bearer {token['access_token']}"}))
        created = create.sync(client=api, body=models.PatientCreate(
            given_name="Gen", family_name="Erated", birth_date=datetime.date(1975, 6, 1)))
        assert isinstance(created, models.PatientOut), created
        again = read.sync(client=api, patient_id=created.id)
        assert again.family_name == "Erated" and again.chart_number == created.chart_number
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("ims_generated")]:
            del sys.modules[name]
