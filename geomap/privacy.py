"""Recognise columns that hold personal data: resident ID numbers and phone numbers.

A column whose values look personal must be marked ``private = true`` (never published) or
``private = false`` (deliberately public) in the layer or table metadata before it can be
rendered. The detector itself lives in :mod:`geomap.guess` (one detector for ``add``,
``check`` and ``render``); this module is its public face.
"""

from __future__ import annotations

from geomap.guess import (
    MOBILE,
    PHONE,
    RESIDENT_ID,
    THRESHOLD,
    is_mobile,
    is_phone,
    is_resident_id,
    personal_kind,
    value_kind,
)

__all__ = [
    "MOBILE",
    "PHONE",
    "RESIDENT_ID",
    "THRESHOLD",
    "is_mobile",
    "is_phone",
    "is_resident_id",
    "personal_kind",
    "value_kind",
]
