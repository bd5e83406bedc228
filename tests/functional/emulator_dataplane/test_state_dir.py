"""One `--state-dir`, one local RunPod; a full disk is answered in words and loses nothing.

The full disk of the job database is SQLite's own `max_page_count` on the running store; the
full disk of `state.json` is a directory where its temporary file goes. Both are lifted again
to show that the refused request left nothing behind and the next one goes through.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from podkit.emulator.server import LocalRunPod
from podkit.errors import EmulatorError
from tests.functional.emulator_dataplane.conftest import FAST
from tests.functional.emulator_dataplane.harness import serve_dataplane, wait_until

HEADERS = {"Authorization": "Bearer state-dir-key"}


def test_a_second_local_runpod_on_the_same_state_dir_is_refused(tmp_path: Path) -> None:
    with (
        LocalRunPod(state_dir=tmp_path) as first,
        httpx.Client(base_url=first.url, headers=HEADERS) as api,
    ):
        api.post("/v1/templates", json={"name": "kept", "imageName": "i"}).raise_for_status()
        with pytest.raises(EmulatorError) as refused:
            LocalRunPod(state_dir=tmp_path)
        assert refused.value.message.startswith(
            f"--state-dir {tmp_path} is in use by another local RunPod"
        )
        assert "another --state-dir" in (refused.value.hint or "")
        assert [t["name"] for t in api.get("/v1/templates").json()] == ["kept"]

    with (
        LocalRunPod(state_dir=tmp_path) as again,
        httpx.Client(base_url=again.url, headers=HEADERS) as api,
    ):
        assert [t["name"] for t in api.get("/v1/templates").json()] == ["kept"]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ({"format": 2, "accounts": []}, "holds a snapshot in format 2; this podkit reads format 1"),
        ([1, 2], "holds a snapshot in format None"),
        (None, "cannot read it"),  # a directory where the file should be
    ],
)
def test_a_snapshot_this_podkit_cannot_read_is_refused_and_frees_the_dir(
    tmp_path: Path, content: Any, says: str
) -> None:
    snapshot = tmp_path / "state.json"
    if content is None:
        snapshot.mkdir()
    else:
        snapshot.write_text(json.dumps(content))

    with pytest.raises(EmulatorError) as refused:
        LocalRunPod(state_dir=tmp_path)
    assert refused.value.message.startswith(str(snapshot))
    assert says in refused.value.message
    assert refused.value.hint == "move the file away or pick another --state-dir"

    (snapshot.rmdir if content is None else snapshot.unlink)()
    LocalRunPod(state_dir=tmp_path).stop()  # the refused start left no lock behind


def test_a_full_job_database_refuses_new_jobs_in_words_then_takes_them(tmp_path: Path) -> None:
    with serve_dataplane(tmp_path, settings=FAST) as served, served.client() as api:
        served.endpoint("disk")
        db = served.plane.store._db
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        db.execute(f"PRAGMA max_page_count = {pages}")
        big = {"input": {"echo": "x" * 200_000}}

        refused = api.post("/v2/disk/run", json=big)
        assert refused.status_code == 503
        assert "jobs.sqlite3" in refused.json()["error"]
        assert "free space" in refused.json()["error"]
        assert api.get("/v2/disk/health").json()["jobs"]["inQueue"] == 0

        db.execute("PRAGMA max_page_count = 1073741823")
        job_id = api.post("/v2/disk/run", json=big).raise_for_status().json()["id"]

        def done() -> dict[str, Any] | None:
            body: dict[str, Any] = api.get(f"/v2/disk/status/{job_id}").json()
            return body if body["status"] == "COMPLETED" else None

        assert wait_until(done, timeout=90)["output"]["echo"] == big["input"]["echo"]
        assert api.get("/v2/disk/health").json()["jobs"]["completed"] == 1


def test_a_snapshot_the_disk_refuses_changes_nothing_and_says_so(tmp_path: Path) -> None:
    with (
        LocalRunPod(state_dir=tmp_path) as rp,
        httpx.Client(base_url=rp.url, headers=HEADERS) as api,
    ):
        api.post("/v1/templates", json={"name": "before", "imageName": "i"}).raise_for_status()
        blocker = tmp_path / "state.json.incomplete"
        blocker.mkdir()

        refused = api.post("/v1/templates", json={"name": "lost", "imageName": "i"})
        assert refused.status_code == 503
        assert "state.json" in refused.text and "nothing was changed" in refused.text
        assert [t["name"] for t in api.get("/v1/templates").json()] == ["before"]

        blocker.rmdir()
        api.post("/v1/templates", json={"name": "lost", "imageName": "i"}).raise_for_status()
    with (
        LocalRunPod(state_dir=tmp_path) as again,
        httpx.Client(base_url=again.url, headers=HEADERS) as api,
    ):
        assert sorted(t["name"] for t in api.get("/v1/templates").json()) == ["before", "lost"]
