"""Reliability R1-R6 of the model-sync engine against real servers (R7 is a unit test):
kill -9 at random points, source replaced mid-download, two workers on one volume (with and
without the lease), flipped bytes, server faults, the deadline, the disk-space preflight."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from podkit._http import RetryPolicy
from podkit.config.models import ModelSource
from podkit.errors import TransferError
from podkit.worker.transfer import Progress, SyncOptions, sync_models
from tests.functional.sync.faultproxy import Fault, FaultProxy
from tests.functional.sync.test_split import HOUR, clock_past_deadline_once
from tests.functional.sync.testbed import FakeGcs, Moto, Nginx, write_hf_repo

MiB = 1024 * 1024
FAST_RETRY = RetryPolicy(attempts=6, base_delay=0.01, max_delay=0.2)
OPTIONS = SyncOptions(
    connections=4, chunk_size=1 * MiB, range_threshold=2 * MiB, fsync=False, retry=FAST_RETRY
)
LEFTOVERS = (".incomplete", ".journal", ".podkit-lease", ".w")
ROOT = Path(__file__).resolve().parents[3]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _leftovers(root: Path) -> list[str]:
    return [p.name for p in root.rglob(".*") if p.name.endswith(LEFTOVERS)]


def _repo(nginx: Nginx, name: str, big: int, small: int, seed: int) -> dict[str, bytes]:
    rnd = random.Random(seed)
    files = {f"cfg/c{i:02d}.json": rnd.randbytes(rnd.randint(1, 3000)) for i in range(small)}
    files["model.safetensors"] = rnd.randbytes(big)
    write_hf_repo(nginx.www, name, files)
    return files


def _check_visible(dest: Path, files: dict[str, bytes]) -> None:
    """Anything visible under a final name is complete and correct."""
    for path, data in files.items():
        target = dest / path
        if target.exists():
            assert _sha(target.read_bytes()) == _sha(data), f"partial or wrong file: {path}"


def _spawn(spec: dict[str, object]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.functional.sync.run_sync", json.dumps(spec)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_after(proc: subprocess.Popen[str], new_bytes: int) -> int:
    """Read progress lines; kill -9 once `new_bytes` were fetched by this run.
    Returns the most bytes this run had resumed from earlier ones."""
    assert proc.stdout is not None
    resumed = 0
    for line in proc.stdout:
        progress = json.loads(line).get("progress")
        if not progress or progress["phase"] != "transfer":
            continue
        resumed = max(resumed, progress["resumed_bytes"])
        if progress["bytes_done"] - progress["resumed_bytes"] >= new_bytes:
            proc.kill()
            break
    return resumed


@pytest.mark.timeout(150)
def test_r1_kill_9_at_random_points_then_resume(sync_nginx: Nginx, volume: Path) -> None:
    # Large enough that 19 interrupted runs cannot finish it: each keeps what it verified, and a
    # kill lands up to one block per connection (4 x 1 MiB) after the progress it follows.
    files = _repo(sync_nginx, "r1/model", big=128 * MiB, small=30, seed=11)
    spec = {
        "entries": [{"source": "hf://r1/model@main", "destination": "r1"}],
        "volume": str(volume),
        # 40 MiB/s per connection: a kill lands within a few blocks of the progress it follows.
        "env": {"HF_ENDPOINT": f"{sync_nginx.throttled_url}/hf"},
        "progress": True,
        "options": {
            "connections": 4,
            "chunk_size": MiB,
            "range_threshold": 2 * MiB,
            "fsync": False,
            "progress_interval": 0.005,
        },
    }
    rnd = random.Random(20261128)
    kills, resumed = 0, [0]
    for iteration in range(20):
        proc = _spawn(spec)
        if iteration % 5 == 0:  # early: while importing, listing or planning
            assert proc.stdout is not None
            proc.stdout.readline()  # the first report comes before the listing
            time.sleep(rnd.uniform(0.0, 0.03))
            proc.kill()
        else:  # mid-transfer, after a random amount of new data
            resumed.append(_kill_after(proc, int(rnd.uniform(0.25, 2.0) * MiB)))
        proc.kill()
        kills += proc.wait(timeout=30) == -9
        _check_visible(volume / "r1", files)
    final = _spawn({**spec, "progress": False})
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    report = json.loads(out)
    assert report["status"] == "ok"
    resumed.append(report["entries"][0]["resumed_bytes"])
    assert {p: _sha((volume / "r1" / p).read_bytes()) for p in files} == {
        p: _sha(d) for p, d in files.items()
    }
    assert _leftovers(volume) == []
    assert kills >= 18
    assert max(resumed) >= 16 * MiB  # later runs started from what earlier ones verified
    served = sync_nginx.bytes_sent(sync_nginx.ports.throttled, "/hf/r1/model/resolve/")
    total = sum(len(d) for d in files.values())
    assert served <= total + kills * 4 * MiB  # at most the chunks in flight per kill


def _replace_once(action: object) -> object:
    done = threading.Event()

    def callback(progress: Progress) -> None:
        if progress.bytes_done > 0 and not done.is_set():
            done.set()
            action()  # type: ignore[operator]

    return callback, done


def test_r2_https_file_replaced_mid_download(sync_nginx: Nginx, volume: Path) -> None:
    target = sync_nginx.www / "r2.bin"
    target.write_bytes(os.urandom(12 * MiB))
    new = os.urandom(12 * MiB + 4096)

    def swap() -> None:
        scratch = target.with_suffix(".new")
        scratch.write_bytes(new)
        scratch.replace(target)  # new size -> new ETag -> the pinned If-Match answers 412

    swap_once, swapped = _replace_once(swap)
    seen: list[Progress] = []

    def callback(progress: Progress) -> None:
        seen.append(progress)
        swap_once(progress)  # type: ignore[operator]

    # 12 ranges on 2 connections: most ranges are requested after the swap (inside the first
    # progress call), so the pinned If-Match answers 412 and the file restarts.
    options = replace(OPTIONS, progress_interval=0.0, connections=2)
    entry = ModelSource(source=f"{sync_nginx.slow_url}/r2.bin", destination="r2")
    report = sync_models([entry], volume, options=options, progress=callback, env={})
    assert swapped.is_set()
    assert report.status == "ok", report.message
    # The progress forgets the old version's bytes and counts the new version's size.
    assert all(p.bytes_done <= max(p.bytes_total, len(new)) for p in seen)
    assert (seen[-1].bytes_done, seen[-1].bytes_total) == (len(new), len(new))
    assert _sha((volume / "r2/r2.bin").read_bytes()) == _sha(new)
    assert _leftovers(volume) == []


def test_r2_gcs_object_overwritten_mid_download(fake_gcs: FakeGcs, volume: Path) -> None:
    fake_gcs.bucket("r2-bucket")
    fake_gcs.put("r2-bucket", "m/w.bin", os.urandom(24 * MiB))
    new = os.urandom(24 * MiB)
    callback, swapped = _replace_once(lambda: fake_gcs.put("r2-bucket", "m/w.bin", new))
    options = replace(OPTIONS, progress_interval=0.0, connections=2)
    entry = ModelSource(source="gs://r2-bucket/m", destination="r2g")
    env = {"STORAGE_EMULATOR_HOST": fake_gcs.url}
    report = sync_models([entry], volume, options=options, progress=callback, env=env)  # type: ignore[arg-type]
    assert swapped.is_set()
    assert report.status == "ok", report.message
    assert _sha((volume / "r2g/w.bin").read_bytes()) == _sha(new)


def test_r2_s3_object_overwritten_mid_download(moto_s3: Moto, volume: Path) -> None:
    s3 = moto_s3.client()
    s3.create_bucket(Bucket="r2-s3")  # type: ignore[attr-defined]
    s3.put_object(Bucket="r2-s3", Key="m/w.bin", Body=os.urandom(8 * MiB))  # type: ignore[attr-defined]
    new = os.urandom(8 * MiB)
    callback, swapped = _replace_once(
        lambda: s3.put_object(Bucket="r2-s3", Key="m/w.bin", Body=new)  # type: ignore[attr-defined]
    )
    options = replace(OPTIONS, progress_interval=0.0, connections=2)
    env = {
        "AWS_ENDPOINT_URL_S3": moto_s3.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    entry = ModelSource(source="s3://r2-s3/m/", destination="r2s")
    report = sync_models([entry], volume, options=options, progress=callback, env=env)  # type: ignore[arg-type]
    assert swapped.is_set()
    assert report.status == "ok", report.message
    assert _sha((volume / "r2s/w.bin").read_bytes()) == _sha(new)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("lock", [True, False], ids=["R3-lease", "R4-broken-lock"])
def test_r3_r4_two_workers_on_one_volume(sync_nginx: Nginx, volume: Path, lock: bool) -> None:
    name = f"r3/model-{lock}"
    files = _repo(sync_nginx, name, big=48 * MiB, small=60, seed=3 if lock else 4)
    spec = {
        "entries": [{"source": f"hf://{name}@main", "destination": "shared"}],
        "volume": str(volume),
        "env": {"HF_ENDPOINT": f"{sync_nginx.throttled_url}/hf"},
        "options": {"connections": 8, "chunk_size": 4 * MiB, "lock": lock, "fsync": False},
    }
    before = sync_nginx.bytes_sent(sync_nginx.ports.throttled, f"/hf/{name}/")
    workers = [_spawn(spec), _spawn(spec)]
    stop = threading.Event()
    problems: list[str] = []

    def watch() -> None:
        while not stop.is_set():
            try:
                _check_visible(volume / "shared", files)
            except AssertionError as exc:
                problems.append(str(exc))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    outputs = [w.communicate(timeout=100) for w in workers]
    stop.set()
    watcher.join()
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        assert json.loads(out)["status"] == "ok"
    assert problems == []
    _check_visible(volume / "shared", files)
    assert all((volume / "shared" / p).exists() for p in files)
    assert _leftovers(volume) == []
    served = sync_nginx.bytes_sent(sync_nginx.ports.throttled, f"/hf/{name}/") - before
    assert served <= 2 * sum(len(d) for d in files.values())
    # Whatever the two state-file writers left, a third sync downloads nothing.
    entry = ModelSource(source=f"hf://{name}@main", destination="shared")
    again = sync_models([entry], volume, options=OPTIONS, env=spec["env"])  # type: ignore[arg-type]
    assert again.status == "ok" and again.data_requests == 0


def test_r5_flipped_bytes_are_detected_and_refetched(
    sync_nginx: Nginx, fault_proxy: FaultProxy, volume: Path
) -> None:
    files = _repo(sync_nginx, "r5/model", big=6 * MiB, small=3, seed=5)
    fault_proxy.add(
        Fault("flip", match="model.safetensors", after_bytes=70_000),
        Fault("flip", match="c01.json", after_bytes=0),
    )
    entry = ModelSource(source="hf://r5/model", destination="r5")
    report = sync_models(
        [entry], volume, options=OPTIONS, env={"HF_ENDPOINT": f"{fault_proxy.url}/hf"}
    )
    assert report.status == "ok", report.message
    assert fault_proxy.stats.applied.count("flip") == 2
    _check_visible(volume / "r5", files)
    assert report.entries[0].bytes_fetched > sum(len(d) for d in files.values())


def test_a_file_that_never_matches_its_sha256_fails_and_progress_stays_within_its_size(
    sync_nginx: Nginx, volume: Path
) -> None:
    data = os.urandom(5 * MiB)
    (sync_nginx.www / "wrong-sha.bin").write_bytes(data)
    seen: list[Progress] = []
    entry = ModelSource(
        source=f"{sync_nginx.url}/wrong-sha.bin", destination="w", sha256=_sha(b"other")
    )
    options = replace(OPTIONS, progress_interval=0.0)
    report = sync_models([entry], volume, options=options, progress=seen.append, env={})
    assert report.status == "failed"
    assert "sha256 mismatch after 3 downloads" in report.message
    assert report.entries[0].bytes_fetched == 3 * len(data)  # ranged, verified, restarted
    assert max(p.bytes_done for p in seen) <= len(data) == seen[-1].bytes_total
    assert not (volume / "w/wrong-sha.bin").exists() and _leftovers(volume) == []


def test_r5_gcs_crc32c_catches_a_flipped_byte(fake_gcs: FakeGcs, volume: Path) -> None:
    fake_gcs.bucket("r5-bucket")
    big, small = os.urandom(5 * MiB), os.urandom(900)
    fake_gcs.put("r5-bucket", "x/big.bin", big)
    fake_gcs.put("r5-bucket", "x/small.bin", small)
    proxy = FaultProxy("127.0.0.1", fake_gcs.port).start()
    try:
        proxy.add(
            Fault("flip", match="big.bin?alt=media", after_bytes=1234),
            Fault("flip", match="small.bin?alt=media", after_bytes=10),
        )
        env = {"STORAGE_EMULATOR_HOST": proxy.url}
        entry = ModelSource(source="gs://r5-bucket/x/", destination="r5g")
        report = sync_models([entry], volume, options=OPTIONS, env=env)
    finally:
        proxy.stop()
    assert report.status == "ok", report.message
    assert proxy.stats.applied.count("flip") == 2
    assert (volume / "r5g/big.bin").read_bytes() == big
    assert (volume / "r5g/small.bin").read_bytes() == small


@pytest.mark.timeout(90)
def test_r6_server_faults_are_retried(
    sync_nginx: Nginx, fault_proxy: FaultProxy, volume: Path
) -> None:
    files = _repo(sync_nginx, "r6/model", big=6 * MiB, small=4, seed=6)
    fault_proxy.add(
        Fault("status", status=503, count=2, match="/resolve/", retry_after="0"),
        Fault("status", status=429, count=1, match="/resolve/", retry_after="0"),
        Fault("reset", count=2, match="model.safetensors", after_bytes=100_000),
        Fault("stall", count=1, match="model.safetensors", after_bytes=1000, seconds=4),
        Fault("ignore_range", count=2, match="model.safetensors"),
        Fault("status", status=500, count=1, match="/tree/"),
    )
    options = replace(OPTIONS, stall_timeout=1.0)
    entry = ModelSource(source="hf://r6/model@main", destination="r6")
    report = sync_models(
        [entry], volume, options=options, env={"HF_ENDPOINT": f"{fault_proxy.url}/hf"}
    )
    assert report.status == "ok", report.message
    assert set(fault_proxy.stats.applied) == {"status", "reset", "stall", "ignore_range"}
    _check_visible(volume / "r6", files)
    assert all((volume / "r6" / p).exists() for p in files)


@pytest.mark.parametrize("connections", [4, 3], ids=["same chunks", "other chunks"])
def test_deadline_stops_cleanly_and_the_next_run_resumes(
    sync_nginx: Nginx, fault_proxy: FaultProxy, volume: Path, connections: int
) -> None:
    data = os.urandom(16 * MiB)
    (sync_nginx.www / "deadline.bin").write_bytes(data)
    entry = ModelSource(source=f"{fault_proxy.url}/deadline.bin", destination="dl")
    # The deadline passes when the fifth request arrives (the HEAD, the first two chunks, and
    # one after each of two chunks that ended): two chunks or three are in the journal then,
    # and the rest of the 16 stop or never start, whatever the machine's speed.
    clock = clock_past_deadline_once(lambda: len(fault_proxy.seen_for("deadline.bin")) >= 5)
    options = replace(OPTIONS, connections=2, clock=clock, deadline=time.monotonic() + HOUR / 2)
    first = sync_models([entry], volume, options=options, env={})
    assert first.status == "partial"
    assert "re-run" in first.message and "execution timeout" in first.message
    assert not (volume / "dl/deadline.bin").exists()
    (journal,) = (volume / "dl").glob(".deadline.bin.*.journal")
    assert json.loads(journal.read_text())["chunk_size"] == MiB  # 16 chunks for 2 connections
    assert not list((volume / "dl").glob("*.podkit-lease"))
    fault_proxy.reset()
    # Three connections would cut 960 KiB chunks: the journal's 1 MiB ones are kept instead.
    second = sync_models([entry], volume, options=replace(OPTIONS, connections=connections), env={})
    assert second.status == "ok", second.message
    assert second.entries[0].resumed_bytes in (2 * MiB, 3 * MiB)
    assert (volume / "dl/deadline.bin").read_bytes() == data
    assert _leftovers(volume) == []


@pytest.mark.parametrize("deadline", [None, 20.0])
def test_a_listing_retries_no_later_than_the_deadline(
    fault_proxy: FaultProxy, volume: Path, deadline: float | None
) -> None:
    fault_proxy.add(Fault("status", status=503, match="listed.bin", count=100, retry_after="7"))
    entry = ModelSource(source=f"{fault_proxy.url}/listed.bin", destination="listed")
    now = [1000.0]  # the sync's clock, moved by the waits it takes (none is slept for real)

    def wait(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    waits: list[float] = []
    options = replace(
        OPTIONS,
        retry=RetryPolicy(attempts=6, base_delay=0.01, max_delay=60.0),
        sleep=wait,
        clock=lambda: now[0],
        deadline=None if deadline is None else now[0] + deadline,
    )
    with pytest.raises(TransferError, match="503"):
        sync_models([entry], volume, options=options, env={})
    # Retry-After: 7 each time; with 20 s left, a third wait would end past the deadline.
    assert waits == ([7.0] * 5 if deadline is None else [7.0, 7.0])


def test_disk_space_preflight_fails_before_any_download(sync_nginx: Nginx, volume: Path) -> None:
    (sync_nginx.www / "space.bin").write_bytes(b"z" * 4096)
    entry = ModelSource(source=f"{sync_nginx.url}/space.bin", destination="space")
    options = replace(OPTIONS, space_margin=1 << 62)
    with pytest.raises(TransferError, match=r"free on .*volume") as info:
        sync_models([entry], volume, options=options, env={})
    assert info.value.hint and "network volume" in info.value.hint
    assert not (volume / "space").exists() or not any((volume / "space").iterdir())


@pytest.mark.timeout(60)
def test_a_second_worker_waits_for_the_lease_and_downloads_nothing(
    sync_nginx: Nginx, fault_proxy: FaultProxy, volume: Path
) -> None:
    files = _repo(sync_nginx, "lease/model", big=12 * MiB, small=2, seed=9)
    # The first worker goes through a proxy that delays every request: it holds the lease
    # of the big file for a couple of seconds.
    fault_proxy.add(Fault("delay", count=1000, match="model.safetensors", seconds=0.3))
    options = {"connections": 2, "chunk_size": MiB, "range_threshold": 2 * MiB, "fsync": False}
    first = _spawn(
        {
            "entries": [{"source": "hf://lease/model", "destination": "lease"}],
            "volume": str(volume),
            "env": {"HF_ENDPOINT": f"{fault_proxy.url}/hf"},
            "options": options,
        }
    )
    deadline = time.monotonic() + 20
    lease_file = volume / "lease" / ".model.safetensors.podkit-lease"
    while not lease_file.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert lease_file.exists(), first.stderr.read() if first.stderr else ""
    entry = ModelSource(source="hf://lease/model", destination="lease")
    second = sync_models(
        [entry], volume, options=replace(OPTIONS, connections=2),
        env={"HF_ENDPOINT": f"{sync_nginx.url}/hf"},
    )  # fmt: skip
    out, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    assert json.loads(out)["status"] == "ok"
    assert second.status == "ok", second.message
    assert second.entries[0].checked >= 1  # the big file: verified locally after the wait
    assert second.entries[0].bytes_fetched < len(files["model.safetensors"])
    _check_visible(volume / "lease", files)
    assert _leftovers(volume) == []


def test_a_second_worker_takes_a_file_without_checksums_as_the_first_recorded_it(
    sync_nginx: Nginx, fault_proxy: FaultProxy, volume: Path
) -> None:
    # A plain HTTPS file has no checksum to verify it by after the wait: the waiting worker
    # used to download it again. The lease holder writes its state before giving the lease
    # back, and the waiting worker reads it, as a sync starting then would.
    data = random.Random(12).randbytes(12 * MiB)
    (sync_nginx.www / "plain").mkdir(exist_ok=True)
    (sync_nginx.www / "plain" / "weights.bin").write_bytes(data)
    fault_proxy.add(Fault("delay", count=1000, match="weights.bin", seconds=0.3))
    options = {"connections": 2, "chunk_size": MiB, "range_threshold": 2 * MiB, "fsync": False}
    first = _spawn(
        {
            "entries": [{"source": f"{fault_proxy.url}/plain/weights.bin", "destination": "p"}],
            "volume": str(volume),
            "env": {},
            "options": options,
        }
    )
    deadline = time.monotonic() + 20
    lease_file = volume / "p" / ".weights.bin.podkit-lease"
    while not lease_file.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert lease_file.exists(), first.stderr.read() if first.stderr else ""
    entry = ModelSource(source=f"{sync_nginx.url}/plain/weights.bin", destination="p")
    second = sync_models([entry], volume, options=replace(OPTIONS, connections=2), env={})
    out, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    assert json.loads(out)["status"] == "ok"
    assert second.status == "ok", second.message
    assert second.entries[0].bytes_fetched == 0 and second.data_requests == 0
    assert second.entries[0].checked == 1
    assert _sha((volume / "p" / "weights.bin").read_bytes()) == _sha(data)
    assert _leftovers(volume) == []
