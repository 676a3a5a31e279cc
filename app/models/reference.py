"""Reference anatomy and conditions: seeded by data migrations, read-only at run time."""

from __future__ import annotations

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class ReferenceLevel(Base):
    __tablename__ = "reference_levels"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    ordinal: Mapped[int] = mapped_column(unique=True)  # anatomical order, C1 = 1 ... S5 = 30
    region: Mapped[str] = mapped_column(String(10))
    dermatome: Mapped[str | None] = mapped_column(String(200))
    paraspinal_levels: Mapped[list[str]] = mapped_column(JSON)  # paraspinal segments treated with this root


class ReferenceMuscle(Base):
    __tablename__ = "reference_muscles"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(12))  # peripheral | paraspinal
    body_region: Mapped[str] = mapped_column(String(20))
    levels: Mapped[list[str]] = mapped_column(JSON)  # supplying spinal roots
    cranial_nerve: Mapped[str | None] = mapped_column(String(5))
    segment: Mapped[str | None] = mapped_column(String(3))  # paraspinals: the level they sit at
    related_levels: Mapped[list[str]] = mapped_column(JSON)  # cranial muscles: levels examined with them
    # Where the needle goes (app/reference/ANATOMY.md): decides the pneumothorax rules, not the root level.
    site: Mapped[str] = mapped_column(String(24), default="other", server_default="other")
    # The billing unit for the distinct-muscle count (CPT 20560/20561): parts of one muscle count once.
    counts_as: Mapped[str | None] = mapped_column(String(60))


class ReferenceCondition(Base):
    __tablename__ = "reference_conditions"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    icd10ca: Mapped[list[str]] = mapped_column(JSON)
    levels_examined_first: Mapped[list[str]] = mapped_column(JSON)
    includes_cranial_nerve_v: Mapped[bool] = mapped_column(default=False)
    suggested_outcome_measures: Mapped[list[str]] = mapped_column(JSON)
