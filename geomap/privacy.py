"""Recognise columns that hold personal data: resident ID numbers and mobile numbers.

A column whose values look personal must be marked ``private = true`` (never published) or
``private = false`` (deliberately public) in the layer or table metadata before it can be
rendered.
"""

from __future__ import annotations

import re

import pandas as pd

_ID18 = re.compile(r"^\d{17}[\dXx]$")
_MOBILE = re.compile(r"^(?:\+?86[- ]?)?1[3-9]\d{9}$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# A column is personal when at least this share of its non-empty values look personal.
THRESHOLD = 0.5


def is_resident_id(text: str) -> bool:
    """True for an 18-digit resident identity number whose GB 11643-1999 check digit holds."""
    if not _ID18.match(text):
        return False
    total = sum(int(d) * w for d, w in zip(text[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == text[17].upper()


def is_mobile(text: str) -> bool:
    """True for a mainland China mobile number (11 digits starting 13–19, optional +86)."""
    return bool(_MOBILE.match(text))


def personal_kind(values: pd.Series, sample: int = 200) -> str | None:
    """'resident ID' or 'mobile number' when the column looks personal, else None."""
    texts = [str(v).strip() for v in values.dropna().head(sample * 5) if str(v).strip()]
    texts = texts[:sample]
    if not texts:
        return None
    for kind, test in (
        ("身份证号 resident ID", is_resident_id),
        ("手机号 mobile number", is_mobile),
    ):
        if sum(map(test, texts)) / len(texts) >= THRESHOLD:
            return kind
    return None
