"""`disk_usage`: total/used/free bytes of each allowed root, and whether it is a network volume."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from podkit.errors import PodkitError
from podkit.worker import mounts
from podkit.worker.paths import Roots, root_base
from podkit.worker.registry import ActionContext, NoInput, action


def root_usage(roots: Roots) -> list[dict[str, Any]]:
    """One entry per root: sizes from statvfs and mount facts, or why it cannot be measured."""
    table = mounts.read_mounts()
    out: list[dict[str, Any]] = []
    for root in roots.roots:
        entry: dict[str, Any] = {"path": root.virtual}
        try:
            base = root_base(root, roots.roots)
            vfs = os.statvfs(base)
        except PodkitError as exc:
            out.append({**entry, "exists": os.path.lexists(root.real), "error": exc.message})
            continue
        except OSError as exc:
            out.append({**entry, "exists": True, "error": f"statvfs failed: {exc.strerror}"})
            continue
        total = vfs.f_blocks * vfs.f_frsize
        entry.update(
            exists=True,
            total_bytes=total,
            used_bytes=(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize,
            free_bytes=vfs.f_bavail * vfs.f_frsize,
            **mounts.describe(base, table),
        )
        out.append(entry)
    return out


@action("disk_usage")
async def disk_usage(params: NoInput, ctx: ActionContext) -> dict[str, Any]:
    """Sizes of every allowed root and whether each sits on a network filesystem."""
    roots = Roots.from_env()
    return {"status": "success", "roots": await asyncio.to_thread(root_usage, roots)}
