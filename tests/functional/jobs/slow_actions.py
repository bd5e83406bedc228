"""A worker action module for the job tests: a job that reports progress while it works.

Loaded into the real podkit worker with `PODKIT_ACTIONS=tests.functional.jobs.slow_actions`,
exactly as users add their own actions.
"""

from __future__ import annotations

import asyncio
import os

from pydantic import BaseModel

from podkit.worker import ActionContext, NoInput, action


class Steps(BaseModel):
    steps: int = 3
    gap: float = 0.5
    fail_at: int | None = None


@action("slow_steps", input_model=Steps)
async def slow_steps(params: Steps, ctx: ActionContext) -> dict[str, object]:
    """Work through `steps` steps, reporting each one as progress."""
    for step in range(1, params.steps + 1):
        if step == params.fail_at:
            return {"error": f"step {step} failed"}
        ctx.progress(f"step {step}/{params.steps}")
        await asyncio.sleep(params.gap)
    return {"steps": params.steps, "done": True}


@action("release_marker")
async def release_marker(params: NoInput, ctx: ActionContext) -> dict[str, object]:
    """Which release this worker runs, from its RELEASE_MARKER env (set in podkit.toml)."""
    return {"marker": os.environ.get("RELEASE_MARKER")}
