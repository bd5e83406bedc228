"""`list_files`: a paged listing of a directory under the allowed roots."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from podkit.worker.listing import ListingSpec, list_page
from podkit.worker.paths import Roots, open_dir
from podkit.worker.registry import ActionContext, action

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
RECURSIVE_DEFAULT_DEPTH = 64
MAX_DEPTH = 256


class ListFilesInput(BaseModel):
    """`{"path", "recursive"?, "max_depth"?, "limit"?, "cursor"?}`."""

    model_config = ConfigDict(extra="forbid")

    path: StrictStr
    recursive: StrictBool = False
    max_depth: StrictInt | None = Field(default=None, ge=1, le=MAX_DEPTH)
    limit: StrictInt = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: StrictStr | None = Field(default=None, max_length=16_384)


def list_files_sync(params: ListFilesInput, roots: Roots) -> dict[str, Any]:
    """The listing itself (blocking I/O; the action runs it in a thread)."""
    target = roots.resolve(params.path)
    depth = params.max_depth or (RECURSIVE_DEFAULT_DEPTH if params.recursive else 1)
    spec = ListingSpec(
        path=target.virtual, max_depth=depth if params.recursive else 1, limit=params.limit
    )
    with open_dir(target) as fd:
        return list_page(fd, spec, params.cursor)


@action("list_files", input_model=ListFilesInput)
async def list_files(params: ListFilesInput, ctx: ActionContext) -> dict[str, Any]:
    """List a directory under the allowed roots, paged; links are shown, never followed."""
    return await asyncio.to_thread(list_files_sync, params, Roots.from_env())
