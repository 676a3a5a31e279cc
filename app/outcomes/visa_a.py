"""VISA-A (Robinson et al., Br J Sports Med 2001;35:335-341): the two items that are not 0-10 scales.

Items 1-6 are 0-10 (the patient marks a point; item 1 converts minutes of morning stiffness and item 6 the
number of pain-free hops to that point on the form). Item 7 is one of four categories. Item 8 is a
branching question: the patient answers exactly one of A (no pain in Achilles-loading sport), B (pain,
but it does not stop training) or C (pain that stops training), each with its own points for how long
they can train. A client sends item 8 as ``{"branch": "A"|"B"|"C", "minutes": "nil"|"1-10"|"11-20"|
"21-30"|">30"}``; item 7 as its category name or its points (0, 4, 7, 10).
"""

from __future__ import annotations

from typing import Any

from app.outcomes.answers import Answer, ScoringError

ITEM7: dict[str, int] = {
    "not_at_all": 0,  # not currently undertaking sport or physical activity
    "modified_training": 4,  # modified training and/or modified competition
    "full_training_not_same_level": 7,  # full training and/or competition, but not at the pre-symptom level
    "same_or_higher_level": 10,  # competing at the same or a higher level than when symptoms began
}
DURATIONS = ("nil", "1-10", "11-20", "21-30", ">30")  # minutes of training/practice
ITEM8: dict[str, dict[str, int]] = {
    "A": dict(zip(DURATIONS, (0, 7, 14, 21, 30), strict=True)),
    "B": dict(zip(DURATIONS, (0, 4, 10, 14, 20), strict=True)),
    "C": dict(zip(DURATIONS, (0, 2, 5, 7, 10), strict=True)),
}
BRANCH_LABELS = {
    "A": "no pain while undertaking Achilles tendon loading sport",
    "B": "pain while undertaking Achilles tendon loading sport, but it does not stop training/practice",
    "C": "pain that stops completion of training/practice in Achilles tendon loading sport",
}
ITEM_LABELS = (
    "minutes of Achilles stiffness on first getting up (100 min = 0, none = 10)",
    "pain stretching the Achilles fully over the edge of a step, once warmed up",
    "pain within 2 hours after walking on flat ground for 30 minutes",
    "pain walking downstairs with a normal gait cycle",
    "pain during or immediately after 10 single-leg heel raises from a flat surface",
    "number of single-leg hops without pain (0-10)",
    "current sport or other physical activity",
    "training/practice time in Achilles-loading sport (answer one branch: A, B or C)",
)


def item7(where: str, raw: Answer) -> float:
    if isinstance(raw, str) and raw in ITEM7:
        return float(ITEM7[raw])
    if isinstance(raw, int) and not isinstance(raw, bool) and raw in ITEM7.values():
        return float(raw)
    raise ScoringError(where, "one of " + ", ".join(ITEM7) + " (or its points 0, 4, 7, 10)")


def item8(where: str, raw: Answer) -> float:
    """One branch only: an object naming the branch and the training time."""
    if not isinstance(raw, dict):
        raise ScoringError(where, 'answer one branch: {"branch": "A"|"B"|"C", "minutes": '
                                  '"nil"|"1-10"|"11-20"|"21-30"|">30"}')
    unknown = sorted(set(raw) - {"branch", "minutes"})
    if unknown:
        raise ScoringError(f"{where}.{unknown[0]}", "not part of item 8; send only branch and minutes "
                                                    "(answer one branch, not several)")
    branch = raw.get("branch")
    if not isinstance(branch, str) or branch.upper() not in ITEM8:
        raise ScoringError(f"{where}.branch", "one of A (no pain), B (pain, does not stop training), "
                                              "C (pain stops training)")
    minutes = raw.get("minutes")
    scale = ITEM8[branch.upper()]
    if not isinstance(minutes, str) or minutes not in scale:
        raise ScoringError(f"{where}.minutes", "one of " + ", ".join(DURATIONS))
    return float(scale[minutes])


def item_scales() -> dict[int, dict[str, Any]]:
    """How the catalogue describes items 7 and 8."""
    return {
        6: {"answer": "choice", "choices": dict(ITEM7)},
        7: {"answer": "branch", "branches": {b: {"label": BRANCH_LABELS[b], "minutes": dict(s)}
                                             for b, s in ITEM8.items()}},
    }
