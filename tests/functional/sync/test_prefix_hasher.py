"""The pipelined read-back hasher: ranges finishing out of order still hash in file order."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from podkit.worker.transfer.jobs import split_chunks
from podkit.worker.transfer.verify import Expected, PrefixHasher


def test_out_of_order_ranges_hash_like_the_whole_file(tmp_path: Path) -> None:
    data = random.Random(3).randbytes(1_000_003)
    temp = tmp_path / "t.incomplete"
    temp.write_bytes(data)
    chunks = split_chunks(len(data), 65_536)
    part = 300_000
    parts = [data[i : i + part] for i in range(0, len(data), part)]
    etag = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    expected = Expected(
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        s3_multipart_etag=f"{etag}-{len(parts)}",
        s3_part_size=part,
    )
    hasher = PrefixHasher(expected, temp, chunks)
    done: dict[int, int] = {}
    order = list(range(len(chunks)))
    random.Random(4).shuffle(order)
    for index in order[:-1]:
        done[index] = 0
        hasher.advance(done)
    done[order[-1]] = 0
    digests = hasher.digests(done)
    assert expected.mismatches(digests) == []
    assert digests["sha256"] == hashlib.sha256(data).hexdigest()
