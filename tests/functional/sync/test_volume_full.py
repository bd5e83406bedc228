"""A volume that runs out of room: on a small tmpfs (mounting one needs root; the tests skip
without it), a download that fills it fails in words and leaves nothing of itself behind, and
a download stopped part way needs only the room of what it has still to fetch."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from podkit.config.models import ModelSource
from podkit.worker.transfer import sync_models
from tests.functional.sync.faultproxy import FaultProxy
from tests.functional.sync.test_reliability import LEFTOVERS, OPTIONS, _leftovers
from tests.functional.sync.test_split import HOUR, clock_past_deadline_once
from tests.functional.sync.testbed import Nginx

MiB = 1024 * 1024
Mount = Callable[[str], Path]
ANY_ROOM = 1 << 40


@pytest.fixture
def small_volume(tmp_path: Path) -> Iterator[Mount]:
    """Mount a tmpfs with the given options (`size=20m`) under tmp_path; unmounted after."""
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        target = tmp_path / f"volume{len(mounted)}"
        target.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(target)
        return target

    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    yield mount
    for target in mounted:
        subprocess.run(["umount", str(target)], check=False)


def test_a_stopped_download_needs_room_only_for_what_it_has_left(
    sync_nginx: Nginx, fault_proxy: FaultProxy, small_volume: Mount
) -> None:
    data = os.urandom(16 * MiB)
    (sync_nginx.www / "roomy.bin").write_bytes(data)
    volume = small_volume("size=20m")
    entry = ModelSource(source=f"{fault_proxy.url}/roomy.bin", destination="m")
    # The deadline passes when the eighth request arrives: at least five 1 MiB chunks are
    # journaled by then, so the 20 MiB volume has less free than the whole 16 MiB file.
    clock = clock_past_deadline_once(lambda: len(fault_proxy.seen_for("roomy.bin")) >= 8)
    options = replace(OPTIONS, connections=2, space_margin=0)
    first = sync_models(
        [entry],
        volume,
        options=replace(options, clock=clock, deadline=time.monotonic() + HOUR / 2),
        env={},
    )
    assert first.status == "partial", first.message
    fault_proxy.reset()
    second = sync_models([entry], volume, options=options, env={})
    assert second.status == "ok", second.message
    assert second.entries[0].resumed_bytes >= 5 * MiB
    assert (volume / "m/roomy.bin").read_bytes() == data
    assert _leftovers(volume) == []


@pytest.mark.parametrize(
    "room",
    [
        "size=8m,nr_inodes=5",  # no inode for the chunk journal's next save
        "size=8m,nr_inodes=4",  # no inode for the journal at all
        "size=1m",  # no room for the chunks
    ],
)
def test_a_full_volume_fails_the_file_in_words_and_leaves_none_of_its_parts(
    sync_nginx: Nginx, small_volume: Mount, room: str
) -> None:
    data = os.urandom(2 * MiB)
    (sync_nginx.www / "full.bin").write_bytes(data)
    volume = small_volume(room)
    entry = ModelSource(source=f"{sync_nginx.url}/full.bin", destination="m")
    options = replace(OPTIONS, connections=2, chunk_size=256 * 1024, range_threshold=256 * 1024)
    # The preflight passes whatever the volume holds: the room runs out while writing.
    report = sync_models([entry], volume, options=replace(options, space_margin=-ANY_ROOM), env={})
    assert report.status == "failed"
    (why,) = report.entries[0].failed.values()
    assert "No space left on device" in why and "free space on the volume" in why
    assert not (volume / "m/full.bin").exists()
    left = [p.name for p in (volume / "m").iterdir() if p.name.endswith(LEFTOVERS)]
    assert left == []
