"""Issue 7, faults: SIGKILL during ``geomap add`` / ``geomap render``, and two adds at once.

A killed command must leave the atlas valid: every file that existed before is byte-identical
or, for a file being written, either the old version or the complete new one (as written by
an uninterrupted run of the same command on a copy); layers/.history holds only whole copies
of old files; no file under a real name is half-written; ``geomap check`` and ``geomap layers
--json`` still succeed; and running the command again completes it.

Processes are killed three ways:

* the real command line (``python -c "from geomap.cli.main import main; main()" ...``),
  SIGKILLed from outside when it reports progress;
* from outside after a range of delays spread over an uninterrupted run's duration;
* by itself, at each write boundary: just before the k-th ``os.replace`` (a temp file is
  complete, not yet renamed) and at the k-th ``os.fsync`` (data written, not yet synced).

The last two run in a fork server, a Python process that imports geomap once and forks one
child per kill, so each kill costs the command's work and not a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sample_atlas
from helpers import invoke

from geomap.atlas import Atlas

REPO = Path(__file__).resolve().parents[1]
FRACTIONS = [0.1, 0.2, 0.35, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0, 1.1]
FIGURES: dict[str, Any] = {}

SERVER = r"""
import json, os, signal, sys, time
from geomap.cli.main import main

def child(job):
    fd = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    if job.get("inject"):
        name, k = job["inject"]
        real = getattr(os, name)
        calls = [0]
        def hook(*args, **kwargs):
            calls[0] += 1
            if calls[0] == k:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)
        setattr(os, name, hook)
    sys.argv = ["geomap", "--atlas", job["root"], *job["args"]]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 3
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

def status(raw):
    if os.WIFSIGNALED(raw):
        return {"signal": os.WTERMSIG(raw), "exit": None}
    return {"signal": None, "exit": os.WEXITSTATUS(raw)}

results = []
reference = None
for job in json.loads(sys.argv[1]):
    if "warm" in job:
        # Run once in this process (on a scratch copy) so that every forked child starts
        # with imports done, templates compiled and assets read, as a long-lived CLI would.
        from click.testing import CliRunner
        from geomap.cli.main import cli
        CliRunner().invoke(cli, ["--atlas", job["root"], *job["warm"]])
        results.append({})
        continue
    if "together" in job:  # several commands at once
        pids = []
        for part in job["together"]:
            pid = os.fork()
            if pid == 0:
                child(part)
            pids.append(pid)
        results.append([status(os.waitpid(pid, 0)[1]) for pid in pids])
        continue
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        child(job)
    raw = None
    if job.get("fraction") is not None:
        deadline = start + job["fraction"] * reference
        while True:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() >= deadline:
                os.kill(pid, signal.SIGKILL)
                raw = os.waitpid(pid, 0)[1]
                break
            time.sleep(0.0005)
    else:
        raw = os.waitpid(pid, 0)[1]
    elapsed = time.monotonic() - start
    if job.get("reference"):
        reference = elapsed
    results.append(dict(status(raw), elapsed=elapsed))
print(json.dumps(results))
"""


def env(tmp: Path) -> dict[str, str]:
    """The children's environment. Their temp folder is ``tmp/tmp``: a child killed while
    reading leaves its geomap-ingest-* folder there, inside the test's own tmp_path, never
    in the machine's /tmp."""
    out = {k: v for k, v in os.environ.items() if k not in ("GEOMAP_ATLAS", "GEOMAP_DEBUG")}
    (tmp / "tmp").mkdir(exist_ok=True)
    out["TMPDIR"] = str(tmp / "tmp")
    out["PYTHONPATH"] = str(REPO) + os.pathsep + out.get("PYTHONPATH", "")
    out["OPENBLAS_NUM_THREADS"] = out["OMP_NUM_THREADS"] = "1"  # fork-safe numerics
    return out


def cli_cmd(root: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from geomap.cli.main import main; main()",
        "--atlas",
        str(root),
        *args,
    ]


# ---------------------------------------------------------------------------------------
# Atlas states


def files(root: Path) -> dict[str, bytes]:
    """Every file under layers/, data/ and maps/ except the lock file."""
    out = {}
    for sub in ("layers", "data", "maps"):
        for path in sorted((root / sub).rglob("*")):
            if path.is_file() and path.name != ".lock":
                out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def is_temp(name: str) -> bool:
    """A hidden temporary file, or the journal of a layer write (settled by the next reader)."""
    base = name.rsplit("/", 1)[-1]
    return base.startswith(".") and base.endswith((".tmp", ".journal"))


def assert_one_version(
    root: Path, before: dict[str, bytes], after: dict[str, bytes], what: str
) -> None:
    """Each layer's metadata and data are of one version: both old or both new, never the
    new metadata beside the old GeoJSON (which would publish a column the old metadata kept
    private)."""
    now = files(root)
    stems = {k[: -len(".geojson")] for k in (*now, *before, *after) if k.endswith(".geojson")}
    for stem in sorted(s for s in stems if s.count("/") == 1):
        pair = (now.get(f"{stem}.toml"), now.get(f"{stem}.geojson"))
        old = (before.get(f"{stem}.toml"), before.get(f"{stem}.geojson"))
        new = (after.get(f"{stem}.toml"), after.get(f"{stem}.geojson"))
        assert pair in (old, new), (what, stem, "metadata and data of different versions")


def assert_valid(root: Path, before: dict[str, bytes], after: dict[str, bytes], what: str) -> int:
    """The killed command left each file old or new and whole; returns leftover temp files."""
    now = files(root)
    temps = 0
    old_versions = set(before.values())
    for name, data in now.items():
        if is_temp(name):
            temps += 1  # a hidden temp file, never under a real name
            continue
        if name.startswith("layers/.history/"):
            assert name not in before or data == before[name], (what, name)
            assert data in old_versions, (what, name, "history holds a partial copy")
            continue
        assert data in (before.get(name), after.get(name)), (what, name, "neither old nor new")
    for name in before:
        assert name in now, (what, name, "disappeared")
    checked = invoke(root, "check")
    assert checked.exit_code == 0, (what, checked.output[-1500:])
    listed = invoke(root, "layers", "--json")
    assert listed.exit_code == 0, (what, listed.output[-1500:])
    names = [row["name"] for row in json.loads(listed.stdout)]
    assert names == Atlas(root).layer_names(), what
    return temps


def assert_same_as(root: Path, after: dict[str, bytes], what: str) -> None:
    """After a rerun the atlas holds exactly the new version (history aside)."""
    now = {k: v for k, v in files(root).items() if not k.startswith("layers/.history/")}
    now = {k: v for k, v in now.items() if not is_temp(k)}
    want = {k: v for k, v in after.items() if not k.startswith("layers/.history/")}
    assert now.keys() == want.keys(), (what, sorted(now.keys() ^ want.keys()))
    for name in want:
        if name.endswith(".toml"):
            # `add --replace` merges the metadata it replaces: same content, keys reordered.
            assert tomllib.loads(now[name].decode()) == tomllib.loads(want[name].decode())
        else:
            assert now[name] == want[name], (what, name)


# ---------------------------------------------------------------------------------------
# Scenarios


def points_csv(path: Path, n: int) -> Path:
    lines = ["code,name,has_hazard,lon,lat"]
    for i in range(n):
        lon = sample_atlas.X0 + 0.0001 + (i % 290) * 0.0001
        lat = sample_atlas.Y0 + 0.0001 + (i // 290) * 0.0001
        lines.append(f"H{i},房屋{i},{i % 2},{lon:.6f},{lat:.6f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def base(tmp: Path) -> Path:
    """The sample atlas, rendered, then changed so that a new render rewrites every page."""
    root = sample_atlas.build(tmp / "base")
    assert invoke(root, "render").exit_code == 0

    def retitle(path: Path, old: str, new: str) -> None:
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")

    retitle(root / "layers" / "villages.toml", "行政村", "行政村（新）")
    for name in ("economy", "grid", "minimal"):
        spec = root / "maps" / f"{name}.toml"
        title = tomllib.loads(spec.read_text(encoding="utf-8"))["title"]
        retitle(spec, title, title + "（修订）")
    return root


SCENARIOS = {
    # add --replace with --map: journal, archive 2 files, write 2, edit the map: 6 replaces.
    "add-replace": (["add", "{src}", "--name", "houses", "--replace", "--map", "economy"], 6),
    # a new layer added to a map: journal, 2 files, the map: 4 replaces.
    "add-new": (["add", "{src}", "--name", "newpts", "--map", "minimal"], 4),
    # every page and the index: 4 replaces.
    "render": (["render", "--force"], 4),
}


PAIRS_ROUNDS = 3


def pair_jobs(tmp: Path) -> dict[str, Any]:
    """Atlases and server jobs for two `geomap add` at once."""
    origin = sample_atlas.build(tmp / "pairs" / "origin")
    a = points_csv(tmp / "pairs" / "a.csv", 400)
    b = points_csv(tmp / "pairs" / "b.csv", 401)
    pairs = {
        "same new name": (["add", str(a), "--name", "twin"], ["add", str(b), "--name", "twin"]),
        "same name, --replace": (
            ["add", str(a), "--name", "houses", "--replace"],
            ["add", str(b), "--name", "houses", "--replace"],
        ),
        "two layers, one map": (
            ["add", str(a), "--name", "left", "--map", "minimal"],
            ["add", str(b), "--name", "right", "--map", "minimal"],
        ),
    }
    jobs = []
    roots = []
    for label, (first, second) in pairs.items():
        for r in range(PAIRS_ROUNDS):
            root = tmp / "pairs" / f"{label.replace(' ', '_').replace(',', '')}-{r}"
            shutil.copytree(origin, root)
            roots.append((label, root))
            jobs.append(
                {
                    "together": [
                        {"root": str(root), "args": first, "log": str(root) + ".1.log"},
                        {"root": str(root), "args": second, "log": str(root) + ".2.log"},
                    ]
                }
            )
    return {"tmp": tmp / "pairs", "origin": origin, "sources": (a, b), "jobs": jobs, "roots": roots}


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Run every kill in one fork server; yield the jobs and their outcomes."""
    tmp = tmp_path_factory.mktemp("faults")
    origin = base(tmp)
    src = points_csv(tmp / "points.csv", 300)
    before = files(origin)
    jobs: list[dict[str, Any]] = []
    meta: list[dict[str, Any]] = []
    for scenario, (args, writes) in SCENARIOS.items():
        args = [a.replace("{src}", str(src)) for a in args]
        plan: list[dict[str, Any]] = [{"warm": args}, {"reference": True}]
        plan += [
            {"inject": ["replace", k], "how": f"before rename {k}"} for k in range(1, writes + 1)
        ]
        plan += [{"inject": ["fsync", k], "how": f"at fsync {k}"} for k in range(1, writes + 1)]
        plan += [{"fraction": f, "how": f"after {f:.0%} of a run"} for f in FRACTIONS]
        for i, extra in enumerate(plan):
            root = tmp / f"{scenario}-{i}"
            shutil.copytree(origin, root, symlinks=True)
            job = {"root": str(root), "args": args, "log": str(tmp / f"{scenario}-{i}.log")}
            job.update({k: v for k, v in extra.items() if k != "how"})
            jobs.append(job)
            default = "warm-up" if "warm" in extra else "uninterrupted"
            meta.append({"scenario": scenario, "how": extra.get("how", default)})
    pairs = pair_jobs(tmp)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", SERVER, json.dumps(jobs + pairs["jobs"])],
        capture_output=True,
        text=True,
        env=env(tmp),
        cwd=tmp,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcomes = json.loads(done.stdout.strip().splitlines()[-1])
    FIGURES["fork server seconds"] = round(time.monotonic() - started, 1)
    pairs["outcomes"] = outcomes[len(jobs) :]
    outcomes = outcomes[: len(jobs)]
    yield {
        "pairs": pairs,
        "before": before,
        "jobs": jobs,
        "meta": meta,
        "outcomes": outcomes,
        "args": {s: [a.replace("{src}", str(src)) for a in SCENARIOS[s][0]] for s in SCENARIOS},
    }


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_sigkill_leaves_the_atlas_valid(killed: dict[str, Any], scenario: str) -> None:
    before = killed["before"]
    rows = [
        (job, meta, outcome)
        for job, meta, outcome in zip(
            killed["jobs"], killed["meta"], killed["outcomes"], strict=True
        )
        if meta["scenario"] == scenario
    ]
    rows = [row for row in rows if "warm" not in row[0]]
    reference_job, _, reference_outcome = rows[0]
    assert reference_outcome == {**reference_outcome, "signal": None, "exit": 0}, Path(
        reference_job["log"]
    ).read_text(encoding="utf-8")[-2000:]
    after = files(Path(reference_job["root"]))
    assert after != before
    summary = {"killed": 0, "finished": 0, "temp files left": 0}
    problems = []
    for job, meta, outcome in rows[1:]:
        what = f"{scenario} killed {meta['how']}"
        killed_now = outcome["signal"] is not None
        summary["killed" if killed_now else "finished"] += 1
        try:
            # A child killed within its first milliseconds may not have opened its log.
            log_path = Path(job["log"])
            log = (
                log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
            )
            assert "Traceback" not in log, (what, log[-2000:])
            if killed_now or "inject" in job:
                assert outcome["signal"] == signal.SIGKILL, (what, outcome)
            else:
                assert outcome["exit"] == 0, (what, outcome, log[-1500:])
            root = Path(job["root"])
            summary["temp files left"] += assert_valid(root, before, after, what)
            assert_one_version(root, before, after, what)
            # Running the same command again completes the job (a new layer that was
            # written before the kill is "already there": --replace finishes the job).
            rerun = invoke(root, *job["args"])
            if rerun.exit_code == 1 and "已存在" in rerun.stderr and "--replace" not in job["args"]:
                summary["reruns needing --replace"] = summary.get("reruns needing --replace", 0) + 1
                rerun = invoke(root, *job["args"], "--replace")
            assert rerun.exit_code == 0, (what, "rerun", rerun.output[-1500:])
            assert_same_as(root, after, what)
        except AssertionError as exc:
            problems.append(f"{what}: {str(exc)[:600]}")
    summary["problems"] = len(problems)
    summary["seconds per run"] = round(reference_outcome["elapsed"], 2)
    FIGURES[scenario] = summary
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------
# The real command line, killed from outside


def kill_on(proc: subprocess.Popen[bytes], marker: bytes, delay: float) -> dict[str, Any]:
    """SIGKILL ``proc`` ``delay`` s after ``marker`` shows on its stderr."""
    assert proc.stderr is not None
    deadline = time.monotonic() + 180
    seen = b""
    try:
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            seen += line
            if marker in line:
                time.sleep(delay)
                proc.send_signal(signal.SIGKILL)
                break
            if not line and proc.poll() is not None:
                break
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    return {"returncode": proc.returncode, "stderr": seen.decode("utf-8", "replace")}


def test_sigkill_of_the_real_command_line(tmp_path: Path) -> None:
    origin = base(tmp_path)
    src = points_csv(tmp_path / "points.csv", 300)
    before = files(origin)
    plans = [
        ("render", ["render", "--force"], "→ maps/".encode(), 0.0),
        ("render", ["render", "--force"], "→ maps/".encode(), 0.05),
        ("add", ["add", str(src), "--name", "houses", "--replace"], "读取".encode(), 0.05),
        ("add", ["add", str(src), "--name", "houses", "--replace"], "读取".encode(), 0.2),
    ]
    refs: dict[str, dict[str, bytes]] = {}
    for scenario, args, _, _ in plans:
        if scenario not in refs:
            ref = tmp_path / f"ref-{scenario}"
            shutil.copytree(origin, ref)
            assert invoke(ref, *args).exit_code == 0
            refs[scenario] = files(ref)
    roots = []
    procs = []
    for i, (_, args, _, _) in enumerate(plans):
        root = tmp_path / f"kill-{i}"
        shutil.copytree(origin, root)
        roots.append(root)
        procs.append(
            subprocess.Popen(
                cli_cmd(root, *args),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=env(tmp_path),
                cwd=tmp_path,
            )
        )
    with ThreadPoolExecutor(len(procs)) as pool:
        outcomes = list(pool.map(kill_on, procs, [p[2] for p in plans], [p[3] for p in plans]))
    killed = 0
    for (scenario, args, _, delay), root, outcome in zip(plans, roots, outcomes, strict=True):
        what = f"{scenario} killed {delay} s after its first progress line"
        assert "Traceback" not in outcome["stderr"], what
        assert outcome["returncode"] in (0, -signal.SIGKILL), (what, outcome)
        killed += outcome["returncode"] == -signal.SIGKILL
        assert_valid(root, before, refs[scenario], what)
        assert_one_version(root, before, refs[scenario], what)
        assert invoke(root, *args).exit_code == 0
        assert_same_as(root, refs[scenario], what)
    assert killed >= 2, outcomes
    FIGURES["real command line"] = {"runs": len(plans), "killed": killed}


# ---------------------------------------------------------------------------------------
# Two writers


def test_add_waits_for_the_atlas_lock(tmp_path: Path) -> None:
    """While another command holds the atlas lock, `geomap add` waits, writes nothing, and
    completes once the lock is released."""
    root = sample_atlas.build(tmp_path / "atlas")
    src = points_csv(tmp_path / "points.csv", 50)
    atlas = Atlas(root)
    with atlas.lock():
        proc = subprocess.Popen(
            cli_cmd(root, "add", str(src), "--name", "waiting"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env(tmp_path),
            cwd=tmp_path,
        )
        assert proc.stderr is not None
        line = proc.stderr.readline()  # "读取 (reading) …": the source is being read
        assert "读取".encode() in line, line
        time.sleep(1.5)  # reading 50 points takes a fraction of that
        assert proc.poll() is None, "add did not wait for the lock"
        assert not (root / "layers" / "waiting.geojson").exists()
        assert not (root / "layers" / "waiting.toml").exists()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert "waiting" in atlas.layer_names()
    assert invoke(root, "check").exit_code == 0
    # A command that was not killed leaves nothing in its temp folder.
    assert list((tmp_path / "tmp").iterdir()) == []


def test_two_adds_at_once_never_corrupt(killed: dict[str, Any]) -> None:
    """Pairs of `geomap add` started together (forked by the server side by side): the same
    new name, the same name with --replace, and two names added to one map."""
    tmp, origin, (a, b) = (
        killed["pairs"]["tmp"],
        killed["pairs"]["origin"],
        killed["pairs"]["sources"],
    )
    roots, outcomes = killed["pairs"]["roots"], killed["pairs"]["outcomes"]
    singles = {}
    for source, name in ((a, "one"), (b, "two")):
        ref = tmp / f"ref-{name}"
        shutil.copytree(origin, ref)
        assert invoke(ref, "add", str(source), "--name", "twin").exit_code == 0
        singles[name] = (ref / "layers" / "twin.geojson").read_bytes()
    for (label, root), pair in zip(roots, outcomes, strict=True):
        logs = [Path(f"{root}.{i}.log").read_text(encoding="utf-8") for i in (1, 2)]
        for log, outcome in zip(logs, pair, strict=True):
            assert "Traceback" not in log, (label, log)
            assert outcome["signal"] is None and outcome["exit"] in (0, 1), (label, outcome)
            if outcome["exit"] == 1:
                assert "错误 (error)" in log and "已存在" in log, (label, log)
        exits = sorted(o["exit"] for o in pair)
        assert invoke(root, "check").exit_code == 0, (label, invoke(root, "check").output)
        assert invoke(root, "layers", "--json").exit_code == 0
        if label == "same new name":
            assert exits == [0, 1], (label, pair)
            data = (root / "layers" / "twin.geojson").read_bytes()
            assert data in singles.values()
        elif label == "same name, --replace":
            assert exits == [0, 0], (label, pair)
            history = sorted((root / "layers" / ".history").iterdir())
            assert len(history) == 4  # each replace archived the pair it replaced
        else:
            assert exits == [0, 0], (label, pair)
            spec = tomllib.loads((root / "maps" / "minimal.toml").read_text(encoding="utf-8"))
            assert {"left", "right"} <= {layer["layer"] for layer in spec["layers"]}
        assert not [p for p in (root / "layers").iterdir() if is_temp(p.name)]
    FIGURES["concurrent adds"] = {"pairs": len(roots)}


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    yield
    target = os.environ.get("GEOMAP_FAULTS_REPORT")
    if target:
        Path(target).write_text(json.dumps(FIGURES, ensure_ascii=False, indent=1), "utf-8")
