"""podkit.toml -> a typed, validated `Deployment` (one per environment).

`load_config(path, env=..., overrides=[...])` reads the file, overlays `[env.NAME]` and
`--set KEY=VALUE` overrides, and validates every environment; problems come back as one
`ConfigError` naming file, line and key. The schema is documented in docs/config.md.
"""

from podkit.config.durations import format_duration, parse_duration
from podkit.config.loader import DEFAULT_FILE, LoadedConfig, load_config
from podkit.config.schema import (
    Deployment,
    EndpointConfig,
    ImageConfig,
    ScalerConfig,
    VolumeConfig,
    WorkerConfig,
    split_image,
)
from podkit.config.smoke import SmokeTest

__all__ = [
    "DEFAULT_FILE",
    "Deployment",
    "EndpointConfig",
    "ImageConfig",
    "LoadedConfig",
    "ScalerConfig",
    "SmokeTest",
    "VolumeConfig",
    "WorkerConfig",
    "format_duration",
    "load_config",
    "parse_duration",
    "split_image",
]
