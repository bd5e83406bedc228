"""podkit.toml -> desired objects: names, ownership marks, GPU mapping, image choice."""

from __future__ import annotations

import pytest

from podkit.deploy.desired import build_desired
from podkit.errors import ConfigError
from podkit.runpod.types.v2 import GpuType
from tests.unit.deploy.conftest import deployment


def test_ci_built_image_needs_an_explicit_reference(catalog: list[GpuType]) -> None:
    dep = deployment(image={"repository": "ghcr.io/acme/gpu-worker"})
    with pytest.raises(ConfigError, match=r"pass --image REPO@sha256"):
        build_desired(dep, api="v2", catalog=catalog)
    ref = "ghcr.io/acme/gpu-worker@sha256:" + "e" * 64
    assert build_desired(dep, api="v2", catalog=catalog, image=ref).image == ref


def test_pools_become_types_on_v1_and_types_become_pools_on_v2(catalog: list[GpuType]) -> None:
    dep = deployment(endpoint={"gpu_pools": ["ADA_24"], "execution_timeout": 3600.0})
    v1 = build_desired(dep, api="v1", catalog=catalog).get("endpoint")
    v2 = build_desired(dep, api="v2", catalog=catalog).get("endpoint")
    assert v1 is not None and v2 is not None
    assert v1.fields["gpu.types"] == ["NVIDIA GeForce RTX 4090", "NVIDIA L4"]
    assert (v2.fields["gpu.pools"], v2.fields["gpu.excluded"]) == (["ADA_24"], [])


def test_owner_marks_and_secret_fields(catalog: list[GpuType]) -> None:
    state = build_desired(deployment(), api="v1", catalog=catalog)
    template, endpoint = state.get("template"), state.get("endpoint")
    assert template is not None and endpoint is not None
    assert template.fields["env.PODKIT_OWNER"] == "gpu-worker/staging"
    assert template.fields["env.HF_TOKEN"] == "{{ RUNPOD_SECRET_hf_token }}"
    assert template.secret_fields == {"env.HF_TOKEN"}
    assert endpoint.fields["template"] == template.name
    assert endpoint.write_only == {"flashboot"}
    assert endpoint.fields["data_centers"] == []  # none chosen: every one (v1 lists all 26)


def test_request_count_queue_endpoints_carry_no_idle_timeout(catalog: list[GpuType]) -> None:
    dep = deployment(endpoint={"gpu_types": ["NVIDIA L4"], "execution_timeout": 3600.0,
                               "scaler": {"type": "request_count", "value": 2}})  # fmt: skip
    endpoint = build_desired(dep, api="v2", catalog=catalog).get("endpoint")
    assert endpoint is not None
    assert "workers.idle_timeout" not in endpoint.fields
    assert (endpoint.fields["scaler.type"], endpoint.fields["scaler.value"]) == ("REQUEST_COUNT", 2)
