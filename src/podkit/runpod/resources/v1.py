"""REST v1 resources (`--api v1`): bare-array lists, templates carry the container."""

from __future__ import annotations

from podkit.runpod.resources._crud import Collection, crud_operations, register
from podkit.runpod.types import v1 as t


class Endpoints(Collection[t.Endpoint, t.EndpointCreate, t.EndpointUpdate]):
    model = t.Endpoint
    path = "/v1/endpoints"
    what = "endpoint"


class Templates(Collection[t.Template, t.TemplateCreate, t.TemplateUpdate]):
    model = t.Template
    path = "/v1/templates"
    what = "template"


class NetworkVolumes(Collection[t.NetworkVolume, t.NetworkVolumeCreate, t.NetworkVolumeUpdate]):
    model = t.NetworkVolume
    path = "/v1/networkvolumes"
    what = "network volume"


class RegistryAuth(Collection[t.RegistryAuth, t.RegistryAuthCreate, t.RegistryAuthCreate]):
    model = t.RegistryAuth
    path = "/v1/containerregistryauth"
    what = "registry credential"


register(
    *crud_operations(
        "v1",
        "/endpoints",
        t.Endpoint,
        t.EndpointCreate,
        t.EndpointUpdate,
        list_key=None,
        id_param="{endpointId}",
    ),
    *crud_operations(
        "v1",
        "/templates",
        t.Template,
        t.TemplateCreate,
        t.TemplateUpdate,
        list_key=None,
        id_param="{templateId}",
    ),
    *crud_operations(
        "v1",
        "/networkvolumes",
        t.NetworkVolume,
        t.NetworkVolumeCreate,
        t.NetworkVolumeUpdate,
        list_key=None,
        id_param="{networkVolumeId}",
    ),
    *crud_operations(
        "v1",
        "/containerregistryauth",
        t.RegistryAuth,
        t.RegistryAuthCreate,
        None,
        list_key=None,
        id_param="{containerRegistryAuthId}",
    ),
)
