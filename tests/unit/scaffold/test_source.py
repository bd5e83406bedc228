"""Where podkit came from, as a requirement and an Action a fresh machine can fetch."""

from __future__ import annotations

from typing import Any

import pytest

from podkit import _release
from podkit.scaffold.source import (
    action_from_direct_url,
    release_action,
    requirement_from_direct_url,
)

COMMIT = "0123456789abcdef0123456789abcdef01234567"
GIT = {"url": "https://github.com/acme/podkit.git", "vcs_info": {"vcs": "git", "commit_id": COMMIT}}


@pytest.mark.parametrize(
    ("direct_url", "requirement"),
    [
        (None, "podkit==1.2.0"),  # from an index: the release
        (GIT, f"podkit @ git+https://github.com/acme/podkit.git@{COMMIT}"),
        (
            {"url": "file:///src/podkit", "dir_info": {"editable": True}},
            "podkit @ file:///src/podkit",
        ),
        (
            {"url": "file:///tmp/dist/podkit-1.2.0-py3-none-any.whl", "archive_info": {}},
            "podkit @ file:///tmp/dist/podkit-1.2.0-py3-none-any.whl",
        ),
        (
            {**GIT, "subdirectory": "py"},
            f"podkit @ git+https://github.com/acme/podkit.git@{COMMIT}#subdirectory=py",
        ),
    ],
)
def test_the_requirement_is_what_pip_installed(
    direct_url: dict[str, Any] | None, requirement: str
) -> None:
    assert requirement_from_direct_url(direct_url, "1.2.0") == requirement


def test_a_github_install_pins_the_action_by_its_commit() -> None:
    assert action_from_direct_url(GIT, "1.2.0") == f"acme/podkit@{COMMIT} # podkit 1.2.0"
    elsewhere = {**GIT, "url": "https://gitlab.example/acme/podkit.git"}
    assert action_from_direct_url(elsewhere, "1.2.0") is None
    assert action_from_direct_url({"url": "file:///src/podkit"}, "1.2.0") is None


def test_a_release_build_pins_its_action_by_commit_and_a_checkout_by_tag(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert release_action("1.2.0").startswith(f"{_release.REPOSITORY}@v1.2.0 # zizmor: ignore")
    monkeypatch.setattr(_release, "COMMIT", COMMIT)
    assert release_action("1.2.0") == f"{_release.REPOSITORY}@{COMMIT} # v1.2.0"
