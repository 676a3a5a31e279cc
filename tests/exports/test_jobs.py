"""Whole-clinic export over the API: queued, run by the worker, polled, downloaded; admin or export scope only."""

from __future__ import annotations

import io
import json
import zipfile

from app.exports.jobs import run_export_jobs
from tests.fhir.test_fhir import seeded  # noqa: F401
from tests.integrations.helpers import api_client, bearer


def test_admin_exports_the_clinic(client, staff, app, settings, seeded):  # noqa: F811
    admin = staff("admin")
    started = client.post("/api/v1/exports", json={"format": "ndjson"}, headers=admin.headers)
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["status"] == "queued" and started.headers["location"] == f"/api/v1/exports/{job['id']}"
    early = client.get(f"/api/v1/exports/{job['id']}/download", headers=admin.headers)
    assert early.status_code == 409
    assert client.get(f"/api/v1/exports/{job['id']}", headers=admin.headers).headers["retry-after"] == "2"
    assert run_export_jobs(app.state.sessionmaker, settings.data_dir) == 1
    done = client.get(f"/api/v1/exports/{job['id']}", headers=admin.headers).json()
    assert done["status"] == "completed" and done["records_done"] > 20
    assert done["manifest"]["files"]["patients.ndjson"]["records"] == 1
    download = client.get(f"/api/v1/exports/{job['id']}/download", headers=admin.headers)
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as z:
        assert json.loads(z.read("manifest.json"))["files"] == done["manifest"]["files"]
        assert z.read("patients.ndjson").count(b"\n") == 1


def test_only_admins_and_export_keys(client, staff):
    for role in ("therapist", "reception", "auditor"):
        assert client.post("/api/v1/exports", json={}, headers=staff(role).headers).status_code == 403
    admin = staff("admin")
    key = bearer(api_client(client, admin, ["export"])["key"])
    assert client.post("/api/v1/exports", json={"format": "csv"}, headers=key).status_code == 202
    assert client.post("/api/v1/exports", json={"format": "xml"}, headers=admin.headers).status_code == 422
