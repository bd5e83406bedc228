"""Values typed on the command line, checked by the rules the file's keys follow.

Each check raises `ConfigError` shaped like a podkit.toml problem, with the option in place of
`FILE:LINE:COL`: `--image: 'x y' is not an image reference; write REGISTRY/REPO...`. The CLI
runs them before it opens any connection.
"""

from __future__ import annotations

import re

from podkit.config.durations import parse_duration
from podkit.config.problems import clip_values
from podkit.config.schema import Deployment, split_image
from podkit.errors import ConfigError

ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,127}$")
ID_RULE = "ids are letters, digits, '-' and '_', at most 128 characters"
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


def _refuse(option: str, message: str) -> ConfigError:
    what, _, fix = message.partition("; ")
    return ConfigError(clip_values(f"{option}: {what}; {fix or 'see --help'}"))


def check_image(value: str | None, option: str = "--image") -> str | None:
    """An image reference given on the command line, or ConfigError naming the option."""
    if value is None:
        return None
    try:
        split_image(value)
    except ValueError as exc:
        raise _refuse(option, str(exc)) from None
    return value


def require_digest(deployment: Deployment, image: str | None) -> None:
    """With `--require-digest`: the image deployed (`--image`, else image.ref) is pinned by a
    well-formed `sha256:` digest; ConfigError before any request otherwise."""
    ref = check_image(image) if image else deployment.image.ref
    source = "--image" if image else "image.ref"
    if ref is None:
        raise _refuse(
            "--require-digest",
            "no image to check (image.ref is not set and no --image was given); pass "
            "--image REPO@sha256:<64 hex digits> from the build step",
        )
    if split_image(ref)[2] is None:
        raise _refuse(
            "--require-digest",
            f"{source} {ref!r} is not pinned by a digest; pass --image "
            "REPO@sha256:<64 hex digits> from the build step",
        )


def check_duration(value: str | None, option: str) -> float | None:
    """`90`, `90s`, `10m`, `1h30m`, `2d`, `500ms` -> seconds, as in podkit.toml."""
    if value is None:
        return None
    text = value.strip()
    try:
        return float(text) if _NUMBER.match(text) else parse_duration(text)
    except ValueError as exc:
        raise _refuse(option, str(exc)) from None


def check_local_dir(value: str | None, option: str) -> str | None:
    """A directory standing in for /runpod-volume: never empty (Path("") is the current
    directory; an empty value is more likely a variable that is not set)."""
    if value is not None and not value.strip():
        raise _refuse(
            option,
            "an empty path; give the directory that stands in for /runpod-volume "
            f"({option} . for this one)",
        )
    return value


def check_id(value: str | None, option: str) -> str | None:
    """An endpoint or job id: letters, digits, '-' and '_' (it goes into a URL path)."""
    if value is not None and not ID.match(value):
        raise _refuse(
            option,
            f"{value!r} is not an id; {ID_RULE} (copy it from `podkit status` or the console)",
        )
    return value
