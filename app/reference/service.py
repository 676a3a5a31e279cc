"""Loads the reference tables once per engine; they only change with a migration (restart to pick one up)."""

from __future__ import annotations

import threading
import weakref

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from app.kit.errors import field_error
from app.models.reference import ReferenceCondition, ReferenceLevel, ReferenceMuscle
from app.reference.catalog import PERIPHERAL, Catalog, Condition, Level, Muscle

_cache: weakref.WeakKeyDictionary[Engine, Catalog] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def catalog(session: Session) -> Catalog:
    """The reference catalogue of the session's database, read on first use and shared afterwards.

    Keyed by engine, so each database (and each test's) has its own; an empty catalogue (a database whose
    migrations have not run yet) is returned but not kept.
    """
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    engine = getattr(engine, "_proxied", engine)  # app.db's read bind: an execution-options copy, same database
    found = _cache.get(engine)
    if found is None:
        found = _load(session)
        if found.levels:
            with _lock:
                found = _cache.setdefault(engine, found)
    return found


def _load(session: Session) -> Catalog:
    levels = [Level(r.code, r.ordinal, r.region, r.dermatome, tuple(r.paraspinal_levels))
              for r in session.scalars(select(ReferenceLevel).order_by(ReferenceLevel.ordinal))]
    muscles = {r.code: Muscle(r.code, r.name, r.kind, r.body_region, tuple(r.levels), r.cranial_nerve, r.segment,
                              tuple(r.related_levels), r.site, r.counts_as)
               for r in session.scalars(select(ReferenceMuscle).order_by(ReferenceMuscle.code))}
    conditions = {r.code: Condition(r.code, r.name, tuple(r.icd10ca), tuple(r.levels_examined_first),
                                    r.includes_cranial_nerve_v, tuple(r.suggested_outcome_measures))
                  for r in session.scalars(select(ReferenceCondition).order_by(ReferenceCondition.name))}
    return Catalog(levels=levels, muscles=muscles, conditions=conditions)


def find_muscles(session: Session, *, level: str | None = None, kind: str | None = None,
                 body_region: str | None = None) -> list[Muscle]:
    """The muscle list behind GET /reference/muscles.

    Without `level`: peripheral muscles by name, then the paraspinals top to bottom. With `level`: the
    muscles examined and treated with that root (`Catalog.muscles_for_level`, in the same order). `kind` and
    `body_region` narrow either list. An unknown level or body region is a 422 naming the query field.
    """
    cat = catalog(session)
    if level is not None:
        if cat.level(level.upper()) is None:
            raise field_error("level", f"unknown level {level!r}; use C1-C8, T1-T12, L1-L5 or S1-S5")
        muscles = cat.muscles_for_level(level.upper())
    else:
        muscles = sorted(cat.muscles.values(), key=lambda m: (m.kind != PERIPHERAL, cat.ordinal(m.segment or ""),
                                                               m.name, m.code))
    if body_region is not None:
        region, known = body_region.lower(), sorted({m.body_region for m in cat.muscles.values()})
        if region not in known:
            raise field_error("body_region", f"unknown body region {body_region!r}; one of {', '.join(known)}")
        muscles = [m for m in muscles if m.body_region == region]
    return [m for m in muscles if kind is None or m.kind == kind]
