"""Zip archives opened safely (paths, symlinks, bombs): extraction, .kmz, the .xlsx check."""

from __future__ import annotations

import re
import stat
import zipfile
from pathlib import Path, PurePosixPath

from geomap.errors import DataError
from geomap.ingest.common import (
    MAX_UNZIPPED_BYTES,
    MAX_ZIP_MEMBERS,
    MAX_ZIP_RATIO,
    ZIP_RATIO_MIN_BYTES,
    _Raw,
    _short,
)
from geomap.ingest.gdal import _read_kml

# --------------------------------------------------------------------------------------------
# Zip archives: safe extraction, .kmz (and a safety check for .xlsx)
# --------------------------------------------------------------------------------------------


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member name, with GBK names from Chinese Windows zips decoded properly.

    Without the UTF-8 flag (bit 11) Python decodes names as CP437, which garbles 村界.shp.
    """
    name = info.filename
    if not info.flag_bits & 0x800 and not name.isascii():
        raw = name.encode("cp437", errors="replace")
        for codec in ("utf-8", "gb18030"):
            try:
                return raw.decode(codec)
            except UnicodeDecodeError:
                continue
    return name


def _safe_members(src: Path, zf: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, str]]:
    """Check every member; return (info, safe relative name) for the files worth reading."""
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise DataError(f"{src}: 压缩包文件数过多 (more than {MAX_ZIP_MEMBERS} members): refused")
    total = 0
    members = []
    for info in infos:
        name = _member_name(info).replace("\\", "/")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise DataError(
                f"{src}: 压缩包含有不安全的路径 {name!r}，拒绝解压 "
                "(unsafe member path: absolute or '..'); 请重新打包 (re-create the zip)"
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DataError(f"{src}: 压缩包含有符号链接 {name!r}，拒绝解压 (symlink member)")
        if info.flag_bits & 0x1:
            raise DataError(f"{src}: 压缩包有密码保护 (encrypted zip); 请先解压 (unzip it first)")
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > ZIP_RATIO_MIN_BYTES and ratio > MAX_ZIP_RATIO:
            raise DataError(
                f"{src}: 成员 {name!r} 压缩比异常 ({ratio:.0f}:1)，疑似压缩炸弹，拒绝解压 "
                "(absurd compression ratio: possible zip bomb); 如确属正常数据，请先手动解压 "
                "(if legitimate, unzip it yourself and add the file)"
            )
        if info.is_dir() or name.startswith("__MACOSX/") or parts[-1].startswith("._"):
            continue
        members.append((info, name))
    if total > MAX_UNZIPPED_BYTES:
        raise DataError(
            f"{src}: 解压后 {total / 2**20:.0f} MB，超过上限 {MAX_UNZIPPED_BYTES / 2**20:.0f} MB，"
            "拒绝解压 (uncompressed size over the limit: possible zip bomb); "
            "请先手动解压 (unzip it yourself and add the file)"
        )
    return members


def _open_zip(src: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DataError(
            f"{src}: 压缩包已损坏或截断 (corrupt or truncated zip: {_short(exc)}); "
            "请重新下载或打包 (download or zip it again)"
        ) from None


def check_zip(src: str | Path) -> None:
    """Refuse an unsafe archive (paths, bombs, encryption) without extracting it.

    Raises
    ------
    DataError
    """
    with _open_zip(Path(src)) as zf:
        _safe_members(Path(src), zf)


def _safe_extract(src: Path, dest: Path) -> list[Path]:
    """Extract a checked archive, counting real bytes so lying headers cannot overrun."""
    written = 0
    out: list[Path] = []
    root = dest.resolve()
    with _open_zip(src) as zf:
        for info, name in _safe_members(src, zf):
            target = (root / name).resolve()
            if not target.is_relative_to(root):  # defence in depth after the name check
                raise DataError(f"{src}: 压缩包含有不安全的路径 {name!r} (unsafe path)")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as fin, target.open("wb") as fout:
                    while chunk := fin.read(1 << 20):
                        written += len(chunk)
                        if written > MAX_UNZIPPED_BYTES:
                            raise DataError(
                                f"{src}: 解压数据超过上限 (more than "
                                f"{MAX_UNZIPPED_BYTES / 2**20:.0f} MB unpacked): refused"
                            )
                        fout.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                raise DataError(
                    f"{src}: 解压 {name!r} 失败，压缩包可能已损坏 "
                    f"(cannot extract: {_short(exc)}); 请重新打包 (zip it again)"
                ) from None
            out.append(target)
    return out


def _rel(path: Path, root: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()


def _read_kmz(src: Path, tmp: Path, layer: str | None) -> _Raw:
    files = _safe_extract(src, tmp)
    kmls = [f for f in files if f.suffix.lower() == ".kml"]
    # By convention the main document is doc.kml at the root; otherwise the first .kml.
    main = next((f for f in kmls if _rel(f, tmp).lower() == "doc.kml"), None)
    if main is None:
        root_kmls = [f for f in kmls if "/" not in _rel(f, tmp)]
        main = (root_kmls or kmls)[0] if kmls else None
    if main is None:
        raise DataError(f"{src}: KMZ 里没有 .kml 文件 (no .kml inside the KMZ)")
    return _read_kml(main, "kmz", layer, display=src)
