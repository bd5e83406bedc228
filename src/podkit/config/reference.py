"""The key tables of docs/config.md and docs/models.md, generated from the schema itself.

Types, defaults, ranges and allowed values come from the pydantic models and the catalog
snapshot, so the docs cannot drift from what the loader accepts; a test compares the docs'
generated blocks with `blocks()`. Rewrite them with `python -m podkit.config.reference`.
"""

from __future__ import annotations

import re
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from podkit.config import catalog
from podkit.config.durations import format_duration
from podkit.config.local import LocalConfig
from podkit.config.messages import bounds, is_duration, model_of, show_range
from podkit.config.models import ModelSource
from podkit.config.schema import (
    Deployment,
    EndpointConfig,
    ImageConfig,
    ScalerConfig,
    VolumeConfig,
    WorkerConfig,
)
from podkit.config.smoke import SmokeTest

# Words for what a type annotation cannot say: why a key exists, how it combines with others.
NOTES = {
    "project": "names every object podkit creates and the history file",
    "image.ref": "`REGISTRY/REPO[:TAG][@sha256:<64 hex>]`; a tag alone is a warning, "
    "`--require-digest` makes it an error",
    "image.repository": "what CI builds; one of `ref` / `repository` is required",
    "image.context": "build context, for CI",
    "image.dockerfile": "Dockerfile path, for CI",
    "worker.env": "values may be `{{ RUNPOD_SECRET_name }}` references; an inline secret "
    "(secret-looking name or value) is warned about, shown as `(sensitive)` and kept in history "
    "as a fingerprint ([deploy.md](deploy.md#secrets))",
    "worker.secrets": "env name -> RunPod secret *name* (never the value); a value that looks "
    "like a secret itself is an error",
    "worker.container_disk_gb": "ephemeral container disk",
    "worker.registry_auth": "name of a registry credential on the account; a value that looks "
    "like a secret itself is an error",
    "worker.args": "arguments passed to the image's entrypoint",
    "worker.ports": "load balancer: default `<port>/http` for `port` and `health_port`",
    "worker.port": "load balancer: the server's `PORT` (platform default 80)",
    "worker.health_port": "load balancer: `PORT_HEALTH` (default: `port`)",
    "worker.health_path": "load balancer: `HEALTH_CHECK_PATH` (default `/ping`)",
    "volume.name": "all three keys are required when `[volume]` is present",
    "volume.size_gb": "grow-only on RunPod",
    "volume.datacenter": "must be in `endpoint.datacenters` when that is set",
    "endpoint.name": "default: `<project>-<environment>`, or `<project>`",
    "endpoint.type": "cannot change later; `load_balancer` scales on `request_count` only",
    "endpoint.gpu_pools": "at least one of `gpu_types` / `gpu_pools`",
    "endpoint.gpu_types": "preferred first; full ids, not display names",
    "endpoint.cuda_versions": "empty = any",
    "endpoint.datacenters": "where workers may run; empty = anywhere",
    "endpoint.workers_min": "always-on workers (billed continuously); `min <= max`",
    "endpoint.workers_max": "counts toward the account's worker quota",
    "endpoint.execution_timeout": "per job; a longer job sets its own `--execution-timeout`",
    "endpoint.scaler.type": "",
    "endpoint.scaler.value": "`queue_delay`: seconds, >= 0.5; `request_count`: whole, >= 1",
    "local.worker_command": "local RunPod only: what its workers run instead of podkit's "
    "worker (as the Dockerfile's `CMD`), in the directory of podkit.toml, a first word "
    "`python` being the Python podkit runs on; `apply` sets it; ignored on RunPod",
    "[[smoke]].expect": "dotted output paths and the values they must equal (JSON values: "
    "no dates, times, nan or inf)",
    "[[smoke]].expect_keys": "dotted output paths that must exist",
    "[[smoke]].input": "a queue endpoint's job input (or `path`, not both); JSON values: no "
    "dates, times, nan or inf",
    "[[smoke]].method": "load balancer: default GET, POST with a `body`",
    "[[smoke]].path": "load balancer: the request path, e.g. `/ping`; no `.` or `..` segments",
    "[[smoke]].body": "load balancer: sent as JSON (no dates, times, nan or inf)",
    "[[smoke]].expect_http_status": "load balancer: the status the answer must have",
    "[[smoke]].max_latency": "load balancer: seconds, the whole request",
    "source": "`gs://bucket/prefix`, `s3://bucket/prefix`, `https://host/path/file` "
    "(`http://` on loopback only), `hf://org/repo[@revision]` (default revision `main`)",
    "destination": "a directory under the volume: relative (`models/x`) or absolute under "
    "`/runpod-volume`; no `.` or `..` segments, backslashes or NUL",
    "include": "globs on the path below the prefix; only matching files are synced "
    "(`*` also matches `/`)",
    "exclude": "globs; matching files are skipped",
    "sha256": "only for an `https` source (a single file): its digest, 64 lowercase hex digits",
    "name": "a short label for progress and reports",
}

CATALOG_CHECKED = {
    "endpoint.gpu_types": "GPU type ids (see the catalog below)",
    "endpoint.gpu_pools": "pool ids (see the catalog below)",
    "endpoint.cuda_versions": ", ".join(catalog.CUDA_VERSIONS),
    "endpoint.datacenters": "data center ids (see the catalog below)",
    "volume.datacenter": "a data center id (see the catalog below)",
}
ALLOWED = {
    "project": "lowercase letters, digits, `-`; at most 40",
    "volume.name": "letters, digits, `_ . -`; at most 64",
    "endpoint.name": "letters, digits, `_ . -`; at most 64",
}
SECTIONS: tuple[tuple[str, type[BaseModel]], ...] = (
    ("", Deployment),
    ("image.", ImageConfig),
    ("worker.", WorkerConfig),
    ("volume.", VolumeConfig),
    ("endpoint.", EndpointConfig),
    ("endpoint.scaler.", ScalerConfig),
    ("[[smoke]].", SmokeTest),
    ("local.", LocalConfig),
)
HEADER = "| key | type | default | allowed | notes |\n|---|---|---|---|---|\n"


def _type(field: FieldInfo) -> str:
    if is_duration(field):
        return "duration"
    return _words(field.annotation)


def _words(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return "string"
    if origin is list:
        return f"list of {_words(args[0])}s"
    if origin is dict:
        return f"table of {_words(args[1])}s"
    if origin is typing.Annotated:
        return _words(args[0])
    if args and (origin is typing.Union or origin is types.UnionType):
        return " or ".join(_words(a) for a in args if a is not type(None))
    names = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "table"}
    return names.get(annotation, "value") if isinstance(annotation, type) else "value"


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return "`[]`" if _type(field).startswith("list") else "`{}`"
    if field.default is PydanticUndefined:
        return "required"
    if field.default is None:
        return "none"
    if is_duration(field):
        return f"`{format_duration(float(field.default))}`"
    if isinstance(field.default, bool):
        return f"`{str(field.default).lower()}`"
    return f"`{field.default}`" if not isinstance(field.default, str) else f'`"{field.default}"`'


def _allowed(key: str, field: FieldInfo) -> str:
    if key in CATALOG_CHECKED:
        return CATALOG_CHECKED[key]
    if key in ALLOWED:
        return ALLOWED[key]
    if typing.get_origin(field.annotation) is Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(field.annotation))
    low, high = bounds(field)
    if low is not None or high is not None:
        return show_range(field)
    return ""


def _rows(prefix: str, model: type[BaseModel]) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        inner = typing.get_args(field.annotation)
        nested = model_of(field.annotation) is not None or any(model_of(a) for a in inner)
        if name == "environment" or (nested and name != "input"):
            continue
        key = f"{prefix}{name}"
        cells = (
            f"`{key}`",
            _type(field),
            _default(field),
            _allowed(key, field),
            NOTES.get(key, ""),
        )
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def keys_table() -> str:
    """The podkit.toml key table (docs/config.md)."""
    return HEADER + "\n".join(row for p, m in SECTIONS for row in _rows(p, m)) + "\n"


def models_table() -> str:
    """The [[models]] field table (docs/models.md)."""
    return HEADER + "\n".join(_rows("", ModelSource)) + "\n"


def catalog_table() -> str:
    """The GPU pools and data centers podkit.toml names are checked against."""
    lines = ["| pool | GPU type ids |", "|---|---|"]
    lines += [
        f"| `{pool}` | {', '.join(f'`{g}`' for g in gpus)} |"
        for pool, gpus in catalog.POOLS.items()
    ]
    lines += ["", "Data centers: " + ", ".join(f"`{dc}`" for dc in catalog.DATACENTERS) + "."]
    return "\n".join(lines) + "\n"


def blocks() -> dict[tuple[str, str], str]:
    """(docs file, block name) -> the generated text between its markers."""
    return {
        ("docs/config.md", "keys"): keys_table(),
        ("docs/config.md", "catalog"): catalog_table(),
        ("docs/models.md", "models"): models_table(),
    }


def marked(text: str, name: str) -> str | None:
    """The text between `<!-- generated:NAME -->` and `<!-- end:NAME -->`, or None."""
    found = re.search(rf"<!-- generated:{name} -->\n(.*?)<!-- end:{name} -->", text, re.S)
    return found.group(1) if found else None


def write(root: Path) -> None:
    """Rewrite every generated block of the docs under `root`."""
    for (doc, name), body in blocks().items():
        path = root / doc
        text = path.read_text(encoding="utf-8")
        begin, end = f"<!-- generated:{name} -->\n", f"<!-- end:{name} -->"
        old = marked(text, name)
        if old is None:
            raise SystemExit(f"{path}: no {begin.strip()} ... {end} markers")
        path.write_text(text.replace(begin + old + end, begin + body + end), encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else Path())
