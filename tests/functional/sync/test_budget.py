"""The connection budget against nginx's slow port (2 MiB/s per connection): the connections
an automatic budget adds, and those a fixed one has beyond its files, take the back halves of
the capped streams; a fixed budget never opens more connections than it was given."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from podkit.config.models import ModelSource
from podkit.worker.transfer import sync_models
from tests.functional.sync.test_split import LEFTOVERS, OPTIONS
from tests.functional.sync.testbed import Nginx, write_hf_repo

MiB = 1024 * 1024


def _sync_capped(
    nginx: Nginx, volume: Path, repo: str, grow_to: int | None, connections: int = 2
) -> tuple[int, int]:
    """Sync two 5 MiB files from the slow port starting on `connections`; the budget the sync
    ended with, and how many connections nginx served the files on."""
    files = {
        f"model-{i}.safetensors": hashlib.shake_256(b"%s%d" % (repo.encode(), i)).digest(5 * MiB)
        for i in range(2)
    }
    write_hf_repo(nginx.www, repo, files)
    options = replace(OPTIONS, connections=connections, grow_to=grow_to)
    entry = ModelSource(source=f"hf://{repo}", destination="m")
    report = sync_models(
        [entry], volume, options=options, env={"HF_ENDPOINT": f"{nginx.slow_url}/hf"}
    )
    assert report.status == "ok", report.message
    for path, data in files.items():
        assert (volume / "m" / path).read_bytes() == data
    assert not [p for p in volume.rglob(".*") if p.name.endswith(LEFTOVERS)]
    assert report.entries[0].bytes_fetched == 10 * MiB  # split between connections, never twice
    return report.connections, len(nginx.connections(nginx.ports.slow, f"/hf/{repo}/resolve/"))


def test_an_automatic_budget_opens_more_connections_where_each_is_capped(
    sync_nginx: Nginx, volume: Path
) -> None:
    ended_with, served_on = _sync_capped(sync_nginx, volume, "budget/auto", grow_to=4)
    # More than the two it started with. (Not a bound on concurrency: a step back and a
    # re-try later start a new thread, and with it a new connection.)
    assert served_on >= 3
    assert 2 <= ended_with <= 4  # kept where the rate followed (this port's pacing is bursty)


def test_a_fixed_budget_never_opens_more_connections(sync_nginx: Nginx, volume: Path) -> None:
    assert _sync_capped(sync_nginx, volume, "budget/fixed", grow_to=None) == (2, 2)


def test_a_budget_larger_than_the_file_count_splits_the_streams_from_the_start(
    sync_nginx: Nginx, volume: Path
) -> None:
    # Two files on four connections: the two threads without a file of their own start with
    # the streams and take their back halves, instead of waiting for a file that never comes.
    ended_with, served_on = _sync_capped(sync_nginx, volume, "budget/wide", None, connections=4)
    assert ended_with == 4
    assert served_on >= 3
