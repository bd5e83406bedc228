"""Where the podkit running now came from, as a requirement a fresh machine can install.

A release installed from an index is `podkit==VERSION`. Anything else (a git checkout, a local
directory, a wheel file) is not on any index under that version, so the requirement is the
source pip recorded for it (PEP 610 `direct_url.json`): the VCS URL at its exact commit, or
the path.
"""

from __future__ import annotations

import json
import re
from importlib import metadata
from typing import Any

from podkit import __version__, _release


def requirement_from_direct_url(direct_url: dict[str, Any] | None, version: str) -> str:
    """`podkit==version` for an index install; `podkit @ <source>` for a direct one."""
    if not direct_url or not isinstance(direct_url.get("url"), str):
        return f"podkit=={version}"
    url: str = direct_url["url"]
    vcs = direct_url.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") and vcs.get("commit_id"):
        subdir = direct_url.get("subdirectory")
        tail = f"#subdirectory={subdir}" if subdir else ""
        return f"podkit @ {vcs['vcs']}+{url}@{vcs['commit_id']}{tail}"
    return f"podkit @ {url}"


def installed_requirement(dist_name: str = "podkit") -> str:
    """The requirement that reinstalls the podkit running now, elsewhere."""
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:  # run from a source tree on sys.path
        return f"podkit=={__version__}"
    return requirement_from_direct_url(_direct_url(dist), dist.version)


_GITHUB = re.compile(r"^https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?/?$")
_SHA = re.compile(r"^[0-9a-f]{40}$")


def action_from_direct_url(direct_url: dict[str, Any] | None, version: str) -> str | None:
    """`owner/name@commit` when pip installed podkit from a GitHub repository at a commit."""
    if not direct_url or not isinstance(direct_url.get("vcs_info"), dict):
        return None
    vcs = direct_url["vcs_info"]
    m = _GITHUB.match(str(direct_url.get("url", "")))
    commit = str(vcs.get("commit_id", ""))
    if vcs.get("vcs") != "git" or not m or not _SHA.match(commit):
        return None
    return f"{m.group(1)}@{commit} # podkit {version}"


def release_action(version: str = __version__) -> str:
    """The Action of this release: pinned by its commit in a release build, else its tag."""
    if _SHA.match(_release.COMMIT):
        return f"{_release.REPOSITORY}@{_release.COMMIT} # v{version}"
    # A source checkout knows no commit a fresh machine can fetch; the release tag will be.
    return f"{_release.REPOSITORY}@v{version} # zizmor: ignore[unpinned-uses] podkit's own tag"


def installed_action() -> str:
    """The `uses:` value of podkit's Action for the podkit running now."""
    try:
        dist = metadata.distribution("podkit")
    except metadata.PackageNotFoundError:
        return release_action()
    direct = _direct_url(dist)
    return action_from_direct_url(direct, dist.version) or release_action(dist.version)


def _direct_url(dist: metadata.Distribution) -> dict[str, Any] | None:
    text = dist.read_text("direct_url.json")
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
