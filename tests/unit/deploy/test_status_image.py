from __future__ import annotations

from podkit.deploy.model import Resource, Snapshot
from podkit.deploy.status import endpoint_image


def _template(template_id: str, image: str) -> Resource:
    return Resource("template", "demo-staging", {"image": image}, id=template_id)


def test_v1_reads_the_image_of_the_template_the_endpoint_runs_not_of_a_namesake() -> None:
    snapshot = Snapshot(
        (_template("tpl-a", "ghcr.io/acme/w:old"), _template("tpl-b", "ghcr.io/acme/w:new"))
    )
    fields = {"template": "demo-staging"}
    endpoint = Resource("endpoint", "demo-staging", fields, id="ep", refs={"template": "tpl-b"})
    assert endpoint_image(snapshot, endpoint) == "ghcr.io/acme/w:new"


def test_v2_has_the_image_on_the_endpoint_and_an_unknown_template_none() -> None:
    v2 = Resource("endpoint", "demo", {"image": "ghcr.io/acme/w:2"}, id="ep")
    assert endpoint_image(Snapshot(), v2) == "ghcr.io/acme/w:2"
    orphan = Resource("endpoint", "demo", {"template": "gone"}, id="ep", refs={"template": "x"})
    assert endpoint_image(Snapshot(), orphan) is None
