"""Whole-clinic archive: export -> import into an empty database -> export again is identical."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import uuid
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app import cli
from app.config import get_settings
from app.exports.archive import SECRET_COLUMNS
from app.kit.actor import SYSTEM_ACTOR
from app.models import AuditEvent, Base, Patient
from app.models.integration import ApiClient, ExportJob, WebhookDelivery, WebhookSubscription
from app.models.user import User
from tests.conftest import TEST_SECRET
from tests.databases import pg_admin_url, pg_available
from tests.factories import make_patient
from tests.fhir.test_fhir import seeded  # noqa: F401  (the realistic chart fixture)
from tests.integrations.helpers import api_client

runner = CliRunner()


def _cli(monkeypatch, url: str, tmp_path: Path, *args: str):
    monkeypatch.setenv("IMS_DATABASE_URL", url)
    monkeypatch.setenv("IMS_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("IMS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        return runner.invoke(cli.cli, list(args))
    finally:
        get_settings.cache_clear()


def _contents(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "manifest.json"}


def test_export_import_export_round_trips(seeded, db_url, template_db, tmp_path, monkeypatch):  # noqa: F811
    first = _cli(monkeypatch, db_url, tmp_path, "export", "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    archive = next((tmp_path / "a").glob("*.zip"))
    with zipfile.ZipFile(archive) as z:
        manifest = json.loads(z.read("manifest.json"))
        assert manifest["files"]["patients.ndjson"]["records"] == 1
        assert manifest["files"]["treatments.ndjson"]["records"] == 1
        assert manifest["files"]["clinical_revisions.ndjson"]["records"] == 3
        assert manifest["files"]["audit_events.ndjson"]["records"] > 10
        assert "auth_tokens.ndjson" not in manifest["files"]
        assert '"password_hash"' in z.read("users.ndjson").decode()  # a restore must keep staff able to sign in
    empty = template_db.empty()
    try:
        restored = _cli(monkeypatch, empty, tmp_path, "import-archive", str(archive))
        assert restored.exit_code == 0, restored.output
        again = _cli(monkeypatch, empty, tmp_path, "export", "--out", str(tmp_path / "b"))
        assert again.exit_code == 0
        assert _contents(archive) == _contents(next((tmp_path / "b").glob("*.zip")))
        assert _cli(monkeypatch, empty, tmp_path, "audit", "verify").exit_code == 0
        twice = _cli(monkeypatch, empty, tmp_path, "import-archive", str(archive))
        assert twice.exit_code == 1 and "not empty" in twice.output
    finally:
        template_db.drop(empty)


def test_damaged_archives_are_refused(seeded, db_url, template_db, tmp_path, monkeypatch):  # noqa: F811
    _cli(monkeypatch, db_url, tmp_path, "export", "--out", str(tmp_path / "a"))
    original = next((tmp_path / "a").glob("*.zip"))
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(original) as src, zipfile.ZipFile(damaged, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "patients.ndjson":
                data = data.replace(b"Lindqvist", b"Lindkvist")
            dst.writestr(name, data)
    empty = template_db.empty()
    try:
        result = _cli(monkeypatch, empty, tmp_path, "import-archive", str(damaged))
        assert result.exit_code == 1 and "checksum" in result.output
    finally:
        template_db.drop(empty)


def test_csv_export_has_a_header_and_one_row_per_record(seeded, db_url, tmp_path, monkeypatch):  # noqa: F811
    result = _cli(monkeypatch, db_url, tmp_path, "export", "--out", str(tmp_path / "c"), "--format", "csv")
    assert result.exit_code == 0
    with zipfile.ZipFile(next((tmp_path / "c").glob("*.zip"))) as z:
        rows = list(csv.DictReader(io.StringIO(z.read("patients.csv").decode())))
    assert len(rows) == 1 and rows[0]["family_name"] == "Lindqvist"
    assert json.loads(rows[0]["address"])["city"] == "Toronto"


def test_the_csv_for_other_software_carries_no_credentials(seeded, client, staff, db, db_url, tmp_path,  # noqa: F811
                                                           monkeypatch):
    admin = staff("admin")
    api_client(client, admin, ["patients:read"])
    hook = client.post("/api/v1/webhooks", json={"url": "https://127.0.0.1/h", "event_types": ["*"]},
                       headers=admin.headers)
    assert hook.status_code == 201, hook.text
    secrets = [*db.scalars(select(User.password_hash)), *db.scalars(select(ApiClient.key_hash)),
               *db.scalars(select(WebhookSubscription.secret))]
    assert len(secrets) >= 4 and hook.json()["secret"] in secrets
    result = _cli(monkeypatch, db_url, tmp_path, "export", "--out", str(tmp_path / "c"), "--format", "csv")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(next((tmp_path / "c").glob("*.zip"))) as z:
        headers = {n: next(csv.reader(io.StringIO(z.read(n).decode()))) for n in z.namelist() if n.endswith(".csv")}
        everything = b"".join(z.read(n) for n in z.namelist())
    assert "password_hash" not in headers["users.csv"] and "email" in headers["users.csv"]
    assert "key_hash" not in headers["api_clients.csv"] and "key_prefix" in headers["api_clients.csv"]
    assert "secret" not in headers["webhook_subscriptions.csv"] and "url" in headers["webhook_subscriptions.csv"]
    assert not [s for s in secrets if s.encode() in everything]
    # Any credential column a later table adds is caught by name.
    credential = re.compile(r"(password|token|key)_hash$|secret")
    assert {c.name for t in Base.metadata.tables.values() for c in t.columns if credential.search(c.name)} \
        <= SECRET_COLUMNS
    # The NDJSON archive is a backup: it keeps them, so a restore keeps sign-ins, API keys and webhook signatures.
    _cli(monkeypatch, db_url, tmp_path, "export", "--out", str(tmp_path / "n"))
    with zipfile.ZipFile(next((tmp_path / "n").glob("*.zip"))) as z:
        assert all(s.encode() in b"".join(z.read(n) for n in z.namelist()) for s in secrets)


def test_the_cli_export_is_audited(seeded, db, db_url, tmp_path, monkeypatch):  # noqa: F811
    result = _cli(monkeypatch, db_url, tmp_path, "export", "--out", str(tmp_path / "a"))
    assert result.exit_code == 0, result.output
    path = next((tmp_path / "a").glob("*.zip"))
    with zipfile.ZipFile(path) as z:
        manifest = json.loads(z.read("manifest.json"))
    [row] = db.scalars(select(AuditEvent).where(AuditEvent.action == "export", AuditEvent.actor_type == "system")
                       ).all()
    assert (row.actor_id, row.outcome, row.resource_type) == (SYSTEM_ACTOR.id, "success", "Clinic")
    assert row.detail["file"] == str(path.resolve())
    assert row.detail["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert row.detail["files"] == {name: f["records"] for name, f in manifest["files"].items()}
    assert row.detail["records"] == sum(f["records"] for f in manifest["files"].values())
    assert (row.detail["via"], row.detail["format"]) == ("cli", "ndjson")
    assert _cli(monkeypatch, db_url, tmp_path, "audit", "verify").exit_code == 0


def test_a_restore_brings_back_no_queued_work(seeded, client, staff, app, db, db_url, template_db, tmp_path,  # noqa: F811
                                              monkeypatch):
    admin = staff("admin")
    hook = client.post("/api/v1/webhooks", json={"url": "https://127.0.0.1/h", "event_types": ["*"]},
                       headers=admin.headers).json()
    assert client.post(f"/api/v1/webhooks/{hook['id']}/ping", headers=admin.headers).status_code in (200, 201, 202)
    assert client.post("/api/v1/exports", json={"format": "ndjson"}, headers=admin.headers).status_code == 202
    assert db.scalar(select(func.count()).select_from(WebhookDelivery)) >= 1
    assert db.scalar(select(func.count()).select_from(ExportJob)) == 1
    assert _cli(monkeypatch, db_url, tmp_path, "export", "--out", str(tmp_path / "a")).exit_code == 0
    path = next((tmp_path / "a").glob("*.zip"))
    with zipfile.ZipFile(path) as z:
        assert not {"export_jobs.ndjson", "webhook_deliveries.ndjson"} & set(z.namelist())
        assert z.read("webhook_subscriptions.ndjson").count(b"\n") == 1
    empty = template_db.empty()
    try:
        assert _cli(monkeypatch, empty, tmp_path, "import-archive", str(path)).exit_code == 0
        engine = create_engine(empty)
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(ExportJob)) == 0
            assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
            assert session.scalar(select(func.count()).select_from(WebhookSubscription)) == 1
        engine.dispose()
    finally:
        template_db.drop(empty)


def _empty_database(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{(tmp_path / 'moved.db').as_posix()}"
    name = f"imst_moved_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    if url.startswith("sqlite"):
        return
    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def test_an_archive_moves_between_sqlite_and_postgresql(seeded, db_url, engine_kind, tmp_path,  # noqa: F811
                                                        monkeypatch):
    """SQLite -> PostgreSQL (the [sqlite] run) and PostgreSQL -> SQLite (the [postgresql] run)."""
    other = "postgresql" if engine_kind == "sqlite" else "sqlite"
    if other == "postgresql" and (reason := pg_available()):
        pytest.skip(f"PostgreSQL unreachable ({reason})")
    first = _cli(monkeypatch, db_url, tmp_path, "export", "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    archive = next((tmp_path / "a").glob("*.zip"))
    target = _empty_database(other, tmp_path)
    try:
        restored = _cli(monkeypatch, target, tmp_path, "import-archive", str(archive))  # migrates the target first
        assert restored.exit_code == 0, restored.output
        again = _cli(monkeypatch, target, tmp_path, "export", "--out", str(tmp_path / "b"))
        assert again.exit_code == 0, again.output
        moved = _contents(next((tmp_path / "b").glob("*.zip")))
        assert moved == _contents(archive)
        assert moved["patients.ndjson"].count(b"\n") == 1 and moved["clinical_revisions.ndjson"].count(b"\n") == 3
        assert _cli(monkeypatch, target, tmp_path, "audit", "verify").exit_code == 0
    finally:
        _drop_database(target)


def test_since_exports_only_later_changes(seeded, db_url, tmp_path, monkeypatch):  # noqa: F811
    result = _cli(monkeypatch, db_url, tmp_path, "export", "--out", str(tmp_path / "s"), "--since", "2999-01-01")
    assert result.exit_code == 0
    with zipfile.ZipFile(next((tmp_path / "s").glob("*.zip"))) as z:
        manifest = json.loads(z.read("manifest.json"))
    assert all(f["records"] == 0 for name, f in manifest["files"].items()
               if name.split(".")[0] in ("patients", "treatments", "audit_events"))




# --- formula injection (issue 10 item 8): a spreadsheet must not run what a patient's record says -------------

HOSTILE = {"given_name": "=HYPERLINK(\"http://evil.example\",\"x\")", "family_name": "+SUM(1,2)",
           "preferred_name": "@cmd", "address": {"lines": ["-2+3"], "city": "=1+1"}}


def test_csv_cells_that_look_like_formulas_are_neutralised(client, staff, app, tmp_path):
    from app.exports.archive import write_archive

    patient = make_patient(client, staff("reception"), **HOSTILE)
    with (tmp_path / "c.zip").open("wb") as out:
        manifest = write_archive(app.state.engine, out, "csv")
    with zipfile.ZipFile(tmp_path / "c.zip") as z:
        [row] = [r for r in csv.DictReader(io.StringIO(z.read("patients.csv").decode())) if r["id"] == patient["id"]]
        written = json.loads(z.read("manifest.json"))
    assert row["given_name"] == "'" + HOSTILE["given_name"]
    assert (row["family_name"], row["preferred_name"]) == ("'+SUM(1,2)", "'@cmd")
    assert json.loads(row["address"])["city"] == "=1+1"  # inside a JSON cell starting with "{": inert
    assert row["birth_date"][0].isdigit() and row["version"] == "1"  # ordinary cells untouched
    rule = written["csv_formula_neutralisation"]
    assert rule == manifest["csv_formula_neutralisation"]
    assert rule["prefix"] == "'" and set(rule["triggers"]) == {"=", "+", "-", "@", "\t", "\r"}
    assert rule["cells_prefixed"] >= 3


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_each_owasp_trigger_character_is_prefixed(value):
    from app.exports.archive import csv_cell

    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", [-3, 2.5, "plain", "a=b", "", None, {"a": "=x"}])
def test_numbers_and_ordinary_text_are_not_altered(value):
    from app.exports.archive import csv_cell

    assert csv_cell(value) == ("" if value is None else json.dumps(value) if isinstance(value, dict) else value)


def test_an_ndjson_archive_is_never_altered_and_says_nothing_about_csv(client, staff, app, tmp_path):
    from app.exports.archive import write_archive

    patient = make_patient(client, staff("reception"), **HOSTILE)
    with (tmp_path / "n.zip").open("wb") as out:
        manifest = write_archive(app.state.engine, out, "ndjson")
    with zipfile.ZipFile(tmp_path / "n.zip") as z:
        rows = [json.loads(line) for line in z.read("patients.ndjson").decode().splitlines()]
    assert next(r for r in rows if r["id"] == patient["id"])["given_name"] == HOSTILE["given_name"]
    assert "csv_formula_neutralisation" not in manifest


def test_contact_preference_and_reminder_consent_survive_the_archive(client, staff, db_url, template_db, tmp_path,
                                                                       monkeypatch):
    """Issue 14 item 8: the consent and the moment it was given move with the record."""
    patient = make_patient(client, staff("reception"), contact_preference="email", reminder_consent=True)
    assert _cli(monkeypatch, db_url, tmp_path, "export", "--out", str(tmp_path / "a")).exit_code == 0
    archive = next((tmp_path / "a").glob("*.zip"))
    with zipfile.ZipFile(archive) as z:
        [row] = [json.loads(line) for line in z.read("patients.ndjson").decode().splitlines()]
    assert (row["contact_preference"], row["reminder_consent"]) == ("email", True) and row["reminder_consent_at"]
    empty = template_db.empty()
    try:
        assert _cli(monkeypatch, empty, tmp_path, "import-archive", str(archive)).exit_code == 0
        engine = create_engine(empty)
        with Session(engine) as session:
            restored = session.get(Patient, uuid.UUID(patient["id"]))
            assert restored is not None and (restored.contact_preference, restored.reminder_consent) == ("email", True)
            assert restored.reminder_consent_at == datetime.fromisoformat(row["reminder_consent_at"])
        engine.dispose()
    finally:
        template_db.drop(empty)
