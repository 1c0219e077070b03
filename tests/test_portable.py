"""Windows-readiness, simulated on Linux: no fcntl, no os.fchmod, a GBK console, paths with
Chinese characters and spaces, files saved with CRLF line endings.

Every command runs as a real subprocess (``python -m geomap``), as a technician would run it.
"""

from __future__ import annotations

import codecs
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sample_atlas

from geomap.cli.main import readable_streams

ROOT = Path(__file__).resolve().parents[1]

# Loaded before geomap by every subprocess below: fcntl cannot be imported (as on Windows)
# and os.fchmod does not exist (as on Windows before Python 3.13).
NO_POSIX = """\
import os, sys
sys.modules["fcntl"] = None
del os.fchmod
"""

PARK = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"code": "P1", "name": "溪边公园"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[119.461, 28.441], [119.463, 28.441], [119.463, 28.443], [119.461, 28.441]]
                ],
            },
        }
    ],
}


def geomap(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-m", "geomap", *args],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        cwd=cwd,
        timeout=240,
    )


@pytest.fixture
def no_posix(tmp_path: Path) -> dict[str, str]:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(NO_POSIX, "utf-8")
    return {"PYTHONPATH": f"{shim}{os.pathsep}{ROOT}"}


def test_shim_really_removes_fcntl_and_fchmod(no_posix: dict[str, str]) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", "import os, fcntl"],
        capture_output=True,
        env={**os.environ, **no_posix},
    )
    assert b"ModuleNotFoundError" in probe.stderr or b"ImportError" in probe.stderr
    probe = subprocess.run(
        [sys.executable, "-c", "import os; print(hasattr(os, 'fchmod'))"],
        capture_output=True,
        env={**os.environ, **no_posix},
    )
    assert probe.stdout.strip() == b"False"


def test_cli_works_without_fcntl_or_fchmod_in_chinese_paths_with_spaces(
    tmp_path: Path, no_posix: dict[str, str]
) -> None:
    atlas = sample_atlas.build(tmp_path / "西屏 图集 2023")
    source = tmp_path / "收到的 数据" / "新 公园.geojson"
    source.parent.mkdir()
    # Saved on Windows: CRLF line endings.
    source.write_bytes(
        json.dumps(PARK, ensure_ascii=False, indent=1).replace("\n", "\r\n").encode()
    )
    added = geomap("--atlas", str(atlas), "add", str(source), "--name", "park", env=no_posix)
    assert added.returncode == 0, added.stderr.decode()
    assert (atlas / "layers" / "park.geojson").is_file()
    listed = geomap("--atlas", str(atlas), "layers", "--json", env=no_posix)
    assert listed.returncode == 0, listed.stderr.decode()
    assert "park" in [row["name"] for row in json.loads(listed.stdout)]
    # A second add of the same name is refused under the lock, and the atlas is unchanged.
    again = geomap("--atlas", str(atlas), "add", str(source), "--name", "park", env=no_posix)
    assert again.returncode == 1 and "--replace" in again.stderr.decode()
    out = tmp_path / "给 国土局" / "公园.gpkg"
    out.parent.mkdir()
    exported = geomap("--atlas", str(atlas), "export-data", "park", "-o", str(out), env=no_posix)
    assert exported.returncode == 0, exported.stderr.decode()
    assert out.is_file()
    rendered = geomap("--atlas", str(atlas), "render", "minimal", env=no_posix)
    assert rendered.returncode == 0, rendered.stderr.decode()
    assert (atlas / "maps" / "minimal.html").is_file()


def test_crlf_specs_tables_and_layers_are_read(sample: Path) -> None:
    """A whole atlas whose text files were saved with CRLF (git core.autocrlf on Windows)."""
    for path in [
        *sample.glob("*/*.toml"),
        *sample.glob("data/*.csv"),
        *sample.glob("layers/*.geojson"),
    ]:
        data = path.read_bytes()
        assert b"\r\n" not in data
        path.write_bytes(data.replace(b"\n", b"\r\n"))
    checked = geomap("--atlas", str(sample), "check")
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    rendered = geomap("--atlas", str(sample), "render", "economy")
    assert rendered.returncode == 0, rendered.stderr.decode()
    page = (sample / "maps" / "economy.html").read_text("utf-8")
    assert "西一村" in page


# Every command, as a GBK console on Windows would run it. (args, expected exit code)
GBK_RUNS: list[tuple[list[str], int]] = [
    (["--help"], 0),
    (["--version"], 0),
    (["render", "--help"], 0),
    (["layers", "--help"], 0),
    (["check", "--help"], 0),
    (["add", "--help"], 0),
    (["export", "--help"], 0),
    (["export-data", "--help"], 0),
    (["render"], 0),  # ✓ lines
    (["layers"], 0),
    (["layers", "--json"], 0),
    (["check"], 0),
    (["check", "--json"], 0),
    (["add", "{source}", "--name", "park"], 0),  # its summary has m²
    (["-v", "export-data", "park", "--format", "shp", "-o", "{out}"], 0),
    (["export", "minimal", "--format", "png", "--basemap", "none", "-o", "{png}"], 0),
    (["render", "NOPE"], 1),
    (["add", "{source}", "--name", "park"], 1),
]


def test_every_command_under_a_gbk_console(tmp_path: Path) -> None:
    atlas = sample_atlas.build(tmp_path / "atlas")
    source = tmp_path / "park².geojson"  # a file name GBK cannot show either
    source.write_text(json.dumps(PARK, ensure_ascii=False), "utf-8")
    values = {
        "{source}": str(source),
        "{out}": str(tmp_path / "park.shp"),
        "{png}": str(tmp_path / "minimal.png"),
    }
    saw_m2 = False
    for args, code in GBK_RUNS:
        args = [values.get(a, a) for a in args]
        proc = geomap("--atlas", str(atlas), *args, env={"PYTHONIOENCODING": "gbk"})
        stdout = proc.stdout.decode("gbk")  # both streams are valid GBK …
        stderr = proc.stderr.decode("gbk")
        assert proc.returncode == code, (args, stdout, stderr)
        assert "Traceback" not in stderr and "UnicodeEncodeError" not in stderr, args
        assert "\\u" not in stdout + stderr and "\\x" not in stdout + stderr, args
        if "--name" in args and code == 0:
            # … and what GBK cannot show degrades readably: m² → m2, ✓ → √.
            assert "m2)" in stdout, stdout
            assert "park2.geojson" in stdout
            saw_m2 = True
        if args == ["render"]:
            assert "√" in stderr
    assert saw_m2


def test_readable_error_handler_stand_ins() -> None:
    codecs.lookup_error("geomap-readable")  # registered on import
    text = "✓ 完成 ✗ 失败 120 m² ⚠ 😀"
    assert text.encode("gbk", errors="geomap-readable").decode("gbk") == (
        "√ 完成 × 失败 120 m2 ! ?"
    )
    # Characters GBK has are kept as they are.
    assert "亩 → 万元 — …".encode("gbk", errors="geomap-readable").decode("gbk") == "亩 → 万元 — …"


def test_readable_streams_is_idempotent_and_keeps_encoding() -> None:
    before = sys.stdout.encoding if hasattr(sys.stdout, "encoding") else None
    readable_streams()
    readable_streams()
    if hasattr(sys.stdout, "errors") and hasattr(sys.stdout, "reconfigure"):
        assert sys.stdout.errors == "geomap-readable"
    assert getattr(sys.stdout, "encoding", None) == before


# geomap/locks.py without fcntl: one process holds a lock until its stdin closes, another
# tries to take it. Both run with the shim, as on Windows.
HOLD = """\
import sys
from pathlib import Path
from geomap.locks import SharedLock, exclusive_lock
path, kind = Path(sys.argv[1]), sys.argv[2]
if kind == "exclusive":
    with exclusive_lock(path, 5):
        print("held", flush=True)
        sys.stdin.read()
else:
    lock = SharedLock(path)
    lock.share()
    print("held", flush=True)
    sys.stdin.read()
    lock.close()
"""
TRY = """\
import json, sys
from pathlib import Path
from geomap.errors import DataError
from geomap.locks import SharedLock, exclusive_lock
path, kind = Path(sys.argv[1]), sys.argv[2]
if kind == "exclusive":
    try:
        with exclusive_lock(path, 0.5):
            print(json.dumps({"exclusive": True}))
    except DataError as exc:
        print(json.dumps({"exclusive": False, "message": str(exc)}))
else:
    lock = SharedLock(path)
    alone = lock.own_within(0.5)
    lock.release()
    lock.share()  # never waits while others only share it
    lock.close()
    print(json.dumps({"alone": alone, "shared": True}))
"""


def _python(code: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env={**os.environ, **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _try(path: Path, kind: str, env: dict[str, str]) -> dict[str, object]:
    out, err = _python(TRY, str(path), kind, env=env).communicate(timeout=60)
    assert "fcntl" not in err and "Traceback" not in err, err
    return json.loads(out)


@pytest.mark.parametrize("kind", ["exclusive", "shared"])
def test_locks_work_without_fcntl(tmp_path: Path, no_posix: dict[str, str], kind: str) -> None:
    path = tmp_path / "锁 文件.lock"
    holder = _python(HOLD, str(path), kind, env=no_posix)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        while_held = _try(path, kind, no_posix)
    finally:
        _, err = holder.communicate("", timeout=60)  # stdin closed: the holder lets go
    assert holder.returncode == 0 and "Traceback" not in err, err
    after = _try(path, kind, no_posix)
    if kind == "exclusive":
        assert while_held["exclusive"] is False
        assert "another geomap command" in str(while_held["message"])
        assert after == {"exclusive": True}
    else:  # a reader keeps a writer out, not another reader
        assert while_held == {"alone": False, "shared": True}
        assert after == {"alone": True, "shared": True}
