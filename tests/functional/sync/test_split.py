"""Streams split at the tail: an idle connection fetches the back part of the slowest stream
(a whole file, or a chunk of a ranged one) as a byte range into the same temp, and the file is
still verified as a whole.

The stream to split comes through the fault proxy, which holds it after its first MiB until
a request for bytes inside it arrives: it is still running when another connection runs out of
work, however fast or busy the machine is, and the split is the only way it goes on."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from podkit._http import RetryPolicy
from podkit.config.models import ModelSource
from podkit.worker.transfer import Progress, SyncOptions, SyncReport, sync_models
from tests.functional.sync.faultproxy import Fault, FaultProxy, Seen
from tests.functional.sync.testbed import Nginx, write_hf_repo

MiB = 1024 * 1024
OPTIONS = SyncOptions(
    connections=2,
    fsync=False,
    progress_interval=0.0,
    retry=RetryPolicy(attempts=6, base_delay=0.01, max_delay=0.2),
)
LEFTOVERS = (".incomplete", ".journal", ".podkit-lease", ".w")
HOUR = 3600.0


def held_until_split(match: str, *, tails: int = 1) -> Fault:
    """Hold the next stream of `match` after its first MiB until `tails` requests for bytes
    inside it arrived (a safety bound of 30 s ends the hold of a broken run)."""
    return Fault("hold", match=match, after_bytes=MiB, tails=tails, seconds=30.0)


def _repo(nginx: Nginx, name: str, model: int, seed: int) -> dict[str, bytes]:
    """A model file that streams whole (under the range threshold) and a 1 MiB one beside it,
    which ends first and leaves its connection idle."""
    files = {
        "model.safetensors": hashlib.shake_256(b"model%d" % seed).digest(model),
        "tokenizer.json": hashlib.shake_256(b"tokenizer%d" % seed).digest(MiB),
    }
    write_hf_repo(nginx.www, name, files)
    return files


def _ranges(proxy: FaultProxy, name: str) -> list[str]:
    """The Range headers of the model file's requests, in the order they arrived: the stream
    from byte 0 (`bytes=0-<last>`) and the tails cut from it."""
    return [seen.range for seen in proxy.seen_for(f"/hf/{name}/resolve/") if "model." in seen.path]


def _start(seen: Seen) -> int:
    span = seen.span
    assert span is not None, seen
    return span[0]


def _same(volume: Path, files: dict[str, bytes]) -> bool:
    return all((volume / path).read_bytes() == data for path, data in files.items())


def _leftovers(root: Path) -> list[str]:
    return [p.name for p in root.rglob(".*") if p.name.endswith(LEFTOVERS)]


def _sync_with_tail_fault(proxy: FaultProxy, volume: Path, repo: str, fault: Fault) -> SyncReport:
    """Sync `repo` through the proxy: the model's first request (its stream from byte 0) is
    held until the idle connection asks for its back half, which gets `fault`."""
    proxy.add(held_until_split("model.safetensors"), replace(fault, match="model.safetensors"))
    entry = ModelSource(source=f"hf://{repo}", destination="m")
    return sync_models([entry], volume, options=OPTIONS, env={"HF_ENDPOINT": f"{proxy.url}/hf"})


def test_an_idle_connection_takes_the_back_half_of_a_running_stream(
    sync_nginx: Nginx, fault_proxy: FaultProxy, volume: Path
) -> None:
    files = _repo(sync_nginx, "split/plain", model=8 * MiB, seed=1)
    fault_proxy.add(held_until_split("model.safetensors"))
    seen: list[Progress] = []
    entry = ModelSource(source="hf://split/plain", destination="m")
    env = {"HF_ENDPOINT": f"{fault_proxy.url}/hf"}
    report = sync_models([entry], volume, options=OPTIONS, progress=seen.append, env=env)
    assert report.status == "ok", report.message
    assert fault_proxy.stats.applied == ["hold"]
    assert _same(volume / "m", files)  # the sha256 of the whole file, read back across the cut
    head, tail, *_ = _ranges(fault_proxy, "split/plain")
    assert head == f"bytes=0-{8 * MiB - 1}"
    # The back part of what was left (7 MiB or more: the head had written at most the MiB it
    # was sent): past its middle by what the head writes while the tail's request is answered,
    # and at least a quarter of it (a split that would leave less is not made).
    first, _, last = tail.removeprefix("bytes=").partition("-")
    assert 4 * MiB < int(first) < 8 * MiB - 7 * MiB // 4 and int(last) == 8 * MiB - 1
    total = sum(len(d) for d in files.values())
    assert max(p.bytes_done for p in seen) <= total == seen[-1].bytes_done
    assert _leftovers(volume) == []


def test_a_flipped_byte_in_a_tail_fails_the_sha256_and_the_file_is_fetched_again(
    sync_nginx: Nginx, fault_proxy: FaultProxy, volume: Path
) -> None:
    files = _repo(sync_nginx, "split/flip", model=6 * MiB, seed=2)
    report = _sync_with_tail_fault(
        fault_proxy, volume, "split/flip", Fault("flip", after_bytes=1000)
    )
    assert report.status == "ok", report.message
    assert fault_proxy.stats.applied == ["hold", "flip"]
    assert _same(volume / "m", files)
    assert report.entries[0].bytes_fetched == 2 * len(files["model.safetensors"]) + MiB  # again
    assert _leftovers(volume) == []


def test_a_tail_cut_off_mid_body_resumes_where_it_stopped(
    sync_nginx: Nginx, fault_proxy: FaultProxy, volume: Path
) -> None:
    files = _repo(sync_nginx, "split/reset", model=8 * MiB, seed=3)
    fault = Fault("reset", after_bytes=300_000)
    report = _sync_with_tail_fault(fault_proxy, volume, "split/reset", fault)
    assert report.status == "ok", report.message
    assert fault_proxy.stats.applied == ["hold", "reset"]
    assert _same(volume / "m", files)
    # The tail (the first request after the head) was cut off after 300,000 bytes; its retry
    # asked for the rest, past the bytes it had written, not for its start again.
    model = [s for s in fault_proxy.seen_for("/hf/split/reset/resolve/") if "model." in s.path]
    starts = [_start(seen) for seen in model]
    cut = starts[1]
    assert starts.count(cut) == 1
    assert any(cut < start <= cut + 300_000 for start in starts)


def clock_past_deadline_once(tripped: Callable[[], bool]) -> Callable[[], float]:
    """The real clock, an hour on from the moment `tripped()` holds: a deadline half an hour
    away passes then, and not before, whatever the machine's speed."""
    return lambda: time.monotonic() + (HOUR if tripped() else 0.0)


def test_the_deadline_stops_every_part_of_a_split_file_and_leaves_nothing(
    sync_nginx: Nginx, fault_proxy: FaultProxy, volume: Path
) -> None:
    _repo(sync_nginx, "split/deadline", model=8 * MiB, seed=4)
    fault_proxy.add(held_until_split("model.safetensors"))

    def split() -> bool:
        model = fault_proxy.seen_for("model.safetensors")
        return bool(model) and bool(fault_proxy.tails_of(model[0]))

    # The deadline passes once the tail's request arrived: the head is still held (it has
    # more than 6 MiB to go) and the tail has yet to get its first byte.
    clock = clock_past_deadline_once(split)
    options = replace(OPTIONS, clock=clock, deadline=time.monotonic() + HOUR / 2)
    entry = ModelSource(source="hf://split/deadline", destination="m")
    env = {"HF_ENDPOINT": f"{fault_proxy.url}/hf"}
    report = sync_models([entry], volume, options=options, env=env)
    assert report.status == "partial", report.message
    assert split()  # it had been split when the deadline passed
    assert not (volume / "m/model.safetensors").exists()
    assert (volume / "m/tokenizer.json").exists()
    assert _leftovers(volume) == []


def test_the_last_file_is_cut_into_many_parts_and_still_verified_whole(
    sync_nginx: Nginx, volume: Path
) -> None:
    # Five 32 MiB files on four connections, started in path order: the fifth starts alone
    # when one of the first four ends, and is held until two of the three connections that
    # end next cut it, the second cutting what the first left it.
    files = {
        f"model-{i}.safetensors": hashlib.shake_256(b"many%d" % i).digest(32 * MiB)
        for i in range(5)
    }
    write_hf_repo(sync_nginx.www, "split/many", files)
    proxy = FaultProxy("127.0.0.1", sync_nginx.ports.throttled).start()
    try:
        proxy.add(held_until_split("model-4.safetensors", tails=2))
        entry = ModelSource(source="hf://split/many", destination="m")
        options = replace(OPTIONS, connections=4)
        env = {"HF_ENDPOINT": f"{proxy.url}/hf"}
        report = sync_models([entry], volume, options=options, env=env)
    finally:
        proxy.stop()
    assert report.status == "ok", report.message
    assert proxy.stats.applied == ["hold"] and proxy.stats.holds_timed_out == 0
    assert _same(volume / "m", files)  # three parts or more, read back into the sha256 in order
    requests = proxy.seen_for("/hf/split/many/resolve/")
    heads = [seen for seen in requests if _start(seen) == 0]
    assert sorted(seen.path.rsplit("/", 1)[1] for seen in heads) == sorted(files)
    assert heads[-1].path.endswith("/model-4.safetensors")  # it started last
    assert len(proxy.tails_of(heads[-1])) >= 2
    assert report.entries[0].bytes_fetched == 5 * 32 * MiB


def test_a_held_chunk_of_a_ranged_file_is_split_for_the_idle_connection(
    sync_nginx: Nginx, fault_proxy: FaultProxy, volume: Path
) -> None:
    # Four 12 MiB chunks on two connections; the first requested is held after its first MiB,
    # the rest come at full speed: the other connection ends its three and takes the held
    # one's back half.
    data = hashlib.shake_256(b"ranged").digest(48 * MiB)
    write_hf_repo(sync_nginx.www, "split/ranged", {"model.safetensors": data})
    fault_proxy.add(held_until_split("model.safetensors"))
    entry = ModelSource(source="hf://split/ranged", destination="m")
    env = {"HF_ENDPOINT": f"{fault_proxy.url}/hf"}
    report = sync_models([entry], volume, options=OPTIONS, env=env)
    assert report.status == "ok", report.message
    assert fault_proxy.stats.applied == ["hold"]
    assert (volume / "m/model.safetensors").read_bytes() == data
    requests = fault_proxy.seen_for("/hf/split/ranged/resolve/")
    starts = [_start(seen) for seen in requests]
    assert sorted(s for s in starts if s % (12 * MiB) == 0) == [0, 12 * MiB, 24 * MiB, 36 * MiB]
    held = _start(requests[0])
    tail = _start(fault_proxy.tails_of(requests[0])[0])  # its back part, fetched apart
    assert held + 6 * MiB < tail < held + 12 * MiB - 11 * MiB // 4  # as in the test above
    assert report.entries[0].bytes_fetched == 48 * MiB
    assert _leftovers(volume) == []
