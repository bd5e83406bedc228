"""The podkit.toml schema: one typed, validated `Deployment` per environment."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from podkit.config import catalog
from podkit.config.local import LocalConfig
from podkit.config.models import ModelSource
from podkit.config.smoke import SmokeTest
from podkit.config.types import Name, ProjectName, Seconds, Section
from podkit.redact import register
from podkit.secret_shapes import is_inline_secret, looks_like_secret_value

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
IMAGE_RE = re.compile(
    r"^(?P<name>[a-z0-9]+(?:[._\-/:][a-z0-9]+)*?)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z0-9]+:[0-9A-Za-z]+))?$"
)
MAX_IMAGE_NAME = 255  # the registry (OCI distribution) limit of a repository name
REPOSITORY_RE = re.compile(r"^[A-Za-z0-9]+(?:[._\-/:@][A-Za-z0-9_.\-:]+)*$")
SECRET_REF_RE = re.compile(r"^\{\{\s*RUNPOD_SECRET_[A-Za-z0-9_\-]+\s*\}\}$")
# `${NAME}` or `$NAME` as a whole value: a shell reference, which no one expands in podkit.toml.
SHELL_REF_RE = re.compile(r"^\s*\$(?:\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)\s*$")
SECRET_NAME_RE = re.compile(r"^[A-Za-z0-9_\-]+$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# podkit deploys allow 10 min .. 24 h (the platform takes 5 s .. 7 d): shorter kills model
# downloads mid-way, longer belongs in a job with its own policy.executionTimeout.
MIN_EXECUTION_TIMEOUT = 600.0
MAX_EXECUTION_TIMEOUT = 86400.0
# Both REST generations accept 10..4000 GB (v1 0..4000, v2 10..4096).
MIN_VOLUME_GB = 10
MAX_VOLUME_GB = 4000

GpuTypeId = Annotated[str, AfterValidator(catalog.check_gpu_type)]
GpuPool = Annotated[str, AfterValidator(catalog.check_pool)]
CudaVersion = Annotated[str, AfterValidator(catalog.check_cuda)]
DataCenter = Annotated[str, AfterValidator(catalog.check_datacenter)]
SecretName = Annotated[str, AfterValidator(lambda name: _secret_name(name))]


def split_image(ref: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image reference; ValueError naming the problem."""
    match = IMAGE_RE.match(ref)
    if not match:
        raise ValueError(
            f"{ref!r} is not an image reference; write REGISTRY/REPO[:TAG][@sha256:<64 hex>], "
            "lowercase, without spaces"
        )
    if len(match.group("name")) > MAX_IMAGE_NAME:
        raise ValueError(
            f"{ref!r} is not an image reference: its repository name is longer than "
            f"{MAX_IMAGE_NAME} characters (the registries' limit); check the value"
        )
    digest = match.group("digest")
    if digest is not None and not DIGEST_RE.match(digest):
        raise ValueError(
            f"digest {digest!r} is malformed; write sha256: and 64 lowercase hex digits, "
            "copied from the build step's output"
        )
    return match.group("name"), match.group("tag"), digest


class ImageConfig(Section):
    """The worker image: a pinned reference, or a repository CI builds and pins (`--image`)."""

    ref: str | None = None
    repository: str | None = None
    context: str = "."
    dockerfile: str = "Dockerfile"

    @field_validator("ref")
    @classmethod
    def _check_ref(cls, value: str | None) -> str | None:
        if value is not None:
            split_image(value)
        return value

    @field_validator("repository")
    @classmethod
    def _check_repository(cls, value: str | None) -> str | None:
        if value is None:
            return value
        # Capitals pass: `podkit init` writes placeholders such as ghcr.io/OWNER/name.
        if not REPOSITORY_RE.match(value) or len(value) > MAX_IMAGE_NAME:
            raise ValueError(
                f"{value!r} is not an image repository; write REGISTRY/REPO (at most "
                f"{MAX_IMAGE_NAME} characters, without spaces), e.g. ghcr.io/acme/worker"
            )
        if "@" in value or ":" in value.rsplit("/", 1)[-1]:
            raise ValueError(
                f"{value!r} names a tag or digest, not a repository; write REGISTRY/REPO "
                "(CI pushes it and passes --image REPO@sha256:... to apply)"
            )
        return value

    @model_validator(mode="after")
    def _ref_or_repository(self) -> ImageConfig:
        if self.ref is None and self.repository is None:
            raise ValueError(
                "neither ref nor repository is set; set image.ref (a pinned reference) or "
                "image.repository (built by CI, then passed to apply as --image REPO@sha256:...)"
            )
        return self

    @property
    def digest(self) -> str | None:
        return split_image(self.ref)[2] if self.ref else None

    @property
    def pinned(self) -> bool:
        return self.digest is not None


class WorkerConfig(Section):
    """Container settings: env, secret references, disk, registry credentials."""

    env: dict[str, str] = Field(default_factory=dict)
    secrets: dict[str, SecretName] = Field(default_factory=dict)
    container_disk_gb: int = Field(default=20, ge=1, le=1000)
    registry_auth: str | None = None
    args: str = ""
    ports: list[str] = Field(default_factory=list)
    # Load-balancing endpoints: the worker's HTTP server (PORT), its health port and path.
    port: int | None = Field(default=None, ge=1, le=65535)
    health_port: int | None = Field(default=None, ge=1, le=65535)
    health_path: str | None = Field(default=None, pattern=r"^/[^\s?#]*$")

    @field_validator("env")
    @classmethod
    def _check_env(cls, env: dict[str, str]) -> dict[str, str]:
        for key, value in env.items():
            if not ENV_NAME_RE.match(key):
                raise ValueError(
                    f"{key!r} is not an environment variable name; use letters, digits and "
                    "'_', not starting with a digit"
                )
            if "\x00" in value:
                raise ValueError(
                    f"the value of {key} holds a NUL character (\\u0000), which no process "
                    "environment can carry; remove it"
                )
            if SHELL_REF_RE.match(value):
                raise ValueError(
                    f"the value of {key} is {value.strip()}, a shell variable that nothing "
                    "expands (the worker would get that very text); for a secret write "
                    f'worker.secrets.{key} = "<RunPod secret name>", for another value write '
                    "it here or pass it with --set, where your shell expands it"
                )
            if "{{" in value and not SECRET_REF_RE.match(value):
                raise ValueError(
                    f"the value of {key} looks like a secret reference but is malformed; "
                    "write it as {{ RUNPOD_SECRET_name }}"
                )
            if is_inline_secret(key, value):
                register(value)  # from here on, no output or file shows it
        return env

    @field_validator("args")
    @classmethod
    def _check_args(cls, args: str) -> str:
        if "\x00" in args:
            raise ValueError(
                "holds a NUL character (\\u0000), which no command line can carry; remove it"
            )
        return args

    @field_validator("secrets")
    @classmethod
    def _check_secrets(cls, secrets: dict[str, str]) -> dict[str, str]:
        for key in secrets:
            if not ENV_NAME_RE.match(key):
                raise ValueError(
                    f"{key!r} is not an environment variable name; use letters, digits and "
                    "'_', not starting with a digit"
                )
        return secrets

    @field_validator("registry_auth")
    @classmethod
    def _check_registry_auth(cls, name: str | None) -> str | None:
        if name is not None and not name.strip():
            raise ValueError(
                "is empty; name a registry credential on the RunPod account, or leave "
                "worker.registry_auth out for a public image"
            )
        if name is not None:
            _not_a_value("the value", name, "a registry credential on the RunPod account")
        return name

    @model_validator(mode="after")
    def _no_overlap(self) -> WorkerConfig:
        both = sorted(set(self.env) & set(self.secrets))
        if both:
            raise ValueError(
                f"{', '.join(both)} is set in both worker.env and worker.secrets; "
                "keep it in one of them (worker.secrets for a secret)"
            )
        return self

    def rendered_env(self) -> dict[str, str]:
        """The env the endpoint gets: plain values plus `{{ RUNPOD_SECRET_x }}` references."""
        rendered = dict(self.env)
        for key, name in self.secrets.items():
            rendered[key] = f"{{{{ RUNPOD_SECRET_{name} }}}}"
        return dict(sorted(rendered.items()))


def _secret_name(name: str) -> str:
    """A `worker.secrets` value: the name of a RunPod secret (checked per key, at its line)."""
    _not_a_value("the value", name, "a RunPod secret")
    if not SECRET_NAME_RE.match(name):
        raise ValueError(
            "the value is not a RunPod secret name (letters, digits, '_' and '-'); give the "
            "secret's name, never its value"
        )
    return name


def _not_a_value(subject: str, name: str, what: str) -> None:
    """Refuse a secret's value where its name belongs, without repeating the value."""
    if looks_like_secret_value(name):
        register(name)
        raise ValueError(
            f"{subject} looks like a secret itself, not the name of {what}; store the "
            "secret on RunPod (console > Secrets / Container registry auth) and put its name "
            "here, then rotate the exposed secret"
        )


class VolumeConfig(Section):
    """The network volume the endpoint's workers mount at /runpod-volume."""

    name: Name
    size_gb: int = Field(ge=MIN_VOLUME_GB, le=MAX_VOLUME_GB)
    datacenter: DataCenter


class ScalerConfig(Section):
    """How workers scale: queue delay (seconds) or request count per worker."""

    type: Literal["queue_delay", "request_count"] = "queue_delay"
    value: float = 4

    @model_validator(mode="after")
    def _check_value(self) -> ScalerConfig:
        if self.type == "queue_delay" and self.value < 0.5:
            raise ValueError(
                f"value {self.value:g} is too small for queue_delay (seconds); set value >= 0.5"
            )
        if self.type == "request_count" and (self.value < 1 or self.value != int(self.value)):
            raise ValueError(
                f"value {self.value:g} does not fit request_count; set a whole number >= 1"
            )
        return self


class EndpointConfig(Section):
    """The serverless endpoint."""

    name: Name | None = None
    type: Literal["queue", "load_balancer"] = "queue"
    gpu_pools: list[GpuPool] = Field(default_factory=list)
    gpu_types: list[GpuTypeId] = Field(default_factory=list)
    gpu_count: int = Field(default=1, ge=1, le=8)
    cuda_versions: list[CudaVersion] = Field(default_factory=list)
    datacenters: list[DataCenter] = Field(default_factory=list)
    workers_min: int = Field(default=0, ge=0, le=100)
    workers_max: int = Field(default=3, ge=0, le=100)
    idle_timeout: Seconds = Field(default=5.0, ge=1, le=3600)
    scaler: ScalerConfig = Field(default_factory=ScalerConfig, validate_default=True)
    execution_timeout: Seconds = Field(
        default=600.0, ge=MIN_EXECUTION_TIMEOUT, le=MAX_EXECUTION_TIMEOUT
    )
    flashboot: bool = True

    @model_validator(mode="before")
    @classmethod
    def _load_balancer_scales_on_requests(cls, data: Any) -> Any:
        """A load_balancer endpoint without a scaler type scales on requests (its only kind)."""
        if not isinstance(data, dict) or data.get("type") != "load_balancer":
            return data
        scaler = data.get("scaler", {})
        if isinstance(scaler, dict) and "type" not in scaler:
            data = {**data, "scaler": {**scaler, "type": "request_count"}}
        return data

    @field_validator("workers_max")
    @classmethod
    def _max_not_below_min(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("workers_min")
        if low is not None and low > value:
            raise ValueError(
                f"{value} is below workers_min ({low}); raise workers_max or lower workers_min"
            )
        return value

    @field_validator("scaler")
    @classmethod
    def _scaler_fits_type(cls, scaler: ScalerConfig, info: ValidationInfo) -> ScalerConfig:
        if info.data.get("type") == "load_balancer" and scaler.type != "request_count":
            raise ValueError(
                'a load_balancer endpoint scales on requests; set scaler.type = "request_count"'
            )
        return scaler

    @model_validator(mode="after")
    def _has_gpus(self) -> EndpointConfig:
        if not self.gpu_pools and not self.gpu_types:
            raise ValueError(
                "no GPUs are chosen; set endpoint.gpu_types (GPU type ids, in order of "
                "preference) or endpoint.gpu_pools (pool ids such as AMPERE_80)"
            )
        return self


class Deployment(Section):
    """Everything podkit deploys for one project in one environment."""

    project: ProjectName
    image: ImageConfig
    worker: WorkerConfig = Field(default_factory=WorkerConfig)
    volume: VolumeConfig | None = None
    endpoint: EndpointConfig
    smoke: list[SmokeTest] = Field(default_factory=list)
    models: list[ModelSource] = Field(default_factory=list)
    local: LocalConfig = Field(default_factory=LocalConfig)
    environment: str | None = None

    @property
    def endpoint_name(self) -> str:
        """The endpoint's name: explicit, else `<project>-<environment>` (or the project)."""
        if self.endpoint.name:
            return self.endpoint.name
        return f"{self.project}-{self.environment}" if self.environment else self.project
