"""What each precaution-screen item does to a session (issue 16: every screen item has a consequence).

Refused unless an override with a reason is recorded: needle phobia, and needling a lymphoedematous limb or
the limb and chest-wall quadrant on the side of a lymph-node dissection. Specific warnings for the rest.
Pure rules over a screen and the session content; sources in app/reference/ANATOMY.md.
"""

from __future__ import annotations

import re
from typing import Any

from app.kit.clinical_types import ContentWarning
from app.kit.errors import FieldError
from app.models.treatment import Screening
from app.reference.catalog import Catalog, Muscle
from app.screenings.service import present
from app.treatments.schemas import Needle, TreatmentContent

ARM_SITES = frozenset({"upper_limb", "shoulder"})
LEG_SITES = frozenset({"lower_limb", "hip"})
CHEST_WALL_SITES = frozenset({"chest_wall", "posterior_chest_wall"})  # the upper trunk quadrant an axilla drains
PELVIC_TRUNK_SITES = frozenset({"abdominal_wall", "lumbosacral"})
_RECUMBENT = re.compile(r"\b(prone|supine|side[\s_-]*lying|recumbent|lying)\b")


def is_recumbent(position: str | None) -> bool:
    """Prone, supine, side-lying (any spelling) or 'recumbent'; sitting, standing or unrecorded are not."""
    return bool(position and _RECUMBENT.search(position.lower()))


def at_risk_quadrants(screen: Screening) -> list[tuple[str, frozenset[str], str]]:
    """(side, sites, why) refused without an override: the lymphoedematous limb, and the limb plus (for an
    axilla) the chest wall on the side of a node dissection."""
    out: list[tuple[str, frozenset[str], str]] = []
    flags = set(present(screen))
    if "lymphedema" in flags and screen.lymphedema_limb:
        side, limb = screen.lymphedema_limb.split("_")
        out.append((side, ARM_SITES if limb == "arm" else LEG_SITES, f"lymphoedema of the {side} {limb}"))
    for basin in screen.node_dissections or []:
        side, where = basin.split("_")
        sites = ARM_SITES | CHEST_WALL_SITES if where == "axilla" else LEG_SITES
        out.append((side, sites, f"{side} {'axillary' if where == 'axilla' else 'inguinal'} node dissection"))
    return out


def refusals(cat: Catalog, content: TreatmentContent, screen: Screening) -> list[FieldError]:
    if not content.needles:
        return []
    overridden = {o.item for o in content.safety_overrides}
    flags = set(present(screen))
    problems: list[FieldError] = []
    if "needle_phobia" in flags and "needle_phobia" not in overridden:
        problems.append(FieldError(field="needles", message=(
            "refused: the current screen records needle phobia; needle only with a safety_overrides entry "
            "(item needle_phobia) giving the reason")))
    if "lymphedema" not in overridden and (at_risk := at_risk_quadrants(screen)):
        for i, needle, muscle in _needles(cat, content):
            for side, sites, why in at_risk:
                if needle.side == side and muscle.site in sites:
                    problems.append(FieldError(field=f"needles[{i}]", message=(
                        f"refused: {muscle.name} ({needle.side}) is in the limb or quadrant at risk ({why}); "
                        "needle it only with a safety_overrides entry (item lymphedema) giving the reason")))
                    break
    return problems


def warnings(cat: Catalog, content: TreatmentContent, screen: Screening) -> list[ContentWarning]:
    if not content.needles:
        return []
    flags = set(present(screen))
    out: list[ContentWarning] = []

    def warn(field: str, message: str) -> None:
        out.append(ContentWarning(field=field, message=message))

    for override in content.safety_overrides:
        warn("safety_overrides", f"needling despite {override.item.replace('_', ' ')} (override recorded: "
                                 f"{override.reason})")
    if bleeding := sorted(flags & {"anticoagulants", "bleeding_disorder"}):
        warn("screening", f"bleeding risk ({', '.join(bleeding)}): fewer insertions, apply pressure and document "
                          "haemostasis")
    if "immunosuppression" in flags:
        warn("screening", "immunosuppression: infection risk - strict asepsis, avoid needling near broken skin, "
                          "ask about fever or redness at the sites at the next visit")
    if "diabetes" in flags:
        warn("screening", "diabetes: infection risk and slow healing - check the skin and sensation at each site "
                          "(especially the feet) and watch for hypoglycaemia")
    if "epilepsy" in flags:
        warn("screening", "epilepsy: a seizure is possible during needling - needle recumbent, never leave the "
                          "patient alone with needles in")
    if "vasovagal_history" in flags and not is_recumbent(content.position):
        warn("position", f"vasovagal history: needle recumbent (position recorded: {content.position or 'none'})")
    if "metal_allergy" in flags:
        warn("screening", "metal allergy: stainless-steel needles contain nickel - use needles the patient "
                          "tolerates and watch the sites for a reaction")
    if "recent_surgery" in flags:
        warn("screening", "recent surgery: do not needle the surgical site, a joint replacement or the wound "
                          f"area{f' (screen notes: {screen.notes})' if screen.notes else ''}")
    if "pregnancy" in flags:
        warn("screening", "pregnancy: needling is a precaution - avoid the abdomen and lumbopelvic region and "
                          "strong stimulation; no electrical stimulation across the trunk")
    lesions = screen.lesion_sites or []
    if "local_infection_or_lesion" in flags and not lesions:
        warn("screening", "local infection or skin lesion recorded without a site: do not needle at or near it")
    for i, needle, muscle in _needles(cat, content):
        if "pregnancy" in flags and muscle.site in PELVIC_TRUNK_SITES:
            warn(f"needles[{i}]", f"pregnancy: {muscle.name} is over the abdomen or lumbopelvic region")
        for lesion in lesions if "local_infection_or_lesion" in flags else []:
            if _at_site(needle, muscle, lesion):
                what = f" ({lesion['description']})" if lesion.get("description") else ""
                warn(f"needles[{i}]", f"{muscle.name} ({needle.side}) is at the recorded infection or skin lesion "
                                      f"site{what}: do not needle at or near it")
    return out


def _at_site(needle: Needle, muscle: Muscle, lesion: dict[str, Any]) -> bool:
    side = lesion.get("side")
    return muscle.body_region == lesion.get("region") and side in (needle.side, "midline", "bilateral", None)


def _needles(cat: Catalog, content: TreatmentContent) -> list[tuple[int, Needle, Muscle]]:
    out = []
    for i, needle in enumerate(content.needles):
        muscle = cat.muscle(needle.muscle)
        if muscle is not None:
            out.append((i, needle, muscle))
    return out
