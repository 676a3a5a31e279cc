"""What else a Gunn practitioner examines (docs/gunn-exam.md): trophic and autonomic signs with their site,
skin temperature, a neurological screen per level, neural tension tests, spondylosis per segment and the
DN4 neuropathic screen. Every part is optional, so assessments charted before it existed stay valid."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from app.kit.clinical_types import STRICT, Item, LevelCode, Note

Side = Literal["left", "right", "bilateral"]

TrophicKind = Literal["trophedema", "vasomotor", "sudomotor", "pilomotor", "hair_loss", "nail_changes",
                      "skin_changes", "dermatomal_hyperalgesia"]
Sensation = Literal["absent", "reduced", "normal", "increased"]
# NINDS muscle stretch reflex scale: 0 absent, 1 reduced, 2 normal, 3 brisk, 4 clonus
Reflex = Literal["absent", "reduced", "normal", "brisk", "clonus"]


class _Sited(BaseModel):
    """A sign's site: the dermatome (a root level) and/or a named body region."""

    model_config = STRICT
    side: Side
    dermatome: LevelCode | None = Field(None, examples=["L5"], description="Dermatome (root level C2-S5)")
    region: Item | None = Field(None, examples=["dorsum of the left foot"])

    @model_validator(mode="after")
    def _has_site(self) -> _Sited:
        if self.dermatome is None and self.region is None:
            raise ValueError("give the site: a dermatome, a region, or both")
        return self


class TrophicSign(_Sited):
    """An autonomic or trophic sign where it was seen. Trophedema: the blunt end of a matchstick pressed
    into the skin leaves a pit that lasts (Gunn's matchstick test); the skin looks like orange peel."""

    sign: TrophicKind
    matchstick_test: Literal["positive", "negative"] | None = Field(None, description="Trophedema only")
    peau_d_orange: bool | None = Field(None, description="Trophedema only: orange-peel skin")
    description: Note | None = Field(None, examples=["ridged, brittle nails"])

    @model_validator(mode="after")
    def _trophedema_tests(self) -> TrophicSign:
        if self.sign != "trophedema" and (self.matchstick_test is not None or self.peau_d_orange is not None):
            raise ValueError("matchstick_test and peau_d_orange belong to a trophedema sign")
        return self


class SkinTemperature(_Sited):
    finding: Literal["cooler", "same", "warmer"] = Field(description="Compared with the other side or the "
                                                                   "neighbouring skin")
    difference_c: float | None = Field(None, ge=-15, le=15, description="Measured difference, degrees C")
    method: Literal["palpation", "infrared_thermometer", "thermography"] | None = None


class NeuroLevel(BaseModel):
    """The conventional neurological screen of one root level on one side."""

    model_config = STRICT
    level: LevelCode = Field(examples=["L5"])
    side: Side
    reflex: Reflex | None = Field(None, description="NINDS 0-4: absent, reduced, normal, brisk, clonus")
    reflex_name: Item | None = Field(None, examples=["Achilles"])
    strength_mrc: int | None = Field(None, ge=0, le=5, description="Myotome strength, MRC 0-5")
    strength_muscle: Item | None = Field(None, examples=["extensor hallucis longus"])
    light_touch: Sensation | None = Field(None, description="Dermatomal sensation")
    pin_prick: Sensation | None = None
    notes: Note | None = None

    @model_validator(mode="after")
    def _something_tested(self) -> NeuroLevel:
        if all(v is None for v in (self.reflex, self.strength_mrc, self.light_touch, self.pin_prick)):
            raise ValueError("record at least one of reflex, strength_mrc, light_touch, pin_prick")
        return self

    def deficits(self) -> list[str]:
        out = []
        if self.reflex in ("absent", "reduced", "brisk", "clonus"):
            out.append(f"reflex {self.reflex}")
        if self.strength_mrc is not None and self.strength_mrc < 5:
            out.append(f"strength {self.strength_mrc}/5")
        out += [f"{name.replace('_', ' ')} {value}" for name, value in
                (("light_touch", self.light_touch), ("pin_prick", self.pin_prick)) if value not in (None, "normal")]
        return out


NeuralTest = Literal["slr", "slump", "prone_knee_bend", "ultt1_median", "ultt2a_median", "ultt2b_radial",
                     "ultt3_ulnar"]


class NeuralTensionTest(BaseModel):
    model_config = STRICT
    test: NeuralTest = Field(description="Straight-leg raise, slump, prone knee bend, upper-limb tension tests")
    side: Literal["left", "right"]
    result: Literal["positive", "negative", "equivocal"]
    angle_deg: float | None = Field(None, ge=0, le=180, description="e.g. hip flexion at onset in the SLR")
    symptoms_reproduced: bool | None = None
    structural_differentiation: bool | None = Field(None, description="Symptoms change with a distant "
                                                                      "movement (e.g. neck flexion in slump)")
    notes: Note | None = None


class Spondylosis(BaseModel):
    """Degenerative change at one motion segment: Gunn's proposed cause of the root neuropathy."""

    model_config = STRICT
    segment: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=5, max_length=7)] = \
        Field(examples=["L4-L5", "C5-C6"], description="Adjacent vertebrae, upper-lower (C1-C2 ... L5-S1)")
    side: Side
    osteophytes: bool | None = None
    disc_narrowing: bool | None = None
    foraminal_stenosis: Literal["none", "mild", "moderate", "severe"] | None = None
    source: Literal["imaging", "clinical"]
    modality: Literal["x_ray", "mri", "ct", "ultrasound"] | None = Field(None, description="When from imaging")
    imaging_date: date | None = None
    notes: Note | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Spondylosis:
        if self.osteophytes is None and self.disc_narrowing is None and self.foraminal_stenosis is None:
            raise ValueError("record at least one of osteophytes, disc_narrowing, foraminal_stenosis")
        if self.source == "clinical" and (self.modality is not None or self.imaging_date is not None):
            raise ValueError("modality and imaging_date describe an imaging source; set source to imaging")
        return self

    def signs(self) -> list[str]:
        out = [name for name in ("osteophytes", "disc_narrowing") if getattr(self, name)]
        if self.foraminal_stenosis not in (None, "none"):
            out.append(f"foraminal stenosis ({self.foraminal_stenosis})")
        return out


DN4_ITEMS = ("burning", "painful_cold", "electric_shocks",  # 1: the pain has these characteristics
             "tingling", "pins_and_needles", "numbness", "itching",  # 2: associated in the same area
             "hypoesthesia_to_touch", "hypoesthesia_to_pinprick",  # 3: examination, in the painful area
             "brushing_increases_pain")  # 4: examination
DN4_CUTOFF = 4  # Bouhassira et al. 2005: 4 or more of 10 suggests neuropathic pain


class DN4(BaseModel):
    """Douleur Neuropathique 4 (Bouhassira et al., Pain 2005;114:29-36): 10 yes/no items, 7 by interview and
    3 by examination; score = number of yes; positive when score >= 4. The server computes the score."""

    model_config = STRICT
    burning: bool
    painful_cold: bool
    electric_shocks: bool
    tingling: bool
    pins_and_needles: bool
    numbness: bool
    itching: bool
    hypoesthesia_to_touch: bool
    hypoesthesia_to_pinprick: bool
    brushing_increases_pain: bool
    area: Item | None = Field(None, description="The painful area examined")
    hyperpathia: bool | None = Field(None, description="Recorded beside the DN4; not scored")
    score: int | None = Field(None, description="Computed by the server (number of yes answers)")
    positive: bool | None = Field(None, description=f"Computed: score >= {DN4_CUTOFF}")

    @model_validator(mode="after")
    def _score(self) -> DN4:
        score = sum(bool(getattr(self, name)) for name in DN4_ITEMS)
        if (self.score is not None and self.score != score) or (
                self.positive is not None and self.positive != (score >= DN4_CUTOFF)):
            raise ValueError("score and positive are computed by the server from the 10 items; omit them")
        self.score, self.positive = score, score >= DN4_CUTOFF
        return self


VERTEBRAE = (*(f"C{n}" for n in range(1, 8)), *(f"T{n}" for n in range(1, 13)), *(f"L{n}" for n in range(1, 6)),
             "S1")
SEGMENTS = tuple(f"{a}-{b}" for a, b in pairwise(VERTEBRAE))


def roots_for_segment(segment: str) -> tuple[str, ...]:
    """The roots a segment's spondylosis can involve. Cervical roots exit above their vertebra (the C5-C6
    foramen carries C6; C7-T1 carries C8); thoracic and lumbar roots exit below theirs (L4-L5 carries L4).
    In the lumbar spine a narrowed disc or lateral-recess stenosis also catches the traversing root, the next
    one down (L4-L5: L5)."""
    upper, lower = segment.split("-")
    if upper.startswith("C"):
        return ("C8",) if lower == "T1" else (lower,)
    if upper.startswith("L"):
        traversing = "S1" if lower == "S1" else f"L{int(upper[1:]) + 1}"
        return (upper, traversing)
    return (upper,)


class ExamFields(BaseModel):
    """Mixed into the assessment content (app.assessments.schemas)."""

    model_config = STRICT
    trophic_signs: list[TrophicSign] = Field(default_factory=list, max_length=60)
    skin_temperature: list[SkinTemperature] = Field(default_factory=list, max_length=30)
    neuro_screen: list[NeuroLevel] = Field(default_factory=list, max_length=60)
    neural_tension: list[NeuralTensionTest] = Field(default_factory=list, max_length=20)
    spondylosis: list[Spondylosis] = Field(default_factory=list, max_length=30)
    neuropathic_screen: DN4 | None = None


class ExamUpdate(BaseModel):
    """The same fields in a PATCH or an amendment's `changes`: only those sent change."""

    model_config = STRICT
    trophic_signs: list[TrophicSign] | None = Field(None, max_length=60)
    skin_temperature: list[SkinTemperature] | None = Field(None, max_length=30)
    neuro_screen: list[NeuroLevel] | None = Field(None, max_length=60)
    neural_tension: list[NeuralTensionTest] | None = Field(None, max_length=20)
    spondylosis: list[Spondylosis] | None = Field(None, max_length=30)
    neuropathic_screen: DN4 | None = None


EXAM_LISTS = ("trophic_signs", "skin_temperature", "neuro_screen", "neural_tension", "spondylosis")
