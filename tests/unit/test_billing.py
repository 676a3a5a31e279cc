"""The distinct-muscle count behind CPT 20560/20561, without a database."""

from __future__ import annotations

from app.reference.catalog import Catalog, Muscle
from app.treatments.service import billing_units


def _m(code: str, counts_as: str | None = None) -> Muscle:
    return Muscle(code, code, "peripheral", "trunk", ("L2",), None, None, (), "other", counts_as)


CAT = Catalog(levels=[], conditions={}, muscles={m.code: m for m in [
    _m("iliopsoas", "iliopsoas"), _m("psoas_major", "iliopsoas"), _m("iliacus", "iliopsoas"), _m("psoas_minor"),
    _m("erector_spinae"), _m("longissimus_thoracis", "longissimus"), _m("iliocostalis_lumborum", "iliocostalis"),
    _m("upper_trapezius", "trapezius"), _m("lower_trapezius", "trapezius")]})


def test_parts_of_one_muscle_count_once():
    assert billing_units(CAT, ["iliopsoas", "psoas_major", "iliacus"]) == ["iliopsoas"]
    assert billing_units(CAT, ["upper_trapezius", "lower_trapezius", "psoas_minor"]) == ["psoas_minor", "trapezius"]


def test_the_generic_group_code_is_not_counted_beside_a_named_part():
    assert billing_units(CAT, ["erector_spinae"]) == ["erector_spinae"]
    assert billing_units(CAT, ["erector_spinae", "longissimus_thoracis"]) == ["longissimus"]
    assert billing_units(CAT, ["erector_spinae", "longissimus_thoracis", "iliocostalis_lumborum"]) == [
        "iliocostalis", "longissimus"]
    assert billing_units(CAT, ["unknown_code"]) == ["unknown_code"]  # an unknown code still counts as itself
