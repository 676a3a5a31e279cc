"""clinical safety acts on what it records (issue 16)

Schema: a muscle's anatomical `site` and billing unit (`counts_as`); screens record lesion sites and
lymph-node dissections; the clinic says how old a current screen may be; the needling roster's expiry;
red-flag acknowledgements. Data (rules and sources in app/reference/ANATOMY.md): every muscle's site; the
missing cervical erector spinae, semispinalis, forearm, hand, neck, hip and foot muscles; the suboccipitals
as the C1-C2 paraspinal targets; thoracic roots paired with their own and the next segment (they exit below
their vertebra, like the lumbar roots); parts of one muscle share a billing unit; cranial-nerve muscles and
a CN V region ("CN5") for TMJ and headache findings. Existing records stay valid: no code is removed, and
every existing muscle-level pair is still supplied. The data is literal, frozen with this revision.

Revision ID: 0011
Revises: 0014
Create Date: 2026-12-01 10:23:41.240122
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = '0011'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Where each muscle is needled. Over the pleura always: chest_wall, posterior_chest_wall, lung_apex,
# thoracic_paraspinal. Over it only when needled at C7-L1: thoracolumbar. The rest never.
SITES: dict[str, list[str]] = {
    "chest_wall": ["serratus_anterior", "pectoralis_major", "pectoralis_minor", "intercostals", "subclavius"],
    "posterior_chest_wall": ["middle_trapezius", "lower_trapezius", "rhomboid_major", "rhomboid_minor",
                             "latissimus_dorsi", "teres_major", "subscapularis", "serratus_posterior_superior",
                             "serratus_posterior_inferior", "iliocostalis_cervicis"],
    "lung_apex": ["upper_trapezius", "scalenus_anterior", "scalenus_medius", "scalenus_posterior", "multifidus_c7"],
    "thoracic_paraspinal": ["iliocostalis_thoracis", "semispinalis_thoracis", *[f"multifidus_t{i}" for i in range(1, 13)],
                            "multifidus_l1"],
    "thoracolumbar": ["quadratus_lumborum", "erector_spinae", "longissimus_thoracis", "iliocostalis_lumborum"],
    "cervicothoracic": ["longissimus_capitis", "longissimus_cervicis", "semispinalis_cervicis"],
    "anterior_neck": ["sternocleidomastoid", "longus_colli", "longus_capitis", "digastric", "mylohyoid"],
    "neck": ["rectus_capitis_posterior_major", "rectus_capitis_posterior_minor", "obliquus_capitis_superior",
             "obliquus_capitis_inferior", "semispinalis_capitis", "splenius_capitis", "splenius_cervicis",
             "levator_scapulae", *[f"multifidus_c{i}" for i in range(2, 7)]],
    "shoulder": ["deltoid", "supraspinatus", "infraspinatus", "teres_minor"],
    "abdominal_wall": ["rectus_abdominis", "external_oblique", "internal_oblique", "transversus_abdominis"],
    "lumbosacral": [*[f"multifidus_l{i}" for i in range(2, 6)], "multifidus_s1", "multifidus_s2"],
    "head": ["masseter", "temporalis", "medial_pterygoid", "lateral_pterygoid", "occipitofrontalis"],
}
REGION_SITES = {"arm": "upper_limb", "forearm": "upper_limb", "hand": "upper_limb", "hip": "hip",
                "thigh": "lower_limb", "leg": "lower_limb", "foot": "lower_limb"}
# Parts of one muscle bill as one (CPT 20560/20561 count muscles, not heads, fibres, regions or levels); the
# generic erector_spinae code is not counted beside a named part (app/treatments/service.py).
COUNTS_AS: dict[str, list[str]] = {
    "iliopsoas": ["iliopsoas", "psoas_major", "iliacus"],
    "trapezius": ["upper_trapezius", "middle_trapezius", "lower_trapezius"],
    "dorsal_interossei_hand": ["dorsal_interossei_hand", "first_dorsal_interosseous"],
    "longissimus": ["longissimus_capitis", "longissimus_cervicis", "longissimus_thoracis"],
    "iliocostalis": ["iliocostalis_cervicis", "iliocostalis_thoracis", "iliocostalis_lumborum"],
    "semispinalis": ["semispinalis_capitis", "semispinalis_cervicis", "semispinalis_thoracis"],
}
C = [f"C{i}" for i in range(1, 9)]
T = [f"T{i}" for i in range(1, 13)]
ORDER = [*C, *T, *(f"L{i}" for i in range(1, 6)), *(f"S{i}" for i in range(1, 6))]


def _r(first: str, last: str) -> list[str]:
    return ORDER[ORDER.index(first): ORDER.index(last) + 1]


CN5 = "CN5"  # the trigeminal region: TMJ and headache findings, and the jaw muscles' level
JAW = [CN5, "C2", "C3"]
# code, name, body_region, roots, cranial nerve, related levels. Roots: Kendall (spinal segment distribution)
# for the limb muscles; Gray's/Standring (dorsal rami of the segments spanned) for the back muscles.
NEW_MUSCLES: list[tuple[str, str, str, list[str], str | None, list[str]]] = [
    ("longissimus_capitis", "Longissimus capitis", "neck", _r("C3", "C8"), None, []),
    ("longissimus_cervicis", "Longissimus cervicis", "neck", _r("C4", "T2"), None, []),
    ("iliocostalis_cervicis", "Iliocostalis cervicis", "neck", _r("C6", "T2"), None, []),
    ("semispinalis_cervicis", "Semispinalis cervicis", "neck", _r("C3", "C6"), None, []),
    ("semispinalis_thoracis", "Semispinalis thoracis", "spine", _r("T1", "T6"), None, []),
    ("longus_capitis", "Longus capitis", "neck", _r("C1", "C4"), None, []),
    ("subclavius", "Subclavius", "trunk", ["C5", "C6"], None, []),
    ("extensor_pollicis_longus", "Extensor pollicis longus", "forearm", _r("C6", "C8"), None, []),
    ("extensor_pollicis_brevis", "Extensor pollicis brevis", "forearm", _r("C6", "C8"), None, []),
    ("extensor_digiti_minimi", "Extensor digiti minimi", "forearm", _r("C6", "C8"), None, []),
    ("palmaris_longus", "Palmaris longus", "forearm", _r("C6", "T1"), None, []),
    ("flexor_pollicis_brevis", "Flexor pollicis brevis", "hand", _r("C6", "T1"), None, []),
    ("lumbricals_hand", "Lumbricals (hand)", "hand", _r("C6", "T1"), None, []),
    ("psoas_minor", "Psoas minor", "hip", ["L1", "L2"], None, []),
    ("obturator_externus", "Obturator externus", "hip", ["L3", "L4"], None, []),
    ("extensor_hallucis_brevis", "Extensor hallucis brevis", "foot", ["L4", "L5", "S1"], None, []),
    # cranial-nerve muscles examined with the CN V region and the upper cervical segments
    ("digastric", "Digastric (anterior belly V, posterior belly VII)", "jaw", [], "V/VII", JAW),
    ("mylohyoid", "Mylohyoid", "jaw", [], "V", JAW),
    ("occipitofrontalis", "Occipitofrontalis", "head", [], "VII", [CN5, "C1", "C2", "C3"]),
]
SUBOCCIPITALS = ["rectus_capitis_posterior_major", "rectus_capitis_posterior_minor", "obliquus_capitis_superior",
                 "obliquus_capitis_inferior"]
OLD_JAW = ["masseter", "temporalis", "medial_pterygoid", "lateral_pterygoid"]
# Thoracic roots exit below their vertebra, like the lumbar ones: pair each with its own and the next segment.
THORACIC_PAIRING = {f"T{i}": [f"T{i}", f"T{i + 1}"] for i in range(1, 12)} | {"T12": ["T12", "L1"]}


def _levels() -> sa.TableClause:
    return sa.table("reference_levels", sa.column("code", sa.String), sa.column("ordinal", sa.Integer),
                    sa.column("region", sa.String), sa.column("dermatome", sa.String),
                    sa.column("paraspinal_levels", sa.JSON))


def _muscles() -> sa.TableClause:
    return sa.table("reference_muscles", sa.column("code", sa.String), sa.column("name", sa.String),
                    sa.column("kind", sa.String), sa.column("body_region", sa.String),
                    sa.column("levels", sa.JSON), sa.column("cranial_nerve", sa.String),
                    sa.column("segment", sa.String), sa.column("related_levels", sa.JSON),
                    sa.column("site", sa.String), sa.column("counts_as", sa.String))


def _conditions() -> sa.TableClause:
    return sa.table("reference_conditions", sa.column("code", sa.String), sa.column("levels_examined_first", sa.JSON),
                    sa.column("includes_cranial_nerve_v", sa.Boolean))


def _seed_reference() -> None:
    levels, muscles, conditions = _levels(), _muscles(), _conditions()
    op.bulk_insert(levels, [{"code": CN5, "ordinal": 0, "region": "cranial", "paraspinal_levels": ["C1", "C2", "C3"],
                             "dermatome": "Trigeminal (CN V) territory: forehead (V1), cheek (V2), chin (V3)"}])
    for code, pairing in THORACIC_PAIRING.items():
        op.execute(levels.update().where(levels.c.code == code).values(paraspinal_levels=pairing))
    op.bulk_insert(muscles, [{"code": code, "name": name, "kind": "peripheral", "body_region": region,
                              "levels": roots, "cranial_nerve": cn, "segment": None, "related_levels": related}
                             for code, name, region, roots, cn, related in NEW_MUSCLES])
    op.execute(muscles.update().where(muscles.c.code.in_(SUBOCCIPITALS)).values(kind="paraspinal", segment="C1"))
    op.execute(muscles.update().where(muscles.c.code.in_(OLD_JAW)).values(related_levels=JAW))
    op.execute(conditions.update().where(conditions.c.code == "tmj_disorder").values(levels_examined_first=JAW))
    op.execute(conditions.update().where(conditions.c.code == "headache").values(
        levels_examined_first=[CN5, "C1", "C2", "C3"], includes_cranial_nerve_v=True))


def _unseed_reference() -> None:
    levels, muscles, conditions = _levels(), _muscles(), _conditions()
    op.execute(conditions.update().where(conditions.c.code == "headache").values(
        levels_examined_first=["C1", "C2", "C3"], includes_cranial_nerve_v=False))
    op.execute(conditions.update().where(conditions.c.code == "tmj_disorder").values(
        levels_examined_first=["C2", "C3"]))
    op.execute(muscles.update().where(muscles.c.code.in_(OLD_JAW)).values(related_levels=["C2", "C3"]))
    op.execute(muscles.update().where(muscles.c.code.in_(SUBOCCIPITALS)).values(kind="peripheral", segment=None))
    op.execute(muscles.delete().where(muscles.c.code.in_([m[0] for m in NEW_MUSCLES])))
    for code in THORACIC_PAIRING:
        op.execute(levels.update().where(levels.c.code == code).values(
            paraspinal_levels=["T1", "T2"] if code == "T1" else [code]))
    op.execute(levels.delete().where(levels.c.code == CN5))


def _seed_sites() -> None:
    muscles = _muscles()
    for region, site in REGION_SITES.items():
        op.execute(muscles.update().where(muscles.c.body_region == region).values(site=site))
    for site, codes in SITES.items():
        op.execute(muscles.update().where(muscles.c.code.in_(codes)).values(site=site))
    for unit, codes in COUNTS_AS.items():
        op.execute(muscles.update().where(muscles.c.code.in_(codes)).values(counts_as=unit))
    op.execute(muscles.update().where(muscles.c.code.like("multifidus%")).values(counts_as="multifidus"))


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('red_flag_acknowledgements',
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('assessment_id', sa.Uuid(), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('action', sa.String(length=2000), nullable=False),
    sa.Column('acknowledged_by', sa.Uuid(), nullable=False),
    sa.Column('acknowledged_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['acknowledged_by'], ['users.id'], name=op.f('fk_red_flag_acknowledgements_acknowledged_by_users')),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_red_flag_acknowledgements_assessment_id_assessments')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_red_flag_acknowledgements_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_red_flag_acknowledgements'))
    )
    with op.batch_alter_table('red_flag_acknowledgements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_red_flag_acknowledgements_patient_id_assessment_id'), ['patient_id', 'assessment_id'], unique=False)

    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.add_column(sa.Column('screening_valid_days', sa.Integer(), server_default='30', nullable=False))

    with op.batch_alter_table('reference_muscles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('site', sa.String(length=24), server_default='other', nullable=False))
        batch_op.add_column(sa.Column('counts_as', sa.String(length=60), nullable=True))

    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lesion_sites', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('node_dissections', sa.JSON(), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('roster_expires_on', sa.Date(), nullable=True))

    # ### end Alembic commands ###
    _seed_reference()
    _seed_sites()


def downgrade() -> None:
    _unseed_reference()
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('roster_expires_on')

    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.drop_column('node_dissections')
        batch_op.drop_column('lesion_sites')

    with op.batch_alter_table('reference_muscles', schema=None) as batch_op:
        batch_op.drop_column('counts_as')
        batch_op.drop_column('site')

    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.drop_column('screening_valid_days')

    with op.batch_alter_table('red_flag_acknowledgements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_red_flag_acknowledgements_patient_id_assessment_id'))

    op.drop_table('red_flag_acknowledgements')
    # ### end Alembic commands ###
