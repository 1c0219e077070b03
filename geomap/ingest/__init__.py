"""Read a planner's source file into a clean WGS84 GeoDataFrame, or explain why not.

Supported: Shapefile (``.shp``, or a ``.zip`` holding one), GeoPackage, KML / KMZ, GeoJSON,
CSV and XLSX (lon/lat columns or a WKT column). :func:`read_source` is the single entry point
used by ``geomap add``; everything it refuses is a :class:`~geomap.errors.DataError` whose
message names the file, the feature(s) and what to do, in Chinese and English.

Decisions that are not obvious:

* Shapefile text encoding is detected from the raw DBF bytes (strict UTF-8, else GB18030) when
  there is no ``.cpg``: GDAL silently decodes a GBK ``.dbf`` as Latin-1 otherwise.
* KML goes through GDAL's LIBKML driver (it reads ExtendedData), with field-name laundering
  switched off so Chinese ``<Data name="面积">`` survives; DTDs are refused before GDAL sees the
  file (no entity expansion, no external entities).
* Zip archives (``.zip``, ``.kmz``, ``.xlsx``) are checked for unsafe member paths and
  decompression bombs before anything is extracted or parsed.
* CSV is read as text and numeric columns are inferred here, so village codes such as ``007``
  and 18-digit IDs keep their exact digits.

The package is split by job: :mod:`~geomap.ingest.formats` (suffixes, magic bytes),
:mod:`~geomap.ingest.shapefile`, :mod:`~geomap.ingest.gdal` (GeoPackage, GeoJSON, KML),
:mod:`~geomap.ingest.archives` (zip, kmz), :mod:`~geomap.ingest.tables` (CSV, XLSX),
:mod:`~geomap.ingest.resolve` (validation, CRS resolution), :mod:`~geomap.ingest.repair`
(polygon repair), :mod:`~geomap.ingest.reader` (:func:`read_source`) and
:mod:`~geomap.ingest.attributes` (area fields, duplicate keys).
"""

from geomap.ingest.archives import check_zip
from geomap.ingest.attributes import declared_area_warnings, duplicate_keys, find_area_field
from geomap.ingest.common import (
    AREA_FIELD_CANDIDATES,
    MAX_UNZIPPED_BYTES,
    MAX_ZIP_MEMBERS,
    NAME_FIELDS,
    IngestResult,
    display_path,
)
from geomap.ingest.reader import read_source
from geomap.ingest.shapefile import detect_dbf_encoding

__all__ = [
    "AREA_FIELD_CANDIDATES",
    "MAX_UNZIPPED_BYTES",
    "MAX_ZIP_MEMBERS",
    "NAME_FIELDS",
    "IngestResult",
    "check_zip",
    "declared_area_warnings",
    "detect_dbf_encoding",
    "display_path",
    "duplicate_keys",
    "find_area_field",
    "read_source",
]
