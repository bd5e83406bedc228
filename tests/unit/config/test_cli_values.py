"""Command-line values go through the file's checks, and the message names the option."""

from __future__ import annotations

import pytest

from podkit.config.cli_values import check_duration, check_id, check_image, require_digest
from podkit.config.schema import Deployment
from podkit.errors import ConfigError

DIGEST = "sha256:" + "c" * 64


def _deployment(ref: str | None) -> Deployment:
    image = {"ref": ref} if ref else {"repository": "ghcr.io/acme/worker"}
    endpoint = {"gpu_types": ["NVIDIA L4"]}
    return Deployment.model_validate({"project": "p", "image": image, "endpoint": endpoint})


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("10m", 600), ("1h", 3600)])
def test_every_duration_option_takes_units_and_plain_seconds(text: str, seconds: float) -> None:
    assert check_duration(text, "--timeout") == seconds


def test_a_bad_duration_names_the_option() -> None:
    with pytest.raises(ConfigError, match=r"^--observe: 'soon' is not a duration; write plain"):
        check_duration("soon", "--observe")


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("not an image", r"^--image: 'not an image' is not an image reference; write REGISTRY"),
        ("Bad Ref/x@sha256:xyz", r"^--image: 'Bad Ref/x@sha256:xyz' is not an image reference"),
        ("ghcr.io/a/b@sha256:abc", r"^--image: digest 'sha256:abc' is malformed; write sha256:"),
        (f"ghcr.io/a/b@{DIGEST.upper()}", r"^--image: digest .* is malformed"),
    ],
)
def test_a_bad_image_is_refused_naming_the_option(image: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_image(image)


def test_require_digest_wants_a_well_formed_sha256_digest() -> None:
    pinned = f"ghcr.io/acme/worker@{DIGEST}"
    require_digest(_deployment(None), pinned)
    require_digest(_deployment(pinned), None)
    with pytest.raises(ConfigError, match=r"^--require-digest: --image 'ghcr.io/a/b:1' is not"):
        require_digest(_deployment(pinned), "ghcr.io/a/b:1")
    with pytest.raises(ConfigError, match=r"^--require-digest: image.ref 'ghcr.io/a/b:1' is not"):
        require_digest(_deployment("ghcr.io/a/b:1"), None)
    with pytest.raises(ConfigError, match=r"^--require-digest: no image to check"):
        require_digest(_deployment(None), None)


@pytest.mark.parametrize("bad", ["../x", "a/b", "a b", "", "x" * 200])
def test_an_id_that_is_not_one_is_refused(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"^--endpoint: .* is not an id; ids are"):
        check_id(bad, "--endpoint")
    assert check_id("abc123-XYZ_9", "--endpoint") == "abc123-XYZ_9"
