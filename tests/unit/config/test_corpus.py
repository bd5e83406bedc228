"""Every broken podkit.toml in the corpus is refused with its file, line and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podkit.config import load_config
from podkit.errors import ConfigError

CORPUS = Path(__file__).parents[2] / "fixtures" / "config" / "broken"
EXPECTED: dict[str, dict[str, str | int | None]] = json.loads(
    (CORPUS / "expected.json").read_text()
)


def test_the_corpus_is_large_and_complete() -> None:
    files = {path.stem for path in CORPUS.glob("*.toml")}
    assert files == set(EXPECTED)
    assert len(files) >= 40


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_config_names_file_line_and_key(name: str) -> None:
    path = CORPUS / f"{name}.toml"
    expected = EXPECTED[name]
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    first = str(caught.value.message).splitlines()[0]
    assert first.startswith(f"{path}:{expected['line']}:"), first
    if expected["key"]:
        assert f": {expected['key']}" in first, first


def test_an_unknown_key_lists_the_allowed_ones_and_suggests_a_close_one() -> None:
    messages = {}
    for name in ("unknown-endpoint-key", "volume-unknown-key"):
        with pytest.raises(ConfigError) as caught:
            load_config(CORPUS / f"{name}.toml")
        messages[name] = str(caught.value.message).splitlines()[0]
    assert messages["unknown-endpoint-key"].endswith(
        "endpoint.gpu_type: unknown key; did you mean 'gpu_types'? (allowed: cuda_versions, "
        "datacenters, execution_timeout, flashboot, gpu_count, gpu_pools, gpu_types, "
        "idle_timeout, name, scaler, type, workers_max, workers_min)"
    )
    assert messages["volume-unknown-key"].endswith(
        "volume.region: unknown key (allowed: datacenter, name, size_gb)"
    )
