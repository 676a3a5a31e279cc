"""Electrical stimulation: where the current flows, and who must not have it there.

Current flows between the two needles a lead pairs (`e_stim_leads`). Refused: a path across the chest
(between the two sides of the upper body, or front to back through the chest wall), a needle in the anterior
neck (carotid sinus, larynx), any path over the trunk in pregnancy, and any e-stim with a pacemaker or
implanted device. Epilepsy warns. Pure rules; sources in app/reference/ANATOMY.md.
"""

from __future__ import annotations

from app.kit.clinical_types import ContentWarning
from app.kit.errors import FieldError
from app.reference.catalog import Catalog, Muscle
from app.treatments.schemas import Needle, TreatmentContent

UPPER_BODY_SITES = frozenset({"chest_wall", "posterior_chest_wall", "lung_apex", "thoracic_paraspinal", "upper_limb",
                              "shoulder", "neck", "anterior_neck", "head"})
TRUNK_SITES = frozenset({"chest_wall", "posterior_chest_wall", "thoracic_paraspinal", "thoracolumbar",
                         "abdominal_wall", "lumbosacral"})
BACK_OF_CHEST = frozenset({"posterior_chest_wall", "thoracic_paraspinal"})


def anterior_neck(muscle: Muscle) -> bool:
    return muscle.site == "anterior_neck" or muscle.code.startswith("scalenus_")


def lead_problems(content: TreatmentContent, prefix: str = "") -> list[FieldError]:
    """422s: each lead pairs two different logged needles that carry e-stim; each e-stim needle is on a lead."""
    errors: list[FieldError] = []
    count, wired = len(content.needles), set()
    for k, lead in enumerate(content.e_stim_leads):
        path = f"{prefix}e_stim_leads[{k}].needles"
        a, b = lead.needles
        if a == b:
            errors.append(FieldError(field=path, message="a lead pairs two different needles"))
            continue
        bad = [n for n in (a, b) if n >= count]
        if bad:
            errors.append(FieldError(field=path, message=f"no needle {bad[0]}: {count} needle(s) are logged"))
            continue
        for n in (a, b):
            if content.needles[n].e_stim is None:
                errors.append(FieldError(field=path, message=f"needles[{n}] has no e_stim parameters"))
        wired |= {a, b}
    for i, needle in enumerate(content.needles):
        if needle.e_stim is not None and i not in wired:
            errors.append(FieldError(field=f"{prefix}needles[{i}].e_stim", message=(
                "record which needle this one is paired with: add an e_stim_leads entry")))
    return errors


def refusals(cat: Catalog, content: TreatmentContent, flags: set[str]) -> list[FieldError]:
    problems: list[FieldError] = []
    for k, lead in enumerate(content.e_stim_leads):
        pair = _pair(cat, content, lead.needles)
        if pair is None:
            continue
        (na, ma), (nb, mb) = pair
        field = f"e_stim_leads[{k}]"
        sites = {ma.site, mb.site}
        if (na.side != nb.side and ma.site in UPPER_BODY_SITES and mb.site in UPPER_BODY_SITES) or (
                "chest_wall" in sites and sites & BACK_OF_CHEST):
            problems.append(FieldError(field=field, message=(
                f"refused: current between {ma.name} ({na.side}) and {mb.name} ({nb.side}) crosses the chest "
                "(heart); pair needles on the same side of one region")))
        if anterior_neck(ma) or anterior_neck(mb):
            problems.append(FieldError(field=field, message=(
                "refused: no electrical stimulation in the anterior neck (carotid sinus, larynx)")))
        if "pregnancy" in flags and sites & TRUNK_SITES:
            problems.append(FieldError(field=field, message=(
                "refused: the patient is pregnant and this current path is over the trunk")))
    return problems


def warnings(content: TreatmentContent, flags: set[str]) -> list[ContentWarning]:
    if "epilepsy" in flags and content.e_stim_leads:
        return [ContentWarning(field="e_stim_leads", message=(
            "epilepsy: electrical stimulation is a precaution - low intensity, away from the head and neck, "
            "patient recumbent and observed"))]
    return []


def _pair(cat: Catalog, content: TreatmentContent, indexes: tuple[int, int]
          ) -> tuple[tuple[Needle, Muscle], tuple[Needle, Muscle]] | None:
    a, b = indexes
    if a == b or max(a, b) >= len(content.needles):
        return None
    ma, mb = cat.muscle(content.needles[a].muscle), cat.muscle(content.needles[b].muscle)
    if ma is None or mb is None:
        return None
    return (content.needles[a], ma), (content.needles[b], mb)
