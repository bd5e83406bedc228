"""REST v2 types (`/v2/serverless`, templates, network volumes, registries, catalog)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from podkit.runpod.types._common import Request, Response

EndpointType = Literal["QUEUE", "LOAD_BALANCER"]
FlashBoot = Literal["OFF", "FLASHBOOT", "PRIORITY_FLASHBOOT"]
Availability = Literal["NONE", "LOW", "MEDIUM", "HIGH"]
WorkerStatus = Literal["RUNNING", "IDLE", "INITIALIZING", "THROTTLED", "UNHEALTHY"]


class QueueDelayScaling(Request):
    type: Literal["QUEUE_DELAY"] = "QUEUE_DELAY"
    queue_delay: float


class RequestCountScaling(Request):
    type: Literal["REQUEST_COUNT"] = "REQUEST_COUNT"
    request_count: int


Scaling = Annotated[QueueDelayScaling | RequestCountScaling, Field(discriminator="type")]


class EndpointWorkers(Request):
    min: int | None = None
    max: int | None = None
    idle_timeout: int | None = None


class EndpointGpuCreate(Request):
    pools: list[str]
    excluded_types: list[str] | None = None
    count: int | None = None
    allowed_cuda_versions: list[str] | None = None
    min_cuda_version: str | None = None


class EndpointGpuUpdate(Request):
    pools: list[str] | None = None
    excluded_types: list[str] | None = None
    count: int | None = None
    allowed_cuda_versions: list[str] | None = None
    min_cuda_version: str | None = None


class _ContainerFields(Request):
    image: str | None = None
    args: str | None = None
    disk: int | None = None
    ports: list[str] | None = None
    env: dict[str, str] | None = None
    registry: str | None = None


class EndpointCreate(_ContainerFields):
    name: str
    type: EndpointType
    scaling: Scaling
    template_id: str | None = None
    gpu: EndpointGpuCreate | None = None
    workers: EndpointWorkers | None = None
    data_center_ids: list[str] | None = None
    network_volumes: list[str] | None = None
    timeout: int | None = None
    flashboot: FlashBoot | None = None


class EndpointUpdate(_ContainerFields):
    name: str | None = None
    scaling: Scaling | None = None
    template_id: str | None = None
    gpu: EndpointGpuUpdate | None = None
    workers: EndpointWorkers | None = None
    data_center_ids: list[str] | None = None
    network_volumes: list[str] | None = None
    timeout: int | None = None
    flashboot: FlashBoot | None = None


class EndpointGpu(Response):
    pools: list[str] = []
    count: int = 1
    excluded_types: list[str] = []
    allowed_cuda_versions: list[str] = []
    min_cuda_version: str | None = None


class WorkersSetting(Response):
    min: int = 0
    max: int = 0
    idle_timeout: int | None = None


class ScalingSetting(Response):
    type: Literal["QUEUE_DELAY", "REQUEST_COUNT"]
    queue_delay: float | None = None
    request_count: int | None = None


class Endpoint(Response):
    id: str
    name: str
    type: EndpointType = "QUEUE"
    image: str | None = None
    args: str | None = None
    disk: int | None = None
    ports: list[str] = []
    env: dict[str, str] = {}
    registry: str | None = None
    gpu: EndpointGpu | None = None
    workers: WorkersSetting
    scaling: ScalingSetting
    data_center_ids: list[str] = []
    network_volumes: list[str] = []
    timeout: int
    flashboot: FlashBoot = "OFF"
    created_at: str | None = None
    request_urls: dict[str, str] | None = None


class EndpointList(Response):
    endpoints: list[Endpoint]


class TemplateCreate(_ContainerFields):
    name: str
    serverless: bool | None = None
    category: Literal["CPU", "NVIDIA", "AMD"] | None = None
    allowed_cuda_versions: list[str] | None = None
    start_ssh: bool | None = None
    start_jupyter: bool | None = None


class TemplateUpdate(_ContainerFields):
    name: str | None = None
    allowed_cuda_versions: list[str] | None = None


class Template(Response):
    id: str
    name: str
    image: str
    args: str = ""
    disk: int | None = None
    ports: list[str] = []
    env: dict[str, str] = {}
    registry: str | None = None
    serverless: bool = False
    public: bool = False
    allowed_cuda_versions: list[str] = []


class TemplateList(Response):
    templates: list[Template]


class NetworkVolumeCreate(Request):
    name: str
    size: int
    data_center: str
    type: Literal["STANDARD", "HIGH_PERFORMANCE"] | None = None


class NetworkVolumeUpdate(Request):
    name: str | None = None
    size: int | None = None


class NetworkVolume(Response):
    id: str
    name: str
    size: int
    data_center: str
    type: Literal["STANDARD", "HIGH_PERFORMANCE"] | None = None


class NetworkVolumeList(Response):
    network_volumes: list[NetworkVolume]


class RegistryCreate(Request):
    name: str
    username: str
    password: str = Field(repr=False)


class Registry(Response):
    id: str
    name: str


class RegistryList(Response):
    registries: list[Registry]


class GpuPrice(Response):
    secure: float | None = None
    community: float | None = None
    serverless: float | None = None


class GpuDataCenter(Response):
    id: str
    name: str | None = None
    availability: Availability | None = None


class CudaVersion(Response):
    version: str
    available: bool = True


class GpuType(Response):
    id: str
    name: str
    pool: str | None = None
    memory: int | None = None
    price: GpuPrice = GpuPrice()
    availability: Availability | None = None
    data_centers: list[GpuDataCenter] = []
    cuda_versions: list[CudaVersion] = []


class GpuTypeList(Response):
    gpus: list[GpuType]


class DataCenter(Response):
    id: str
    name: str | None = None
    region: str | None = None
    network_volume_types: list[Literal["STANDARD", "HIGH_PERFORMANCE"]] = []


class DataCenterList(Response):
    data_centers: list[DataCenter]


class ReleaseDiffEntry(Response):
    field: str
    old: Any = None
    new: Any = None


class Release(Response):
    id: str
    version: int | None = None
    source: Literal["GIT_BUILD", "MANUAL"] | None = None
    worker_count: int = 0
    created_at: str | None = None
    diff: list[ReleaseDiffEntry] = []


class Rollout(Response):
    in_progress: bool = False
    workers_on_latest: int = 0
    workers_total: int = 0
    percent_on_latest: int = 0


class ReleaseList(Response):
    endpoint_version: int | None = None
    rollout: Rollout = Rollout()
    releases: list[Release] = []


class Worker(Response):
    id: str
    status: WorkerStatus
    is_stale: bool = False
    version: int | None = None
    gpu_count: int = 0
    image: str | None = None
    gpu_type_id: str | None = None
    data_center_id: str | None = None
    uptime_seconds: int | None = None  # null until the worker is placed and running


class WorkerSummary(Response):
    running: int = 0
    idle: int = 0
    initializing: int = 0
    throttled: int = 0
    unhealthy: int = 0
    total: int = 0


class WorkerList(Response):
    endpoint_version: int | None = None
    summary: WorkerSummary = WorkerSummary()
    workers: list[Worker] = []
