"""Checks of the Gunn exam detail against the reference levels: unknown levels or segments and duplicate
entries are 422s naming the field; a deficit at a level left out of the impression is a warning."""

from __future__ import annotations

from app.assessments.gunn_exam import SEGMENTS, ExamFields
from app.assessments.schemas import Segment
from app.kit.clinical_types import ContentWarning
from app.kit.errors import FieldError
from app.reference.catalog import Catalog


def check_exam(cat: Catalog, content: ExamFields, impression: list[Segment], prefix: str = ""
               ) -> tuple[list[FieldError], list[ContentWarning]]:
    errors: list[FieldError] = []
    warnings: list[ContentWarning] = []
    for name in ("trophic_signs", "skin_temperature"):
        for i, entry in enumerate(getattr(content, name)):
            if entry.dermatome is None:
                continue
            level = cat.level(entry.dermatome)
            if level is None or level.dermatome is None:
                errors.append(FieldError(field=f"{prefix}{name}[{i}].dermatome", message=(
                    f"{entry.dermatome!r} is not a dermatome; use C2-S5")))
    seen: dict[tuple[str, str], int] = {}
    for i, screen in enumerate(content.neuro_screen):
        path = f"{prefix}neuro_screen[{i}]"
        if cat.level(screen.level) is None:
            errors.append(FieldError(field=f"{path}.level", message=f"unknown level {screen.level!r}; use C1-S5"))
            continue
        if (clash := _clash(seen, screen.level, screen.side)) is not None:
            errors.append(FieldError(field=f"{path}.side", message=(
                f"{screen.level} {screen.side} is already screened at neuro_screen[{clash}]; one entry per "
                "level and side (bilateral covers both)")))
        seen.setdefault((screen.level, screen.side), i)
        if screen.deficits() and not _in_impression(impression, screen.level, screen.side):
            warnings.append(ContentWarning(field=path, message=(
                f"{', '.join(screen.deficits())} at {screen.level} {screen.side}, which is not in the impression")))
    tests: dict[tuple[str, str], int] = {}
    for i, test in enumerate(content.neural_tension):
        if (test.test, test.side) in tests:
            errors.append(FieldError(field=f"{prefix}neural_tension[{i}].side", message=(
                f"{test.test} {test.side} is already recorded at neural_tension[{tests[test.test, test.side]}]")))
        tests.setdefault((test.test, test.side), i)
    segments: dict[tuple[str, str], int] = {}
    for i, finding in enumerate(content.spondylosis):
        path = f"{prefix}spondylosis[{i}]"
        if finding.segment not in SEGMENTS:
            errors.append(FieldError(field=f"{path}.segment", message=(
                f"{finding.segment!r} is not a motion segment; name two adjacent vertebrae, e.g. C5-C6, T12-L1, "
                "L5-S1")))
            continue
        if (clash := _clash(segments, finding.segment, finding.side)) is not None:
            errors.append(FieldError(field=f"{path}.side", message=(
                f"{finding.segment} {finding.side} is already recorded at spondylosis[{clash}]")))
        segments.setdefault((finding.segment, finding.side), i)
    return errors, warnings


def _clash(seen: dict[tuple[str, str], int], key: str, side: str) -> int | None:
    for (other, other_side), at in seen.items():
        if other == key and (other_side == side or "bilateral" in (side, other_side)):
            return at
    return None


def _in_impression(impression: list[Segment], level: str, side: str) -> bool:
    sides = {"left", "right"} if side == "bilateral" else {side}
    covered = {s for seg in impression if seg.level == level
               for s in (("left", "right") if seg.side == "bilateral" else (seg.side,))}
    return bool(sides & covered)
