"""Checks against the reference anatomy: hard errors (unknown codes, duplicates) name the exact field;
anatomical surprises (a muscle not supplied by the entry's root) are warnings, because therapists may
know better than the table."""

from __future__ import annotations

from app.assessments.exam_validation import check_exam
from app.assessments.schemas import AssessmentContent
from app.kit.clinical_types import ContentWarning
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
        elif (earlier := _overlapping(seen, key)) is not None:
            (_, other_side), at = earlier
            errors.append(FieldError(field=f"{path}.side", message=(
                f"{finding.level} {finding.side} overlaps the {finding.level} {other_side} entry at "
                f"findings[{at}]; record each side once (one bilateral entry, or one left and one right)")))
        seen.setdefault(key, i)
        entries: list[tuple[str, int, str]] = [
            *(("muscle_shortening", j, e.muscle) for j, e in enumerate(finding.muscle_shortening)),
            *(("tender_points", j, e.muscle) for j, e in enumerate(finding.tender_points))]
        listed: dict[tuple[str, str], int] = {}
        for kind, j, code in entries:
            field = f"{path}.{kind}[{j}].muscle"
            if (kind, code) in listed:
                errors.append(FieldError(field=field, message=(
                    f"{code!r} is already listed at {kind}[{listed[kind, code]}]; one entry per muscle")))
                continue
            listed[kind, code] = j
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
    segments: dict[tuple[str, str], int] = {}
    for k, segment in enumerate(content.impression):
        key = (segment.level, segment.side)
        if key in segments:
            errors.append(FieldError(field=f"{prefix}impression[{k}]", message="duplicate segment"))
        elif (earlier := _overlapping(segments, key)) is not None:
            errors.append(FieldError(field=f"{prefix}impression[{k}]", message=(
                f"{segment.level} {segment.side} overlaps {earlier[0][0]} {earlier[0][1]} at "
                f"impression[{earlier[1]}]")))
        segments.setdefault(key, k)
    exam_errors, exam_warnings = check_exam(cat, content, content.impression, prefix)  # Gunn exam detail
    errors += exam_errors
    warnings += exam_warnings
    if errors:
        raise Unprocessable("; ".join(f"{e.field}: {e.message}" for e in errors[:5]), errors=errors)
    return warnings


def _overlapping(seen: dict[tuple[str, str], int], key: tuple[str, str]) -> tuple[tuple[str, str], int] | None:
    """An earlier entry at the same level whose side overlaps (bilateral covers left and right)."""
    level, side = key
    for (other_level, other_side), at in seen.items():
        if other_level == level and "bilateral" in (side, other_side) and other_side != side:
            return (other_level, other_side), at
    return None
