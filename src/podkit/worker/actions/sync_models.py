"""`sync_models` (alias `download_models`): put the declared models on the network volume.

Input: `{"models": [<[[models]] entries>], "connections"?, "timeout_s"?, "dry_run"?}`;
`connections` is a fixed budget (1-64) or "auto" (the default: from 16, grown up to 64 while
the rate follows).
`timeout_s` is the endpoint's execution timeout: the sync stops `margin_s` before it, keeps
its verified chunks and answers `status: "partial"`, so the next call resumes. Progress goes
out as `progress_update`s (bytes, rate, ETA, files) at most every `progress_every_s` seconds.
The engine is imported on first use so the worker's cold start does not pay for it.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    field_validator,
)

from podkit.config.models import VOLUME_ROOT, ModelSource
from podkit.errors import TransferError, WorkerActionError, WorkerInputError
from podkit.worker.paths import roots_from_env
from podkit.worker.registry import ActionContext, action

MAX_CONNECTIONS = 64
MAX_SECONDS = 7 * 86_400  # a week: past any execution timeout an endpoint takes


class SyncModelsInput(BaseModel):
    """The models to place, plus tuning."""

    model_config = ConfigDict(extra="forbid")

    models: list[ModelSource] = Field(min_length=1, max_length=256)
    connections: Annotated[StrictInt, Field(ge=1, le=MAX_CONNECTIONS)] | Literal["auto"] = "auto"
    timeout_s: StrictFloat | StrictInt | None = Field(default=None, gt=0, le=MAX_SECONDS)
    margin_s: StrictFloat | StrictInt | None = Field(default=None, ge=0, le=MAX_SECONDS)
    progress_every_s: StrictFloat | StrictInt = Field(default=2.0, ge=0.1, le=3600)
    dry_run: StrictBool = False

    @field_validator("connections", mode="before")
    @classmethod
    def _connections_word(cls, value: Any) -> Any:
        whole = isinstance(value, int) and not isinstance(value, bool)
        if value == "auto" or (whole and 1 <= value <= MAX_CONNECTIONS):
            return value
        raise ValueError(f"must be a whole number from 1 to {MAX_CONNECTIONS}, or 'auto'")


def volume_dir() -> Path:
    """Where /runpod-volume is on this worker (PODKIT_VOLUME_DIR in the local RunPod)."""
    for root in roots_from_env():
        if root.virtual == VOLUME_ROOT:
            if not _is_dir(Path(root.real)):
                raise WorkerActionError(
                    f"{VOLUME_ROOT} is not mounted on this worker",
                    hint="attach a network volume to the endpoint (networkVolumeId)",
                )
            return Path(root.real)
    raise WorkerActionError(
        f"{VOLUME_ROOT} is not among the allowed roots",
        hint="add it to PODKIT_ALLOWED_ROOTS",
    )


def check_destinations(models: list[ModelSource], volume: Path) -> None:
    """Refuse, by entry and in words, a destination that a link on the volume leads out of
    the volume or round in a loop, or that a file stands in the way of."""
    base = volume.resolve()
    for index, entry in enumerate(models):
        rel = entry.relative_destination
        where = f"models[{index}].destination {shown_path(rel)!r}"
        try:
            target = (base / rel).resolve()
        except (RuntimeError, OSError):  # a link loop (RuntimeError before Python 3.13)
            raise WorkerInputError(
                f"{where} runs into a symbolic link loop on the volume",
                hint="remove the looping link or choose another destination",
            ) from None
        if target != base and base not in target.parents:
            raise WorkerInputError(
                f"{where} leads outside {VOLUME_ROOT} through a symbolic link",
                hint="remove the link on the volume or choose another destination",
            )
        try:
            existing = next(p for p in (target, *target.parents) if p == base or p.exists())
            blocked = not existing.is_dir()
        except OSError as exc:
            raise WorkerInputError(
                f"{where} cannot be checked ({exc.strerror or exc})",
                hint="fix the permissions on the volume or choose another destination",
            ) from None
        if blocked:
            raise WorkerInputError(
                f"{where} is blocked by a file at {shown_path(existing, base)!r}",
                hint="move that file away or choose another destination",
            )


def shown_path(path: str | Path, base: Path | None = None) -> str:
    """A destination as the caller knows it: under /runpod-volume, never the local directory."""
    rel = str(path if base is None else Path(path).relative_to(base))
    return VOLUME_ROOT if rel in ("", ".") else f"{VOLUME_ROOT}/{rel}"


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long, no permission
        return False


JOB_DONE_ENV = "RUNPOD_WEBHOOK_POST_OUTPUT"


class _Throttled:
    """Forwards engine progress as progress_update at most every `every` seconds (plus the
    final one), numbered so a client can drop updates that arrive out of order."""

    def __init__(self, ctx: ActionContext, every: float, *, enabled: bool | None = None) -> None:
        self._ctx, self._every = ctx, every
        self._last = 0.0
        self._seq = 0
        # Without a job-done URL (`--test_input`, local runs) the SDK can only log an error.
        has_sink = ctx.on_progress is not None or bool(os.environ.get(JOB_DONE_ENV))
        self._enabled = has_sink if enabled is None else enabled

    def __call__(self, progress: Any) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if progress.phase not in ("done",) and now - self._last < self._every:
            return
        self._last = now
        self._seq += 1
        self._ctx.progress({"seq": self._seq, "kind": "sync_models", **progress.as_dict()})


def run_sync(
    params: SyncModelsInput, ctx: ActionContext, *, report_progress: bool | None = None
) -> dict[str, Any]:
    """The blocking part: plan or sync, then shape the result."""
    from podkit.worker.transfer import options_for, plan_models, sync_models

    volume = volume_dir()
    check_destinations(params.models, volume)
    if params.dry_run:
        return {"status": "plan", "entries": plan_models(params.models, volume)}
    deadline = None
    if params.timeout_s is not None:
        timeout = float(params.timeout_s)
        # Room to finish the chunk in flight, save journals and answer: 5 % within 2..30 s.
        margin = min(30.0, max(2.0, timeout * 0.05)) if params.margin_s is None else params.margin_s
        deadline = time.monotonic() + max(1.0, timeout - float(margin))
    report = sync_models(
        params.models,
        volume,
        options=options_for(params.connections, deadline=deadline),
        progress=_Throttled(ctx, float(params.progress_every_s), enabled=report_progress),
    )
    if report.status == "failed":
        raise TransferError(
            report.message,
            hint="check the source, its credentials and any declared sha256, then re-run",
        )
    return report.as_dict()


async def sync_models(params: SyncModelsInput, ctx: ActionContext) -> dict[str, Any]:
    """Put the declared models on the network volume: verified, resumable, shared-volume safe."""
    return await asyncio.to_thread(run_sync, params, ctx)


action("sync_models", input_model=SyncModelsInput)(sync_models)
# Earlier workers called it download_models; both names run the same handler.
action("download_models", input_model=SyncModelsInput)(sync_models)
