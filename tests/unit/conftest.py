"""tests/unit/ imports the pure rule modules and runs in seconds with no database at all.

A test here that asks for a database fixture (directly or through another fixture) is refused at collection:
it belongs beside its domain's API tests, which run on both engines.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent
DATABASE_FIXTURES = frozenset({"template_db", "engine_kind", "db_url", "settings", "app", "client", "db", "staff"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE not in item.path.parents:
            continue
        used = DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if used:
            raise pytest.UsageError(f"{item.nodeid} is a unit test but uses the database fixture(s) {sorted(used)}")
