"""The docs' key tables are the schema's: generated from it, and checked here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from podkit.config.reference import blocks, marked
from podkit.config.schema import (
    MAX_EXECUTION_TIMEOUT,
    MAX_VOLUME_GB,
    MIN_EXECUTION_TIMEOUT,
    MIN_VOLUME_GB,
)

ROOT = Path(__file__).parents[3]
UNITS = {"s": 1, "min": 60, "h": 3600, "d": 86400}


@pytest.mark.parametrize(("doc", "name"), sorted(blocks()))
def test_a_generated_block_of_the_docs_is_current(doc: str, name: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    assert marked(text, name) == blocks()[(doc, name)], (
        f"{doc} block {name!r} is stale: run `python -m podkit.config.reference`"
    )


def test_the_generated_tables_carry_the_schemas_ranges_and_values() -> None:
    keys = blocks()[("docs/config.md", "keys")]
    assert f"| `volume.size_gb` | integer | required | {MIN_VOLUME_GB}..{MAX_VOLUME_GB} |" in keys
    assert "| `endpoint.execution_timeout` | duration | `10m` | 10m..1d |" in keys
    assert "`queue` \\| `load_balancer`" in keys
    assert "`NVIDIA H100 80GB HBM3`" in blocks()[("docs/config.md", "catalog")]
    assert "(`http://` on loopback only)" in blocks()[("docs/models.md", "models")]


@pytest.mark.parametrize("doc", ["README.md", "docs/deploy.md"])
def test_prose_that_quotes_a_range_quotes_the_schemas(doc: str) -> None:
    text = " ".join((ROOT / doc).read_text(encoding="utf-8").split())
    timeout = re.search(r"execution timeout (\d+) (\w+) \.\. (\d+) (\w+)", text)
    assert timeout is not None, f"{doc} no longer states the execution timeout range"
    low = int(timeout.group(1)) * UNITS[timeout.group(2)]
    high = int(timeout.group(3)) * UNITS[timeout.group(4)]
    assert (low, high) == (MIN_EXECUTION_TIMEOUT, MAX_EXECUTION_TIMEOUT)
    volume = re.search(r"volume (\d+)\.\.(\d+) GB", text)
    assert volume is not None, f"{doc} no longer states the volume size range"
    assert (int(volume.group(1)), int(volume.group(2))) == (MIN_VOLUME_GB, MAX_VOLUME_GB)
