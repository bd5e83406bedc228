"""The engine against each real source: GCS (fake-gcs-server), S3 (moto), HF mirror and HTTPS
(nginx). Files land verified; a re-sync makes no data requests."""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from podkit._http import RetryPolicy
from podkit.config.models import ModelSource
from podkit.errors import TransferError
from podkit.worker.transfer import SyncOptions, plan_models, sync_models
from tests.functional.sync.faultproxy import Fault, FaultProxy
from tests.functional.sync.testbed import FakeGcs, Moto, Nginx, write_hf_repo

MiB = 1024 * 1024
SMALL = SyncOptions(
    connections=8,
    chunk_size=1 * MiB,
    range_threshold=2 * MiB,
    fsync=False,
    retry=RetryPolicy(attempts=5, base_delay=0.01, max_delay=0.2),
)


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def _files(seed: int) -> dict[str, bytes]:
    rnd = __import__("random").Random(seed)
    files = {f"small/f{i:03d}.json": rnd.randbytes(rnd.randint(0, 5000)) for i in range(40)}
    files["weights/model.safetensors"] = rnd.randbytes(5 * MiB + 123)
    files["weights/vae.bin"] = rnd.randbytes(3 * MiB)
    return files


def _expect(files: dict[str, bytes]) -> dict[str, str]:
    return {p: hashlib.sha256(d).hexdigest() for p, d in files.items()}


def test_gcs_prefix_lands_verified_and_resync_is_free(fake_gcs: FakeGcs, volume: Path) -> None:
    files = _files(1)
    fake_gcs.bucket("models-a")
    fake_gcs.put_many("models-a", ((f"th/{p}", d) for p, d in files.items()))
    fake_gcs.put("models-a", "other/skip.bin", b"not mine")
    env = {"STORAGE_EMULATOR_HOST": fake_gcs.url}
    entry = ModelSource(source="gs://models-a/th", destination="models/th")
    report = sync_models([entry], volume, options=SMALL, env=env)
    assert report.status == "ok", report.message
    assert _tree(volume / "models/th") == _expect(files)
    assert report.data_requests >= len(files)
    again = sync_models([entry], volume, options=SMALL, env=env)
    assert again.status == "ok"
    assert again.data_requests == 0
    assert again.entries[0].skipped == len(files)


def test_s3_single_and_multipart_objects(moto_s3: Moto, volume: Path) -> None:
    s3 = moto_s3.client()
    s3.create_bucket(Bucket="models-s3")  # type: ignore[attr-defined]
    files = _files(2)
    for path, data in files.items():
        s3.put_object(Bucket="models-s3", Key=f"w/{path}", Body=data)  # type: ignore[attr-defined]
    big = os.urandom(12 * MiB + 5)
    _multipart(s3, "models-s3", "w/big/multi.bin", big, 5 * MiB)
    env = {
        "AWS_ENDPOINT_URL_S3": moto_s3.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing-secret-value",
    }
    entry = ModelSource(source="s3://models-s3/w/", destination="s3models")
    report = sync_models([entry], volume, options=SMALL, env=env)
    assert report.status == "ok", report.message
    expected = _expect(files) | {"big/multi.bin": hashlib.sha256(big).hexdigest()}
    assert _tree(volume / "s3models") == expected
    assert "testing-secret-value" not in repr(report.as_dict())


def _multipart(s3: object, bucket: str, key: str, data: bytes, part: int) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)  # type: ignore[attr-defined]
    parts = []
    for number, start in enumerate(range(0, len(data), part), 1):
        answer = s3.upload_part(  # type: ignore[attr-defined]
            Bucket=bucket, Key=key, PartNumber=number, UploadId=upload["UploadId"],
            Body=data[start : start + part],
        )  # fmt: skip
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    s3.complete_multipart_upload(  # type: ignore[attr-defined]
        Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )


def test_hf_mirror_with_globs(sync_nginx: Nginx, volume: Path) -> None:
    files = _files(3) | {"README.md": b"# readme\n"}
    write_hf_repo(sync_nginx.www, "acme/talking-head", files)
    env = {"HF_ENDPOINT": f"{sync_nginx.url}/hf", "HF_TOKEN": "hf_secret_token"}
    entry = ModelSource(
        source="hf://acme/talking-head@main",
        destination="/runpod-volume/hf/th",
        exclude=["*.md"],
    )
    report = sync_models([entry], volume, options=SMALL, env=env)
    assert report.status == "ok", report.message
    assert _tree(volume / "hf/th") == _expect(_files(3))


def test_https_file_with_sha256_over_tls(sync_nginx: Nginx, volume: Path) -> None:
    data = os.urandom(7 * MiB + 1)
    (sync_nginx.www / "vae.safetensors").write_bytes(data)
    entry = ModelSource(
        source=f"{sync_nginx.https_url}/vae.safetensors",
        destination="vae",
        sha256=hashlib.sha256(data).hexdigest(),
    )
    env = {"PODKIT_CA_BUNDLE": str(sync_nginx.cert)}
    report = sync_models([entry], volume, options=SMALL, env=env)
    assert report.status == "ok", report.message
    assert (volume / "vae/vae.safetensors").read_bytes() == data


def test_an_untrusted_certificate_fails_at_once_and_names_the_fix(
    sync_nginx: Nginx, volume: Path
) -> None:
    (sync_nginx.www / "private.bin").write_bytes(b"p" * 1000)
    entry = ModelSource(source=f"{sync_nginx.https_url}/private.bin", destination="tls")
    waits: list[float] = []  # every back-off before a retry passes through `sleep`
    retries = replace(SMALL, retry=RetryPolicy(attempts=5, base_delay=5.0), sleep=waits.append)
    with pytest.raises(TransferError) as caught:
        sync_models([entry], volume, options=retries, env={})
    assert waits == []  # not retried: another try cannot fix it
    message = f"{caught.value.message} {caught.value.hint or ''}"
    assert "not trusted" in message and "PODKIT_CA_BUNDLE" in message
    assert not (volume / "tls" / "private.bin").exists()


def test_a_certificate_for_another_name_says_so_not_that_its_ca_is_untrusted(
    sync_nginx: Nginx, volume: Path
) -> None:
    (sync_nginx.www / "named.bin").write_bytes(b"n" * 1000)
    url = sync_nginx.https_url.replace("127.0.0.1", "localhost")  # the certificate: 127.0.0.1
    entry = ModelSource(source=f"{url}/named.bin", destination="tls")
    env = {"PODKIT_CA_BUNDLE": str(sync_nginx.cert)}  # its CA is trusted
    with pytest.raises(TransferError) as caught:
        sync_models([entry], volume, options=SMALL, env=env)
    assert "for another host name" in caught.value.message
    assert "PODKIT_CA_BUNDLE" not in (caught.value.hint or "")
    assert "host name the certificate was issued for" in (caught.value.hint or "")
    assert not (volume / "tls" / "named.bin").exists()


@pytest.mark.parametrize("kind", ["gs", "s3", "hf", "https"])
def test_a_store_that_does_not_answer_is_a_reachability_hint_not_a_bucket_one(
    volume: Path, kind: str
) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{free.getsockname()[1]}"
    source, env = {
        "gs": ("gs://models-z/w", {"STORAGE_EMULATOR_HOST": closed}),
        "s3": ("s3://models-z/w", {"AWS_ENDPOINT_URL_S3": f"http://{closed}"}),
        "hf": ("hf://org/repo@main", {"HF_ENDPOINT": f"http://{closed}"}),
        "https": (f"http://{closed}/w.bin", {}),
    }[kind]
    fast = replace(SMALL, retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02))
    entry = ModelSource(source=source, destination="gone")
    with pytest.raises(TransferError) as caught:
        sync_models([entry], volume, options=fast, env=env)
    assert "connection refused" in caught.value.message
    assert "check that the host answers from here" in (caught.value.hint or "")


def test_https_wrong_sha256_fails_and_leaves_nothing(sync_nginx: Nginx, volume: Path) -> None:
    (sync_nginx.www / "small.bin").write_bytes(b"x" * 1000)
    entry = ModelSource(source=f"{sync_nginx.url}/small.bin", destination="bad", sha256="0" * 64)
    report = sync_models([entry], volume, options=SMALL, env={})
    assert report.status == "failed"
    assert "sha256 mismatch" in report.message
    assert not (volume / "bad/small.bin").exists()
    assert not list((volume / "bad").glob(".*incomplete"))


def test_gcs_composite_object_is_verified_by_crc32c(fake_gcs: FakeGcs, volume: Path) -> None:
    """R7: a composed object (real GCS gives it crc32c only) lands verified by crc32c."""
    parts = [os.urandom(3 * MiB), os.urandom(2 * MiB + 7)]
    fake_gcs.bucket("compose-b")
    for index, data in enumerate(parts):
        fake_gcs.put("compose-b", f"parts/p{index}", data)
    composed = fake_gcs.client.post(
        "/storage/v1/b/compose-b/o/model%2Fjoined.bin/compose",
        json={"sourceObjects": [{"name": "parts/p0"}, {"name": "parts/p1"}]},
    )
    composed.raise_for_status()
    assert composed.json()["crc32c"]
    entry = ModelSource(source="gs://compose-b/model/", destination="composite")
    env = {"STORAGE_EMULATOR_HOST": fake_gcs.url}
    report = sync_models([entry], volume, options=SMALL, env=env)
    assert report.status == "ok", report.message
    assert (volume / "composite/joined.bin").read_bytes() == b"".join(parts)


def test_lost_state_is_rebuilt_by_checksum_not_by_download(fake_gcs: FakeGcs, volume: Path) -> None:
    files = _files(7)
    fake_gcs.bucket("models-c")
    fake_gcs.put_many("models-c", ((f"m/{p}", d) for p, d in files.items()))
    env = {"STORAGE_EMULATOR_HOST": fake_gcs.url}
    entry = ModelSource(source="gs://models-c/m/", destination="c")
    assert sync_models([entry], volume, options=SMALL, env=env).status == "ok"
    (volume / "c/.podkit-sync-state.json").unlink()
    name = next(p for p, d in sorted(files.items()) if p.startswith("small/") and d.strip(b"\0"))
    (volume / "c" / name).write_bytes(bytes(len(files[name])))  # same size, other bytes
    report = sync_models([entry], volume, options=SMALL, env=env)
    assert report.status == "ok", report.message
    assert report.entries[0].checked == len(files) - 1
    assert report.data_requests == 1  # only the tampered file
    assert _tree(volume / "c") == _expect(files)


def test_a_file_in_the_way_of_the_destination_is_one_clear_error(
    sync_nginx: Nginx, volume: Path
) -> None:
    (sync_nginx.www / "inway.bin").write_bytes(b"x" * 10)
    (volume / "blocked").write_text("a file where a directory should be")
    entry = ModelSource(source=f"{sync_nginx.url}/inway.bin", destination="blocked/sub")
    with pytest.raises(TransferError, match=r"cannot create .*blocked/sub"):
        sync_models([entry], volume, options=SMALL, env={})


@pytest.mark.parametrize("size", [1000, 3 * MiB])  # the small-file loop, the ranged path
def test_a_folder_in_the_way_of_a_file_fails_that_file_in_words(
    sync_nginx: Nginx, volume: Path, size: int
) -> None:
    (sync_nginx.www / "blocked.bin").write_bytes(b"b" * size)
    (volume / "in-way/blocked.bin/kept").mkdir(parents=True)
    entry = ModelSource(source=f"{sync_nginx.url}/blocked.bin", destination="in-way")
    report = sync_models([entry], volume, options=SMALL, env={})
    assert report.status == "failed"
    [(path, error)] = report.entries[0].failed.items()
    assert path == "blocked.bin" and "internal error" not in error
    assert f"cannot write {volume}/in-way/blocked.bin on the volume" in error
    assert "a directory is in the way of the file" in error
    assert (volume / "in-way/blocked.bin/kept").is_dir()


@pytest.mark.parametrize("size", [1000, 3 * MiB])  # the small-file loop, the ranged path
def test_a_name_near_the_filesystems_limit_lands(
    sync_nginx: Nginx, volume: Path, size: int
) -> None:
    name = f"{'n' * 240}-{size}.bin"  # under 255 bytes; its temp's and journal's are not
    data = os.urandom(size)
    (sync_nginx.www / name).write_bytes(data)
    entry = ModelSource(source=f"{sync_nginx.url}/{name}", destination="long")
    report = sync_models([entry], volume, options=SMALL, env={})
    assert report.status == "ok", report.message
    assert (volume / "long" / name).read_bytes() == data
    assert sorted(p.name for p in (volume / "long").iterdir()) == sorted(
        [name, ".podkit-sync-state.json"]
    )


def test_a_state_file_that_cannot_be_written_is_one_error_after_the_files_land(
    sync_nginx: Nginx, volume: Path
) -> None:
    (sync_nginx.www / "stated.bin").write_bytes(b"s" * 1000)
    (volume / "stated/.podkit-sync-state.json").mkdir(parents=True)  # in the way
    entry = ModelSource(source=f"{sync_nginx.url}/stated.bin", destination="stated")
    with pytest.raises(TransferError) as caught:
        sync_models([entry], volume, options=SMALL, env={})
    assert "cannot write the sync state" in caught.value.message
    assert "Is a directory" in caught.value.message
    assert "files are in place" in (caught.value.hint or "")
    assert (volume / "stated/stated.bin").read_bytes() == b"s" * 1000
    assert sorted(p.name for p in (volume / "stated").iterdir()) == [
        ".podkit-sync-state.json",
        "stated.bin",
    ]


def test_two_entries_that_put_one_file_are_refused_before_a_byte_is_written(
    sync_nginx: Nginx, volume: Path
) -> None:
    (sync_nginx.www / "twice.bin").write_bytes(b"t" * 1000)
    entries = [
        ModelSource(source=f"{sync_nginx.url}/twice.bin", destination=destination)
        for destination in ("shared/", "/runpod-volume/shared")
    ]
    for attempt in (plan_models, sync_models):
        with pytest.raises(TransferError) as caught:
            attempt(entries, volume, env={})
        message = str(caught.value)
        assert f"two [[models]] entries put a file at {volume}/shared/twice.bin" in message
        assert "destination 'shared/'" in message
    assert not (volume / "shared").exists()


def test_https_server_that_refuses_head(
    sync_nginx: Nginx, fault_proxy: FaultProxy, volume: Path
) -> None:
    data = os.urandom(3 * MiB + 5)
    (sync_nginx.www / "nohead.bin").write_bytes(data)
    fault_proxy.add(Fault("status", status=405, match="nohead.bin"))  # the HEAD
    entry = ModelSource(source=f"{fault_proxy.url}/nohead.bin", destination="nohead")
    report = sync_models([entry], volume, options=SMALL, env={})
    assert report.status == "ok", report.message
    assert fault_proxy.stats.applied == ["status"]
    assert (volume / "nohead/nohead.bin").read_bytes() == data


def test_gcs_gzip_encoded_objects_land_as_stored_and_verified(
    fake_gcs: FakeGcs, volume: Path
) -> None:
    """Stored gzip-encoded, an object is served decompressed and without ranges unless the
    request accepts gzip; the engine fetches the stored bytes, which its crc32c describes."""
    fake_gcs.bucket("gz-b")
    text = gzip.compress(b'{"vocab": "' + b"token " * 200_000 + b'"}')
    noise = gzip.compress(os.urandom(3 * MiB))  # above range_threshold: fetched in ranges
    for name, data in (("tokenizer.json", text), ("weights.bin", noise)):
        meta = fake_gcs.put_encoded("gz-b", f"m/{name}", data, "gzip")
        assert int(str(meta["size"])) == len(data)
    entry = ModelSource(source="gs://gz-b/m", destination="gz")
    env = {"STORAGE_EMULATOR_HOST": fake_gcs.url}
    report = sync_models([entry], volume, options=SMALL, env=env)
    assert report.status == "ok", report.message
    assert (volume / "gz/tokenizer.json").read_bytes() == text
    assert (volume / "gz/weights.bin").read_bytes() == noise
    again = sync_models([entry], volume, options=SMALL, env=env)
    assert again.status == "ok" and again.data_requests == 0
