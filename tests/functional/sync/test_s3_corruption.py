"""Corrupt S3 bodies (moto behind the fault proxy): the md5 ETag of a single-part object and
the `md5(part md5s)-N` ETag of a multipart one are checked, so a flipped byte is refetched,
and a body that never matches fails naming the checksum, leaving nothing in place."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from podkit._http import RetryPolicy
from podkit.config.models import ModelSource
from podkit.worker.transfer import SyncOptions, sync_models
from tests.functional.sync.faultproxy import Fault, FaultProxy
from tests.functional.sync.testbed import Moto

MiB = 1024 * 1024
BUCKET = "corrupt-s3"
OPTIONS = SyncOptions(
    connections=4,
    chunk_size=1 * MiB,
    range_threshold=2 * MiB,
    fsync=False,
    retry=RetryPolicy(attempts=5, base_delay=0.01, max_delay=0.2),
)
# Small enough to stream in one request, large enough to be ranged, and multipart.
OBJECTS = {"c/small.bin": 900, "c/ranged.bin": 3 * MiB + 17, "c/multi.bin": 11 * MiB + 3}


@pytest.fixture(scope="module")
def s3_objects(moto_s3: Moto) -> dict[str, bytes]:
    s3 = moto_s3.client()
    s3.create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
    data = {key: os.urandom(size) for key, size in OBJECTS.items()}
    for key, body in data.items():
        if key.endswith("multi.bin"):
            _multipart(s3, key, body, 5 * MiB)
        else:
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)  # type: ignore[attr-defined]
    etags = {
        key: s3.head_object(Bucket=BUCKET, Key=key)["ETag"]  # type: ignore[attr-defined]
        for key in data
    }
    assert "-" in etags["c/multi.bin"] and "-" not in etags["c/ranged.bin"], etags
    return data


def _multipart(s3: object, key: str, data: bytes, part: int) -> None:
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key)  # type: ignore[attr-defined]
    parts = []
    for number, start in enumerate(range(0, len(data), part), 1):
        answer = s3.upload_part(  # type: ignore[attr-defined]
            Bucket=BUCKET, Key=key, PartNumber=number, UploadId=upload["UploadId"],
            Body=data[start : start + part],
        )  # fmt: skip
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    s3.complete_multipart_upload(  # type: ignore[attr-defined]
        Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )


@pytest.fixture
def s3_proxy(moto_s3: Moto) -> Iterator[FaultProxy]:
    proxy = FaultProxy("127.0.0.1", moto_s3.port).start()
    yield proxy
    proxy.stop()


def _sync(proxy: FaultProxy, volume: Path, key: str = "") -> tuple[str, str]:
    env = {
        "AWS_ENDPOINT_URL_S3": proxy.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    entry = ModelSource(source=f"s3://{BUCKET}/c/{key}", destination="s3c")
    report = sync_models([entry], volume, options=OPTIONS, env=env)
    return report.status, report.message


def _leftovers(volume: Path) -> list[str]:
    return sorted(p.name for p in volume.rglob(".*") if p.is_file() and ".incomplete" in p.name)


def test_a_flipped_byte_in_each_kind_of_s3_body_is_detected_and_refetched(
    s3_objects: dict[str, bytes], s3_proxy: FaultProxy, volume: Path
) -> None:
    s3_proxy.add(
        Fault("flip", match="small.bin", after_bytes=10),
        Fault("flip", match="ranged.bin", after_bytes=12_345),
        Fault("flip", match="multi.bin", after_bytes=54_321),
    )
    status, message = _sync(s3_proxy, volume)
    assert status == "ok", message
    assert s3_proxy.stats.applied.count("flip") == 3
    for key, body in s3_objects.items():
        assert (volume / "s3c" / key.removeprefix("c/")).read_bytes() == body, key


@pytest.mark.parametrize(
    ("name", "checksum"),
    [("small.bin", "md5"), ("ranged.bin", "md5"), ("multi.bin", "s3_multipart_etag")],
)
def test_an_s3_body_that_never_matches_its_etag_fails_naming_the_checksum(
    s3_objects: dict[str, bytes], s3_proxy: FaultProxy, volume: Path, name: str, checksum: str
) -> None:
    s3_proxy.add(Fault("flip", match=f"/{name}", after_bytes=100, count=1000))
    status, message = _sync(s3_proxy, volume, name)
    assert status == "failed"
    assert f"{checksum} mismatch" in message, message
    assert not (volume / "s3c" / name).exists()
    assert _leftovers(volume) == []


def test_the_corruption_tests_can_see_a_clean_run(
    s3_objects: dict[str, bytes], s3_proxy: FaultProxy, volume: Path
) -> None:
    """Through the proxy without faults every object lands: the failures above are the flips."""
    status, message = _sync(s3_proxy, volume)
    assert status == "ok", message
    assert s3_proxy.stats.applied == []
    landed = (volume / "s3c").iterdir()
    got = {f"c/{p.name}": p.read_bytes() for p in landed if not p.name.startswith(".")}
    assert got == s3_objects
