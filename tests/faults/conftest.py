"""The fault suite kills servers, freezes a private PostgreSQL cluster and measures how fast the API answers:
under pytest-xdist its tests run one after another on one worker (`--dist loadgroup`), never against each
other."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("faults"))
