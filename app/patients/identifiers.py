"""Health card numbers and search keys."""

from __future__ import annotations

import re
import unicodedata

_ON_HCN = re.compile(r"^(\d{10})([A-Z]{0,2})$")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def normalise_health_card(number: str, province: str) -> str:
    """Ontario: 10 digits (the last a Luhn check digit) plus an optional 2-letter version code."""
    compact = re.sub(r"[\s-]", "", number).upper()
    if province == "ON":
        found = _ON_HCN.match(compact)
        if not found:
            raise ValueError("an Ontario health card number is 10 digits plus an optional 2-letter version code")
        if not luhn_ok(found.group(1)):
            raise ValueError("the Ontario health card number fails its check digit; re-check the card")
    elif not re.fullmatch(r"[A-Z0-9]{4,20}", compact):
        raise ValueError("must be 4-20 letters or digits")
    return compact


def fold(text: str) -> str:
    """Lower-case, accents removed: 'Bélanger' is found by 'belan'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def phone_digits(phone: str | None) -> str | None:
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    return digits or None
