"""Every hostile path yields a clear job error and nothing from outside the roots."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.functional.worker.conftest import SECRET, WorkerSetup


def _assert_refused(body: dict[str, Any], *words: str) -> None:
    assert body["status"] == "FAILED", body
    error = body["error"]
    assert isinstance(error, str)
    for word in words:
        assert word in error, error
    text = json.dumps(body)
    assert "Traceback" not in text
    assert SECRET not in text
    assert "secret.txt" not in text
    assert "root:x:" not in text  # /etc/passwd content


HOSTILE = [
    ("/runpod-volume/../../etc", ["'..'"]),
    ("/runpod-volume/models/../../../etc/passwd", ["'..'"]),
    ("/etc", ["outside the allowed roots", "/runpod-volume"]),
    ("/proc/self/environ", ["outside the allowed roots"]),
    ("/runpod-volume-evil/models", ["outside the allowed roots"]),
    ("runpod-volume/models", ["must be absolute"]),
    ("", ["must be absolute"]),
    ("/runpod-volume/link_out_dir", ["symbolic link", "outside"]),
    ("/runpod-volume/link_out_dir/sub", ["symbolic link", "outside"]),
    ("/runpod-volume/link_out_file", ["symbolic link", "outside"]),
    ("/runpod-volume/link_etc", ["symbolic link", "outside"]),
    ("/runpod-volume/models/deep/a/b/c/link_up", ["symbolic link", "outside"]),
    ("/runpod-volume/models/deep/a/b/c/link_up/sub", ["symbolic link", "outside"]),
    ("/runpod-volume/loop", ["symbolic link"]),
    ("/runpod-volume/\x00etc", ["NUL byte"]),
    ("/runpod-volume/" + "a" * 300, ["over 255 bytes"]),
    ("/runpod-volume/" + "ab/" * 1500, ["too long"]),
    ("/runpod-volume/models/sd/unet.safetensors", ["is a file, not a directory"]),
    ("/runpod-volume/no/such/dir", ["does not exist"]),
]


@pytest.mark.parametrize(("path", "words"), HOSTILE, ids=[repr(p[0])[:40] for p in HOSTILE])
def test_hostile_path_is_refused(worker: WorkerSetup, path: str, words: list[str]) -> None:
    _assert_refused(worker.api.runsync({"action": "list_files", "path": path}), *words)


def test_root_that_links_outside_is_refused(worker: WorkerSetup) -> None:
    body = worker.api.runsync({"action": "list_files", "path": str(worker.link_root)})
    _assert_refused(body, "is a symbolic link that leads outside the allowed roots")


def test_root_that_links_into_another_root_is_served(worker: WorkerSetup) -> None:
    body = worker.api.runsync({"action": "list_files", "path": str(worker.alias_root)})
    assert body["status"] == "COMPLETED", body
    names = {d["name"] for d in body["output"]["directories"]}
    assert names == {"sd", "llm", "deep"}


@pytest.mark.parametrize("bad", [5, None, ["/runpod-volume"], {"p": 1}, True])
def test_non_string_path_names_the_field(worker: WorkerSetup, bad: Any) -> None:
    body = worker.api.runsync({"action": "list_files", "path": bad})
    _assert_refused(body, "field 'path'", "list_files accepts: path")


def test_link_swapped_in_after_listing_is_still_refused(worker: WorkerSetup) -> None:
    victim = worker.volume / "swap"
    victim.mkdir()
    try:
        ok = worker.api.runsync({"action": "list_files", "path": "/runpod-volume/swap"})
        assert ok["status"] == "COMPLETED"
        victim.rmdir()
        victim.symlink_to(worker.outside)
        body = worker.api.runsync({"action": "list_files", "path": "/runpod-volume/swap"})
        _assert_refused(body, "symbolic link", "outside")
    finally:
        victim.unlink() if victim.is_symlink() else victim.rmdir()


def test_recursive_listing_shows_links_without_following_them(worker: WorkerSetup) -> None:
    body = worker.api.runsync({"action": "list_files", "path": "/runpod-volume", "recursive": True})
    assert body["status"] == "COMPLETED", body
    out = body["output"]
    links = {f["path"]: f for f in out["files"] if f["type"] == "symlink"}
    assert set(links) >= {
        "/runpod-volume/link_out_dir",
        "/runpod-volume/link_out_file",
        "/runpod-volume/link_etc",
        "/runpod-volume/loop",
        "/runpod-volume/models/deep/a/b/c/link_up",
    }
    every_path = [e["path"] for e in out["files"] + out["directories"]]
    assert all(p.startswith("/runpod-volume/") for p in every_path)
    assert SECRET not in json.dumps(body)
    assert not any("secret.txt" in p or p.endswith("/sub") for p in every_path)
    assert "/runpod-volume/models/sd/unet.safetensors" in every_path


def test_special_files_are_named_as_such_and_never_opened(worker: WorkerSetup) -> None:
    special = worker.workspace / "special"
    special.mkdir()
    os.mkfifo(special / "fifo")
    listed = worker.api.runsync({"action": "list_files", "path": str(special)})
    assert listed["output"]["files"][0]["type"] == "other"
    body = worker.api.runsync({"action": "list_files", "path": str(special / "fifo")})
    _assert_refused(body, "is a special file (a FIFO, socket or device), not a directory")
