"""Checks against the reference anatomy: hard errors (unknown codes, duplicates) name the exact field;
anatomical surprises (a muscle not supplied by the entry's root) are warnings, because therapists may
know better than the table."""

from __future__ import annotations

from app.assessments.schemas import AssessmentContent, ContentWarning
from app.kit.errors import FieldError, Unprocessable
from app.reference.catalog import Catalog


def check_content(cat: Catalog, content: AssessmentContent, prefix: str = "") -> list[ContentWarning]:
    """Raise 422 listing every invalid field; return the warnings."""
    errors: list[FieldError] = []
    warnings: list[ContentWarning] = []
    seen: dict[tuple[str, str], int] = {}
    for i, finding in enumerate(content.findings):
        path = f"{prefix}findings[{i}]"
        level_known = cat.level(finding.level) is not None
        if not level_known:
            errors.append(FieldError(field=f"{path}.level", message=f"unknown level {finding.level!r}; use C1-S5"))
        key = (finding.level, finding.side)
        if key in seen:
            errors.append(FieldError(field=f"{path}.side", message=(
                f"duplicate entry for {finding.level} {finding.side} (already at findings[{seen[key]}]); "
                "merge them")))
        seen.setdefault(key, i)
        entries: list[tuple[str, int, str]] = [
            *(("muscle_shortening", j, e.muscle) for j, e in enumerate(finding.muscle_shortening)),
            *(("tender_points", j, e.muscle) for j, e in enumerate(finding.tender_points))]
        for kind, j, code in entries:
            field = f"{path}.{kind}[{j}].muscle"
            muscle = cat.muscle(code)
            if muscle is None:
                errors.append(FieldError(field=field, message=(
                    f"unknown muscle code {code!r}; see /api/v1/reference/muscles")))
            elif level_known and not cat.supplies(muscle.code, finding.level):
                roots = ", ".join(muscle.levels) or (f"cranial nerve {muscle.cranial_nerve}"
                                                      if muscle.cranial_nerve else "none listed")
                warnings.append(ContentWarning(field=field, message=(
                    f"{muscle.name} is not usually supplied by {finding.level} (reference roots: {roots})")))
    for k, segment in enumerate(content.impression):
        path = f"{prefix}impression[{k}]"
        if cat.level(segment.level) is None:
            errors.append(FieldError(field=f"{path}.level", message=f"unknown level {segment.level!r}; use C1-S5"))
            continue
        sides = ("left", "right") if segment.side == "bilateral" else (segment.side,)
        if not any((segment.level, s) in seen or (segment.level, "bilateral") in seen for s in sides):
            warnings.append(ContentWarning(field=path, message=(
                f"{segment.level} {segment.side} is in the impression but has no recorded findings")))
    dupes = _duplicates([(s.level, s.side) for s in content.impression])
    for k in dupes:
        errors.append(FieldError(field=f"{prefix}impression[{k}]", message="duplicate segment"))
    if errors:
        raise Unprocessable("; ".join(f"{e.field}: {e.message}" for e in errors[:5]), errors=errors)
    return warnings


def _duplicates(keys: list[tuple[str, str]]) -> list[int]:
    seen: set[tuple[str, str]] = set()
    out = []
    for i, key in enumerate(keys):
        if key in seen:
            out.append(i)
        seen.add(key)
    return out
