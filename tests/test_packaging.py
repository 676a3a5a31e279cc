"""What `pip install .` gives a newcomer: every runtime import declared, every package shipped.

The rest of the suite runs in a venv with the `test` extra, which would hide a runtime dependency that is
declared only there (httpx once was). This test installs the package into a fresh venv *without* extras,
exactly as the README's run command (and the Dockerfile, which copies the same four items) does, and
drives the installed console script.
"""

from __future__ import annotations

import ast
import contextlib
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import httpx
import pytest

from tests.processes import clean_env, free_port, start, stop, wait_ready

ROOT = Path(__file__).resolve().parent.parent
ADMIN_EMAIL, ADMIN_PASSWORD = "owner@clinic.example", "first run password"
SECRET = "packaging-test-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def _install_fresh(tmp: Path) -> Path:
    """A copy of the source tree (so the build leaves nothing in the repo) installed into a new venv."""
    source = tmp / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("app", "migrations"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile",
                                "--disable-pip-version-check", str(source)],
                               capture_output=True, text=True, timeout=900)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv


def _cli(venv: Path, *args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / "imschart"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=180, stdin=subprocess.DEVNULL)


@pytest.mark.long
def test_a_plain_install_serves_from_an_empty_directory(tmp_path: Path) -> None:
    venv = _install_fresh(tmp_path)
    python = str(venv / "bin" / "python")
    # No test extra: the suite's own tools are absent, so nothing below can lean on them.
    assert subprocess.run([python, "-c", "import pytest"], capture_output=True, timeout=60).returncode != 0

    workdir = tmp_path / "clinic"
    workdir.mkdir()
    port, log = free_port(), tmp_path / "serve.log"
    env = clean_env(IMS_BOOTSTRAP_ADMIN_EMAIL=ADMIN_EMAIL, IMS_BOOTSTRAP_ADMIN_PASSWORD=ADMIN_PASSWORD,
                    IMS_LOG_LEVEL="warning")
    server = start([str(venv / "bin" / "imschart"), "serve", "--port", str(port)], cwd=workdir, env=env, log=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(server, base, log, timeout=90)
        login = httpx.post(f"{base}/api/v1/auth/token", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                           timeout=10)
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        created = httpx.post(f"{base}/api/v1/patients", headers=headers, timeout=10, json={
            "given_name": "Ann", "family_name": "Lee", "birth_date": "1970-01-01",
            "health_card_number": "1234567897", "health_card_province": "ON"})
        assert created.status_code == 201, created.text
        # The docs page's files come from the installed package too.
        assert httpx.get(f"{base}/docs/assets/swagger-ui-bundle.js", timeout=10).status_code == 200
        # And so do the charting pages: their templates and static files are package data.
        login_page = httpx.get(f"{base}/app/login", timeout=10)
        assert login_page.status_code == 200 and 'name="csrf_token"' in login_page.text, login_page.text
        for asset in re.findall(r'(?:href|src)="(/app/static/[^"]+)"', login_page.text):
            assert httpx.get(f"{base}{asset}", timeout=10).status_code == 200, asset
        assert len(re.findall(r"/app/static/", login_page.text)) == 2
    finally:
        stop(server)
    assert (workdir / "data" / "imschart.db").is_file(), log.read_text()

    # The other commands import their own modules: each must run from the plain install as well.
    verified = _cli(venv, "audit", "verify", cwd=workdir, env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    exported = _cli(venv, "export", "--out", "backups", cwd=workdir, env=env)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    [archive] = (workdir / "backups").glob("*.zip")
    elsewhere = tmp_path / "restore"
    elsewhere.mkdir()
    restore_env = {**env, "IMS_SECRET_KEY": (workdir / "data" / "secret_key").read_text().strip()}
    restored = _cli(venv, "import-archive", str(archive), cwd=elsewhere, env=restore_env)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    made = subprocess.run([str(venv / "bin" / "imschart"), "create-user", "--email", "kim@clinic.example",
                           "--name", "Kim", "--role", "therapist", "--password-stdin"], cwd=elsewhere,
                          env=restore_env, input="a long enough password\n", capture_output=True, text=True,
                          timeout=180)
    assert made.returncode == 0, made.stdout + made.stderr
    worker_log = tmp_path / "worker.log"
    worker = start([str(venv / "bin" / "imschart"), "worker"], cwd=elsewhere, env=restore_env, log=worker_log)
    try:
        deadline = time.monotonic() + 60  # it got going when its heartbeat is in the database
        while not ("delivering" in worker_log.read_text()
                   and _rows(elsewhere / "data" / "imschart.db", "SELECT kind FROM worker_heartbeats")):
            assert worker.poll() is None, worker_log.read_text()
            assert time.monotonic() < deadline, worker_log.read_text()
            time.sleep(0.2)
    finally:
        stop(worker)
    assert worker.returncode == 0, worker_log.read_text()  # SIGTERM: it finishes its pass and says so
    assert _rows(elsewhere / "data" / "imschart.db", "SELECT kind, stopped_at IS NOT NULL FROM worker_heartbeats") \
        == [("worker", 1)]


def _rows(database: Path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(database)) as conn:
        return conn.execute(sql).fetchall()


def test_every_package_is_listed_for_installation() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    # Any folder holding Python code is a package that must ship, with or without an __init__.py.
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "app").rglob("*.py")
             if "__pycache__" not in p.parts}
    assert found - listed == set(), "add these packages to [tool.setuptools] packages"
    assert {"app.migrations", "app.migrations.versions"} <= listed
    assert config["package-dir"]["app.migrations"] == "migrations"
    assert config["package-dir"]["app.migrations.versions"] == "migrations/versions"
    assert "script.py.mako" in config["package-data"]["app.migrations"]
    for package in listed:  # and nothing listed that does not exist
        folder = next((ROOT / d for p, d in sorted(config["package-dir"].items(), key=lambda i: -len(i[0]))
                       if package == p), ROOT / package.replace(".", "/"))
        assert (folder / "__init__.py").is_file(), package


def _requirement_name(spec: str) -> str:
    return re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0].lower().replace("_", "-")


def test_every_third_party_import_in_app_is_a_declared_runtime_dependency() -> None:
    """A module app/ imports that arrives only as some other package's dependency (markupsafe via Jinja2) works
    until that package stops needing it: every top-level import must belong to a distribution we declare."""
    root = Path(__file__).resolve().parent.parent
    declared = {_requirement_name(d) for d in tomllib.loads((root / "pyproject.toml").read_text())["project"]
                ["dependencies"]}
    owners = packages_distributions()
    missing = set()
    for path in (root / "app").rglob("*.py"):
        tree = ast.parse(path.read_text())
        modules = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                   for alias in node.names}
        modules |= {node.module.split(".")[0] for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module}
        for module in modules:
            if module in sys.stdlib_module_names or module in ("app", "__future__"):
                continue
            dists = {d.lower().replace("_", "-") for d in owners.get(module, [])}
            if not dists & declared:
                missing.add(f"{module} ({path.relative_to(root)})")
    assert not missing, f"imported by app/ but not declared in [project] dependencies: {sorted(missing)}"
