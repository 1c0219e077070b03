"""Small text rules several modules share: keys as text, listings, did-you-mean."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from typing import Any

import numpy as np


def key_text(value: Any) -> str | None:
    """A key as trimmed text, so 101, 101.0 and "101" agree; None when missing, NaN or blank.

    Joins match keys through this one function, and ``check`` reports keys with it.
    """
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            return None
        if float(value).is_integer():
            return str(int(value))
    elif type(value).__name__ in ("NAType", "NaTType"):  # pandas' missing markers
        return None
    text = str(value).strip()
    return text or None


def listing(values: Iterable[Any], limit: int = 8) -> str:
    """``a, b, c … (+n)``: the first ``limit`` values and how many more."""
    items = [str(v) for v in values]
    shown = ", ".join(items[:limit])
    return shown + (f" … (+{len(items) - limit})" if len(items) > limit else "")


def close_matches(word: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The choices a mistyped ``word`` most likely meant (case-insensitive), best first."""
    options = [str(c) for c in choices]
    folded = {c.casefold(): c for c in options}
    hits = difflib.get_close_matches(word.casefold(), list(folded), n=n, cutoff=0.6)
    return [folded[h] for h in hits]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``; 是否想写 (did you mean) 'x'?`` for the closest choice, or an empty string."""
    hits = close_matches(word, choices, n=1)
    return f"; 是否想写 (did you mean) {hits[0]!r}?" if hits else ""
