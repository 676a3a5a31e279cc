"""JSON columns are decoded by orjson (app.db.load_json), and what orjson refuses still reads back."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import JSON, literal_column, select, type_coerce

from app.db import load_json, make_engine


def test_orjson_reads_what_it_can_and_the_standard_library_the_rest():
    assert load_json('{"b": [1, 2.5, null], "a": "é"}') == {"b": [1, 2.5, None], "a": "é"}
    assert math.isnan(load_json('{"x": NaN}')["x"])  # json.dumps writes NaN; orjson refuses it
    assert load_json('{"x": Infinity}')["x"] == math.inf
    assert load_json(str(2**70)) == 2**70  # beyond 64 bits
    with pytest.raises(ValueError):
        load_json("{not json")


def test_an_engines_json_columns_read_through_it(tmp_path):
    """SQLite keeps JSON as text, so a NaN that json.dumps wrote can be in a column (PostgreSQL refuses it)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'j.db'}")
    try:
        with engine.connect() as conn:
            value = conn.execute(select(type_coerce(literal_column("""'{"a": [1, NaN]}'"""), JSON))).scalar_one()
        assert value["a"][0] == 1 and math.isnan(value["a"][1])
        assert engine.dialect._json_deserializer is load_json  # type: ignore[attr-defined]
    finally:
        engine.dispose()
