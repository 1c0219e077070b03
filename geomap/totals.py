"""Declared totals: figures a report gives for a whole layer or table, checked against the data.

A layer's or table's metadata may list ``[[totals]]`` entries::

    [[totals]]                       # a feature (or row) count
    value = 66
    where = { has_hazard = 1 }       # optional: only features whose field equals the value
    unit = "幢"
    source = "2022(三)"
    label = "存在安全隐患房屋"        # optional: what the figure is

    [[totals]]                       # a column sum
    column = "income_2022"
    value = 2323.12

    [[totals]]                       # a growth rate in %: (Σ column / Σ growth_from − 1) × 100
    column = "income_2022"
    growth_from = "income_2021"
    value = 16.14

A total holds when the value found, rounded to as many decimals as the declared value is
written with, equals the declared value. :func:`verify` returns the ones that do not hold;
``geomap check`` reports each as a ``total-mismatch`` error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where totals are verified, not when specs are read
    import pandas as pd

__all__ = ["TOTAL_KEYS", "Mismatch", "Total", "parse_totals", "verify"]

#: The keys a ``[[totals]]`` entry may have.
TOTAL_KEYS = ("column", "where", "value", "unit", "source", "label", "growth_from")


@dataclass(frozen=True)
class Total:
    """One declared figure: a count (no column), a column sum, or a growth rate."""

    value: float
    column: str | None = None
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unit: str | None = None
    source: str | None = None
    label: str | None = None
    growth_from: str | None = None

    @property
    def decimals(self) -> int:
        """How many decimals the declared value is written with (2323.12 → 2, 66 → 0)."""
        if float(self.value).is_integer():
            return 0
        exponent = Decimal(repr(float(self.value))).as_tuple().exponent
        return max(0, -int(exponent))

    def describe(self) -> str:
        """What is totalled, e.g. ``列 income_2022 之和`` or ``要素数（rating = C）``."""
        if self.column and self.growth_from:
            what = f"列 {self.column} 相对 {self.growth_from} 的增幅 (growth of {self.column})"
        elif self.column:
            what = f"列 {self.column} 之和 (sum of {self.column})"
        else:
            what = "要素数 (feature count)"
        if self.where:
            cond = ", ".join(f"{k} = {'/'.join(v)}" for k, v in self.where.items())
            what += f"（{cond}）"
        return f"{self.label}：{what}" if self.label else what


@dataclass(frozen=True)
class Mismatch:
    """A declared total that the data does not reproduce."""

    index: int  # position in the [[totals]] list
    total: Total
    found: float | None  # None: the column (or a where field) does not exist
    missing: str | None = None  # the missing column, when found is None


def parse_totals(raw: Any, problems: list[str]) -> tuple[Total, ...]:
    """Read the ``totals`` array of a metadata file, recording every problem in ``problems``."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append("totals: 应为 [[totals]] 表数组 (expected [[totals]] tables)")
        return ()
    out: list[Total] = []
    for i, entry in enumerate(raw):
        at = f"totals[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{at}: 应为表 (expected a table with value = …)")
            continue
        total = _parse_total(entry, at, problems)
        if total is not None:
            out.append(total)
    return tuple(out)


def _parse_total(entry: dict[str, Any], at: str, problems: list[str]) -> Total | None:
    """One ``[[totals]]`` entry, or None (its problems recorded)."""
    before = len(problems)
    for key in entry:
        if key not in TOTAL_KEYS:
            problems.append(f"{at}.{key}: 未知的键 (unknown key; allowed: {', '.join(TOTAL_KEYS)})")
    raw_value = entry.get("value")
    value = math.nan
    if isinstance(raw_value, int | float) and not isinstance(raw_value, bool):
        value = float(raw_value)
    if not math.isfinite(value):
        problems.append(f"{at}.value: 须为数字 (value must be a number, got {raw_value!r:.30})")
    texts: dict[str, str | None] = {}
    for key in ("column", "unit", "source", "label", "growth_from"):
        v = entry.get(key)
        if v is not None and not (isinstance(v, str) and v.strip()):
            problems.append(f"{at}.{key}: 须为非空文本 (must be non-empty text)")
        texts[key] = v if isinstance(v, str) else None
    if texts["growth_from"] and not texts["column"]:
        problems.append(f"{at}.growth_from: 需要 column (a growth rate needs column)")
    where = _parse_where(entry.get("where", {}), at, problems)
    if len(problems) > before:
        return None
    return Total(
        value=value,
        column=texts["column"],
        where=where,
        unit=texts["unit"],
        source=texts["source"],
        label=texts["label"],
        growth_from=texts["growth_from"],
    )


def _parse_where(raw_where: Any, at: str, problems: list[str]) -> dict[str, tuple[str, ...]]:
    where: dict[str, tuple[str, ...]] = {}
    if not isinstance(raw_where, dict):
        problems.append(f'{at}.where: 应为表，如 {{ type = "行政村" }} (expected a table)')
        return where
    for col, wanted in raw_where.items():
        values = wanted if isinstance(wanted, list) else [wanted]
        if not values or not all(
            isinstance(v, str | int) and not isinstance(v, bool) for v in values
        ):
            problems.append(f"{at}.where.{col}: 应为值或值列表 (expected a value or list)")
            continue
        where[str(col)] = tuple(str(v) for v in values)
    return where


def _text(value: Any) -> str | None:
    """A cell as typed text: 1, 1.0 and "1" agree; None when missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value).strip()


def _sum(df: pd.DataFrame, column: str, mask: pd.Series) -> float:
    import pandas as pd

    return float(pd.to_numeric(df.loc[mask, column], errors="coerce").sum(skipna=True))


def found_value(df: pd.DataFrame, total: Total) -> tuple[float | None, str | None]:
    """The value the data gives for ``total``, or (None, missing column)."""
    for col in (*total.where, total.column, total.growth_from):
        if col is not None and col not in df.columns:
            return None, col
    import pandas as pd

    mask = pd.Series(True, index=df.index)
    for col, wanted in total.where.items():
        mask &= df[col].map(_text).isin(wanted)
    if total.column is None:
        return float(mask.sum()), None
    value = _sum(df, total.column, mask)
    if total.growth_from is None:
        return value, None
    base = _sum(df, total.growth_from, mask)
    return ((value / base - 1) * 100 if base else math.nan), None


def verify(df: pd.DataFrame, totals: tuple[Total, ...]) -> list[Mismatch]:
    """The declared totals that ``df`` (a layer's properties or a table) does not reproduce."""
    out: list[Mismatch] = []
    for i, total in enumerate(totals):
        found, missing = found_value(df, total)
        if found is None:
            out.append(Mismatch(i, total, None, missing))
        elif not math.isfinite(found) or round(found, total.decimals) != round(
            total.value, total.decimals
        ):
            out.append(Mismatch(i, total, found))
    return out


def format_number(value: float, decimals: int) -> str:
    """``value`` with ``decimals`` decimals (at least as many as needed to show a difference)."""
    return f"{value:.{decimals}f}"
