"""Errors written for planners.

Every error geomap raises on purpose is a :class:`GeomapError`. The command line turns one
into a single clear message on stderr and exit code 1; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class GeomapError(Exception):
    """A problem with the user's data or request, explained in words a planner can act on."""


class AtlasNotFound(GeomapError):
    """No atlas root could be found."""


class SpecError(GeomapError):
    """A malformed metadata, table definition or map spec file.

    Carries every problem found in the file, not just the first.
    """

    def __init__(self, path: Path | str, problems: Iterable[str]) -> None:
        self.path = Path(path)
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{self.path}: {len(self.problems)} 处问题 (problems):\n{lines}")


class NotFound(GeomapError):
    """A named layer, table or map does not exist."""


class DataError(GeomapError):
    """Input data that cannot be used as it is."""


class PrivacyError(GeomapError):
    """A field that looks personal and is not marked public or private."""


class UnsafePath(GeomapError):
    """A name or path that would reach outside the atlas."""
