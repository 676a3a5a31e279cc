"""An in-memory view of the reference tables: they change only with a migration.

`Catalog` is what the assessments, treatments and FHIR code use: look-ups by code, the anatomical order of
levels, and one rule for which muscles belong to a root level (`muscles_for_level`, which `supplies`
answers for a single muscle and the API's `?level=` filter serves).
"""

from __future__ import annotations

from dataclasses import dataclass, field

PERIPHERAL = "peripheral"
PARASPINAL = "paraspinal"
UNKNOWN_ORDINAL = 99  # unknown level codes sort after S5


@dataclass(frozen=True)
class Level:
    code: str  # C1 ... S5
    ordinal: int  # anatomical order, CN5 (trigeminal region) = 0, C1 = 1 ... S5 = 30
    region: str  # cranial | cervical | thoracic | lumbar | sacral
    dermatome: str | None  # ISNCSCI key sensory point; None for C1
    paraspinal_levels: tuple[str, ...]  # paraspinal segments needled with this root


@dataclass(frozen=True)
class Muscle:
    code: str  # stable snake_case, e.g. tibialis_anterior, multifidus_l5
    name: str
    kind: str  # peripheral | paraspinal
    body_region: str
    levels: tuple[str, ...]  # supplying spinal roots, anatomical order; () for cranial-nerve-only muscles
    cranial_nerve: str | None  # "V" (jaw), "XI" (trapezius, sternocleidomastoid)
    segment: str | None  # paraspinals: the level they sit at
    related_levels: tuple[str, ...]  # cranial-nerve-only muscles: the levels examined and treated with them
    site: str = "other"  # where the needle goes: see THORACIC_SITES and app/reference/ANATOMY.md
    counts_as: str | None = None  # billing unit when parts of one muscle have their own codes

    @property
    def billing_unit(self) -> str:
        return self.counts_as or self.code

    @property
    def over_pleura(self) -> bool:
        return self.site in THORACIC_SITES


# Sites that overlie the pleura wherever the needle goes, and the long back muscles' sites that do only when
# needled at C7-L1.
THORACIC_SITES = frozenset({"chest_wall", "posterior_chest_wall", "lung_apex", "thoracic_paraspinal"})
LEVEL_DEPENDENT_SITES = frozenset({"thoracolumbar", "cervicothoracic"})
PLEURA_LEVELS = frozenset({"C7", *(f"T{i}" for i in range(1, 13)), "L1"})  # the pleura runs C7 to T12, sometimes L1


def over_pleura(muscle: Muscle, level: str) -> bool:
    """Does a needle in this muscle, recorded at this level, go over the lung? Decided by the muscle's site;
    the level matters only for the long back muscles that span the thoracolumbar junction."""
    return muscle.site in THORACIC_SITES or (muscle.site in LEVEL_DEPENDENT_SITES and level in PLEURA_LEVELS)


@dataclass(frozen=True)
class Condition:
    code: str
    name: str
    icd10ca: tuple[str, ...]
    levels_examined_first: tuple[str, ...]
    includes_cranial_nerve_v: bool
    suggested_outcome_measures: tuple[str, ...]  # instrument codes, see /api/v1/reference/instruments


@dataclass(frozen=True)
class Catalog:
    """Levels in anatomical order, muscles and conditions keyed by code. Shared between requests and threads:
    treat it, and the lists and dicts it holds, as read-only."""

    levels: list[Level]
    muscles: dict[str, Muscle]
    conditions: dict[str, Condition]
    _levels: dict[str, Level] = field(init=False, repr=False, compare=False)
    _by_level: dict[str, tuple[Muscle, ...]] = field(init=False, repr=False, compare=False)
    _pairs: frozenset[tuple[str, str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_levels", {lv.code: lv for lv in self.levels})
        by_level = {lv.code: self._members(lv) for lv in self.levels}
        object.__setattr__(self, "_by_level", by_level)
        object.__setattr__(self, "_pairs", frozenset((m.code, code) for code, ms in by_level.items() for m in ms))

    def _members(self, level: Level) -> tuple[Muscle, ...]:
        code, paired = level.code, set(level.paraspinal_levels)
        peripheral = [m for m in self.muscles.values()
                      if m.kind != PARASPINAL and (code in m.levels or code in m.related_levels)]
        paraspinal = [m for m in self.muscles.values()
                      if m.kind == PARASPINAL and (m.segment in paired or m.segment == code or code in m.levels)]
        return (*sorted(peripheral, key=lambda m: (m.name, m.code)),
                *sorted(paraspinal, key=lambda m: (self.ordinal(m.segment or ""), m.code)))

    @property
    def level_codes(self) -> frozenset[str]:
        return frozenset(self._levels)

    def level(self, code: str) -> Level | None:
        return self._levels.get(code)

    def ordinal(self, code: str) -> int:
        """Anatomical position (C1 = 1 ... S5 = 30); an unknown code sorts last (99) rather than failing."""
        found = self._levels.get(code)
        return found.ordinal if found else UNKNOWN_ORDINAL

    def muscle(self, code: str) -> Muscle | None:
        return self.muscles.get(code)

    def condition(self, code: str) -> Condition | None:
        return self.conditions.get(code)

    def muscles_for_level(self, code: str) -> list[Muscle]:
        """What is examined and needled for a root: its myotome (the peripheral muscles it supplies), the
        cranial-nerve muscles examined with it (`related_levels`), then the paraspinals at its paired segments
        (`Level.paraspinal_levels`) and at its own segment, top to bottom. Unknown level: []."""
        return list(self._by_level.get(code, ()))

    def paraspinals_for_level(self, code: str) -> list[Muscle]:
        """The paraspinal part of `muscles_for_level`: multifidus/rotatores needled with this root."""
        return [m for m in self._by_level.get(code, ()) if m.kind == PARASPINAL]

    def supplies(self, muscle_code: str, level_code: str) -> bool:
        """Does this muscle belong to this level: one of its roots, its own or a paired paraspinal segment, or a
        level a cranial-nerve muscle is examined with? Exactly `muscle in muscles_for_level(level)`; False for
        unknown codes."""
        return (muscle_code, level_code) in self._pairs
