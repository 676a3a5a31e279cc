"""What a score means, in words, for the printed chart: the published severity bands where an instrument has
them, and the change from baseline against the instrument's MCID."""

from __future__ import annotations

from app.outcomes.instruments import INSTRUMENTS

# (upper bound inclusive, label), ascending. Sources: NPRS (common clinical bands); ODI (Fairbank & Pynsent
# 2000); NDI (Vernon & Mior 1991, points out of 50); HIT-6 (QualityMetric impact groups).
BANDS: dict[str, tuple[tuple[float, str], ...]] = {
    "nprs": ((0, "no pain"), (3, "mild pain"), (6, "moderate pain"), (10, "severe pain")),
    "odi": ((20, "minimal disability"), (40, "moderate disability"), (60, "severe disability"),
            (80, "crippling back pain"), (100, "bed-bound or exaggerating symptoms")),
    "ndi": ((4, "no disability"), (14, "mild disability"), (24, "moderate disability"), (34, "severe disability"),
            (50, "complete disability")),
    "hit6": ((49, "little or no impact"), (55, "some impact"), (59, "substantial impact"), (78, "severe impact")),
}


def band(instrument: str, score: float) -> str | None:
    for upper, label in BANDS.get(instrument, ()):
        if score <= upper:
            return label
    return None


def change_from_baseline(instrument: str, improvement: float) -> str:
    """'improved by 42.2 points since baseline: clinically important (MCID 10)'."""
    inst = INSTRUMENTS[instrument]
    amount = round(abs(improvement), 2)
    if amount == 0:
        moved = "no change since baseline"
    else:
        moved = f"{'improved' if improvement > 0 else 'worsened'} by {amount:g} points since baseline"
    verdict = "clinically important" if improvement >= inst.mcid else "less than the MCID"
    return f"{moved}: {verdict} (MCID {inst.mcid:g}; {inst.better} is better)"
