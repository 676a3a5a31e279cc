"""The instruments and their published scoring rules. Clients send item responses, never totals.

Kept in code rather than a table: an instrument is its scoring rule. Each instrument names the source of
its scoring rule (`scoring_source`) and of its MCID (`mcid_source`); the catalogue served by the API
carries both, and docs/instrument-sources.md explains each choice (SPADI's /130 total, HIT-6's
tension-type MCID, RMDQ's consensus MCID, VISA-A's item 8).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from app.outcomes import visa_a
from app.outcomes.answers import Answer, ScoringError
from app.outcomes.sources import SOURCES

__all__ = ["INSTRUMENTS", "Answer", "Instrument", "ScoringError", "improvement"]


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    used_for: str
    item_count: tuple[int, int]  # min, max number of items
    better: Literal["lower", "higher"]
    mcid: float
    score_range: tuple[float, float]
    max_missing: int
    answer: Literal["integer", "yes_no", "choice"] = "integer"
    item_range: tuple[int, int] | None = None
    choices: dict[str, int] = field(default_factory=dict)
    item_labels: tuple[str, ...] = ()
    subscales: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> [start, end) item indices
    scorer: Callable[[Instrument, list[float | None]], tuple[float, dict[str, float]]] | None = None
    scoring_rule: str = ""
    scoring_source: str = ""
    mcid_source: str = ""
    # items whose scale differs from `answer`/`item_range` (VISA-A items 7 and 8): index -> parser, description
    item_parsers: dict[int, Callable[[str, Answer], float]] = field(default_factory=dict)
    item_scales: dict[int, dict[str, Any]] = field(default_factory=dict)

    def score(self, responses: Sequence[Answer]) -> tuple[float, dict[str, float], list[Any]]:
        """Validate the responses; return (score, subscores, normalised responses)."""
        lo, hi = self.item_count
        if not lo <= len(responses) <= hi:
            expected = str(lo) if lo == hi else f"{lo}-{hi}"
            raise ScoringError("responses", f"{self.name} has {expected} items; {len(responses)} were sent")
        values = [self._value(i, r) for i, r in enumerate(responses)]
        missing = sum(v is None for v in values)
        if missing > self.max_missing:
            allowed = "no item may" if self.max_missing == 0 else f"at most {self.max_missing} item(s) may"
            raise ScoringError("responses", f"{allowed} be left unanswered on the {self.name}; {missing} are")
        assert self.scorer is not None
        total, subscores = self.scorer(self, values)
        return round(total, 2), {k: round(v, 2) for k, v in subscores.items()}, list(responses)

    def _value(self, i: int, raw: Answer) -> float | None:
        where = f"responses[{i}]"
        if raw is None:
            return None
        if i in self.item_parsers:
            return self.item_parsers[i](where, raw)
        if isinstance(raw, dict):
            raise ScoringError(where, "answer with a single value, not an object")
        if self.answer == "yes_no":
            if isinstance(raw, bool):
                return 1.0 if raw else 0.0
            raise ScoringError(where, "answer true (yes) or false (no)")
        if self.answer == "choice":
            if isinstance(raw, str) and raw in self.choices:
                return float(self.choices[raw])
            raise ScoringError(where, "one of " + ", ".join(self.choices))
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ScoringError(where, "must be a whole number")
        if isinstance(raw, float) and (not math.isfinite(raw) or not raw.is_integer()):
            raise ScoringError(where, "must be a whole number" if math.isfinite(raw) else
                               "must be a finite whole number (NaN and Infinity are not answers)")
        assert self.item_range is not None
        lo, hi = self.item_range
        if not lo <= raw <= hi:
            raise ScoringError(where, f"must be between {lo} and {hi}")
        return float(raw)

    def public(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "used_for": self.used_for, "answer": self.answer,
                "item_count": {"min": self.item_count[0], "max": self.item_count[1]},
                "item_range": {"min": self.item_range[0], "max": self.item_range[1]} if self.item_range else None,
                "choices": self.choices or None, "item_labels": list(self.item_labels) or None,
                "subscales": {k: {"first_item": a, "last_item": b - 1} for k, b_a in self.subscales.items()
                              for a, b in [b_a]} or None,
                "better": self.better, "mcid": self.mcid,
                "score_range": {"min": self.score_range[0], "max": self.score_range[1]},
                "max_missing": self.max_missing, "scoring_rule": self.scoring_rule,
                "scoring_source": self.scoring_source, "mcid_source": self.mcid_source,
                "item_scales": {str(k): v for k, v in self.item_scales.items()} or None}


def _answered(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def _single(_: Instrument, values: list[float | None]) -> tuple[float, dict[str, float]]:
    return _answered(values)[0], {}


def _mean(_: Instrument, values: list[float | None]) -> tuple[float, dict[str, float]]:
    answered = _answered(values)
    return sum(answered) / len(answered), {}


def _sum(_: Instrument, values: list[float | None]) -> tuple[float, dict[str, float]]:
    return sum(_answered(values)), {}


def _percent_of_answered(item_max: int) -> Callable[[Instrument, list[float | None]], tuple[float, dict[str, float]]]:
    def score(_: Instrument, values: list[float | None]) -> tuple[float, dict[str, float]]:
        answered = _answered(values)
        return sum(answered) / (item_max * len(answered)) * 100, {}
    return score


def _ndi(_: Instrument, values: list[float | None]) -> tuple[float, dict[str, float]]:
    """Points out of 50; with one section unanswered the points are prorated to 50."""
    answered = _answered(values)
    percent = sum(answered) / (5 * len(answered)) * 100
    return percent / 2, {"percent": percent}


def _quickdash(_: Instrument, values: list[float | None]) -> tuple[float, dict[str, float]]:
    answered = _answered(values)
    return (sum(answered) / len(answered) - 1) * 25, {}


def _prtee(inst: Instrument, values: list[float | None]) -> tuple[float, dict[str, float]]:
    """Pain (sum of 5, 0-50) + function (sum of 10 / 2, 0-50); a missing item takes its subscale's mean."""
    sub: dict[str, float] = {}
    for name, (a, b) in inst.subscales.items():
        part = values[a:b]
        answered = _answered(part)
        if len(part) - len(answered) > 1:
            raise ScoringError("responses", f"at most 1 {name} item may be unanswered on the PRTEE")
        filled = sum(answered) + (len(part) - len(answered)) * (sum(answered) / len(answered))
        sub[name] = filled if name == "pain" else filled / 2
    return sub["pain"] + sub["function"], sub


def _spadi(inst: Instrument, values: list[float | None]) -> tuple[float, dict[str, float]]:
    """Roach 1991 scoring sheet: total = all items / 130 x 100 (not the mean of the two subscales), each
    divided by the possible score of the items actually answered."""
    sub = {}
    for name, (a, b) in inst.subscales.items():
        answered = _answered(values[a:b])
        if not answered:
            raise ScoringError("responses", f"no {name} item was answered")
        sub[name] = sum(answered) / (10 * len(answered)) * 100
    answered = _answered(values)
    return sum(answered) / (10 * len(answered)) * 100, sub


ODI_SECTIONS = ("pain intensity", "personal care", "lifting", "walking", "sitting", "standing", "sleeping",
                "sex life", "social life", "travelling")
NDI_SECTIONS = ("pain intensity", "personal care", "lifting", "reading", "headaches", "concentration", "work",
                "driving", "sleeping", "recreation")

_INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument("nprs", "Numeric Pain Rating Scale", "all", (1, 1), "lower", 2, (0, 10), 0, item_range=(0, 10),
               scorer=_single),
    Instrument("psfs", "Patient-Specific Functional Scale", "all", (3, 5), "higher", 2, (0, 10), 0,
               item_range=(0, 10), scorer=_mean),
    Instrument("odi", "Oswestry Disability Index", "low back pain, sciatica", (10, 10), "lower", 10, (0, 100), 1,
               item_range=(0, 5), item_labels=ODI_SECTIONS, scorer=_percent_of_answered(5)),
    Instrument("rmdq", "Roland-Morris Disability Questionnaire", "low back pain", (24, 24), "lower", 5, (0, 24), 0,
               answer="yes_no", scorer=_sum),
    Instrument("ndi", "Neck Disability Index", "neck pain, whiplash, headache", (10, 10), "lower", 7.5, (0, 50), 1,
               item_range=(0, 5), item_labels=NDI_SECTIONS, scorer=_ndi),
    Instrument("quickdash", "QuickDASH", "shoulder, elbow, wrist and hand", (11, 11), "lower", 15.9, (0, 100), 1,
               item_range=(1, 5), scorer=_quickdash),
    Instrument("prtee", "Patient-Rated Tennis Elbow Evaluation", "tennis elbow", (15, 15), "lower", 11, (0, 100), 2,
               item_range=(0, 10), subscales={"pain": (0, 5), "function": (5, 15)}, scorer=_prtee),
    Instrument("spadi", "Shoulder Pain and Disability Index", "frozen shoulder", (13, 13), "lower", 13, (0, 100), 2,
               item_range=(0, 10), subscales={"pain": (0, 5), "disability": (5, 13)}, scorer=_spadi),
    Instrument("lefs", "Lower Extremity Functional Scale", "plantar fasciitis, Achilles, knee and hip OA", (20, 20),
               "higher", 9, (0, 80), 0, item_range=(0, 4), scorer=_sum),
    Instrument("hit6", "Headache Impact Test (HIT-6)", "headache", (6, 6), "lower", 8, (36, 78), 0, answer="choice",
               choices={"never": 6, "rarely": 8, "sometimes": 10, "very_often": 11, "always": 13}, scorer=_sum),
    Instrument("visa_a", "Victorian Institute of Sport Assessment - Achilles (VISA-A)", "Achilles tendinopathy",
               (8, 8), "higher", 6.5, (0, 100), 0, item_range=(0, 10), item_labels=visa_a.ITEM_LABELS,
               item_parsers={6: visa_a.item7, 7: visa_a.item8}, item_scales=visa_a.item_scales(), scorer=_sum),
)
INSTRUMENTS: dict[str, Instrument] = {
    i.code: replace(i, scoring_rule=SOURCES[i.code]["scoring_rule"], scoring_source=SOURCES[i.code]["scoring_source"],
                    mcid_source=SOURCES[i.code]["mcid_source"]) for i in _INSTRUMENTS}


def improvement(instrument: Instrument, baseline: float, latest: float) -> float:
    """Positive = better, whichever direction the instrument runs."""
    return latest - baseline if instrument.better == "higher" else baseline - latest
