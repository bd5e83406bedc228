"""Checksums and the pure planner (no I/O)."""

from __future__ import annotations

import hashlib
import random

import google_crc32c
import pytest

from podkit.errors import TransferError
from podkit.worker.transfer.plan import Action, make_plan
from podkit.worker.transfer.remote import RemoteFile, safe_relative, select
from podkit.worker.transfer.s3 import s3_base_url
from podkit.worker.transfer.state import Recorded
from podkit.worker.transfer.verify import Expected, S3PartEtag, combine_chunks, crc32c_combine

RND = random.Random(5)


def test_crc32c_combine_matches_whole_file() -> None:
    data = RND.randbytes(200_003)
    pieces = [data[i : i + 65_536] for i in range(0, len(data), 65_536)]
    crcs = [(google_crc32c.value(p), len(p)) for p in pieces]
    assert combine_chunks(crcs) == google_crc32c.value(data)
    assert crc32c_combine(123, 0, 0) == 123


def test_composite_object_verifies_with_crc32c_only() -> None:
    """R7: a GCS composite object has crc32c and no md5; nothing asks for md5."""
    data = RND.randbytes(1000)
    expected = Expected(size=1000, crc32c=f"{google_crc32c.value(data):08x}")
    assert not expected.needs_readback()
    assert expected.mismatches({"crc32c": f"{google_crc32c.value(data):08x}"}) == []
    assert expected.mismatches({"crc32c": "00000000"}) == ["crc32c"]


def test_s3_multipart_etag_recomputed() -> None:
    data = RND.randbytes(25)
    parts = [data[0:10], data[10:20], data[20:]]
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    etag = S3PartEtag(10)
    etag.update(data[:7])
    etag.update(data[7:])
    assert etag.hexdigest() == f"{digest}-3"


def _remote(path: str, size: int = 10, version: str = "v1") -> RemoteFile:
    return RemoteFile(
        path, f"http://127.0.0.1:9/{path}", size, version, Expected(size, crc32c="0a")
    )


def test_plan_skips_current_and_fetches_the_rest() -> None:
    current, changed, missing, touched, unknown = (
        _remote("a"), _remote("b", version="v2"), _remote("c"), _remote("d"), _remote("e"),
    )  # fmt: skip
    recorded = {
        "a": Recorded(current.key, 10, 111),
        "b": Recorded(_remote("b").key, 10, 111),
        "d": Recorded(touched.key, 10, 111),
    }
    local = {"a": (10, 111), "b": (10, 111), "c": None, "d": (10, 222), "e": (10, 5)}
    plan = make_plan([unknown, missing, touched, changed, current], recorded, local)
    actions = {step.remote.path: step.action for step in plan.steps}
    assert actions == {
        "a": Action.SKIP,
        "b": Action.FETCH,
        "c": Action.FETCH,
        "d": Action.CHECK,
        "e": Action.CHECK,
    }
    assert [s.remote.path for s in plan.steps] == ["a", "b", "c", "d", "e"]
    assert plan.bytes_to_fetch == 40


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a//b", "a/./b", "x.incomplete"])
def test_unsafe_object_names_are_refused(name: str) -> None:
    with pytest.raises(TransferError, match="gs://b/p"):
        safe_relative(name, source="gs://b/p")


def test_globs() -> None:
    files = [_remote("a/model.safetensors"), _remote("a/README.md"), _remote("b.json")]
    chosen = select(files, ["a/*", "*.json"], ["*.md"])
    assert [f.path for f in chosen] == ["a/model.safetensors", "b.json"]


def test_s3_addressing_is_path_style_where_a_virtual_host_breaks_tls() -> None:
    assert s3_base_url("models", "eu-west-1") == "https://models.s3.eu-west-1.amazonaws.com"
    dotted = s3_base_url("models.example.com", "eu-west-1")
    assert dotted == "https://s3.eu-west-1.amazonaws.com/models.example.com"
    assert s3_base_url("Upper_Case", "us-east-1").startswith("https://s3.us-east-1.amazonaws.com/")
    local = s3_base_url("a.b", "us-east-1", "http://127.0.0.1:5000/")
    assert local == "http://127.0.0.1:5000/a.b"


def test_split_policy_keeps_shards_whole_and_splits_big_files() -> None:
    from podkit.worker.transfer.engine import split_policy
    from podkit.worker.transfer.jobs import MiB, SyncOptions

    options = SyncOptions(connections=16)
    assert split_policy(options, 16 * 64 * MiB).range_threshold == 64 * MiB  # 16 shards: whole
    assert split_policy(options, 10 * 1024 * MiB).range_threshold == 256 * MiB  # capped
    assert split_policy(options, 100 * MiB).range_threshold == options.range_threshold
