"""Shapefiles: parts, text encoding detected from the raw DBF bytes, truncation."""

from __future__ import annotations

import codecs
import re
import struct
from collections.abc import Iterable
from pathlib import Path

from geomap.errors import DataError
from geomap.ingest.common import _display_codec, _gdal_errors, _Raw, _read_batches

# --------------------------------------------------------------------------------------------
# Shapefile
# --------------------------------------------------------------------------------------------

# .cpg contents seen in the wild, mapped to a Python codec. Every GBK variant is read as
# GB18030, its superset: GB2312 (and some GBK tables) lose characters such as 張.
_CPG_ALIASES = {
    "UTF-8": "utf-8",
    "UTF8": "utf-8",
    "65001": "utf-8",
    "GBK": "gb18030",
    "936": "gb18030",
    "CP936": "gb18030",
    "ANSI936": "gb18030",
    "GB2312": "gb18030",
    "GB18030": "gb18030",
    "54936": "gb18030",
    "88591": "latin-1",
    "ISO88591": "latin-1",
    "950": "big5",
    "BIG5": "big5",
}


def _sidecar(shp: Path, ext: str) -> Path | None:
    """The ``.shx``/``.dbf``/... next to ``shp``, matching the extension case-insensitively."""
    for candidate in (shp.with_suffix(ext), shp.with_suffix(ext.upper())):
        if candidate.exists():
            return candidate
    for other in shp.parent.iterdir():
        if other.stem == shp.stem and other.suffix.lower() == ext:
            return other
    return None


def _codec_from_cpg(cpg: Path) -> str | None:
    text = cpg.read_bytes().decode("ascii", errors="ignore").strip()
    key = re.sub(r"[\s_\-]", "", text).upper()
    if key in _CPG_ALIASES:
        return _CPG_ALIASES[key]
    if key.isdigit():
        key = f"cp{key}"
    try:
        return codecs.lookup(key).name
    except LookupError:
        return None


def _dbf_text_chunks(dbf: Path, max_records: int = 200_000) -> list[bytes]:
    """Field names and character values from a DBF, as raw bytes (non-ASCII ones only)."""
    with dbf.open("rb") as fh:
        header = fh.read(32)
        if len(header) < 32:
            raise DataError(f"{dbf}: .dbf 文件已截断 (truncated .dbf); 请重新导出 (export again)")
        n_records, header_len, record_len = struct.unpack("<IHH", header[4:12])
        descriptors = fh.read(max(header_len - 32, 0))
        fields: list[tuple[int, int, str]] = []  # (offset in record, length, type)
        offset = 1  # byte 0 of each record is the deletion flag
        chunks: list[bytes] = []
        for i in range(0, len(descriptors) - 31, 32):
            desc = descriptors[i : i + 32]
            if desc[0] == 0x0D:
                break
            chunks.append(desc[:11].split(b"\x00", 1)[0])
            ftype, flen = chr(desc[11]), desc[16]
            fields.append((offset, flen, ftype))
            offset += flen
        text_fields = [(o, n) for o, n, t in fields if t in "CM"]
        # The header's record count may lie (a 1 KB file claiming 4 G records of 64 KB):
        # never read more than the file holds.
        left = max(dbf.stat().st_size - fh.tell(), 0)
        n = min(n_records, max_records, left // record_len if record_len else 0)
        body = fh.read(record_len * n) if n else b""
    for r in range(0, len(body) - record_len + 1, record_len or 1):
        record = body[r : r + record_len]
        for o, length in text_fields:
            value = record[o : o + length].rstrip(b" \x00")
            if value and not value.isascii():
                chunks.append(value)
    return [c for c in chunks if not c.isascii()]


def _decodes(chunks: Iterable[bytes], codec: str) -> bool:
    """True if every chunk decodes strictly, allowing a multi-byte char cut at the end.

    DBF fields have a fixed byte width and some writers cut a character in half there.
    """
    chunks = list(chunks)
    try:
        # Fast path: one strict decode of everything (a newline cannot complete a sequence).
        b"\n".join(chunks).decode(codec)
        return True
    except UnicodeDecodeError:
        pass
    for chunk in chunks:
        decoder = codecs.getincrementaldecoder(codec)(errors="strict")
        try:
            decoder.decode(chunk, final=False)
        except UnicodeDecodeError:
            return False
    return True


def detect_dbf_encoding(dbf: str | Path) -> str:
    """Detect the text encoding of a DBF from its raw bytes.

    Strict UTF-8 is tried first, then GB18030: UTF-8 bytes usually decode "successfully" as
    GB18030 into nonsense, while GBK bytes are almost never valid UTF-8.

    Parameters
    ----------
    dbf : str or Path

    Returns
    -------
    str
        A Python codec name: ``"utf-8"`` (also for pure ASCII) or ``"gb18030"``.

    Raises
    ------
    DataError
        Neither decodes: the message asks for ``--encoding``.
    """
    path = Path(dbf)
    chunks = _dbf_text_chunks(path)
    if _decodes(chunks, "utf-8"):
        return "utf-8"
    if _decodes(chunks, "gb18030"):
        return "gb18030"
    raise DataError(
        f"{path}: 无法判断属性表的文字编码 (cannot tell the text encoding of the .dbf); "
        "请用 --encoding 指定，例如 GB18030、UTF-8、Big5 (pass --encoding)"
    )


def _check_shp_length(shp: Path) -> None:
    """A .shp shorter than its header says is truncated: GDAL would give null geometries."""
    with shp.open("rb") as fh:
        header = fh.read(100)
    size = shp.stat().st_size
    if len(header) < 100 or struct.unpack(">i", header[:4])[0] != 9994:
        raise DataError(
            f"{shp}: 不是有效的 .shp 文件 (not a valid .shp: bad header); 请重新导出 (export again)"
        )
    declared = struct.unpack(">i", header[24:28])[0] * 2
    if size < declared:
        raise DataError(
            f"{shp}: .shp 文件已截断 (truncated: {size} of {declared} bytes); "
            "请重新复制或导出完整文件 (copy or export it again)"
        )


def _read_shapefile(shp: Path, encoding: str | None, *, fmt: str = "shapefile") -> _Raw:
    missing = [ext for ext in (".shx", ".dbf") if _sidecar(shp, ext) is None]
    if missing:
        raise DataError(
            f"{shp}: 缺少 {', '.join(missing)} 文件 (Shapefile parts missing); "
            "请把同名的 .shp/.shx/.dbf/.prj 放在一起，或打包成 zip "
            "(keep .shp/.shx/.dbf/.prj together, or zip them)"
        )
    _check_shp_length(shp)
    notes: list[str] = []
    dbf = _sidecar(shp, ".dbf")
    assert dbf is not None
    cpg = _sidecar(shp, ".cpg")
    if encoding is not None:
        codec = encoding
    elif cpg is not None and (from_cpg := _codec_from_cpg(cpg)) is not None:
        codec = from_cpg
    else:
        if cpg is not None:
            notes.append(f"{cpg.name}: 无法识别的编码声明，改为自动检测 (unknown .cpg; detected)")
        codec = detect_dbf_encoding(dbf)
    with _gdal_errors(shp, "Shapefile") as gdal_notes:
        try:
            attrs, geoms, crs = _read_batches(shp, encoding=codec)
        except UnicodeDecodeError:
            # A .cpg or --encoding that does not match the bytes: say so, suggest the fix.
            origin = "--encoding" if encoding is not None else (cpg.name if cpg else "")
            try:
                suggestion = _display_codec(detect_dbf_encoding(dbf))
            except DataError:
                suggestion = "GB18030"
            raise DataError(
                f"{shp}: 属性表文字不是 {_display_codec(codec)} 编码 ({origin} 的声明有误) "
                f"(the .dbf text is not {_display_codec(codec)} as {origin} says); "
                f"请用 --encoding {suggestion} 重新添加 (add again with --encoding {suggestion})"
            ) from None
    return _Raw(
        attrs,
        geoms,
        crs,
        fmt,
        encoding=_display_codec(codec),
        layer_used=shp.stem,
        warnings=notes + gdal_notes,
    )
