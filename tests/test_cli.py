"""The imschart command: migrate, create-user, first-run admin, audit verify, and a real server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from app import cli, migrate
from app.auth.passwords import verify_password
from app.config import get_settings
from tests.conftest import TEST_SECRET
from tests.processes import free_port

runner = CliRunner()
ADMIN_EMAIL, ADMIN_PASSWORD = "owner@clinic.example", "first run password"


@pytest.fixture
def env(template_db, tmp_path, monkeypatch) -> Iterator[str]:
    """IMS_* settings pointing at a brand-new, unmigrated database; yields its URL."""
    url = template_db.empty()
    for name in ("IMS_BOOTSTRAP_ADMIN_EMAIL", "IMS_BOOTSTRAP_ADMIN_PASSWORD", "IMS_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IMS_DATABASE_URL", url)
    monkeypatch.setenv("IMS_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("IMS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    template_db.drop(url)


@pytest.fixture
def served(monkeypatch) -> list[dict[str, Any]]:
    """`serve` runs everything up to uvicorn.run, which only records how it was called."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append({"app": app, **kwargs}))
    return calls


def run(*args: str, stdin: str | None = None):
    get_settings.cache_clear()  # settings are read from the environment once per invocation
    try:
        return runner.invoke(cli.cli, list(args), input=stdin)
    finally:
        get_settings.cache_clear()


def query(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql))]
    engine.dispose()
    return rows


def scalar(url: str, sql: str) -> Any:
    rows = query(url, sql)
    return rows[0][0] if rows else None


def create_user(email: str, password: str = "a long enough password\n", *extra: str, role: str = "therapist"):
    return run("create-user", "--email", email, "--name", "Dr Kim", "--role", role, *extra, "--password-stdin",
               stdin=password)


def test_migrate_brings_an_empty_database_to_head(env):
    first = run("migrate")
    assert first.exit_code == 0, first.output
    assert scalar(env, "SELECT version_num FROM alembic_version") == migrate.head_revision()
    assert scalar(env, "SELECT count(*) FROM audit_chain_heads") == 16
    again = run("migrate")  # nothing pending: still fine
    assert again.exit_code == 0, again.output


def test_create_user_reads_the_password_from_stdin(env):
    result = create_user("Kim@Clinic.example", "a long enough password\n", "--registration-number", "12345",
                         "--authorized-to-needle")
    assert result.exit_code == 0, result.output
    [(role, registration, needles, password_hash)] = query(
        env, "SELECT role, registration_number, authorized_to_needle, password_hash FROM users "
             "WHERE email = 'kim@clinic.example'")
    assert (role, registration, bool(needles)) == ("therapist", "12345", True)
    assert verify_password("a long enough password", password_hash)
    assert "a long enough password" not in password_hash
    assert query(env, "SELECT action, actor_type, resource_type FROM audit_events") == [("create", "system", "User")]


def test_create_user_refuses_bad_input(env):
    assert create_user("kim@clinic.example").exit_code == 0
    duplicate = create_user("KIM@clinic.example", "another long password\n")
    assert duplicate.exit_code != 0
    short = create_user("a@clinic.example", "short\n", role="admin")
    assert short.exit_code != 0 and "password" in short.output
    bad_role = create_user("b@clinic.example", role="wizard")
    assert bad_role.exit_code != 0
    no_stdin = run("create-user", "--email", "c@clinic.example", "--name", "C", "--role", "admin",
                   stdin="a long enough password\n")  # without --password-stdin the password is not read
    assert no_stdin.exit_code != 0
    assert query(env, "SELECT email FROM users") == [("kim@clinic.example",)]


def test_serve_creates_the_bootstrap_admin_on_first_run_only(env, monkeypatch, served):
    monkeypatch.setenv("IMS_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
    monkeypatch.setenv("IMS_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
    result = run("serve", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert [(c["app"], c["factory"], c["port"]) for c in served] == [("app.main:create_app", True, 8123)]
    [(role, active, password_hash)] = query(env, f"SELECT role, active, password_hash FROM users "
                                                 f"WHERE email = '{ADMIN_EMAIL}'")
    assert role == "admin" and active in (True, 1) and verify_password(ADMIN_PASSWORD, password_hash)

    monkeypatch.setenv("IMS_BOOTSTRAP_ADMIN_EMAIL", "second@clinic.example")
    assert run("serve").exit_code == 0
    assert query(env, "SELECT email FROM users") == [(ADMIN_EMAIL,)]


def test_no_bootstrap_without_both_variables_nor_when_staff_exist(env, monkeypatch):
    monkeypatch.setenv("IMS_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
    get_settings.cache_clear()
    cli._migrate_and_bootstrap()  # no password: migrate only
    assert scalar(env, "SELECT version_num FROM alembic_version") == migrate.head_revision()
    assert scalar(env, "SELECT count(*) FROM users") == 0

    assert create_user("kim@clinic.example").exit_code == 0
    monkeypatch.setenv("IMS_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
    get_settings.cache_clear()
    cli._migrate_and_bootstrap()  # someone already works here: no second admin appears
    assert query(env, "SELECT email FROM users") == [("kim@clinic.example",)]


def test_serve_refuses_a_weak_bootstrap_password_before_serving(env, monkeypatch, served):
    monkeypatch.setenv("IMS_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
    monkeypatch.setenv("IMS_BOOTSTRAP_ADMIN_PASSWORD", "short")
    result = run("serve")
    assert result.exit_code != 0 and served == []
    assert scalar(env, "SELECT count(*) FROM users") == 0


def _tamper(url: str, engine_kind: str, sql: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        if engine_kind == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        conn.execute(text(sql))
    engine.dispose()


def test_audit_verify_passes_then_fails_after_tampering(env, engine_kind):
    assert create_user("kim@clinic.example").exit_code == 0
    assert create_user("lee@clinic.example").exit_code == 0
    ok = run("audit", "verify")
    assert ok.exit_code == 0, ok.output
    _tamper(env, engine_kind, "UPDATE audit_events SET actor_label = 'someone else'")
    edited = run("audit", "verify")
    assert edited.exit_code == 1 and "altered" in edited.output
    _tamper(env, engine_kind, "DELETE FROM audit_events")
    removed = run("audit", "verify")
    assert removed.exit_code == 1 and "missing" in removed.output and "altered" not in removed.output


def test_serve_end_to_end_on_sqlite(tmp_path: Path, engine_kind, monkeypatch):
    """A first run on a fresh machine: no database, no secret, only the bootstrap admin's credentials."""
    if engine_kind != "sqlite":
        pytest.skip("one real-server run is enough")
    script = Path(sys.executable).with_name("imschart")
    assert script.exists(), "the imschart console script is not installed in this environment"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMS_")}
    env.update(IMS_DATA_DIR=str(tmp_path / "data"), IMS_BOOTSTRAP_ADMIN_EMAIL=ADMIN_EMAIL,
               IMS_BOOTSTRAP_ADMIN_PASSWORD=ADMIN_PASSWORD, IMS_LOG_LEVEL="warning")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(script), "serve", "--port", str(port)], cwd=tmp_path, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60  # a cold start migrates a new database; slow on a loaded machine
        while True:
            assert proc.poll() is None, f"server exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"server did not become ready:\n{log.read_text()}"
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        assert httpx.get(f"{base}/healthz").status_code == 200
        login = httpx.post(f"{base}/api/v1/auth/token", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        # The admin takes on staff: a therapist and a receptionist, who sign in themselves.
        def hire(email: str, role: str) -> dict[str, str]:
            made = httpx.post(f"{base}/api/v1/users", headers=headers, json={
                "email": email, "full_name": role.title(), "role": role, "password": "a long enough password",
                "authorized_to_needle": role == "therapist"})
            assert made.status_code == 201, made.text
            token = httpx.post(f"{base}/api/v1/auth/token", data={"username": email,
                                                                   "password": "a long enough password"})
            return {"Authorization": f"Bearer {token.json()['access_token']}"}

        therapist, reception = hire("kim@clinic.example", "therapist"), hire("front@clinic.example", "reception")
        created = httpx.post(f"{base}/api/v1/patients", headers=therapist,
                             json={"given_name": "Ann", "family_name": "Lee", "birth_date": "1970-01-01"})
        assert created.status_code == 201, created.text
        patient = f"{base}/api/v1/patients/{created.json()['id']}"
        # Two people edit the same chart: the second, holding version 1, cannot overwrite the first.
        first = httpx.patch(patient, headers={**therapist, "If-Match": 'W/"1"'}, json={"phone": "416 555 0101"})
        assert first.status_code == 200, first.text
        stale = httpx.patch(patient, headers={**reception, "If-Match": 'W/"1"'}, json={"phone": "416 555 0199"})
        assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
        # Reception sees demographics, never clinical content.
        assert httpx.get(patient, headers=reception).status_code == 200
        assert httpx.get(f"{patient}/episodes", headers=reception).status_code == 403
        trail = httpx.get(f"{base}/api/v1/audit-events", params={"patient_id": created.json()["id"]},
                          headers=headers)
        got = sorted((e["action"], e["actor_role"], e["outcome"]) for e in trail.json()["items"])
        assert got == [("care_start", "therapist", "success"), ("create", "therapist", "success"),
                       ("read", "reception", "success"), ("update", "therapist", "success")]
        denied = httpx.get(f"{base}/api/v1/audit-events", params={"action": "access"}, headers=headers).json()
        assert [(e["actor_role"], e["outcome"]) for e in denied["items"]] == [("reception", "denied")]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode is not None
    # The embedded default: the database and the generated secret live in the data directory.
    data = tmp_path / "data"
    assert (data / "imschart.db").is_file() and (data / "secret_key").is_file()
    # And the trail the server wrote verifies with the key it generated.
    monkeypatch.setenv("IMS_DATA_DIR", str(data))
    monkeypatch.setenv("IMS_DATABASE_URL", f"sqlite:///{(data / 'imschart.db').as_posix()}")
    monkeypatch.delenv("IMS_SECRET_KEY", raising=False)
    verified = run("audit", "verify")
    assert verified.exit_code == 0, verified.output
    # Someone edits an audit row directly in the database: verify now fails.
    _tamper(os.environ["IMS_DATABASE_URL"], "sqlite", "UPDATE audit_events SET outcome = 'success' "
                                                      "WHERE outcome = 'denied'")
    tampered = run("audit", "verify")
    assert tampered.exit_code == 1 and "altered" in tampered.output
