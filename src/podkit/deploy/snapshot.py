"""Read remote: list the account's objects once and normalise them (v2 or v1).

A plan on v2 costs two list calls (volumes, endpoints), plus registries when podkit.toml
names one; v1 adds templates. Objects of other projects are read too (so a name clash with
something podkit does not own is caught), but only owned ones are ever written. The deploy
lock's template is left out: it is not part of the deployment.
"""

from __future__ import annotations

from dataclasses import replace

from podkit.deploy import wire_v1, wire_v2
from podkit.deploy.model import LOCK_ENV, Resource, Scope, Snapshot
from podkit.runpod import RunPodClient, RunPodV1, RunPodV2


def read_snapshot(client: RunPodClient, scope: Scope, *, registries: bool = False) -> Snapshot:
    """One consistent-enough view of the remote state, for planning."""
    if isinstance(client, RunPodV1):
        return _read_v1(client, scope, registries)
    volumes = [wire_v2.volume_resource(v, scope) for v in client.network_volumes.list()]
    names = {v.id or "": v.name for v in volumes}
    creds = [(r.name, r.id) for r in client.registries.list()] if registries else []
    names |= {rid: name for name, rid in creds}
    endpoints = [wire_v2.endpoint_resource(e, names) for e in client.endpoints.list()]
    return Snapshot(tuple(volumes + _all_dcs_as_none(client, endpoints)), tuple(creds))


def _all_dcs_as_none(client: RunPodV2, endpoints: list[Resource]) -> list[Resource]:
    """An endpoint allowed in every datacenter reads as one with none chosen (`[]`).

    REST v1 stores "none chosen" as the full list; without this a v2 plan of an endpoint
    that v1 made would show `data_centers [every DC] -> []` as a change.
    """
    if not any(len(e.fields.get("data_centers") or ()) > 1 for e in endpoints):
        return endpoints
    every = {dc.id for dc in client.catalog.datacenters()}
    return [
        replace(e, fields={**e.fields, "data_centers": []})
        if every and every <= set(e.fields.get("data_centers") or ())
        else e
        for e in endpoints
    ]


def owned_templates(client: RunPodV2, scope: Scope) -> list[Resource]:
    """Templates of this project and environment seen through v2 (a v1 deploy made them),
    so a v2 `destroy` removes them too: those with the name prefix and `PODKIT_OWNER`, as
    podkit makes them; the deploy lock's template is never among them."""
    return [
        Resource("template", tpl.name, {}, id=tpl.id, owner=scope.owner)
        for tpl in client.templates.list()
        if wire_v1.template_owner(tpl.name, tpl.env) == scope.owner and LOCK_ENV not in tpl.env
    ]


def _read_v1(client: RunPodV1, scope: Scope, registries: bool) -> Snapshot:
    volumes = [wire_v1.volume_resource(v, scope) for v in client.network_volumes.list()]
    names = {v.id or "": v.name for v in volumes}
    creds = [(r.name, r.id) for r in client.registry_auth.list()] if registries else []
    names |= {rid: name for name, rid in creds}
    raw_templates = [t for t in client.templates.list() if LOCK_ENV not in t.env]
    templates = [wire_v1.template_resource(t, names) for t in raw_templates]
    owners = {t.id or "": t.owner for t in templates}
    names |= {t.id or "": t.name for t in templates}
    endpoints = [wire_v1.endpoint_resource(e, names, owners) for e in client.endpoints.list()]
    resources: list[Resource] = volumes + templates + endpoints
    return Snapshot(tuple(resources), tuple(creds))
