"""Two `podkit apply` of one project and environment started together never duplicate.

Twenty trials drive the CLI's `main([...])` from two threads at once against one local
RunPod (ten in one directory, ten in two copies of the project), four more do so with
`--api v1`, and two more trials run real `podkit` processes. Every run must exit 0 (the
second waits for the deploy lock, then finds nothing to change) or fail with the lock
timeout's one line; the account must hold exactly one volume and one endpoint, and no lock
once both are done.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.deploy.helpers import write_config

TRIALS = 10  # per layout: one directory, two copies
V1_TRIALS = 4  # the same lock over REST v1 templates
APPLY = ["apply", "--yes", "--lock-timeout", "60s", "--config"]


def account_names(rp: LocalRunPod, key: str) -> dict[str, list[str]]:
    acc = rp.backend.account(key)
    tables = {"volume": acc.volumes, "template": acc.templates, "endpoint": acc.endpoints}
    return {kind: sorted(r["name"] for r in table.values()) for kind, table in tables.items()}


def projects(root: Path, layout: str) -> list[Path]:
    """The podkit.toml each of the two runs uses."""
    first = root / "a"
    first.mkdir(parents=True)
    write_config(first)
    if layout == "same":
        return [first / "podkit.toml"] * 2
    second = root / "b"
    shutil.copytree(first, second)
    return [first / "podkit.toml", second / "podkit.toml"]


def together(runs: list[Callable[[], int]]) -> list[int]:
    """Start the runs at the same moment; their exit codes."""
    start = threading.Barrier(len(runs))
    codes = [-1] * len(runs)

    def go(i: int) -> None:
        start.wait(timeout=30)
        codes[i] = runs[i]()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(runs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return codes


def check(rp: LocalRunPod, key: str, codes: list[int], trial: str) -> None:
    assert set(codes) <= {0, 1} and 0 in codes, f"{trial}: exit codes {codes}"
    found = account_names(rp, key)
    assert len(found["volume"]) == 1 and len(found["endpoint"]) == 1, f"{trial}: {found}"
    locks = [t for t in found["template"] if t.endswith("-deploy-lock")]
    assert locks == [], f"{trial}: the deploy lock was left behind"


# A safety net, never reached by a working lock: a wait that never ends fails here instead of
# at the suite's limit (os._exit, so no spinning apply thread keeps the run alive).
@pytest.mark.timeout(120, method="thread")
@pytest.mark.parametrize(("layout", "api"), [("same", "v2"), ("copies", "v2"), ("same", "v1")])
def test_two_applies_in_process(
    local_runpod: LocalRunPod,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    layout: str,
    api: str,
) -> None:
    monkeypatch.setenv("PODKIT_TARGET", local_runpod.url)
    waited, trials = 0, TRIALS if api == "v2" else V1_TRIALS
    for trial in range(trials):
        key = f"concurrent-{layout}-{api}-{trial}-{tmp_path.name}"
        monkeypatch.setenv("RUNPOD_API_KEY", key)
        configs = projects(tmp_path / str(trial), layout)
        codes = together([lambda c=c: main([*APPLY, str(c), "--api", api]) for c in configs])
        out = capsys.readouterr()
        check(local_runpod, key, codes, f"{layout} trial {trial}")
        if 1 in codes:  # allowed only as the lock timeout's one clear line
            assert "gave up after 60 s waiting for the deploy lock" in " ".join(out.err.split())
        waited += "waiting for the deploy lock of gpu-worker/default held by" in out.err
    print(f"{layout} {api}: {trials} trials, 0 duplicates, {waited} waited for the lock")
    assert waited, "no trial ever waited: the runs did not overlap"


@pytest.mark.parametrize("layout", ["same", "copies"])
def test_two_podkit_processes(local_runpod: LocalRunPod, tmp_path: Path, layout: str) -> None:
    key = f"processes-{layout}-{tmp_path.name}"
    env = {**os.environ, "PODKIT_TARGET": local_runpod.url, "RUNPOD_API_KEY": key}
    configs = projects(tmp_path, layout)

    def process(config: Path) -> Callable[[], int]:
        argv = [sys.executable, "-m", "podkit.cli.main", "apply", "--yes", "--config"]
        return lambda: (
            subprocess.run(
                [*argv, str(config), "--lock-timeout", "90s"],
                env=env,
                cwd=config.parent,
                capture_output=True,
                timeout=120,
                check=False,
            ).returncode
        )

    check(local_runpod, key, together([process(c) for c in configs]), f"{layout} processes")
