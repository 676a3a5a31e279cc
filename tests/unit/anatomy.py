"""A small hand-built catalogue for the pure safety rules: no database, sites as migration 0011 sets them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from app.models.treatment import PRECAUTIONS, Consent, Screening
from app.reference.catalog import Catalog, Level, Muscle
from app.treatments.schemas import TreatmentContent

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
_ORDER = [*(f"C{i}" for i in range(1, 9)), *(f"T{i}" for i in range(1, 13)), *(f"L{i}" for i in range(1, 6)),
          *(f"S{i}" for i in range(1, 6))]
_REGION = {"C": "cervical", "T": "thoracic", "L": "lumbar", "S": "sacral"}


def _m(code: str, region: str, site: str, kind: str = "peripheral", segment: str | None = None,
       counts_as: str | None = None) -> Muscle:
    return Muscle(code, code.replace("_", " ").capitalize(), kind, region, (), None, segment, (), site, counts_as)


MUSCLES = [
    _m("rhomboid_major", "shoulder", "posterior_chest_wall"), _m("latissimus_dorsi", "trunk", "posterior_chest_wall"),
    _m("pectoralis_major", "trunk", "chest_wall"), _m("upper_trapezius", "neck", "lung_apex", counts_as="trapezius"),
    _m("lower_trapezius", "shoulder", "posterior_chest_wall", counts_as="trapezius"),
    _m("quadratus_lumborum", "trunk", "thoracolumbar"), _m("deltoid", "shoulder", "shoulder"),
    _m("biceps_brachii", "arm", "upper_limb"), _m("gluteus_medius", "hip", "hip"),
    _m("tibialis_anterior", "leg", "lower_limb"), _m("sternocleidomastoid", "neck", "anterior_neck"),
    _m("scalenus_anterior", "neck", "lung_apex"), _m("rectus_abdominis", "trunk", "abdominal_wall"),
    _m("multifidus_t5", "spine", "thoracic_paraspinal", "paraspinal", "T5", "multifidus"),
    _m("multifidus_l5", "spine", "lumbosacral", "paraspinal", "L5", "multifidus"),
    _m("multifidus_s1", "spine", "lumbosacral", "paraspinal", "S1", "multifidus"),
]
CAT = Catalog(levels=[Level(c, i + 1, _REGION[c[0]], None, (c,)) for i, c in enumerate(_ORDER)],
              muscles={m.code: m for m in MUSCLES}, conditions={})
# The same catalogue with dermatomes (none at C1), real roots on a few muscles (Kendall) and a suboccipital that
# records made before migration 0011 hold as peripheral.
ROOTED = Catalog(
    levels=[replace(level, dermatome=None if level.code == "C1" else level.code) for level in CAT.levels],
    conditions={}, muscles={
        **CAT.muscles,
        "tibialis_anterior": replace(CAT.muscles["tibialis_anterior"], levels=("L4", "L5", "S1")),
        "gluteus_medius": replace(CAT.muscles["gluteus_medius"], levels=("L4", "L5", "S1")),
        "deltoid": replace(CAT.muscles["deltoid"], levels=("C5", "C6")),
        "obliquus_capitis_inferior": Muscle("obliquus_capitis_inferior", "Obliquus capitis inferior", "paraspinal",
                                            "neck", ("C1", "C2"), None, "C1", (), "posterior_neck"),
        "masseter": Muscle("masseter", "Masseter", "peripheral", "jaw", (), "V", None, ("C2", "C3"), "jaw"),
    })
E_STIM = {"frequency_hz": 2, "pulse_width_us": 250, "intensity_ma": 4, "duration_min": 10}


def needle(muscle: str, level: str, side: str = "left", *, e_stim: bool = False, **extra: Any) -> dict[str, Any]:
    return {"muscle": muscle, "level": level, "side": side, "length_mm": 40, "depth_mm": 25,
            "e_stim": E_STIM if e_stim else None, **extra}


def content(*needles: dict[str, Any], **fields: Any) -> TreatmentContent:
    return TreatmentContent.model_validate({"started_at": NOW, "needles": list(needles), **fields})


def screening(**flags: Any) -> Screening:
    extra = {k: flags.pop(k) for k in ("lymphedema_limb", "lesion_sites", "node_dissections", "notes") if k in flags}
    return Screening(screened_at=NOW, checklist={p: bool(flags.get(p)) for p in PRECAUTIONS}, **extra)


def ims_consent(*risks: str) -> Consent:
    return Consent(kind="ims_dry_needling", obtained_at=NOW, method="written", risks_discussed=list(risks),
                   withdrawn_at=None)
