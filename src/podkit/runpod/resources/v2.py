"""REST v2 resources (default generation)."""

from __future__ import annotations

from typing import Any

from podkit.runpod._base import ApiBase, path_id
from podkit.runpod.resources._crud import Collection, Operation, crud_operations, register
from podkit.runpod.types import v2 as t


class Endpoints(Collection[t.Endpoint, t.EndpointCreate, t.EndpointUpdate]):
    model = t.Endpoint
    path = "/v2/serverless"
    list_key = "endpoints"
    what = "endpoint"


class Templates(Collection[t.Template, t.TemplateCreate, t.TemplateUpdate]):
    model = t.Template
    path = "/v2/templates"
    list_key = "templates"
    what = "template"


class NetworkVolumes(Collection[t.NetworkVolume, t.NetworkVolumeCreate, t.NetworkVolumeUpdate]):
    model = t.NetworkVolume
    path = "/v2/network-volumes"
    list_key = "networkVolumes"
    what = "network volume"


class Registries(Collection[t.Registry, t.RegistryCreate, t.RegistryCreate]):
    model = t.Registry
    path = "/v2/registries"
    list_key = "registries"
    what = "registry"


class Catalog:
    """GPU types and data centers: availability, CUDA versions, prices."""

    def __init__(self, api: ApiBase) -> None:
        self._api = api

    def gpus(self, *, count: int = 1, availability: bool = True) -> list[t.GpuType]:
        params: dict[str, Any] = {}
        if availability:
            params = {"include": "AVAILABILITY", "product": "SERVERLESS", "count": count}
        data = self._api.request("GET", "/v2/catalog/gpus", params=params)
        return self._api.parse(t.GpuTypeList, data, "GPU catalog").gpus

    def datacenters(self) -> list[t.DataCenter]:
        data = self._api.request("GET", "/v2/catalog/datacenters")
        return self._api.parse(t.DataCenterList, data, "data-center catalog").data_centers


class Releases:
    """An endpoint's releases (newest first) and rollout state."""

    def __init__(self, api: ApiBase) -> None:
        self._api = api

    def list(self, endpoint_id: str) -> t.ReleaseList:
        endpoint = path_id(endpoint_id, "endpoint")
        data = self._api.request("GET", f"/v2/serverless/{endpoint}/releases")
        return self._api.parse(t.ReleaseList, data, f"releases of endpoint {endpoint_id}")


class Workers:
    """An endpoint's active workers and their summary."""

    def __init__(self, api: ApiBase) -> None:
        self._api = api

    def list(self, endpoint_id: str) -> t.WorkerList:
        endpoint = path_id(endpoint_id, "endpoint")
        data = self._api.request("GET", f"/v2/serverless/{endpoint}/workers")
        return self._api.parse(t.WorkerList, data, f"workers of endpoint {endpoint_id}")


register(
    *crud_operations(
        "v2",
        "/v2/serverless",
        t.Endpoint,
        t.EndpointCreate,
        t.EndpointUpdate,
        list_key="endpoints",
    ),
    *crud_operations(
        "v2",
        "/v2/templates",
        t.Template,
        t.TemplateCreate,
        t.TemplateUpdate,
        list_key="templates",
    ),
    *crud_operations(
        "v2",
        "/v2/network-volumes",
        t.NetworkVolume,
        t.NetworkVolumeCreate,
        t.NetworkVolumeUpdate,
        list_key="networkVolumes",
    ),
    *crud_operations(
        "v2", "/v2/registries", t.Registry, t.RegistryCreate, None, list_key="registries"
    ),
    Operation("v2", "GET", "/v2/catalog/gpus", None, t.GpuTypeList),
    Operation("v2", "GET", "/v2/catalog/datacenters", None, t.DataCenterList),
    Operation("v2", "GET", "/v2/serverless/{id}/releases", None, t.ReleaseList),
    Operation("v2", "GET", "/v2/serverless/{id}/workers", None, t.WorkerList),
)
