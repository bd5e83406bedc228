"""Where the podkit running now came from, as a requirement a fresh machine can install.

A release installed from an index is `podkit==VERSION`. Anything else (a git checkout, a local
directory, a wheel file) is not on any index under that version, so the requirement is the
source pip recorded for it (PEP 610 `direct_url.json`): the VCS URL at its exact commit, or
the path.
"""

from __future__ import annotations

import json
from importlib import metadata
from typing import Any

from podkit import __version__


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
    text = dist.read_text("direct_url.json")
    try:
        direct = json.loads(text) if text else None
    except ValueError:
        direct = None
    return requirement_from_direct_url(direct, dist.version)
