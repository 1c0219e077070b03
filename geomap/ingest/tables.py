"""Tables: CSV and XLSX with lon/lat columns or a WKT column."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from geomap.errors import DataError, GeomapError
from geomap.ingest.archives import check_zip
from geomap.ingest.common import (
    LAT_NAMES,
    LON_NAMES,
    MAX_LISTED,
    WKT_NAMES,
    _choose,
    _display_codec,
    _listing,
    _Raw,
    _short,
)

# --------------------------------------------------------------------------------------------
# Tables: CSV and XLSX
# --------------------------------------------------------------------------------------------

# Linear: no two repetitions can share a run of digits (a 20 000-digit cell is one pass).
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def _infer_column(values: pd.Series) -> pd.Series:
    """Numeric if every non-empty cell is a number and none is a code that would change.

    Codes with a leading zero (``007``) and long digit strings (ID numbers, > 15 digits,
    beyond float precision) stay text.
    """
    text = values.astype(str).str.strip()
    present = text[text != ""]
    if present.empty:
        return pd.Series([None] * len(values), index=values.index, dtype=object)
    is_num = present.str.match(_NUMBER)
    if not is_num.all():
        return values.where(text != "", None)
    integers = present[present.str.match(r"^[+-]?\d+$")]
    if present.str.match(r"^[+-]?0\d").any() or (integers.str.len() > 15).any():
        return values.where(text != "", None)
    return pd.to_numeric(text.where(text != "", None))


def _decode_table_bytes(src: Path, data: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding is not None:
        try:
            return data.decode(encoding), _display_codec(encoding)
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{src}: 不能按 {encoding} 解码 (cannot decode as {encoding}: byte {exc.start}); "
                "请换一个 --encoding (try another --encoding)"
            ) from None
    for codec in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(codec), _display_codec("utf-8" if codec == "utf-8-sig" else codec)
        except UnicodeDecodeError:
            continue
    raise DataError(
        f"{src}: 无法判断文字编码 (cannot tell the encoding); "
        "请用 --encoding 指定 (pass --encoding)"
    )


def _read_csv_frame(src: Path, encoding: str | None) -> tuple[pd.DataFrame, str]:
    text, used = _decode_table_bytes(src, src.read_bytes(), encoding)
    first_line = text.split("\n", 1)[0]
    sep = ","
    if "," not in first_line:
        sep = "\t" if "\t" in first_line else (";" if ";" in first_line else ",")
    try:
        # Blank lines are kept (then dropped below) so that index + 2 is the line number.
        frame = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=False
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{src}: 文件是空的 (empty file)") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(
            f"{src}: CSV 格式错误 (malformed CSV: {_short(exc)}); "
            "请检查引号和分隔符，或从 Excel 重新另存为 CSV UTF-8 (check quotes/separators)"
        ) from None
    frame.columns = _clean_names(frame.columns)
    frame = frame[(frame.astype(str).apply(lambda c: c.str.strip()) != "").any(axis=1)]
    return frame.apply(_infer_column), used


def _read_xlsx_frame(src: Path, sheet: str | None) -> tuple[pd.DataFrame, str]:
    check_zip(src)  # an .xlsx is a zip: the same bomb checks apply before openpyxl opens it
    try:
        book = pd.ExcelFile(src, engine="openpyxl")
        frames = {}
        names = [str(n) for n in book.sheet_names]
        for name in [sheet] if sheet in names else names:
            # dtype=object keeps text cells as text ("007"); pandas would otherwise parse
            # number-like strings. infer_objects() then types the truly numeric columns.
            df = pd.read_excel(book, sheet_name=name, dtype=object)
            df = df.dropna(how="all").dropna(axis=1, how="all").infer_objects()
            if not df.empty:
                frames[name] = df
    except GeomapError:
        raise
    except Exception as exc:  # openpyxl raises many kinds on damaged workbooks
        raise DataError(
            f"{src}: 无法读取 Excel 文件，可能已损坏 (cannot read workbook: {_short(exc)}); "
            "请用 Excel/WPS 打开后另存为 .xlsx (re-save it as .xlsx)"
        ) from None
    if sheet is not None and sheet not in names:
        _choose(src, ("工作表", "sheet"), names, sheet)
    chosen = _choose(src, ("工作表", "sheet"), list(frames), sheet)
    frame = frames[chosen]
    frame.columns = _clean_names(frame.columns)
    return frame, chosen


def _uncached_formulas(src: Path, sheet: str) -> list[str]:
    """A warning when formula cells have no saved value (a workbook written by a program, or
    saved without recalculation): they read as empty, so say which and how many."""
    import openpyxl

    try:
        formulas = openpyxl.load_workbook(src, read_only=True, data_only=False)
        values = openpyxl.load_workbook(src, read_only=True, data_only=True)
        cells: list[str] = []
        for f_row, v_row in zip(
            formulas[sheet].iter_rows(), values[sheet].iter_rows(), strict=False
        ):
            for f_cell, v_cell in zip(f_row, v_row, strict=False):
                text = getattr(f_cell, "value", None)
                if isinstance(text, str) and text.startswith("=") and v_cell.value is None:
                    cells.append(str(getattr(f_cell, "coordinate", "?")))
        formulas.close()
        values.close()
    except Exception:  # the frame was read already: a second look that fails says nothing
        return []
    if not cells:
        return []
    shown = ", ".join(cells[:8]) + (f" … (+{len(cells) - 8})" if len(cells) > 8 else "")
    return [
        f"工作表 {sheet} 有 {len(cells)} 个公式单元格没有保存的计算结果，读作空值 ({len(cells)} "
        f"formula cells have no saved value and read as empty: {shown}); 请在 Excel/WPS 中打开、"
        "重新计算并保存后再添加 (open, recalculate and save the workbook, then add it again)"
    ]


def _clean_names(columns: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for i, col in enumerate(columns):
        name = str(col).strip() or f"field_{i + 1}"
        base, n = name, 2
        while name in out:
            name, n = f"{base}_{n}", n + 1
        out.append(name)
    return out


def _find_column(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    lowered = {c.lower(): c for c in reversed(columns)}
    for cand in candidates:
        if cand in lowered:
            return lowered[cand]
    return None


def _parse_coordinate(
    src: Path, frame: pd.DataFrame, col: str, rows: NDArray[np.int64]
) -> NDArray[np.float64]:
    cells = frame[col]
    text = cells.astype(str).str.strip().str.rstrip("°")
    numbers = pd.to_numeric(text.where(text != "", None), errors="coerce")
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        listed = [
            f"第 {rows[i]} 行 (row {rows[i]}) "
            + ("空 (empty)" if pd.isna(cells.iloc[i]) else repr(str(cells.iloc[i])))
            for i in bad[:MAX_LISTED]
        ]
        raise DataError(
            f"{src}: 列 {col!r} 有 {bad.size} 个缺失或不是数字的坐标 "
            f"(missing / non-numeric / infinite coordinates in column {col!r}): "
            f"{_listing(listed, bad.size)}; 请补全或删除这些行 (fill in or delete these rows)"
        )
    return values


def _read_table(
    src: Path,
    fmt: str,
    *,
    layer: str | None,
    encoding: str | None,
    lon: str | None,
    lat: str | None,
) -> _Raw:
    notes: list[str] = []
    if fmt == "csv":
        frame, used_encoding = _read_csv_frame(src, encoding)
        layer_used = None
        if layer is not None:
            notes.append(f"CSV 只有一个表，忽略 --layer {layer} (ignored)")
        enc: str | None = used_encoding
    else:
        frame, layer_used = _read_xlsx_frame(src, layer)
        notes += _uncached_formulas(src, layer_used)
        enc = None
        if encoding is not None:
            notes.append("XLSX 文件自带编码，忽略 --encoding (ignored for XLSX)")
    # Blank rows were dropped with the index kept; the header is row 1 in CSV and XLSX.
    rows = frame.index.to_numpy(dtype=np.int64) + 2
    frame = frame.reset_index(drop=True)
    columns = list(frame.columns)
    if (lon is None) != (lat is None):
        raise DataError(
            f"{src}: --lon 和 --lat 需要同时指定 (give both --lon and --lat); "
            f"现有列 (columns): {', '.join(columns)}"
        )
    for given in (lon, lat):
        if given is not None and given not in columns:
            raise DataError(
                f"{src}: 没有列 {given!r} (no column {given!r}); 现有列 (columns): "
                f"{', '.join(columns)}"
            )
    wkt_col = _find_column(columns, WKT_NAMES) if lon is None else None
    lonlat: tuple[str, str] | None = None
    if wkt_col is not None:
        geoms = _parse_wkt(src, frame, wkt_col, rows)
        frame = frame.drop(columns=[wkt_col])
    else:
        lon_col = lon or _find_column(columns, LON_NAMES)
        lat_col = lat or _find_column(columns, LAT_NAMES)
        if lon_col is None or lat_col is None or lon_col == lat_col:
            raise DataError(
                f"{src}: 找不到坐标列 (no coordinate columns found); 现有列 (columns): "
                f"{', '.join(columns)}; 请用 --lon 列名 --lat 列名 指定经纬度列，或提供 WKT 列 "
                "(name them with --lon COL --lat COL, or add a 'wkt' column)"
            )
        x = _parse_coordinate(src, frame, lon_col, rows)
        y = _parse_coordinate(src, frame, lat_col, rows)
        geoms = shapely.points(x, y)
        lonlat = (lon_col, lat_col)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index), crs=None)
    return _Raw.of(
        gdf,
        fmt,
        encoding=enc,
        layer_used=layer_used,
        warnings=notes,
        lonlat_columns=lonlat,
        rows=rows,
    )


def _parse_wkt(
    src: Path, frame: pd.DataFrame, col: str, rows: NDArray[np.int64]
) -> NDArray[np.object_]:
    text = frame[col].astype(str).str.strip()
    text = text.where(~frame[col].isna(), "")
    geoms: NDArray[np.object_] = shapely.from_wkt(
        text.where(text != "", None).to_numpy(dtype=object), on_invalid="ignore"
    )
    broken = np.flatnonzero(pd.isna(geoms) & (text != "").to_numpy())
    if broken.size:
        listed = [f"第 {rows[i]} 行 (row {rows[i]})" for i in broken]
        raise DataError(
            f"{src}: 列 {col!r} 中有 {broken.size} 个无法解析的 WKT (unparseable WKT): "
            f"{_listing(listed)}; 请检查这些行的几何文本 (fix the geometry text in these rows)"
        )
    return geoms
