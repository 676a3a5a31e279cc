"""Start-up order never matters: serve, worker and migrate started together on an empty database all come up."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from app import migrate
from tests.conftest import TEST_SECRET
from tests.processes import clean_env, free_port, start, stop, wait_ready

SCRIPT = Path(sys.executable).with_name("imschart")
ADMIN_EMAIL, ADMIN_PASSWORD = "owner@clinic.example", "first run password"


@pytest.fixture
def empty_db(template_db):
    url = template_db.empty()
    yield url
    template_db.drop(url)


def _rows(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _env(url: str, tmp_path: Path) -> dict[str, str]:
    return clean_env(IMS_DATABASE_URL=url, IMS_SECRET_KEY=TEST_SECRET, IMS_DATA_DIR=str(tmp_path / "data"),
                     IMS_BOOTSTRAP_ADMIN_EMAIL=ADMIN_EMAIL, IMS_BOOTSTRAP_ADMIN_PASSWORD=ADMIN_PASSWORD,
                     IMS_LOG_LEVEL="warning")


def test_serve_worker_and_migrate_started_together_all_come_up(empty_db, tmp_path: Path):
    env = _env(empty_db, tmp_path)
    ports = [free_port(), free_port()]
    commands = {"migrate-1": ["migrate"], "migrate-2": ["migrate"], "worker": ["worker"],
                **{f"serve-{i}": ["serve", "--port", str(port)] for i, port in enumerate(ports)}}
    procs = {name: start([str(SCRIPT), *args], cwd=tmp_path, env=env, log=tmp_path / f"{name}.log")
             for name, args in commands.items()}  # all at once, each racing for the empty database
    try:
        for i, port in enumerate(ports):
            wait_ready(procs[f"serve-{i}"], f"http://127.0.0.1:{port}", tmp_path / f"serve-{i}.log", timeout=120)
        for name in ("migrate-1", "migrate-2"):
            assert procs[name].wait(timeout=120) == 0, (tmp_path / f"{name}.log").read_text()
        deadline = time.monotonic() + 60  # the worker came up too: the API sees its heartbeat
        while httpx.get(f"http://127.0.0.1:{ports[0]}/readyz", timeout=10).json()["worker"]["status"] != "ok":
            assert procs["worker"].poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.2)
        # Each replica serves, and the two first runs made one bootstrap admin, not two.
        for port in ports:
            login = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/token", timeout=10,
                               data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            assert login.status_code == 200, login.text
    finally:
        for proc in procs.values():
            stop(proc)
    assert _rows(empty_db, "SELECT version_num FROM alembic_version") == [(migrate.head_revision(),)]
    assert _rows(empty_db, "SELECT count(*) FROM users") == [(1,)]
    assert _rows(empty_db, "SELECT count(*) FROM audit_chain_heads") == [(16,)]


def test_a_second_migration_waits_for_the_lock_then_finds_head(empty_db, tmp_path: Path):
    env = _env(empty_db, tmp_path)
    log = tmp_path / "migrate.log"
    with migrate.migration_lock(empty_db):  # someone else is migrating
        proc = start([str(SCRIPT), "migrate"], cwd=tmp_path, env=env, log=log)
        try:
            deadline = time.monotonic() + 60
            while "waiting" not in log.read_text():
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            time.sleep(0.5)
            assert proc.poll() is None  # still waiting: it does not migrate under someone else's feet
            migrate.upgrade(empty_db, lock=False)  # the holder finishes its migration
        except BaseException:
            stop(proc)
            raise
    try:
        assert proc.wait(timeout=60) == 0, log.read_text()
    finally:
        stop(proc)
    assert "Database is at the latest schema." in log.read_text()
    assert _rows(empty_db, "SELECT version_num FROM alembic_version") == [(migrate.head_revision(),)]


def test_the_lock_is_per_database(template_db, tmp_path: Path):
    """Holding one database's lock does not stop another database from migrating."""
    first, second = template_db.empty(), template_db.empty()
    try:
        with migrate.migration_lock(first):
            done = subprocess.run([str(SCRIPT), "migrate"], cwd=tmp_path, env=_env(second, tmp_path),
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
    finally:
        template_db.drop(first)
        template_db.drop(second)
