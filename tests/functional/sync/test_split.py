"""Streams split at the tail: an idle connection fetches the back half of the slowest stream
(a whole file, or a chunk of a ranged one) as a byte range into the same temp, and the file is
still verified as a whole.

Most files stream from nginx's slow port (2 MiB/s per connection), so a stream is still running
when the other connection runs out of work."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from podkit._http import RetryPolicy
from podkit.config.models import ModelSource
from podkit.worker.transfer import Progress, SyncOptions, SyncReport, sync_models
from tests.functional.sync.faultproxy import Fault, FaultProxy
from tests.functional.sync.testbed import Nginx, write_hf_repo

MiB = 1024 * 1024
OPTIONS = SyncOptions(
    connections=2,
    fsync=False,
    progress_interval=0.0,
    retry=RetryPolicy(attempts=6, base_delay=0.01, max_delay=0.2),
)
LEFTOVERS = (".incomplete", ".journal", ".podkit-lease", ".w")


def _repo(nginx: Nginx, name: str, model: int, seed: int) -> dict[str, bytes]:
    """A model file that streams whole (under the range threshold) and a 1 MiB one beside it,
    which ends first and leaves its connection idle."""
    files = {
        "model.safetensors": hashlib.shake_256(b"model%d" % seed).digest(model),
        "tokenizer.json": hashlib.shake_256(b"tokenizer%d" % seed).digest(MiB),
    }
    write_hf_repo(nginx.www, name, files)
    return files


def _ranges(nginx: Nginx, name: str) -> list[str]:
    """The Range headers of the model file's requests on the slow port, in the order they
    ended: the stream from byte 0 (`bytes=0-<last>`) and the tails cut from it."""
    lines = [line for line in nginx.log_lines() if f"/hf/{name}/resolve/" in line]
    return [
        line.rsplit('"', 2)[1]
        for line in lines
        if line.startswith(f"{nginx.ports.slow} ") and "model.safetensors" in line
    ]


def _same(volume: Path, files: dict[str, bytes]) -> bool:
    return all((volume / path).read_bytes() == data for path, data in files.items())


def _leftovers(root: Path) -> list[str]:
    return [p.name for p in root.rglob(".*") if p.name.endswith(LEFTOVERS)]


@pytest.fixture
def slow_proxy(sync_nginx: Nginx) -> Iterator[FaultProxy]:
    proxy = FaultProxy("127.0.0.1", sync_nginx.ports.slow).start()
    yield proxy
    proxy.stop()


def _sync_with_tail_fault(proxy: FaultProxy, volume: Path, repo: str, fault: Fault) -> SyncReport:
    """Sync `repo` through the proxy: the model's first request (its stream from byte 0)
    passes, the next one (the first tail) gets `fault`."""
    proxy.add(
        Fault("delay", seconds=0.0, match="model.safetensors"),
        replace(fault, match="model.safetensors"),
    )
    entry = ModelSource(source=f"hf://{repo}", destination="m")
    return sync_models([entry], volume, options=OPTIONS, env={"HF_ENDPOINT": f"{proxy.url}/hf"})


def test_an_idle_connection_takes_the_back_half_of_a_slow_stream(
    sync_nginx: Nginx, volume: Path
) -> None:
    files = _repo(sync_nginx, "split/plain", model=8 * MiB, seed=1)
    seen: list[Progress] = []
    entry = ModelSource(source="hf://split/plain", destination="m")
    env = {"HF_ENDPOINT": f"{sync_nginx.slow_url}/hf"}
    report = sync_models([entry], volume, options=OPTIONS, progress=seen.append, env=env)
    assert report.status == "ok", report.message
    assert _same(volume / "m", files)  # the sha256 of the whole file, read back across the cut
    ranges = _ranges(sync_nginx, "split/plain")
    head = f"bytes=0-{8 * MiB - 1}"
    assert ranges.count(head) == 1 and len(ranges) >= 2  # then the tails' byte ranges
    assert any(r != head and r.endswith(f"-{8 * MiB - 1}") for r in ranges)
    total = sum(len(d) for d in files.values())
    assert max(p.bytes_done for p in seen) <= total == seen[-1].bytes_done
    assert _leftovers(volume) == []


def test_a_flipped_byte_in_a_tail_fails_the_sha256_and_the_file_is_fetched_again(
    sync_nginx: Nginx, slow_proxy: FaultProxy, volume: Path
) -> None:
    files = _repo(sync_nginx, "split/flip", model=6 * MiB, seed=2)
    report = _sync_with_tail_fault(
        slow_proxy, volume, "split/flip", Fault("flip", after_bytes=1000)
    )
    assert report.status == "ok", report.message
    assert slow_proxy.stats.applied == ["delay", "flip"]
    assert _same(volume / "m", files)
    assert report.entries[0].bytes_fetched == 2 * len(files["model.safetensors"]) + MiB  # again
    assert _leftovers(volume) == []


def test_a_tail_cut_off_mid_body_resumes_where_it_stopped(
    sync_nginx: Nginx, slow_proxy: FaultProxy, volume: Path
) -> None:
    files = _repo(sync_nginx, "split/reset", model=8 * MiB, seed=3)
    fault = Fault("reset", after_bytes=300_000)
    report = _sync_with_tail_fault(slow_proxy, volume, "split/reset", fault)
    assert report.status == "ok", report.message
    assert slow_proxy.stats.applied == ["delay", "reset"]
    assert _same(volume / "m", files)
    # The tail's requests (to the last byte): its retry asked for the rest, past the bytes it
    # had written, not for its start again.
    ranges = _ranges(sync_nginx, "split/reset")
    starts = [int(r[6:].split("-")[0]) for r in ranges if r.endswith(f"-{8 * MiB - 1}")]
    tail = [start for start in starts if start > 0]
    assert len(tail) >= 2 and tail.count(min(tail)) == 1


def test_the_deadline_stops_every_part_of_a_split_file_and_leaves_nothing(
    sync_nginx: Nginx, volume: Path
) -> None:
    _repo(sync_nginx, "split/deadline", model=8 * MiB, seed=4)
    entry = ModelSource(source="hf://split/deadline", destination="m")
    options = replace(OPTIONS, deadline=time.monotonic() + 1.5)
    env = {"HF_ENDPOINT": f"{sync_nginx.slow_url}/hf"}
    report = sync_models([entry], volume, options=options, env=env)
    assert report.status == "partial", report.message
    assert len(_ranges(sync_nginx, "split/deadline")) >= 2  # it had been split
    assert not (volume / "m/model.safetensors").exists()
    assert (volume / "m/tokenizer.json").exists()
    assert _leftovers(volume) == []


def test_the_last_file_is_cut_into_many_parts_and_still_verified_whole(
    sync_nginx: Nginx, volume: Path
) -> None:
    # Five 32 MiB files on four connections (40 MiB/s each): the fifth starts alone when the
    # first four end, and the three idle connections cut it again and again.
    files = {
        f"model-{i}.safetensors": hashlib.shake_256(b"many%d" % i).digest(32 * MiB)
        for i in range(5)
    }
    write_hf_repo(sync_nginx.www, "split/many", files)
    entry = ModelSource(source="hf://split/many", destination="m")
    options = replace(OPTIONS, connections=4)
    env = {"HF_ENDPOINT": f"{sync_nginx.throttled_url}/hf"}
    report = sync_models([entry], volume, options=options, env=env)
    assert report.status == "ok", report.message
    assert _same(volume / "m", files)
    lines = [line for line in sync_nginx.log_lines() if "/hf/split/many/resolve/" in line]
    tails = [line for line in lines if '"bytes=' in line and '"bytes=0-' not in line]
    assert len(tails) >= 2  # three parts or more, read back into the sha256 in file order
    assert len(lines) - len(tails) == 5
    assert report.entries[0].bytes_fetched == 5 * 32 * MiB


def test_a_slow_chunk_of_a_ranged_file_is_split_for_the_idle_connection(
    sync_nginx: Nginx, fault_proxy: FaultProxy, volume: Path
) -> None:
    # Four 12 MiB chunks on two connections; one comes at 5 MiB/s, the rest at full speed: the
    # other connection ends its three and takes the slow one's back half, again and again.
    data = hashlib.shake_256(b"ranged").digest(48 * MiB)
    write_hf_repo(sync_nginx.www, "split/ranged", {"model.safetensors": data})
    fault_proxy.add(Fault("slow", match="model.safetensors", seconds=0.05))
    entry = ModelSource(source="hf://split/ranged", destination="m")
    env = {"HF_ENDPOINT": f"{fault_proxy.url}/hf"}
    report = sync_models([entry], volume, options=OPTIONS, env=env)
    assert report.status == "ok", report.message
    assert fault_proxy.stats.applied == ["slow"]
    assert (volume / "m/model.safetensors").read_bytes() == data
    lines = [line for line in sync_nginx.log_lines() if "/hf/split/ranged/resolve/" in line]
    starts = [int(line.rsplit('"bytes=', 1)[1].split("-")[0]) for line in lines]
    # Whichever chunk's request came first was the slow one; it is logged only once the proxy
    # notices that it was cut off, the others' as they end.
    assert len({s for s in starts if s % (12 * MiB) == 0}) >= 3
    assert any(s % (12 * MiB) for s in starts)  # the slow chunk's back half, fetched apart
    assert report.entries[0].bytes_fetched == 48 * MiB
    assert _leftovers(volume) == []
