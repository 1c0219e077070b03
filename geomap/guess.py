"""Guess what a column holds from its values: here, whether it holds personal data.

One detector, used by ``add`` (auto-private), ``check`` (``unmarked-personal-data``) and
``render`` (refusal), so the three can never disagree. It judges *normalised* values, the
text a person typed rather than what a driver made of it:

* numbers: ``13812345678.0`` (a numeric column with one empty cell is float) is the mobile
  number ``13812345678``; an 18-digit resident ID stored as a JSON number or a float
  (``3.311251985061230e+17``) has lost its last digits but still shows region and birth date;
* text: full-width digits (``１３８…``) are ASCII digits; ``3.31125198506123E+17`` (a
  spreadsheet's exponent form) is a number; ``138-1234-5678``, ``138 1234 5678``,
  ``+86 138…``, ``0086…``, ``0578-1234567`` and ``(0578)1234567`` are phone numbers, and a
  number inside text (``联系人 王 13812345678``) counts as well.

Every value of the column is examined (a sample could stop at 1000 blanks and miss the
phones after them); missing values, blanks and placeholders such as ``无``/``—`` are skipped.
All patterns are linear (bounded repetitions, no nested quantifiers).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

RESIDENT_ID = "身份证号 resident ID"
MOBILE = "手机号 mobile number"
PHONE = "电话号码 phone number"
#: A numeric column is personal when at least this share of its numbers look personal (in a
#: text column one value that is or holds a personal number is enough).
THRESHOLD = 0.5

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# Province-level codes of GB/T 2260 (the first two digits of a resident ID).
_PROVINCE_RANGES = ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65), (71, 71), (81, 82))
_PROVINCES = frozenset(str(c) for lo, hi in _PROVINCE_RANGES for c in range(lo, hi + 1))
_ID18 = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])", re.ASCII)
# 11 digits 13x–19x, optionally +86 / 0086 / 86 in front, optionally grouped 3-4-4.
_MOBILE = re.compile(
    r"(?<![\d+])(?:(?:\+|00)?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)", re.ASCII
)
# A landline with its area code marked off: 0578-1234567, (0578)1234567, +86-578-1234567.
_LANDLINE = re.compile(
    r"(?<![\d+])(?:\(0\d{2,3}\) ?|0\d{2,3}[- ]|(?:\+|00)86[- ]?\(?\d{2,3}\)?[- ])\d{7,8}(?!\d)",
    re.ASCII,
)
_EXPONENT = re.compile(r"[+-]?\d{1,3}(?:\.\d{1,30})?[eE]\+?\d{1,2}", re.ASCII)


def _id_checksum_ok(text: str) -> bool:
    total = sum(int(d) * w for d, w in zip(text[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == text[17].upper()


def _plausible_id(digits: str) -> bool:
    """Region and birth date of an 18-digit ID whose last digits were lost (float, Excel)."""
    if len(digits) != 18 or digits[:2] not in _PROVINCES:
        return False
    try:
        born = dt.date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2100


def is_resident_id(text: str) -> bool:
    """True for an 18-digit resident identity number whose GB 11643-1999 check digit holds."""
    text = normalise_text(text)
    return len(text) == 18 and bool(_ID18.fullmatch(text)) and _id_checksum_ok(text)


def is_mobile(text: str) -> bool:
    """True for a mainland China mobile number: 11 digits starting 13–19, optionally with
    +86 / 0086 / 86 in front and grouped 3-4-4 by spaces or hyphens."""
    return bool(_MOBILE.fullmatch(normalise_text(text)))


def is_phone(text: str) -> bool:
    """True for a mobile number or a landline written with its area code marked off."""
    text = normalise_text(text)
    return bool(_MOBILE.fullmatch(text) or _LANDLINE.fullmatch(text))


def normalise_text(value: str) -> str:
    """Full-width forms folded to ASCII (NFKC), surrounding blanks removed."""
    return unicodedata.normalize("NFKC", value).strip()


def _integral_digits(value: float) -> tuple[str, bool] | None:
    """The digits of an integral finite number, and whether they may be inexact."""
    if not math.isfinite(value) or not float(value).is_integer() or value <= 0:
        return None
    number = int(value)
    return str(number), number > 2**53


def _number_kind(digits: str, lossy: bool) -> str | None:
    """The personal kind of a number written as plain digits (no separators)."""
    if len(digits) == 18:
        if lossy:
            return RESIDENT_ID if _plausible_id(digits) else None
        return RESIDENT_ID if _id_checksum_ok(digits) else None
    if _MOBILE.fullmatch(digits):
        return MOBILE
    return None


def value_kind(value: Any) -> str | None:
    """The personal kind of one value (a number, or text that is or holds one), else None."""
    if value is None or isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | np.integer):
        return _number_kind(str(int(value)), lossy=False) if value > 0 else None
    if isinstance(value, float | np.floating):
        found = _integral_digits(float(value))
        return _number_kind(*found) if found else None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    return text_kind(value)


def text_kind(text: str) -> str | None:
    """The personal kind of a text value: the most sensitive number it is or holds."""
    text = normalise_text(text)
    if sum(c.isdigit() for c in text) < 7:
        return None
    if _EXPONENT.fullmatch(text):
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
        found = _integral_digits(float(number))
        # An exponent form keeps at most the digits written before the "E".
        return _number_kind(found[0], lossy=True) if found else None
    for match in _ID18.finditer(text):
        digits = match.group(1)
        if _id_checksum_ok(digits) or (digits.endswith("000") and _plausible_id(digits)):
            return RESIDENT_ID
    if _MOBILE.search(text):
        return MOBILE
    if _LANDLINE.search(text):
        return PHONE
    return None


_ORDER = (RESIDENT_ID, MOBILE, PHONE)


def personal_kind(values: Iterable[Any]) -> str | None:
    """The kind of personal data a column holds (:data:`RESIDENT_ID`, :data:`MOBILE` or
    :data:`PHONE`), else None.

    Text: one value that is or holds a personal number makes the column personal (a contact
    column with 60 % ``无`` still publishes 40 % phones). Numbers: at least
    :data:`THRESHOLD` of the column's numbers must look personal (one 11-digit amount in 元
    among others is not a phone column).
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    series = series.dropna()
    if series.empty or pd.api.types.is_bool_dtype(series.dtype):
        return None
    if pd.api.types.is_numeric_dtype(series.dtype):
        return _numbers_kind(series)
    text_hits: set[str] = set()
    numbers: list[Any] = []
    texts: list[str] = []
    try:
        unique = pd.unique(series.to_numpy(dtype=object))
    except TypeError:  # lists or mappings from GeoJSON properties: judged by their text
        unique = np.array([v if _hashable(v) else str(v) for v in series], dtype=object)
        unique = pd.unique(unique)
    if pd.api.types.infer_dtype(unique, skipna=True) == "string":
        texts = list(unique)
    else:
        for value in unique:
            if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
                value, bool | np.bool_
            ):
                numbers.append(value)
            elif isinstance(value, str):
                texts.append(value)
            elif kind := value_kind(value):
                text_hits.add(kind)
    text_hits |= _texts_kinds(texts)
    number_hits = [k for k in map(value_kind, numbers) if k]
    if numbers and len(number_hits) >= THRESHOLD * len(numbers):
        text_hits.update(number_hits)
    return next((k for k in _ORDER if k in text_hits), None)


# What a personal number looks like once every digit is made 0 and every other byte but
# " -()" is made x: a mobile (11 digits, or 3-4-4 with one or two separators; 10 digits in
# a row for the mantissa of 1.3812345678E+10), an ID (17 digits and more), a landline with
# its area code marked off. A few substring searches in those bytes decide whether the
# patterns need to run at all: a million parcel codes of 7 digits cost a fraction of a
# second.
_SHAPE = bytes.maketrans(
    bytes(range(256)),
    bytes(ord("0") if b in b"0123456789" else b if b in b" -()" else ord("x") for b in range(256)),
)
_SHAPES = (
    b"0000000000",
    *(b"000" + a + b"0000" + c + b"0000" for a in (b" ", b"-", b"") for c in (b" ", b"-", b"")),
    b")0000000",
    b") 0000000",
    b"000-0000000",
    b"000 0000000",
)


def _maybe_personal(text: str) -> bool:
    shape = text.encode("utf-8", "surrogatepass").translate(_SHAPE)
    return any(s in shape for s in _SHAPES)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


# A whole value that is a number in exponent form, found in the texts joined by line breaks.
_EXPONENT_LINE = re.compile(
    r"^[ \t]*([+-]?\d{1,3}(?:\.\d{1,30})?[eE]\+?\d{1,2})[ \t]*$", re.ASCII | re.MULTILINE
)


def _texts_kinds(texts: list[str]) -> set[str]:
    """The personal kinds found in these texts: the same tests as :func:`text_kind`, run as
    a few linear scans over all texts joined by line breaks (no pattern crosses one), so a
    million-row column costs a fraction of a second and not a call per value."""
    if not texts:
        return set()
    joined = "\n".join(texts)
    if not joined.isascii():  # NFKC keeps line breaks, and never joins across one
        joined = unicodedata.normalize("NFKC", joined)
    found: set[str] = set()
    if not _maybe_personal(joined):
        return found
    for match in _EXPONENT_LINE.finditer(joined):
        if kind := text_kind(match.group(1)):
            found.add(kind)
    for match in _ID18.finditer(joined):
        digits = match.group(1)
        if _id_checksum_ok(digits) or (digits.endswith("000") and _plausible_id(digits)):
            found.add(RESIDENT_ID)
            break
    if _MOBILE.search(joined):
        found.add(MOBILE)
    if _LANDLINE.search(joined):
        found.add(PHONE)
    return found


def _numbers_kind(series: pd.Series) -> str | None:
    """A numeric column: only numbers in a phone's or an ID's range are examined one by one
    (integers exactly, so an int64 ID keeps its check digit)."""
    array = series.to_numpy()
    as_float = array.astype(float)
    finite = np.isfinite(as_float)
    total = int(finite.sum())
    if not total:
        return None
    in_range = finite & (
        ((as_float >= 13e9) & (as_float < 2e10))
        | ((as_float >= 8613e9) & (as_float < 8620e9))
        | ((as_float >= 1e17) & (as_float < 1e18))
    )
    if in_range.sum() < THRESHOLD * total:
        return None
    hits: dict[str, int] = {}
    for value, count in pd.Series(array[in_range]).value_counts().items():
        kind = value_kind(value)
        if kind:
            hits[kind] = hits.get(kind, 0) + int(count)
    if sum(hits.values()) < THRESHOLD * total:
        return None
    return next(k for k in _ORDER if k in hits)
