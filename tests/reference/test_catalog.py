"""The shipped reference data against the shared segmental table, and the Catalog rules the assessments use."""

from __future__ import annotations

import re

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.models.reference import ReferenceCondition, ReferenceLevel, ReferenceMuscle
from app.reference.catalog import Catalog
from app.reference.service import catalog

ANATOMICAL = [*(f"C{i}" for i in range(1, 9)), *(f"T{i}" for i in range(1, 13)),
              *(f"L{i}" for i in range(1, 6)), *(f"S{i}" for i in range(1, 6))]
# vertebral levels C2-S2 (the C8 root has no vertebra of its own)
MULTIFIDUS_LEVELS = [lv for lv in ANATOMICAL[ANATOMICAL.index("C2"): ANATOMICAL.index("S2") + 1] if lv != "C8"]
JAW = ("masseter", "temporalis", "medial_pterygoid", "lateral_pterygoid")

# The shared segmental table, by hand: root -> the table's muscle names -> our codes. Every code must list the
# root among its levels. The one exception is "scalenes" at C3 (marked ANY): only scalenus medius reaches C3
# (anterior C4-C6, posterior C6-C8), so at least one of the group must.
ANY = "any"
SEGMENTAL_TABLE: dict[str, dict[str, tuple[str, ...]]] = {
    "C1": {"suboccipitals": ("rectus_capitis_posterior_major", "rectus_capitis_posterior_minor",
                             "obliquus_capitis_superior", "obliquus_capitis_inferior")},
    "C2": {"sternocleidomastoid": ("sternocleidomastoid",), "semispinalis capitis": ("semispinalis_capitis",),
           "splenius capitis": ("splenius_capitis",)},
    "C3": {"upper trapezius": ("upper_trapezius",), "levator scapulae": ("levator_scapulae",),
           "scalenes": (ANY, "scalenus_anterior", "scalenus_medius", "scalenus_posterior")},
    "C4": {"trapezius": ("upper_trapezius", "middle_trapezius", "lower_trapezius"),
           "levator scapulae": ("levator_scapulae",), "rhomboids": ("rhomboid_major", "rhomboid_minor")},
    "C5": {"biceps": ("biceps_brachii",), "brachialis": ("brachialis",), "deltoid": ("deltoid",),
           "supraspinatus": ("supraspinatus",), "infraspinatus": ("infraspinatus",),
           "rhomboids": ("rhomboid_major", "rhomboid_minor")},
    "C6": {"extensor carpi radialis longus/brevis": ("extensor_carpi_radialis_longus",
                                                     "extensor_carpi_radialis_brevis"),
           "brachioradialis": ("brachioradialis",), "supinator": ("supinator",),
           "pronator teres": ("pronator_teres",), "serratus anterior": ("serratus_anterior",)},
    "C7": {"triceps": ("triceps_brachii",), "flexor carpi radialis": ("flexor_carpi_radialis",),
           "extensor digitorum": ("extensor_digitorum",), "latissimus dorsi": ("latissimus_dorsi",),
           "pectoralis major (sternal)": ("pectoralis_major",)},
    "C8": {"flexor digitorum profundus": ("flexor_digitorum_profundus",),
           "flexor digitorum superficialis": ("flexor_digitorum_superficialis",),
           "flexor carpi ulnaris": ("flexor_carpi_ulnaris",), "extensor indicis": ("extensor_indicis",)},
    "T1": {"abductor digiti minimi": ("abductor_digiti_minimi_hand",),
           "interossei": ("dorsal_interossei_hand", "palmar_interossei"),
           "first dorsal interosseous": ("first_dorsal_interosseous",),
           "abductor pollicis brevis": ("abductor_pollicis_brevis",)},
    **{f"T{i}": {"intercostals": ("intercostals",), "erector spinae": ("erector_spinae",)} for i in range(2, 7)},
    **{f"T{i}": {"intercostals": ("intercostals",), "erector spinae": ("erector_spinae",),
                 "abdominals": ("rectus_abdominis", "external_oblique", "internal_oblique", "transversus_abdominis")}
       for i in range(7, 13)},
    "L1": {"iliopsoas (part)": ("iliopsoas", "psoas_major", "iliacus")},
    "L2": {"iliopsoas": ("iliopsoas", "psoas_major", "iliacus"), "sartorius": ("sartorius",),
           "adductors": ("adductor_longus", "adductor_brevis", "adductor_magnus"), "gracilis": ("gracilis",)},
    "L3": {"quadriceps": ("rectus_femoris", "vastus_lateralis", "vastus_medialis", "vastus_intermedius"),
           "adductors": ("adductor_longus", "adductor_brevis", "adductor_magnus")},
    "L4": {"tibialis anterior": ("tibialis_anterior",), "vastus medialis": ("vastus_medialis",),
           "tibialis posterior": ("tibialis_posterior",), "tensor fasciae latae": ("tensor_fasciae_latae",),
           "gluteus medius": ("gluteus_medius",)},
    "L5": {"extensor hallucis longus": ("extensor_hallucis_longus",),
           "extensor digitorum longus": ("extensor_digitorum_longus",),
           "gluteus medius/minimus": ("gluteus_medius", "gluteus_minimus"),
           "tensor fasciae latae": ("tensor_fasciae_latae",),
           "peroneals": ("peroneus_longus", "peroneus_brevis", "peroneus_tertius"),
           "medial hamstrings": ("semitendinosus", "semimembranosus")},
    "S1": {"gastrocnemius/soleus": ("gastrocnemius", "soleus"), "gluteus maximus": ("gluteus_maximus",),
           "biceps femoris": ("biceps_femoris_long_head", "biceps_femoris_short_head"),
           "peroneals": ("peroneus_longus", "peroneus_brevis", "peroneus_tertius"),
           "flexor hallucis longus": ("flexor_hallucis_longus",)},
    "S2": {"gastrocnemius/soleus": ("gastrocnemius", "soleus"),
           "biceps femoris (long head)": ("biceps_femoris_long_head",), "gluteus maximus": ("gluteus_maximus",),
           "foot intrinsics": ("abductor_hallucis", "flexor_digitorum_brevis", "flexor_hallucis_brevis",
                               "quadratus_plantae", "abductor_digiti_minimi_foot", "adductor_hallucis",
                               "dorsal_interossei_foot")},
}

# The table's "paraspinal treated" column (S3-S5, absent from the table, pair with their own segment).
PARASPINAL_COLUMN = {
    "C1": ["C1"], "C2": ["C1", "C2"], "C3": ["C2", "C3"], "C4": ["C3", "C4"], "C5": ["C4", "C5"],
    "C6": ["C5", "C6"], "C7": ["C6", "C7"], "C8": ["C7", "T1"], "T1": ["T1", "T2"],
    # migration 0011: thoracic roots exit below their vertebra (like the lumbar ones) and pair with the next
    **{f"T{i}": [f"T{i}", f"T{i + 1}"] for i in range(2, 12)}, "T12": ["T12", "L1"],
    "CN5": ["C1", "C2", "C3"],
    "L1": ["L1", "L2"], "L2": ["L2", "L3"], "L3": ["L3", "L4"], "L4": ["L4", "L5"], "L5": ["L5", "S1"],
    "S1": ["L5", "S1"], "S2": ["S2"], "S3": ["S3"], "S4": ["S4"], "S5": ["S5"],
}

# The table's dermatome key points, as words the ISNCSCI text must contain.
DERMATOME_WORDS = {
    "C2": "occipital protuberance", "C3": "supraclavicular fossa", "C4": "acromioclavicular joint",
    "C5": "lateral (radial) side of the antecubital fossa", "C6": "thumb", "C7": "middle finger",
    "C8": "little finger", "T1": "medial (ulnar) side of the antecubital fossa", "T4": "nipple",
    "T10": "umbilicus", "T12": "inguinal ligament", "L1": "T12 and L2", "L2": "thigh",
    "L3": "medial femoral condyle", "L4": "medial malleolus", "L5": "third metatarsophalangeal",
    "S1": "lateral heel", "S2": "popliteal fossa",
}

CONDITIONS = {  # code: (ICD-10-CA, levels examined first, cranial nerve V)
    "tennis_elbow": (("M77.1",), ("C5", "C6", "C7"), False),
    "frozen_shoulder": (("M75.0",), ("C4", "C5", "C6"), False),
    "carpal_tunnel_syndrome": (("G56.0",), ("C6", "C7", "C8", "T1"), False),
    "headache": (("R51", "G44.2", "G44.8"), ("CN5", "C1", "C2", "C3"), True),
    "tmj_disorder": (("K07.6",), ("CN5", "C2", "C3"), True),
    "whiplash": (("S13.4",), ("C1", "C2", "C3", "C4", "C5", "C6", "C7"), False),
    "sciatica": (("M54.3", "M54.4"), ("L4", "L5", "S1"), False),
    "low_back_pain": (("M54.5",), ("L4", "L5", "S1"), False),
    "osteoarthritis": (("M17.9", "M16.9", "M19.9"), ("L2", "L3", "L4", "L5", "S1"), False),
    "plantar_fasciitis": (("M72.2",), ("L4", "L5", "S1", "S2"), False),
    "achilles_tendinopathy": (("M76.6",), ("S1", "S2"), False),
}


def test_levels(db):
    cat = catalog(db)
    assert [lv.code for lv in cat.levels] == ["CN5", *ANATOMICAL] and cat.level_codes == {"CN5", *ANATOMICAL}
    assert [lv.ordinal for lv in cat.levels] == list(range(0, 31))
    assert cat.ordinal("C1") == 1 and cat.ordinal("T1") == 9 and cat.ordinal("S5") == 30 and cat.ordinal("X9") == 99
    assert cat.ordinal("CN5") == 0 and "Trigeminal" in (cat.level("CN5").dermatome or "")  # type: ignore[union-attr]
    for lv in cat.levels:
        assert lv.region == {"C": "cervical", "T": "thoracic", "L": "lumbar", "S": "sacral"}[lv.code[0]] \
            if lv.code != "CN5" else lv.region == "cranial"
        assert list(lv.paraspinal_levels) == PARASPINAL_COLUMN[lv.code], lv.code
        assert (lv.dermatome is None) == (lv.code == "C1"), lv.code
    for code, words in DERMATOME_WORDS.items():
        level = cat.level(code)
        assert level is not None and words.lower() in (level.dermatome or "").lower(), code
    assert cat.level("c5") is None and cat.level("L6") is None


def test_every_muscle_of_the_segmental_table_lists_its_root(db):
    cat = catalog(db)
    for root, entries in SEGMENTAL_TABLE.items():
        for label, codes in entries.items():
            if codes[0] == ANY:
                group = [cat.muscle(code) for code in codes[1:]]
                assert all(group), label
                assert any(root in m.levels for m in group if m), f"{label}: none lists {root}"
                continue
            for code in codes:
                muscle = cat.muscle(code)
                assert muscle is not None, f"{label} ({root}): {code} missing"
                assert root in muscle.levels, f"{label}: {code} should list {root}, has {muscle.levels}"
                assert muscle.kind == "peripheral" or muscle.segment == "C1"  # suboccipitals: C1-C2 paraspinals


def test_the_common_ims_targets_are_there(db):
    cat = catalog(db)
    targets = {"extensor_carpi_ulnaris", "anconeus", "flexor_hallucis_longus", "tibialis_posterior",
               "quadratus_lumborum", "piriformis", "gluteus_minimus", "teres_minor", "subscapularis",
               "pectoralis_minor", "splenius_cervicis", "longissimus_thoracis", "iliocostalis_lumborum",
               "iliocostalis_thoracis", "plantaris", "popliteus", "infraspinatus", "vastus_lateralis"}
    assert targets <= set(cat.muscles)
    assert len([m for m in cat.muscles.values() if m.kind == "peripheral"]) >= 100


def test_multifidus_at_every_level_c2_to_s2(db):
    cat = catalog(db)
    paraspinals = {m.code: m for m in cat.muscles.values() if m.kind == "paraspinal"}
    suboccipitals = {code for code, m in paraspinals.items() if m.segment == "C1"}
    assert suboccipitals == set(SEGMENTAL_TABLE["C1"]["suboccipitals"])
    assert set(paraspinals) - suboccipitals == {f"multifidus_{lv.lower()}" for lv in MULTIFIDUS_LEVELS}
    for level in MULTIFIDUS_LEVELS:
        m = paraspinals[f"multifidus_{level.lower()}"]
        assert (m.segment, m.levels, m.related_levels, m.cranial_nerve, m.body_region) == (level, (level,), (), None,
                                                                                           "spine")


def test_jaw_and_other_cranial_nerve_muscles(db):
    cat = catalog(db)
    for code in JAW:
        m = cat.muscle(code)
        assert m is not None and (m.cranial_nerve, m.levels, m.related_levels, m.body_region) == (
            "V", (), ("CN5", "C2", "C3"), "jaw")
    for code in ("sternocleidomastoid", "upper_trapezius", "middle_trapezius", "lower_trapezius"):
        m = cat.muscle(code)
        assert m is not None and m.cranial_nerve == "XI" and m.levels and m.related_levels == ()
    assert {m.cranial_nerve for m in cat.muscles.values()} == {None, "V", "V/VII", "VII", "XI"}


def test_every_muscle_is_well_formed_and_points_at_real_levels(db):
    cat = catalog(db)
    regions = {"neck", "shoulder", "arm", "forearm", "hand", "trunk", "hip", "thigh", "leg", "foot", "jaw", "spine",
               "head"}
    for code, m in cat.muscles.items():
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", code) and m.code == code and m.name
        assert m.kind in {"peripheral", "paraspinal"} and m.body_region in regions, code
        referenced = [*m.levels, *m.related_levels, *([m.segment] if m.segment else [])]
        assert set(referenced) <= cat.level_codes, code
        for roots in (m.levels, m.related_levels):  # top to bottom, no repeats
            assert list(roots) == sorted(set(roots), key=cat.ordinal), code
        assert m.levels or (m.cranial_nerve and m.related_levels), f"{code} belongs to no level"
        assert (m.segment is not None) == (m.kind == "paraspinal"), code
        assert not m.related_levels or not m.levels, f"{code}: related_levels are for cranial-nerve-only muscles"


def test_conditions(db):
    cat = catalog(db)
    assert set(cat.conditions) == set(CONDITIONS)
    for code, (icd, levels, cn5) in CONDITIONS.items():
        c = cat.condition(code)
        assert c is not None and (c.icd10ca, c.levels_examined_first, c.includes_cranial_nerve_v) == (icd, levels, cn5)
        assert all(re.fullmatch(r"[A-Z]\d\d(\.\d{1,2})?", i) for i in c.icd10ca), code
        assert "nprs" in c.suggested_outcome_measures, code  # pain is tracked for every condition
    assert cat.condition("gout") is None


def test_muscles_for_level_and_supplies(db):
    cat = catalog(db)
    l5 = [m.code for m in cat.muscles_for_level("L5")]
    assert {"tibialis_anterior", "extensor_hallucis_longus", "gluteus_medius", "multifidus_l5",
            "multifidus_s1"} <= set(l5)
    assert "biceps_brachii" not in l5 and "multifidus_l4" not in l5
    assert cat.supplies("tibialis_anterior", "L5") and cat.supplies("extensor_hallucis_longus", "L5")
    assert cat.supplies("multifidus_l5", "L5") and cat.supplies("multifidus_s1", "L5")  # paraspinals paired with L5
    assert not cat.supplies("biceps_brachii", "L5") and not cat.supplies("multifidus_l4", "L5")
    assert cat.supplies("masseter", "C2") and cat.supplies("masseter", "C3") and not cat.supplies("masseter", "C4")
    assert cat.supplies("sternocleidomastoid", "C2") and cat.supplies("gastrocnemius", "S2")
    assert not cat.supplies("nonexistent", "L5") and not cat.supplies("tibialis_anterior", "L9")
    assert cat.muscles_for_level("L9") == [] and cat.paraspinals_for_level("L9") == []
    # one rule: supplies(m, L) is exactly "m is in muscles_for_level(L)", and every muscle belongs somewhere
    members = {lv.code: {m.code for m in cat.muscles_for_level(lv.code)} for lv in cat.levels}
    for code in cat.muscles:
        for level in ANATOMICAL:
            assert cat.supplies(code, level) == (code in members[level]), (code, level)
        assert any(code in found for found in members.values()), code


def test_muscles_for_level_follows_the_stated_rule(db):
    cat = catalog(db)
    for lv in cat.levels:
        expected = {m.code for m in cat.muscles.values() if m.kind == "peripheral"
                    and (lv.code in m.levels or lv.code in m.related_levels)}
        expected |= {m.code for m in cat.muscles.values() if m.kind == "paraspinal"
                     and (m.segment in lv.paraspinal_levels or m.segment == lv.code)}
        found = cat.muscles_for_level(lv.code)
        assert {m.code for m in found} == expected, lv.code
        peripheral = [m for m in found if m.kind == "peripheral"]
        assert found[:len(peripheral)] == peripheral  # peripheral first, by name
        assert [m.name for m in peripheral] == sorted(m.name for m in peripheral)


def test_paraspinals_for_level(db):
    cat = catalog(db)

    def codes(level: str) -> list[str]:
        return [m.code for m in cat.paraspinals_for_level(level)]

    assert codes("L5") == ["multifidus_l5", "multifidus_s1"] == codes("S1")
    assert codes("C5") == ["multifidus_c4", "multifidus_c5"] and codes("C8") == ["multifidus_c7", "multifidus_t1"]
    assert codes("T6") == ["multifidus_t6", "multifidus_t7"] and codes("S2") == ["multifidus_s2"]
    assert codes("T12") == ["multifidus_t12", "multifidus_l1"]
    suboccipitals = ["obliquus_capitis_inferior", "obliquus_capitis_superior", "rectus_capitis_posterior_major",
                     "rectus_capitis_posterior_minor"]
    assert codes("C1") == suboccipitals and codes("C2") == [*suboccipitals, "multifidus_c2"]
    assert codes("S4") == []  # none catalogued there


def test_loaded_once_per_engine_whatever_the_session_is_bound_to(db):
    cat = catalog(db)
    assert catalog(db) is cat
    engine = db.get_bind()
    with engine.connect() as conn, Session(bind=conn) as on_connection:  # type: ignore[union-attr]
        assert catalog(on_connection) is cat


def test_an_unmigrated_database_is_not_cached(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    tables = [m.__table__ for m in (ReferenceLevel, ReferenceMuscle, ReferenceCondition)]
    ReferenceLevel.metadata.create_all(engine, tables=tables)  # type: ignore[arg-type]
    with Session(engine) as session:
        empty = catalog(session)
        assert empty == Catalog(levels=[], muscles={}, conditions={})
        session.add(ReferenceLevel(code="C1", ordinal=1, region="cervical", dermatome=None, paraspinal_levels=["C1"]))
        session.commit()
        assert [lv.code for lv in catalog(session).levels] == ["C1"]
    engine.dispose()
