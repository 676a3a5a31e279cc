"""Settings: a development key is made once and kept; production refuses weak or missing secrets. Health probes."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app import migrate
from app.config import Settings
from app.main import create_app
from tests.conftest import TEST_SECRET

STRONG = "kR3v9-pQz_82mWx7LsT0bYc4NdHe6Ufj1Ga5"
PG = "postgresql+psycopg://ims@db.internal/ims"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch) -> None:
    """Only what a test sets: no IMS_* from the machine running the suite."""
    for name in list(os.environ):
        if name.startswith("IMS_"):
            monkeypatch.delenv(name)


def settings(**kwargs) -> Settings:
    return Settings(_env_file=None, **kwargs)  # type: ignore[call-arg]


def test_development_generates_a_secret_once_and_keeps_it(tmp_path):
    data = tmp_path / "data"
    first = settings(env="development", data_dir=data).resolved_secret_key()
    assert len(first) >= 32
    assert settings(env="development", data_dir=data).resolved_secret_key() == first  # a later start
    key_file = data / "secret_key"
    assert key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in data.iterdir()] == ["secret_key"]  # no temporary files left behind
    assert settings(env="development", data_dir=tmp_path / "elsewhere").resolved_secret_key() != first


def test_processes_starting_together_agree_on_one_secret(tmp_path):
    """`serve --workers 4` on a first run: every worker must end up with the same, complete key."""
    for attempt in range(15):
        data = tmp_path / f"run{attempt}"
        gate, keys = threading.Barrier(8), []

        def start(data=data, gate=gate, keys=keys) -> None:
            gate.wait()
            try:
                keys.append(settings(data_dir=data).resolved_secret_key())
            except Exception as exc:  # collected: the assertion below shows what went wrong
                keys.append(repr(exc))

        threads = [threading.Thread(target=start) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(keys)) == 1 and len(keys[0]) >= 32, keys


def test_an_empty_key_file_is_not_used_as_a_key(tmp_path):
    (tmp_path / "secret_key").write_text("\n")
    with pytest.raises(RuntimeError, match="empty"):
        settings(data_dir=tmp_path).resolved_secret_key()


def test_a_configured_secret_wins_and_nothing_is_written(tmp_path):
    assert settings(secret_key=STRONG, data_dir=tmp_path / "data").resolved_secret_key() == STRONG
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("secret", [None, "", "changeme", "CHANGEME", "  secret  ", "short-but-random-9x",
                                    "a" * 40, "abababababababababababababababababab"])
def test_production_refuses_missing_placeholder_or_weak_secrets(monkeypatch, secret):
    monkeypatch.setenv("IMS_ENV", "production")
    monkeypatch.setenv("IMS_DATABASE_URL", PG)
    if secret is not None:
        monkeypatch.setenv("IMS_SECRET_KEY", secret)
    with pytest.raises(ValidationError, match="IMS_SECRET_KEY"):
        settings()


def test_production_with_a_strong_secret_and_a_database(monkeypatch, tmp_path):
    monkeypatch.setenv("IMS_ENV", "production")
    monkeypatch.setenv("IMS_SECRET_KEY", STRONG)
    monkeypatch.setenv("IMS_DATABASE_URL", PG)
    monkeypatch.setenv("IMS_DATA_DIR", str(tmp_path / "data"))
    configured = settings()
    assert (configured.env, configured.is_production, configured.sqlalchemy_url) == ("production", True, PG)
    assert configured.resolved_secret_key() == STRONG
    assert not (tmp_path / "data").exists()  # nothing generated in production
    monkeypatch.delenv("IMS_DATABASE_URL")
    with pytest.raises(ValidationError, match="IMS_DATABASE_URL"):
        settings()


def test_default_database_is_an_sqlite_file_under_data():
    configured = settings()
    assert configured.env == "development"
    assert configured.sqlalchemy_url == "sqlite:///data/imschart.db"


def test_settings_come_from_ims_variables_and_a_dot_env_file(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(f"IMS_DATABASE_URL={PG}\nIMS_TOKEN_IDLE_MINUTES=45\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMS_DATA_DIR", str(tmp_path / "store"))
    configured = Settings()
    assert (configured.sqlalchemy_url, configured.token_idle_minutes) == (PG, 45)
    assert configured.data_dir == tmp_path / "store"


# --- health probes ------------------------------------------------------------------------------------------------


def test_healthz_needs_no_token(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_when_migrated(client, db_url):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["schema_revision"] == migrate.head_revision()


@contextmanager
def _probe(url: str, tmp_path) -> Iterator[TestClient]:
    """The app against a database of the test's choosing."""
    application = create_app(settings(env="test", database_url=url, secret_key=TEST_SECRET, data_dir=tmp_path))
    with TestClient(application, raise_server_exceptions=False) as test_client:
        yield test_client
    application.state.engine.dispose()


def test_readyz_is_503_on_an_unmigrated_database(template_db, tmp_path):
    url = template_db.empty()
    try:
        with _probe(url, tmp_path) as probe:
            response = probe.get("/readyz")
            assert response.status_code == 503
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["status"] == 503 and "migrate" in response.json()["detail"]
            assert probe.get("/healthz").status_code == 200  # alive, just not ready
    finally:
        template_db.drop(url)


def test_readyz_follows_the_schema_down_and_up(client, db_url):
    migrate.downgrade(db_url, "-1")
    behind = client.get("/readyz")
    assert behind.status_code == 503 and behind.headers["content-type"] == "application/problem+json"
    migrate.upgrade(db_url)
    assert client.get("/readyz").status_code == 200


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path):
    with _probe(f"sqlite:///{(tmp_path / 'missing' / 'dir' / 'x.db').as_posix()}", tmp_path) as probe:
        response = probe.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("env", ["development", "test"])
def test_only_production_is_production(monkeypatch, env):
    monkeypatch.setenv("IMS_ENV", env)
    assert settings().is_production is False


def test_production_is_decided_only_on_settings():
    """`env == "production"` lives in one property: no module decides it for itself."""
    app_dir = Path(migrate.__file__).parent
    elsewhere = [str(p.relative_to(app_dir)) for p in app_dir.rglob("*.py")
                 if p.name != "config.py" and '"production"' in p.read_text()]
    assert elsewhere == []
