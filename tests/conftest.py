"""Every test runs once on SQLite and once on PostgreSQL, each on a freshly migrated database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.config import Settings
from app.main import create_app
from tests.databases import TemplateDatabase, pg_available
from tests.factories import Staff

# IMS_TEST_ENGINES=sqlite (or postgresql) runs one engine only; the default and CI run both.
ENGINES = [e.strip() for e in os.environ.get("IMS_TEST_ENGINES", "sqlite,postgresql").split(",") if e.strip()]
TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"

UNIT = Path(__file__).parent / "unit"


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto` (the default addopts) runs `pytest tests/unit` in this process: it takes under a second, less
    than starting the workers would. Anything else gets xdist's own choice, one worker per core."""
    paths = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    if paths and all(path == UNIT or UNIT in path.parents for path in paths):
        return 0
    return None


@pytest.fixture(scope="session", params=ENGINES)
def template_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemplateDatabase]:
    kind = request.param
    if kind == "postgresql" and (reason := pg_available()):
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {reason}")
        pytest.skip(f"PostgreSQL unreachable ({reason}); set IMS_TEST_DATABASE_URL")
    template = TemplateDatabase(kind, tmp_path_factory.mktemp(kind))
    yield template
    template.close()


@pytest.fixture
def engine_kind(template_db: TemplateDatabase) -> str:
    return template_db.kind


@pytest.fixture
def db_url(template_db: TemplateDatabase) -> Iterator[str]:
    url = template_db.copy()
    yield url
    template_db.drop(url)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(env="test", database_url=db_url, secret_key=TEST_SECRET, data_dir=tmp_path / "data",
                    _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def db(app: FastAPI, db_url: str) -> Iterator[Session]:
    """A session on the test database, for arranging data and checking what was stored.

    Autocommit, so a test's reads never hold SQLite's write lock while the app handles a request.
    """
    engine = create_engine(db_url, isolation_level="AUTOCOMMIT",
                           connect_args={"timeout": 30} if db_url.startswith("sqlite") else {})
    with Session(engine, info=dict(app.state.sessionmaker.kw["info"])) as session:
        yield session
    engine.dispose()


@pytest.fixture
def staff(app: FastAPI) -> Staff:
    return Staff(app)
