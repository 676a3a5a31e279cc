"""reference anatomy: nerve-root levels, muscles and their roots, conditions

The data is literal here, frozen with this revision: a later correction is a new migration, never an
edit of this file once it has run anywhere, and never an import from app code.

Sources and decisions (where sources differ, the multi-root assignment wins and the therapist may
override in the record; the assessments only warn, never refuse):
- Dermatomes: the ISNCSCI key sensory points (2008 worksheet, unchanged in the 2019 revision); C1 has
  none; S4 and S5 are tested together as one point.
- Muscle roots: Kendall, *Muscles: Testing and Function*, spinal segment distribution, parenthesised
  (minor) roots included. Where Gray's Anatomy adds roots (plantar intrinsics S2-S3, brachialis C7 via
  the radial nerve, coracobrachialis C5) the union is used. Splenius cervicis: C4-C8 (published ranges
  run from C5-C6 to C4-C8). Lumbar erector spinae after Bogduk (1982): L1-L4 lateral branches supply
  iliocostalis (L5 has none), L1-L5 intermediate branches supply longissimus.
- Cranial-nerve muscles: trapezius and sternocleidomastoid are CN XI with C2-C4 / C2-C3 roots. The jaw
  muscles are CN V only (no spinal roots); they carry the levels they are examined and treated with
  (C2-C3) in `related_levels`.
- Paraspinals: multifidus/rotatores at every vertebral level C2-S2 (none at C1: the atlas has no spinous
  process; the suboccipitals are the deep muscles there), each supplied by the medial branch of the
  dorsal ramus of its own segment.
- Paraspinal pairing (`paraspinal_levels`): the shared segmental table's "paraspinal treated" column,
  level by level (cervical roots pair with the segment above, lumbar roots with the one below, thoracic
  and S2 with their own); C1's "occiput-C1" is ["C1"]; S3-S5, absent from the table, pair with their own
  segment. The catalogue has no multifidus at C1 or S3-S5, so those roots suggest no paraspinal.
- Conditions: ICD-10-CA codes (WHO ICD-10 categories, which ICD-10-CA keeps at these four characters);
  the levels examined first are the clinic's convention from the shared notes, suggestions only.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 13:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

C = [f"C{i}" for i in range(1, 9)]
T = [f"T{i}" for i in range(1, 13)]
L = [f"L{i}" for i in range(1, 6)]
S = [f"S{i}" for i in range(1, 6)]
ORDER = C + T + L + S  # anatomical order: ordinal = position + 1

DERMATOMES: dict[str, str | None] = {
    "C1": None,
    "C2": "At least 1 cm lateral to the occipital protuberance (or at least 3 cm behind the ear)",
    "C3": "Supraclavicular fossa, at the midclavicular line",
    "C4": "Over the acromioclavicular joint",
    "C5": "Lateral (radial) side of the antecubital fossa, just proximal to the elbow crease",
    "C6": "Thumb, dorsal surface, proximal phalanx",
    "C7": "Middle finger, dorsal surface, proximal phalanx",
    "C8": "Little finger, dorsal surface, proximal phalanx",
    "T1": "Medial (ulnar) side of the antecubital fossa, just proximal to the medial epicondyle",
    "T2": "Apex of the axilla",
    "T3": "Midclavicular line, third intercostal space",
    "T4": "Midclavicular line, fourth intercostal space (nipple line)",
    "T5": "Midclavicular line, fifth intercostal space (midway between the nipples and the xiphisternum)",
    "T6": "Midclavicular line, at the level of the xiphisternum",
    "T7": "Midclavicular line, a quarter of the way from the xiphisternum to the umbilicus",
    "T8": "Midclavicular line, midway between the xiphisternum and the umbilicus",
    "T9": "Midclavicular line, three quarters of the way from the xiphisternum to the umbilicus",
    "T10": "Midclavicular line, at the level of the umbilicus",
    "T11": "Midclavicular line, midway between the umbilicus and the inguinal ligament",
    "T12": "Midclavicular line, midpoint of the inguinal ligament",
    "L1": "Midway between the T12 and L2 key points",
    "L2": "Anteromedial thigh, midway between the midpoint of the inguinal ligament and the medial femoral condyle",
    "L3": "Medial femoral condyle, just above the knee",
    "L4": "Medial malleolus",
    "L5": "Dorsum of the foot at the third metatarsophalangeal joint",
    "S1": "Lateral heel (calcaneus)",
    "S2": "Midpoint of the popliteal fossa",
    "S3": "Ischial tuberosity or infragluteal fold",
    "S4": "Perianal area, less than 1 cm lateral to the mucocutaneous junction (S4-S5 tested as one point)",
    "S5": "Perianal area, less than 1 cm lateral to the mucocutaneous junction (S4-S5 tested as one point)",
}

# Paraspinal segments needled with each root: the shared table's "paraspinal treated" column.
PARASPINALS: dict[str, list[str]] = {
    "C1": ["C1"], "C2": ["C1", "C2"], "C3": ["C2", "C3"], "C4": ["C3", "C4"], "C5": ["C4", "C5"],
    "C6": ["C5", "C6"], "C7": ["C6", "C7"], "C8": ["C7", "T1"], "T1": ["T1", "T2"],
    **{f"T{i}": [f"T{i}"] for i in range(2, 13)},
    "L1": ["L1", "L2"], "L2": ["L2", "L3"], "L3": ["L3", "L4"], "L4": ["L4", "L5"], "L5": ["L5", "S1"],
    "S1": ["L5", "S1"], "S2": ["S2"], "S3": ["S3"], "S4": ["S4"], "S5": ["S5"],
}


def _region(code: str) -> str:
    return {"C": "cervical", "T": "thoracic", "L": "lumbar", "S": "sacral"}[code[0]]


def _r(first: str, last: str) -> list[str]:
    return ORDER[ORDER.index(first): ORDER.index(last) + 1]


JAW = ["C2", "C3"]  # cranial nerve V muscles are examined and treated with these segments

# code, name, body_region, supplying roots, cranial nerve, related levels (cranial-nerve-only muscles)
PERIPHERAL: list[tuple[str, str, str, list[str], str | None, list[str]]] = [
    # suboccipitals (suboccipital nerve, dorsal ramus of C1)
    ("rectus_capitis_posterior_major", "Rectus capitis posterior major", "neck", ["C1"], None, []),
    ("rectus_capitis_posterior_minor", "Rectus capitis posterior minor", "neck", ["C1"], None, []),
    ("obliquus_capitis_superior", "Obliquus capitis superior", "neck", ["C1"], None, []),
    ("obliquus_capitis_inferior", "Obliquus capitis inferior", "neck", ["C1", "C2"], None, []),
    # neck
    ("sternocleidomastoid", "Sternocleidomastoid", "neck", ["C2", "C3"], "XI", []),
    ("semispinalis_capitis", "Semispinalis capitis", "neck", _r("C1", "C6"), None, []),
    ("splenius_capitis", "Splenius capitis", "neck", ["C2", "C3", "C4"], None, []),
    ("splenius_cervicis", "Splenius cervicis", "neck", _r("C4", "C8"), None, []),
    ("longus_colli", "Longus colli", "neck", _r("C2", "C6"), None, []),
    ("scalenus_anterior", "Scalenus anterior", "neck", ["C4", "C5", "C6"], None, []),
    ("scalenus_medius", "Scalenus medius", "neck", _r("C3", "C8"), None, []),
    ("scalenus_posterior", "Scalenus posterior", "neck", ["C6", "C7", "C8"], None, []),
    ("upper_trapezius", "Trapezius, upper fibres", "neck", ["C2", "C3", "C4"], "XI", []),
    ("levator_scapulae", "Levator scapulae", "neck", ["C3", "C4", "C5"], None, []),
    # shoulder girdle
    ("middle_trapezius", "Trapezius, middle fibres", "shoulder", ["C3", "C4"], "XI", []),
    ("lower_trapezius", "Trapezius, lower fibres", "shoulder", ["C3", "C4"], "XI", []),
    ("rhomboid_major", "Rhomboid major", "shoulder", ["C4", "C5"], None, []),
    ("rhomboid_minor", "Rhomboid minor", "shoulder", ["C4", "C5"], None, []),
    ("deltoid", "Deltoid", "shoulder", ["C5", "C6"], None, []),
    ("supraspinatus", "Supraspinatus", "shoulder", ["C4", "C5", "C6"], None, []),
    ("infraspinatus", "Infraspinatus", "shoulder", ["C4", "C5", "C6"], None, []),
    ("teres_minor", "Teres minor", "shoulder", ["C5", "C6"], None, []),
    ("teres_major", "Teres major", "shoulder", ["C5", "C6", "C7"], None, []),
    ("subscapularis", "Subscapularis", "shoulder", ["C5", "C6", "C7"], None, []),
    # chest wall and back
    ("serratus_anterior", "Serratus anterior", "trunk", ["C5", "C6", "C7"], None, []),
    ("pectoralis_major", "Pectoralis major", "trunk", _r("C5", "T1"), None, []),
    ("pectoralis_minor", "Pectoralis minor", "trunk", ["C6", "C7", "C8", "T1"], None, []),
    ("latissimus_dorsi", "Latissimus dorsi", "trunk", ["C6", "C7", "C8"], None, []),
    ("serratus_posterior_superior", "Serratus posterior superior", "trunk", _r("T2", "T5"), None, []),
    ("serratus_posterior_inferior", "Serratus posterior inferior", "trunk", _r("T9", "T12"), None, []),
    # arm
    ("biceps_brachii", "Biceps brachii", "arm", ["C5", "C6"], None, []),
    ("brachialis", "Brachialis", "arm", ["C5", "C6", "C7"], None, []),
    ("coracobrachialis", "Coracobrachialis", "arm", ["C5", "C6", "C7"], None, []),
    ("triceps_brachii", "Triceps brachii", "arm", ["C6", "C7", "C8", "T1"], None, []),
    # forearm
    ("anconeus", "Anconeus", "forearm", ["C7", "C8"], None, []),
    ("brachioradialis", "Brachioradialis", "forearm", ["C5", "C6"], None, []),
    ("extensor_carpi_radialis_longus", "Extensor carpi radialis longus", "forearm", ["C5", "C6", "C7", "C8"], None, []),
    ("extensor_carpi_radialis_brevis", "Extensor carpi radialis brevis", "forearm", ["C5", "C6", "C7", "C8"], None, []),
    ("supinator", "Supinator", "forearm", ["C5", "C6", "C7"], None, []),
    ("pronator_teres", "Pronator teres", "forearm", ["C6", "C7"], None, []),
    ("flexor_carpi_radialis", "Flexor carpi radialis", "forearm", ["C6", "C7", "C8"], None, []),
    ("extensor_digitorum", "Extensor digitorum", "forearm", ["C6", "C7", "C8"], None, []),
    ("extensor_carpi_ulnaris", "Extensor carpi ulnaris", "forearm", ["C6", "C7", "C8"], None, []),
    ("extensor_indicis", "Extensor indicis", "forearm", ["C6", "C7", "C8"], None, []),
    ("abductor_pollicis_longus", "Abductor pollicis longus", "forearm", ["C6", "C7", "C8"], None, []),
    ("flexor_digitorum_superficialis", "Flexor digitorum superficialis", "forearm", ["C7", "C8", "T1"], None, []),
    ("flexor_digitorum_profundus", "Flexor digitorum profundus", "forearm", ["C7", "C8", "T1"], None, []),
    ("flexor_carpi_ulnaris", "Flexor carpi ulnaris", "forearm", ["C7", "C8", "T1"], None, []),
    ("flexor_pollicis_longus", "Flexor pollicis longus", "forearm", ["C7", "C8", "T1"], None, []),
    ("pronator_quadratus", "Pronator quadratus", "forearm", ["C7", "C8", "T1"], None, []),
    # hand
    ("abductor_digiti_minimi_hand", "Abductor digiti minimi (hand)", "hand", ["C8", "T1"], None, []),
    ("first_dorsal_interosseous", "First dorsal interosseous (hand)", "hand", ["C8", "T1"], None, []),
    ("dorsal_interossei_hand", "Dorsal interossei (hand)", "hand", ["C8", "T1"], None, []),
    ("palmar_interossei", "Palmar interossei", "hand", ["C8", "T1"], None, []),
    ("abductor_pollicis_brevis", "Abductor pollicis brevis", "hand", ["C6", "C7", "C8", "T1"], None, []),
    ("opponens_pollicis", "Opponens pollicis", "hand", ["C6", "C7", "C8", "T1"], None, []),
    ("adductor_pollicis", "Adductor pollicis", "hand", ["C8", "T1"], None, []),
    # trunk: intercostals, abdominals, erector spinae
    ("intercostals", "Intercostals", "trunk", _r("T1", "T12"), None, []),
    ("rectus_abdominis", "Rectus abdominis", "trunk", _r("T5", "T12"), None, []),
    ("external_oblique", "External oblique", "trunk", _r("T5", "T12"), None, []),
    ("internal_oblique", "Internal oblique", "trunk", [*_r("T7", "T12"), "L1"], None, []),
    ("transversus_abdominis", "Transversus abdominis", "trunk", [*_r("T7", "T12"), "L1"], None, []),
    ("quadratus_lumborum", "Quadratus lumborum", "trunk", ["T12", "L1", "L2", "L3"], None, []),
    ("erector_spinae", "Erector spinae (iliocostalis, longissimus, spinalis)", "spine", _r("T1", "L5"), None, []),
    ("longissimus_thoracis", "Longissimus thoracis", "spine", _r("T1", "L5"), None, []),
    ("iliocostalis_thoracis", "Iliocostalis thoracis", "spine", _r("T1", "T12"), None, []),
    ("iliocostalis_lumborum", "Iliocostalis lumborum", "spine", _r("T5", "L4"), None, []),
    # hip
    ("iliopsoas", "Iliopsoas", "hip", ["L1", "L2", "L3", "L4"], None, []),
    ("psoas_major", "Psoas major", "hip", ["L1", "L2", "L3", "L4"], None, []),
    ("iliacus", "Iliacus", "hip", ["L1", "L2", "L3", "L4"], None, []),
    ("tensor_fasciae_latae", "Tensor fasciae latae", "hip", ["L4", "L5", "S1"], None, []),
    ("gluteus_medius", "Gluteus medius", "hip", ["L4", "L5", "S1"], None, []),
    ("gluteus_minimus", "Gluteus minimus", "hip", ["L4", "L5", "S1"], None, []),
    ("gluteus_maximus", "Gluteus maximus", "hip", ["L5", "S1", "S2"], None, []),
    ("piriformis", "Piriformis", "hip", ["L5", "S1", "S2"], None, []),
    ("gemellus_superior", "Gemellus superior", "hip", ["L5", "S1", "S2"], None, []),
    ("obturator_internus", "Obturator internus", "hip", ["L5", "S1", "S2"], None, []),
    ("gemellus_inferior", "Gemellus inferior", "hip", ["L4", "L5", "S1"], None, []),
    ("quadratus_femoris", "Quadratus femoris", "hip", ["L4", "L5", "S1"], None, []),
    # thigh
    ("sartorius", "Sartorius", "thigh", ["L2", "L3", "L4"], None, []),
    ("pectineus", "Pectineus", "thigh", ["L2", "L3", "L4"], None, []),
    ("adductor_longus", "Adductor longus", "thigh", ["L2", "L3", "L4"], None, []),
    ("adductor_brevis", "Adductor brevis", "thigh", ["L2", "L3", "L4"], None, []),
    ("adductor_magnus", "Adductor magnus", "thigh", ["L2", "L3", "L4", "L5", "S1"], None, []),
    ("gracilis", "Gracilis", "thigh", ["L2", "L3", "L4"], None, []),
    ("rectus_femoris", "Rectus femoris (quadriceps)", "thigh", ["L2", "L3", "L4"], None, []),
    ("vastus_lateralis", "Vastus lateralis (quadriceps)", "thigh", ["L2", "L3", "L4"], None, []),
    ("vastus_medialis", "Vastus medialis (quadriceps)", "thigh", ["L2", "L3", "L4"], None, []),
    ("vastus_intermedius", "Vastus intermedius (quadriceps)", "thigh", ["L2", "L3", "L4"], None, []),
    ("biceps_femoris_long_head", "Biceps femoris, long head", "thigh", ["L5", "S1", "S2", "S3"], None, []),
    ("biceps_femoris_short_head", "Biceps femoris, short head", "thigh", ["L5", "S1", "S2"], None, []),
    ("semitendinosus", "Semitendinosus (medial hamstring)", "thigh", ["L4", "L5", "S1", "S2"], None, []),
    ("semimembranosus", "Semimembranosus (medial hamstring)", "thigh", ["L4", "L5", "S1", "S2"], None, []),
    # leg
    ("tibialis_anterior", "Tibialis anterior", "leg", ["L4", "L5", "S1"], None, []),
    ("extensor_hallucis_longus", "Extensor hallucis longus", "leg", ["L4", "L5", "S1"], None, []),
    ("extensor_digitorum_longus", "Extensor digitorum longus", "leg", ["L4", "L5", "S1"], None, []),
    ("peroneus_longus", "Peroneus (fibularis) longus", "leg", ["L4", "L5", "S1"], None, []),
    ("peroneus_brevis", "Peroneus (fibularis) brevis", "leg", ["L4", "L5", "S1"], None, []),
    ("peroneus_tertius", "Peroneus (fibularis) tertius", "leg", ["L4", "L5", "S1"], None, []),
    ("tibialis_posterior", "Tibialis posterior", "leg", ["L4", "L5", "S1"], None, []),
    ("popliteus", "Popliteus", "leg", ["L4", "L5", "S1"], None, []),
    ("gastrocnemius", "Gastrocnemius", "leg", ["S1", "S2"], None, []),
    ("soleus", "Soleus", "leg", ["L5", "S1", "S2"], None, []),
    ("plantaris", "Plantaris", "leg", ["L4", "L5", "S1", "S2"], None, []),
    ("flexor_hallucis_longus", "Flexor hallucis longus", "leg", ["L5", "S1", "S2"], None, []),
    ("flexor_digitorum_longus", "Flexor digitorum longus", "leg", ["L5", "S1", "S2"], None, []),
    # foot (Kendall L4-S1 for the medial plantar muscles, Gray's S1-S3: the union)
    ("extensor_digitorum_brevis", "Extensor digitorum brevis", "foot", ["L4", "L5", "S1"], None, []),
    ("abductor_hallucis", "Abductor hallucis", "foot", ["L4", "L5", "S1", "S2"], None, []),
    ("flexor_digitorum_brevis", "Flexor digitorum brevis", "foot", ["L4", "L5", "S1", "S2"], None, []),
    ("flexor_hallucis_brevis", "Flexor hallucis brevis", "foot", ["L4", "L5", "S1", "S2"], None, []),
    ("quadratus_plantae", "Quadratus plantae", "foot", ["S1", "S2"], None, []),
    ("abductor_digiti_minimi_foot", "Abductor digiti minimi (foot)", "foot", ["S1", "S2", "S3"], None, []),
    ("adductor_hallucis", "Adductor hallucis", "foot", ["S1", "S2", "S3"], None, []),
    ("dorsal_interossei_foot", "Dorsal interossei (foot)", "foot", ["S1", "S2", "S3"], None, []),
    # jaw: cranial nerve V (mandibular division), no spinal root
    ("masseter", "Masseter", "jaw", [], "V", JAW),
    ("temporalis", "Temporalis", "jaw", [], "V", JAW),
    ("medial_pterygoid", "Medial pterygoid", "jaw", [], "V", JAW),
    ("lateral_pterygoid", "Lateral pterygoid", "jaw", [], "V", JAW),
]

PARASPINAL_SEGMENTS = [*_r("C2", "C7"), *T, *L, "S1", "S2"]  # vertebral levels: no C8 vertebra

# code, name, ICD-10-CA, levels examined first, includes cranial nerve V, suggested outcome instruments
CONDITIONS: list[tuple[str, str, list[str], list[str], bool, list[str]]] = [
    ("tennis_elbow", "Tennis elbow (lateral epicondylitis)", ["M77.1"], _r("C5", "C7"), False,
     ["prtee", "quickdash", "nprs", "psfs"]),
    ("plantar_fasciitis", "Plantar fasciitis", ["M72.2"], _r("L4", "S2"), False, ["lefs", "nprs", "psfs"]),
    ("carpal_tunnel_syndrome", "Carpal tunnel syndrome", ["G56.0"], _r("C6", "T1"), False,
     ["quickdash", "nprs", "psfs"]),
    ("achilles_tendinopathy", "Achilles tendinopathy", ["M76.6"], ["S1", "S2"], False,
     ["visa_a", "lefs", "nprs", "psfs"]),
    # M54.3 sciatica; M54.4 lumbago with sciatica
    ("sciatica", "Sciatica", ["M54.3", "M54.4"], _r("L4", "S1"), False, ["odi", "rmdq", "nprs", "psfs"]),
    # M17.9 knee, M16.9 hip, M19.9 other or unspecified site
    ("osteoarthritis", "Osteoarthritis (knee and hip)", ["M17.9", "M16.9", "M19.9"], _r("L2", "S1"), False,
     ["lefs", "nprs", "psfs"]),
    # S13.4 sprain and strain of the cervical spine (includes whiplash injury)
    ("whiplash", "Whiplash (cervical sprain)", ["S13.4"], _r("C1", "C7"), False, ["ndi", "nprs", "psfs"]),
    # R51 headache NOS; G44.2 tension-type; G44.8 other specified (cervicogenic headache)
    ("headache", "Headache (cervicogenic and tension-type)", ["R51", "G44.2", "G44.8"], _r("C1", "C3"), False,
     ["hit6", "ndi", "nprs", "psfs"]),
    ("frozen_shoulder", "Frozen shoulder (adhesive capsulitis)", ["M75.0"], _r("C4", "C6"), False,
     ["spadi", "quickdash", "nprs", "psfs"]),
    ("tmj_disorder", "Temporomandibular joint disorder", ["K07.6"], JAW, True, ["nprs", "psfs"]),
    ("low_back_pain", "Low back pain", ["M54.5"], _r("L4", "S1"), False, ["odi", "rmdq", "nprs", "psfs"]),
]


def upgrade() -> None:
    levels = op.create_table(
        "reference_levels",
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=10), nullable=False),
        sa.Column("dermatome", sa.String(length=200), nullable=True),
        sa.Column("paraspinal_levels", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_reference_levels")),
        sa.UniqueConstraint("ordinal", name=op.f("uq_reference_levels_ordinal")),
    )
    muscles = op.create_table(
        "reference_muscles",
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("body_region", sa.String(length=20), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("cranial_nerve", sa.String(length=5), nullable=True),
        sa.Column("segment", sa.String(length=3), nullable=True),
        sa.Column("related_levels", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_reference_muscles")),
    )
    conditions = op.create_table(
        "reference_conditions",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("icd10ca", sa.JSON(), nullable=False),
        sa.Column("levels_examined_first", sa.JSON(), nullable=False),
        sa.Column("includes_cranial_nerve_v", sa.Boolean(), nullable=False),
        sa.Column("suggested_outcome_measures", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_reference_conditions")),
    )
    op.bulk_insert(levels, [{"code": code, "ordinal": i + 1, "region": _region(code),
                             "dermatome": DERMATOMES[code], "paraspinal_levels": PARASPINALS[code]}
                            for i, code in enumerate(ORDER)])
    rows = [{"code": code, "name": name, "kind": "peripheral", "body_region": region, "levels": roots,
             "cranial_nerve": cn, "segment": None, "related_levels": related}
            for code, name, region, roots, cn, related in PERIPHERAL]
    rows += [{"code": f"multifidus_{seg.lower()}", "name": f"Multifidus / rotatores {seg}", "kind": "paraspinal",
              "body_region": "spine", "levels": [seg], "cranial_nerve": None, "segment": seg, "related_levels": []}
             for seg in PARASPINAL_SEGMENTS]
    op.bulk_insert(muscles, rows)
    op.bulk_insert(conditions, [{"code": code, "name": name, "icd10ca": icd, "levels_examined_first": lv,
                                 "includes_cranial_nerve_v": cn5, "suggested_outcome_measures": measures}
                                for code, name, icd, lv, cn5, measures in CONDITIONS])


def downgrade() -> None:
    op.drop_table("reference_conditions")
    op.drop_table("reference_muscles")
    op.drop_table("reference_levels")
