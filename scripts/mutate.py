"""Mutation testing with mutmut, one module at a time: `python scripts/mutate.py MODULE`.

Each module is mutated against the tests that exercise it in-process (mutants live only in
the pytest process; code run in a subprocess, such as an SDK worker, never sees them). Every
module runs in its own work directory `build/mutate/<module>/` (a copy of pyproject.toml whose
[tool.mutmut] table names that module and its tests, plus links to src/ and tests/), so runs
never share mutmut's caches and one module can be rerun alone.

Prints mutmut's summary and writes `build/mutate/<module>/results.txt` (one line per mutant:
name and status). `python scripts/mutate.py --list` names the modules.

`--recheck MODULE` replays that module's surviving mutants one by one against the current
tests (each mutant patched into a scratch copy of src/, which goes first on PYTHONPATH), to
show which survivors newer tests kill without mutating the whole module again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "mutate"

# module -> (source file, tests that run it in-process)
MODULES: dict[str, tuple[str, list[str]]] = {
    "planner": (
        "src/podkit/deploy/planner.py",
        ["tests/unit/deploy/test_planner.py", "tests/unit/deploy/test_planner_rules.py",
         "tests/unit/deploy/test_planner_properties.py"],
    ),
    "executor": (
        "src/podkit/deploy/executor.py",
        ["tests/unit/deploy/test_executor_readback.py",
         "tests/functional/deploy/test_executor_edges.py",
         "tests/functional/deploy/test_deploy_local.py"],
    ),
    "paths": (
        "src/podkit/worker/paths.py",
        ["tests/unit/worker/test_paths_text.py", "tests/unit/worker/test_paths_limits.py",
         "tests/functional/worker/test_paths_race.py",
         "tests/functional/worker/test_paths_roots.py"],
    ),
    "verify": (
        "src/podkit/worker/transfer/verify.py",
        ["tests/unit/worker/transfer/test_checksums.py",
         "tests/unit/worker/transfer/test_verify_plan.py",
         "tests/functional/sync/test_readback.py", "tests/functional/sync/test_prefix_hasher.py",
         "tests/functional/sync/test_s3_corruption.py"],
    ),
    "journal": (
        "src/podkit/worker/transfer/journal.py",
        ["tests/functional/sync/test_journal.py", "tests/functional/sync/test_lease.py"],
    ),
    "lock": (
        "src/podkit/deploy/lock.py",
        ["tests/functional/deploy/test_lock.py", "tests/functional/deploy/test_lock_edges.py",
         "tests/functional/deploy/test_concurrent_applies.py"],
    ),
    "http": (
        "src/podkit/_http.py",
        ["tests/unit/test_http_retry.py", "tests/unit/test_http_policy.py",
         "tests/functional/test_http_dropped_connection.py"],
    ),
    "store": (
        "src/podkit/emulator/dataplane/store.py",
        ["tests/unit/emulator_dataplane/test_backend.py",
         "tests/functional/emulator_dataplane/test_job_store.py"],
    ),
    "redact": (
        "src/podkit/redact.py",
        ["tests/unit/test_redact.py", "tests/unit/config/test_models_schema.py",
         "tests/unit/runpod/test_jobs_client.py"],
    ),
    "secret_shapes": (
        "src/podkit/secret_shapes.py",
        ["tests/unit/test_secret_shapes.py", "tests/unit/test_redact.py",
         "tests/unit/deploy/test_sensitive.py"],
    ),
}  # fmt: skip


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _pyproject(module: str) -> str:
    """The repository's pyproject.toml with [tool.mutmut] narrowed to one module."""
    text = (ROOT / "pyproject.toml").read_text()
    shared = tomllib.loads(text)["tool"]["mutmut"]
    source, tests = MODULES[module]
    table = dict(shared) | {
        "only_mutate": [source],
        "pytest_add_cli_args_test_selection": [t for t in tests if (ROOT / t).exists()],
    }
    start = text.index("[tool.mutmut]")
    end = text.find("\n[", start + 1)
    body = "\n".join(f"{key} = {_toml_value(value)}" for key, value in table.items())
    rest = "" if end == -1 else text[end:]
    return text[:start] + "[tool.mutmut]\n" + body + "\n" + rest


def _prepare(module: str, *, fresh: bool) -> Path:
    """The module's work directory; an earlier run's results are kept (mutmut resumes)
    unless `fresh`."""
    work = WORK / module
    if fresh:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    (work / "pyproject.toml").write_text(_pyproject(module))
    for name in ("src", "tests"):
        if not (work / name).is_symlink():
            (work / name).symlink_to(ROOT / name)
    return work


def _mutmut(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).parent / "mutmut"
    # Fewer generated examples per property: every surviving mutant runs them all.
    env = os.environ | {"PYTHONPATH": str(work), "PODKIT_PROPERTY_EXAMPLES": "100"}
    return subprocess.run(
        [str(binary), *args], cwd=work, env=env, text=True, capture_output=True, check=False
    )


def run(module: str, *, fresh: bool = False) -> int:
    work = _prepare(module, fresh=fresh)
    print(f"mutating {MODULES[module][0]} in {work.relative_to(ROOT)}", flush=True)
    done = _mutmut(work, "run", "--max-children", os.environ.get("MUTATE_JOBS", "1"))
    (work / "run.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        print(done.stdout[-4000:], done.stderr[-4000:], sep="\n")
        return done.returncode
    results = _mutmut(work, "results", "--all", "true")
    (work / "results.txt").write_text(results.stdout)
    statuses = [
        line.rsplit(":", 1)[-1].strip() for line in results.stdout.splitlines() if ":" in line
    ]
    killed = statuses.count("killed")
    total = len([s for s in statuses if s != "not checked"])
    score = 100.0 * killed / total if total else 0.0
    print(f"{module}: {killed} of {total} mutants killed ({score:.1f} %)")
    for line in results.stdout.splitlines():
        if ":" in line and not line.rstrip().endswith("killed"):
            print("  " + line.strip())
    return 0


def _survivors(module: str) -> list[str]:
    results = _mutmut(WORK / module, "results").stdout.splitlines()
    return [line.split(":")[0].strip() for line in results if line.rstrip().endswith("survived")]


def recheck(module: str) -> int:
    """Replay each survivor of the last run against the current tests; print the verdicts."""
    work, tests = WORK / module, MODULES[module][1]
    tests = [t for t in tests if (ROOT / t).exists()]
    still = []
    for name in _survivors(module):
        diff = _mutmut(work, "show", name).stdout
        with tempfile.TemporaryDirectory() as scratch:
            shutil.copytree(ROOT / "src", Path(scratch) / "src")
            patched = subprocess.run(
                ["patch", "-p0", "--quiet", "--no-backup-if-mismatch"],
                cwd=scratch, input=diff, text=True, capture_output=True, check=False,
            )  # fmt: skip
            if patched.returncode != 0:
                print(f"{name}: cannot replay ({patched.stdout.strip()})")
                continue
            env = os.environ | {"PYTHONPATH": f"{scratch}/src", "PODKIT_PROPERTY_EXAMPLES": "100"}
            ran = subprocess.run(
                [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                cwd=ROOT, env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
        verdict = "killed" if ran.returncode == 1 else f"survived (pytest {ran.returncode})"
        if ran.returncode != 1:
            still.append(name)
        print(f"{name}: {verdict}", flush=True)
    print(f"{module}: {len(still)} survivor(s) left")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="modules to mutate, one after another")
    parser.add_argument("--list", action="store_true", help="name the modules and exit")
    parser.add_argument("--recheck", action="store_true", help="replay the last run's survivors")
    parser.add_argument("--fresh", action="store_true", help="forget earlier results first")
    args = parser.parse_args()
    if args.list or not args.modules:
        for name, (source, _) in MODULES.items():
            print(f"{name:10} {source}")
        return 0
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; --list names them")
    if args.recheck:
        return max(recheck(module) for module in args.modules)
    return max(run(module, fresh=args.fresh) for module in args.modules)


if __name__ == "__main__":
    sys.exit(main())
