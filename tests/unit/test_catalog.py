"""The myotome rule of the reference catalogue, without a database: which muscles belong to a root level, in
what order, and the one answer `supplies` gives for a single muscle. The table's contents (Kendall's roots,
every multifidus level) are checked on both engines in tests/reference/test_catalog.py."""

from __future__ import annotations

import pytest

from app.reference.catalog import UNKNOWN_ORDINAL, Catalog, Level, Muscle, over_pleura

ORDER = [*(f"C{i}" for i in range(1, 9)), *(f"T{i}" for i in range(1, 13)), *(f"L{i}" for i in range(1, 6)),
         *(f"S{i}" for i in range(1, 6))]
REGION = {"C": "cervical", "T": "thoracic", "L": "lumbar", "S": "sacral"}
# The pairing the migrations seed: cervical roots with the segment above, thoracic with their own and the one
# below, lumbar with the one below.
PAIRED = {"C5": ("C4",), "C6": ("C5",), "T5": ("T5", "T6"), "L4": ("L5",), "L5": ("S1",)}


def muscle(code: str, levels: tuple[str, ...] = (), *, kind: str = "peripheral", segment: str | None = None,
           cn: str | None = None, related: tuple[str, ...] = (), site: str = "other",
           counts_as: str | None = None) -> Muscle:
    return Muscle(code, code.replace("_", " ").capitalize(), kind, "any", levels, cn, segment, related, site,
                  counts_as)


def paraspinal(segment: str, levels: tuple[str, ...] | None = None) -> Muscle:
    return muscle(f"multifidus_{segment.lower()}", levels or (segment,), kind="paraspinal", segment=segment,
                  site="spine")


CAT = Catalog(
    levels=[Level("CN5", 0, "cranial", None, ()),
            *(Level(c, i + 1, REGION[c[0]], None if c == "C1" else c, PAIRED.get(c, (c,))) for i, c in
              enumerate(ORDER))],
    muscles={m.code: m for m in [
        muscle("supraspinatus", ("C4", "C5", "C6")), muscle("deltoid", ("C5", "C6")),
        muscle("biceps_brachii", ("C5", "C6")), muscle("brachioradialis", ("C5", "C6")),
        muscle("tibialis_anterior", ("L4", "L5", "S1")), muscle("gluteus_medius", ("L4", "L5", "S1")),
        muscle("masseter", cn="V", related=("CN5", "C2", "C3")),
        muscle("upper_trapezius", ("C2", "C3", "C4"), cn="XI", counts_as="trapezius"),
        muscle("obliquus_capitis_inferior", ("C1", "C2"), kind="paraspinal", segment="C1"),
        paraspinal("C4"), paraspinal("C5"), paraspinal("T5"), paraspinal("T6"), paraspinal("L5"),
        paraspinal("S1"), paraspinal("L4")]},
    conditions={})


def codes(muscles: list[Muscle]) -> list[str]:
    return [m.code for m in muscles]


def test_a_root_gives_its_myotome_by_name_then_its_paired_and_own_paraspinals_top_to_bottom():
    assert codes(CAT.muscles_for_level("C5")) == ["biceps_brachii", "brachioradialis", "deltoid", "supraspinatus",
                                                  "multifidus_c4", "multifidus_c5"]
    assert codes(CAT.muscles_for_level("L5")) == ["gluteus_medius", "tibialis_anterior", "multifidus_l5",
                                                  "multifidus_s1"]
    assert codes(CAT.muscles_for_level("T5")) == ["multifidus_t5", "multifidus_t6"]


def test_a_cranial_nerve_muscle_belongs_to_the_levels_it_is_examined_with():
    assert codes(CAT.muscles_for_level("C2")) == ["masseter", "upper_trapezius", "obliquus_capitis_inferior"]
    assert codes(CAT.muscles_for_level("CN5")) == ["masseter"]
    assert not CAT.supplies("masseter", "C4") and CAT.supplies("upper_trapezius", "C4")


def test_a_paraspinal_supplied_by_more_roots_than_its_segment_belongs_to_each():
    assert CAT.supplies("obliquus_capitis_inferior", "C1") and CAT.supplies("obliquus_capitis_inferior", "C2")
    assert not CAT.supplies("obliquus_capitis_inferior", "C3")


def test_supplies_is_exactly_membership_of_the_level():
    for level in CAT.levels:
        members = set(codes(CAT.muscles_for_level(level.code)))
        for code in CAT.muscles:
            assert CAT.supplies(code, level.code) is (code in members), (code, level.code)


def test_paraspinals_for_level_is_the_paraspinal_part_only():
    assert codes(CAT.paraspinals_for_level("C5")) == ["multifidus_c4", "multifidus_c5"]
    assert codes(CAT.paraspinals_for_level("S1")) == ["multifidus_s1"]
    assert CAT.paraspinals_for_level("C8") == []


@pytest.mark.parametrize("code", ["L6", "c5", "", "T0"])
def test_unknown_level_codes_match_nothing_and_sort_last(code):
    assert CAT.level(code) is None and CAT.muscles_for_level(code) == [] and CAT.paraspinals_for_level(code) == []
    assert not CAT.supplies("deltoid", code)
    assert CAT.ordinal(code) == UNKNOWN_ORDINAL > CAT.ordinal("S5")


def test_unknown_muscle_codes_are_supplied_by_nothing():
    assert CAT.muscle("tibialis_anterieur") is None and not CAT.supplies("tibialis_anterieur", "L5")


def test_levels_keep_anatomical_order():
    assert [CAT.ordinal(c) for c in ("CN5", "C1", "C8", "T1", "T12", "L1", "S5")] == [0, 1, 8, 9, 20, 21, 30]
    assert CAT.level_codes == frozenset({"CN5", *ORDER})


def test_billing_unit_is_the_shared_code_of_parts_of_one_muscle():
    assert CAT.muscles["upper_trapezius"].billing_unit == "trapezius"
    assert CAT.muscles["deltoid"].billing_unit == "deltoid"


@pytest.mark.parametrize(("site", "level", "over"), [
    ("chest_wall", "L5", True), ("lung_apex", "C3", True), ("thoracic_paraspinal", "T5", True),
    ("posterior_chest_wall", "C4", True), ("thoracolumbar", "T12", True), ("thoracolumbar", "L1", True),
    ("thoracolumbar", "L2", False), ("cervicothoracic", "C7", True), ("cervicothoracic", "C6", False),
    ("lumbosacral", "L1", False), ("upper_limb", "T1", False),
])
def test_the_pleura_runs_c7_to_l1_only_for_the_long_back_muscles(site, level, over):
    assert over_pleura(muscle("m", site=site), level) is over
    assert muscle("m", site=site).over_pleura is (site in {"chest_wall", "lung_apex", "thoracic_paraspinal",
                                                            "posterior_chest_wall"})
