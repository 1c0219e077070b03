"""Console conventions: -q and -v, progress on stderr only on a terminal (or with -v),
and a clear message when an optional extra is missing."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from helpers import run

ROOT = Path(__file__).resolve().parents[1]


def test_quiet_silences_notes_but_not_data_or_errors(sample: Path) -> None:
    normal = run(sample, "render", "minimal")
    assert normal.exit_code == 0 and "minimal" in normal.stderr
    quiet = run(sample, "-q", "render", "minimal", "--force")
    assert quiet.exit_code == 0
    assert quiet.stderr == "" and quiet.stdout == ""
    assert (sample / "maps" / "minimal.html").is_file()
    # Data on stdout stays.
    listed = run(sample, "-q", "layers", "--json")
    assert listed.exit_code == 0 and '"villages"' in listed.stdout
    # Errors stay.
    failed = run(sample, "-q", "render", "NOPE")
    assert failed.exit_code == 1 and "NOPE" in failed.stderr


def test_quiet_and_verbose_together_is_a_usage_error(sample: Path) -> None:
    result = run(sample, "-q", "-v", "layers")
    assert result.exit_code == 2
    assert "-q/--quiet" in result.output


def test_progress_is_silent_into_a_file_and_plain_lines_with_verbose(sample: Path) -> None:
    # CliRunner's stderr is not a terminal: no progress by default …
    plain = run(sample, "render", "minimal")
    assert "渲染 (rendering)" not in plain.stderr
    # … with -v a line when the work starts and one with its time when it ends.
    verbose = run(sample, "-v", "render", "minimal", "--force")
    assert verbose.exit_code == 0
    lines = verbose.stderr.splitlines()
    assert "渲染 (rendering) minimal …" in lines
    assert any(
        line.startswith("渲染 (rendering) minimal: ") and line.endswith(" s") for line in lines
    )
    assert verbose.stdout == ""


def _stderr_on_a_terminal(*args: str) -> str:
    """Run geomap with stderr on a pseudo-terminal; what the terminal received."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "geomap", *args],
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_on_a_terminal_only_for_long_work_or_verbose(
    sample: Path, tmp_path: Path
) -> None:
    # Export takes well under PROGRESS_DELAY: no bar, just the notes.
    quick = _stderr_on_a_terminal(
        "--atlas", str(sample), "export-data", "houses", "-o", str(tmp_path / "a.gpkg")
    )
    assert "要素 (features)" in quick
    assert "导出 (exporting)" not in quick
    # -v shows the bar at once, with the feature count.
    shown = _stderr_on_a_terminal(
        "--atlas", str(sample), "-v", "export-data", "houses", "-o", str(tmp_path / "b.gpkg")
    )
    assert "导出 (exporting) houses" in shown
    assert "7/7" in shown


def test_missing_optional_extra_names_the_extra(sample: Path, tmp_path: Path) -> None:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(
        "import sys\nsys.modules['playwright'] = None\n", "utf-8"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "geomap",
            "--atlas",
            str(sample),
            "export",
            "minimal",
            "-o",
            str(tmp_path / "m.pdf"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{shim}{os.pathsep}{ROOT}"},
        timeout=120,
    )
    assert proc.returncode == 1
    assert "playwright" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "m.pdf").exists()
