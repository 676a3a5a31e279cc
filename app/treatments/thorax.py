"""Pneumothorax: the procedure's main serious risk, decided by where each needle goes, for every patient.

Pure rules (no database): which needles overlie the pleura (`app.reference.catalog.over_pleura`, from the
muscle's anatomical site), a warning per thoracic needle with its length and depth against the safe-depth
rule, a flag for both sides of the thorax in one session, and the consent that must name the risk before a
thoracic session is signed. Rules and sources: app/reference/ANATOMY.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from app.consents.service import is_active
from app.kit.clinical_types import ContentWarning
from app.kit.errors import FieldError
from app.models.treatment import Consent
from app.reference.catalog import Catalog, Muscle, over_pleura
from app.treatments.schemas import Needle, TreatmentContent

# Deepest insertion we accept without a warning over the thorax: the ultrasound study of rhomboid major and
# pleura depth (Valera-Calero et al.) recommends at most 19 mm to reach the rhomboid's deep limit.
SAFE_DEPTH_MM = 19.0
# A needle longer than this can reach the lung: 31 mm reached lung tissue, and the mean skin-to-lung distance
# at the angle of the neck was 33 mm in cadavers (cited in the HPCSA dry-needling safety guideline, 5.1).
MAX_THORACIC_NEEDLE_MM = 30.0
RISK = "pneumothorax"


def thoracic_needles(cat: Catalog, content: TreatmentContent) -> list[tuple[int, Needle, Muscle]]:
    """The needles that overlie the pleura, with their index and muscle."""
    out = []
    for i, needle in enumerate(content.needles):
        muscle = cat.muscle(needle.muscle)
        if muscle is not None and over_pleura(muscle, needle.level):
            out.append((i, needle, muscle))
    return out


def depth_verdict(needle: Needle) -> str:
    """The needle's length and depth against the documented safe-depth rule, in words."""
    length = f"{needle.length_mm:g} mm" if needle.length_mm is not None else "not recorded"
    depth = f"{needle.depth_mm:g} mm" if needle.depth_mm is not None else "not recorded"
    parts = [f"needle length {length}, depth {depth}"]
    if needle.depth_mm is None:
        parts.append(f"record the depth: the safe-depth rule is at most {SAFE_DEPTH_MM:g} mm over the thorax")
    elif needle.depth_mm > SAFE_DEPTH_MM:
        parts.append(f"deeper than the {SAFE_DEPTH_MM:g} mm safe-depth rule: confirm the needle was directed "
                     "onto a rib or tangentially")
    else:
        parts.append(f"within the {SAFE_DEPTH_MM:g} mm safe-depth rule")
    if needle.length_mm is not None and needle.length_mm > MAX_THORACIC_NEEDLE_MM:
        parts.append(f"a needle longer than {MAX_THORACIC_NEEDLE_MM:g} mm can reach the lung")
    return "; ".join(parts)


def warnings(cat: Catalog, content: TreatmentContent, *, lung_field_caution: bool = False) -> list[ContentWarning]:
    """One warning per thoracic needle, and one for both sides of the thorax in a session."""
    found = thoracic_needles(cat, content)
    out = []
    for i, needle, muscle in found:
        message = (f"{muscle.name} ({needle.side}, {needle.level}) overlies the pleura (pneumothorax risk): "
                   f"{depth_verdict(needle)}")
        if lung_field_caution:
            message += ("; the screen records a lung-field caution (thin chest wall, lung disease or a previous "
                        "pneumothorax)")
        out.append(ContentWarning(field=f"needles[{i}]", message=message))
    if {needle.side for _, needle, _ in found} >= {"left", "right"}:
        out.append(ContentWarning(field="needles", message=(
            "bilateral thoracic needling in one session: published guidance advises against needling both sides "
            "of the thorax at one visit (a bilateral pneumothorax is life-threatening)")))
    return out


def consent_problem(cat: Catalog, content: TreatmentContent, consents: Sequence[Consent], at: datetime
                    ) -> FieldError | None:
    """A session with thoracic needles needs an active IMS consent whose risks_discussed names pneumothorax."""
    if not thoracic_needles(cat, content):
        return None
    active = [c for c in consents if c.kind == "ims_dry_needling" and is_active(c, at)]
    if any(RISK in (c.risks_discussed or []) for c in active):
        return None
    return FieldError(field="consent.risks_discussed", message=(
        "this session needles over the thorax, and no active IMS consent records pneumothorax among "
        "risks_discussed: discuss the risk and record a consent that names it before signing"))
