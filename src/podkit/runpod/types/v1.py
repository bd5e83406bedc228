"""REST v1 types (`/v1/endpoints`, templates, network volumes, registry auths).

v1 differs from v2 where deploys trip: env lives on the template (an object, never a list),
there is no `dockerArgs`, the network volume goes on the endpoint, lists are bare arrays.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from podkit.runpod.types._common import Request, Response

ScalerType = Literal["QUEUE_DELAY", "REQUEST_COUNT"]


class TemplateCreate(Request):
    name: str
    image_name: str
    env: dict[str, str] | None = None
    container_disk_in_gb: int | None = None
    container_registry_auth_id: str | None = None
    docker_start_cmd: list[str] | None = None
    is_serverless: bool | None = None
    ports: list[str] | None = None
    volume_in_gb: int | None = None
    category: Literal["NVIDIA", "AMD", "CPU"] | None = None


class TemplateUpdate(Request):
    name: str | None = None
    image_name: str | None = None
    env: dict[str, str] | None = None
    container_disk_in_gb: int | None = None
    container_registry_auth_id: str | None = None
    docker_start_cmd: list[str] | None = None
    ports: list[str] | None = None


class Template(Response):
    id: str
    name: str
    image_name: str
    env: dict[str, str] = {}
    container_disk_in_gb: int | None = None
    container_registry_auth_id: str | None = None
    docker_start_cmd: list[str] = []
    is_serverless: bool = False
    ports: list[str] = []


class _EndpointFields(Request):
    name: str | None = None
    gpu_type_ids: list[str] | None = None
    gpu_count: int | None = None
    allowed_cuda_versions: list[str] | None = None
    min_cuda_version: str | None = None
    data_center_ids: list[str] | None = None
    network_volume_id: str | None = None
    network_volume_ids: list[str] | None = None
    workers_min: int | None = None
    workers_max: int | None = None
    idle_timeout: int | None = None
    scaler_type: ScalerType | None = None
    scaler_value: int | None = None
    execution_timeout_ms: int | None = None
    flashboot: bool | None = None


class EndpointCreate(_EndpointFields):
    template_id: str
    compute_type: Literal["GPU", "CPU"] | None = None


class EndpointUpdate(_EndpointFields):
    template_id: str | None = None


class Endpoint(Response):
    id: str
    name: str | None = None
    template_id: str | None = None
    version: int | None = None
    env: dict[str, str] = {}
    gpu_type_ids: list[str] = []
    gpu_count: int | None = None
    allowed_cuda_versions: list[str] = []
    min_cuda_version: str | None = None
    data_center_ids: list[str] = []
    network_volume_id: str | None = None
    network_volume_ids: list[str] = []
    workers_min: int = 0
    workers_max: int = 0
    idle_timeout: int | None = None
    scaler_type: ScalerType | None = None
    scaler_value: int | None = None
    execution_timeout_ms: int | None = None
    created_at: str | None = None


class NetworkVolumeCreate(Request):
    name: str
    size: int
    data_center_id: str


class NetworkVolumeUpdate(Request):
    name: str | None = None
    size: int | None = None


class NetworkVolume(Response):
    id: str
    name: str
    size: int
    data_center_id: str


class RegistryAuthCreate(Request):
    name: str
    username: str
    password: str = Field(repr=False)


class RegistryAuth(Response):
    id: str
    name: str
