"""Path text checks and root configuration: pure, before any file is touched."""

from __future__ import annotations

import pytest

from podkit.errors import WorkerActionError, WorkerInputError
from podkit.worker.paths import Root, check_text, roots_from_env


def test_default_roots() -> None:
    assert roots_from_env({}) == [
        Root("/runpod-volume", "/runpod-volume"),
        Root("/workspace", "/workspace"),
    ]


def test_volume_dir_maps_only_the_volume_root() -> None:
    env = {"PODKIT_VOLUME_DIR": "/tmp/vol", "PODKIT_ALLOWED_ROOTS": "/runpod-volume:/data/"}
    assert roots_from_env(env) == [Root("/runpod-volume", "/tmp/vol"), Root("/data", "/data")]


@pytest.mark.parametrize("spec", ["/", "relative/dir", "/ok:../up"])
def test_bad_root_configuration_is_named(spec: str) -> None:
    with pytest.raises(WorkerActionError, match="PODKIT_ALLOWED_ROOTS entry"):
        roots_from_env({"PODKIT_ALLOWED_ROOTS": spec})


def test_components_are_normalised() -> None:
    assert check_text("//runpod-volume/./models//sd/") == ["runpod-volume", "models", "sd"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (b"/runpod-volume", "must be a string"),
        ("/runpod-volume/a\x00b", "NUL byte"),
        ("/runpod-volume/..", "contains '..'"),
        ("/runpod-volume/" + "é" * 128, "over 255 bytes"),  # 256 bytes in UTF-8
        ("/" + "a/" * 2048, "too long"),
        ("models", "must be absolute"),
    ],
)
def test_hostile_text_is_refused(path: object, message: str) -> None:
    with pytest.raises(WorkerInputError, match=message):
        check_text(path)
