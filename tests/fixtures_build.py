"""Build real source files in a temporary directory, the way planners receive them.

Every fixture is written by the same tools that produce such files in the wild (GDAL through
pyogrio, openpyxl, zipfile) or, for KML, as the text Google Earth / 奥维地图 export, so the
tests exercise real drivers and real bytes. Positions are around Xiping Subdistrict.

Known values:

* :func:`parcels_4549` are squares in EPSG:4549 (CGCS2000 3-degree GK CM 120E): their area
  measured in EPSG:4549 is exactly side² m², i.e. ``side**2 * 0.0015`` 亩.
* :data:`XIPING_POINTS_WGS84` are WGS84 positions; their GCJ-02 / BD-09 values are computed
  with ``prcoords`` (an independent implementation) when a fixture needs them.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import prcoords
import pyogrio
import pyproj
from shapely.geometry import MultiPolygon, Point, Polygon, box

#: WGS84 (lon, lat) of places in and around Xiping; names include 張, which GB2312 lacks.
XIPING_POINTS_WGS84: list[tuple[str, float, float]] = [
    ("西屏街道", 119.4800, 28.4500),
    ("張村", 119.4712, 28.4431),
    ("山下阳村", 119.4956, 28.4617),
    ("水南村", 119.4868, 28.4389),
]

#: Sides (m) of the square parcels; 379.0321 m gives a 215.5-亩 parcel as in PITFALLS.
PARCEL_SIDES = (100.0, 379.0321, 250.0)
PARCEL_NAMES = ("西屏街道", "張村", "山下阳村")


def xiping_origin_4549() -> tuple[float, float]:
    """Easting/northing of Xiping's centre in EPSG:4549."""
    t = pyproj.Transformer.from_crs(4326, 4549, always_xy=True)
    x, y = t.transform(119.48, 28.45)
    return float(x), float(y)


def parcels_4549() -> gpd.GeoDataFrame:
    """Three square parcels in EPSG:4549 with Chinese names, codes with leading zeros and a
    declared area field (the third declared 10 % too large)."""
    x0, y0 = xiping_origin_4549()
    geoms = []
    x = x0
    for side in PARCEL_SIDES:
        geoms.append(box(x, y0, x + side, y0 + side))
        x += side + 50
    declared = [side * side * 0.0015 for side in PARCEL_SIDES]
    declared[2] *= 1.10
    return gpd.GeoDataFrame(
        {
            "名称": list(PARCEL_NAMES),
            "code": ["001", "002", "003"],
            "面积": declared,
        },
        geometry=geoms,
        crs="EPSG:4549",
    )


def expected_parcel_mu() -> list[float]:
    """The exact areas of :func:`parcels_4549` in 亩."""
    return [side * side * 0.0015 for side in PARCEL_SIDES]


def write_shapefile(
    folder: Path,
    gdf: gpd.GeoDataFrame,
    name: str = "parcels",
    *,
    encoding: str = "GBK",
    keep_cpg: bool = False,
    cpg_text: str | None = None,
) -> Path:
    """Write ``gdf`` as a Shapefile with a DBF in ``encoding``.

    GDAL writes a ``.cpg`` naming the encoding; many Chinese files come without one (older
    ArcGIS, 南方CASS exports), which is what ``keep_cpg=False`` reproduces. ``cpg_text``
    replaces its content.
    """
    folder.mkdir(parents=True, exist_ok=True)
    shp = folder / f"{name}.shp"
    pyogrio.write_dataframe(gdf, shp, encoding=encoding)
    cpg = shp.with_suffix(".cpg")
    if cpg_text is not None:
        cpg.write_text(cpg_text, encoding="ascii")
    elif not keep_cpg:
        cpg.unlink()
    return shp


def shapefile_parts(shp: Path) -> list[Path]:
    """The files making up a Shapefile."""
    return sorted(p for p in shp.parent.iterdir() if p.stem == shp.stem)


def zip_files(zip_path: Path, files: Sequence[Path], prefix: str = "") -> Path:
    """Zip ``files`` under ``prefix`` (a folder inside the archive)."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            zf.write(f, arcname=prefix + f.name)
    return zip_path


class _RawNameInfo(zipfile.ZipInfo):
    """A ZipInfo whose name is stored as given bytes without the UTF-8 flag.

    That is what Windows' built-in zip does with Chinese names on a Chinese system (GBK).
    """

    raw_name: bytes = b""

    # Overrides zipfile's private hook that encodes the name and sets the UTF-8 flag.
    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.raw_name, self.flag_bits & ~0x800


def zip_files_gbk_names(zip_path: Path, files: Sequence[Path], stem: str) -> Path:
    """Zip ``files`` renamed to ``stem`` + suffix, with GBK-encoded member names."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            info = _RawNameInfo(filename=(stem + f.suffix).encode("gbk").decode("cp437"))
            info.raw_name = (stem + f.suffix).encode("gbk")
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, f.read_bytes())
    return zip_path


def write_gpkg_two_layers(path: Path) -> Path:
    """A GeoPackage with layers ``villages`` (polygons) and ``wells`` (points)."""
    parcels = parcels_4549().to_crs(4326)
    pyogrio.write_dataframe(parcels, path, layer="villages")
    wells = gpd.GeoDataFrame(
        {"name": [n for n, _, _ in XIPING_POINTS_WGS84]},
        geometry=[Point(x, y) for _, x, y in XIPING_POINTS_WGS84],
        crs="EPSG:4326",
    )
    pyogrio.write_dataframe(wells, path, layer="wells", append=True)
    return path


def kml_google_earth(placemarks: Sequence[dict[str, Any]], *, doctype: str = "") -> str:
    """KML text as Google Earth exports it: ``<name>``, ``<ExtendedData><Data>``, Polygons.

    Each placemark: ``{"name": str, "data": {field: value}, "ring": [(lon, lat), ...]}``
    or ``"point": (lon, lat)``.
    """
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        doctype,
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>西屏地块</name>\n',
    ]
    for pm in placemarks:
        data = "".join(
            f'<Data name="{k}"><value>{v}</value></Data>' for k, v in pm.get("data", {}).items()
        )
        if "ring" in pm:
            coords = " ".join(f"{x:.7f},{y:.7f},0" for x, y in pm["ring"])
            geom = (
                "<Polygon><outerBoundaryIs><LinearRing><coordinates>"
                f"{coords}</coordinates></LinearRing></outerBoundaryIs></Polygon>"
            )
        else:
            x, y = pm["point"]
            geom = f"<Point><coordinates>{x:.7f},{y:.7f},0</coordinates></Point>"
        desc = "<description><![CDATA[<!DOCTYPE html><p>说明</p>]]></description>"
        parts.append(
            f"<Placemark><name>{pm['name']}</name>{desc}"
            f"<ExtendedData>{data}</ExtendedData>{geom}</Placemark>\n"
        )
    parts.append("</Document></kml>\n")
    return "".join(parts)


def parcel_placemarks() -> list[dict[str, Any]]:
    """The :func:`parcels_4549` squares as KML placemarks (WGS84) with Chinese Data names."""
    parcels = parcels_4549().to_crs(4326)
    out = []
    for i, row in parcels.iterrows():
        ring = list(row.geometry.exterior.coords)
        out.append(
            {
                "name": row["名称"],
                "data": {"编码": row["code"], "面积": f"{row['面积']:.4f}"},
                "ring": ring,
                "index": i,
            }
        )
    return out


def kml_two_folders() -> str:
    """KML with two folders (GDAL's LIBKML driver reads each as a layer), SchemaData fields."""
    return """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>西屏</name>
<Schema name="s" id="s"><SimpleField name="村名" type="string"/>
<SimpleField name="户数" type="int"/></Schema>
<Folder><name>村庄</name>
<Placemark><name>A</name><ExtendedData><SchemaData schemaUrl="#s">
<SimpleData name="村名">張村</SimpleData><SimpleData name="户数">12</SimpleData>
</SchemaData></ExtendedData><Point><coordinates>119.4712,28.4431</coordinates></Point>
</Placemark></Folder>
<Folder><name>水库</name>
<Placemark><name>B</name><Point><coordinates>119.49,28.45</coordinates></Point></Placemark>
</Folder></Document></kml>
"""


def write_kmz(path: Path, kml_text: str) -> Path:
    """A KMZ: ``doc.kml`` plus an icon, as Google Earth saves it."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", kml_text.encode("utf-8"))
        zf.writestr("files/icon.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    return path


def gcj_points() -> list[tuple[str, float, float]]:
    """:data:`XIPING_POINTS_WGS84` obfuscated to GCJ-02 by prcoords (lon, lat order)."""
    out = []
    for name, lon, lat in XIPING_POINTS_WGS84:
        g = prcoords.wgs_gcj((lat, lon))
        out.append((name, g.lon, g.lat))
    return out


def bd_points() -> list[tuple[str, float, float]]:
    """:data:`XIPING_POINTS_WGS84` obfuscated to BD-09 by prcoords (lon, lat order)."""
    out = []
    for name, lon, lat in XIPING_POINTS_WGS84:
        b = prcoords.wgs_bd((lat, lon))
        out.append((name, b.lon, b.lat))
    return out


def write_csv(
    path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]], encoding: str = "utf-8"
) -> Path:
    """A CSV written by hand (Excel's "CSV UTF-8" adds a BOM: use ``utf-8-sig`` for that)."""
    buf = io.StringIO()
    buf.write(",".join(header) + "\n")
    for row in rows:
        cells = []
        for v in row:
            text = repr(v) if isinstance(v, float) else str(v)
            cells.append(f'"{text}"' if ("," in text or '"' in text) else text)
        buf.write(",".join(cells) + "\n")
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    """An .xlsx with the given sheets (first row = header), written by openpyxl.

    Strings stay strings in cells (a code ``"007"`` is text, as Excel stores it when the
    column is formatted as text).
    """
    wb = openpyxl.Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def bowtie() -> Polygon:
    """A self-intersecting "bow-tie" quadrilateral at Xiping (two triangles touching)."""
    x, y, d = 119.48, 28.45, 0.002
    return Polygon([(x, y), (x + d, y + d), (x + d, y), (x, y + d), (x, y)])


def write_geojson(path: Path, gdf: gpd.GeoDataFrame) -> Path:
    """Write ``gdf`` (WGS84) as GeoJSON with GDAL."""
    pyogrio.write_dataframe(gdf, path, driver="GeoJSON")
    return path


def bowtie_layer() -> gpd.GeoDataFrame:
    """One valid square, one bow-tie and one MultiPolygon (mixing Polygon and MultiPolygon)."""
    ok = box(119.47, 28.44, 119.471, 28.441)
    multi = MultiPolygon(
        [box(119.49, 28.46, 119.491, 28.461), box(119.492, 28.46, 119.493, 28.461)]
    )
    return gpd.GeoDataFrame(
        {"name": ["好地块", "蝴蝶结", "两块地"], "code": ["a", "b", "c"]},
        geometry=[ok, bowtie(), multi],
        crs="EPSG:4326",
    )


def write_truncated(path: Path, source: Path, keep: float = 0.6) -> Path:
    """Copy the first ``keep`` fraction of ``source``'s bytes (an interrupted download)."""
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def write_zip_slip(path: Path, member: str = "../evil.txt") -> Path:
    """A zip whose member would be written outside the extraction folder."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("parcels.shp", b"x")
        zf.writestr(member, b"owned")
    return path


def write_zip_bomb(path: Path, megabytes: int = 20) -> Path:
    """A zip with one member of ``megabytes`` MiB of zeros (~1000:1 compression).

    Written in chunks so building it needs little memory.
    """
    chunk = b"\x00" * (1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("parcels.dbf", "w", force_zip64=True) as fh:
            for _ in range(megabytes):
                fh.write(chunk)
        zf.writestr("parcels.shp", b"x")
    return path
