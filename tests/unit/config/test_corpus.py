"""Messages for unknown keys: the allowed keys, and the close one when there is one.

Every file of the corpus is run through the CLI in tests/functional/deploy/test_broken_configs.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from podkit.config import load_config
from podkit.errors import ConfigError

CORPUS = Path(__file__).parents[2] / "fixtures" / "config" / "broken"


def _first(name: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(CORPUS / f"{name}.toml")
    return str(caught.value.message).splitlines()[0]


def test_an_unknown_key_lists_the_allowed_ones_and_suggests_a_close_one() -> None:
    assert _first("unknown-endpoint-key").endswith(
        "endpoint.gpu_type: unknown key; did you mean 'gpu_types'? (allowed here: "
        "cuda_versions, datacenters, execution_timeout, flashboot, gpu_count, gpu_pools, "
        "gpu_types, idle_timeout, name, scaler, type, workers_max, workers_min)"
    )
    assert _first("volume-unknown-key").endswith(
        "volume.region: unknown key; delete it (allowed here: datacenter, name, size_gb)"
    )


def test_a_key_of_a_section_written_outside_it_is_sent_there() -> None:
    assert _first("endpoint-key-at-top-of-overlay").endswith(
        "workers_max [env.staging]: unknown key; it belongs in the endpoint section: "
        "endpoint.workers_max"
    )


def test_a_name_is_matched_to_the_catalog_id_it_most_likely_means() -> None:
    assert _first("gpu-display-name").endswith(
        "'H100 80GB HBM3' is not a known GPU type id; did you mean 'NVIDIA H100 80GB HBM3'?"
    )
    assert _first("datacenter-lowercase").endswith("did you mean 'EU-RO-1'?")
    assert _first("gpu-pool-lowercase").endswith("did you mean 'AMPERE_80'?")
