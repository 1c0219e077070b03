"""``python -m geomap``: the ``geomap`` command (where the console script is not on PATH)."""

from geomap.cli.main import main

main()
