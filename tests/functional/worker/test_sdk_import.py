"""The worker imports the SDK without py-cpuinfo's probe, and user modules still get the real
py-cpuinfo afterwards."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.worker.sdk import FIXTURES, run_test_input, worker_env

pytestmark = pytest.mark.skipif(
    platform.machine() not in {"x86_64", "AMD64"}, reason="py-cpuinfo reports flags on x86 only"
)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    volume = tmp_path / "vol"
    volume.mkdir(exist_ok=True)
    path = f"{FIXTURES / 'user_actions'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    env = worker_env(tmp_path, {"PODKIT_VOLUME_DIR": str(volume), "PYTHONPATH": path, **extra})
    env.pop("PODKIT_SKIP_CPUINFO")  # the default
    return env


def test_a_user_module_imported_after_the_sdk_gets_the_real_cpuinfo(tmp_path: Path) -> None:
    shot = run_test_input({"action": "cpu_flags"}, _env(tmp_path), "--actions", "cpu_flags_actions")
    assert shot.returncode == 0, shot.log
    assert shot.result is not None
    output = shot.result["output"]
    assert output["has_json_api"] is True
    assert output["flags"] > 0  # the real probe ran for the user's module


def test_the_opt_out_keeps_the_sdk_probe(tmp_path: Path) -> None:
    env = _env(tmp_path, PODKIT_SKIP_CPUINFO="false")
    shot = run_test_input({"action": "cpu_flags"}, env, "--actions", "cpu_flags_actions")
    assert shot.returncode == 0, shot.log
    assert shot.result is not None and shot.result["output"]["flags"] > 0


PROBE_COUNT = """\
import sys
spawned = []

def hook(event, args):
    if event == "subprocess.Popen" and "cpuinfo" in str(args[1]):  # the probe re-runs cpuinfo.py
        spawned.append(args[1])
sys.addaudithook(hook)
from podkit.worker.sdk_import import import_runpod
import_runpod()
import cpuinfo
print(len(spawned), callable(getattr(cpuinfo, "get_cpu_info_json", None)))
"""


@pytest.mark.parametrize(("setting", "spawns"), [(None, False), ("false", True)])
def test_import_runpod_spawns_the_probe_only_when_opted_out(
    tmp_path: Path, setting: str | None, spawns: bool
) -> None:
    env = _env(tmp_path)
    if setting is not None:
        env["PODKIT_SKIP_CPUINFO"] = setting
    done = subprocess.run(
        [sys.executable, "-c", PROBE_COUNT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    count, has_api = done.stdout.split()
    assert (int(count) > 0) is spawns
    assert has_api == "True"
