"""geomap: an atlas of GeoJSON layers and indicator tables, rendered to interactive HTML maps."""

__version__ = "0.1.0"
