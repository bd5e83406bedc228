"""The job handler: `{"action": NAME, ...}` -> validated input -> the action -> result or error.

Every failure a caller can cause becomes a job error, `{"error": "<one line>"}` (the SDK wants
a string there), that names the field and the valid choices. A `PodkitError` raised by an
action becomes one too. Anything else is a bug: it propagates, and the SDK records the traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from podkit.errors import PodkitError, WorkerInputError
from podkit.worker.registry import ActionContext, JsonDict, Registry, registry

# The request shapes the first workers answered: both still mean "show me the GPU".
LEGACY_GPU_INPUTS: tuple[JsonDict, ...] = ({}, {"test": "nvidia-smi"})
DEFAULT_ACTION = "gpu_info"


def error_result(exc: PodkitError) -> JsonDict:
    """The job error for `exc`: one string, with the hint appended when there is one."""
    text = exc.message if not exc.hint else f"{exc.message}. Hint: {exc.hint}"
    return {"error": text}


def _valid_actions(reg: Registry) -> str:
    return "valid actions: " + ", ".join(reg.names())


def split_input(raw: Any, reg: Registry) -> tuple[str, JsonDict]:
    """Split the job input into the action name and the action's own fields."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise WorkerInputError(
            f'job input must be a JSON object like {{"action": NAME, ...}}, '
            f"got {type(raw).__name__}; {_valid_actions(reg)}"
        )
    params = dict(raw)
    if params in LEGACY_GPU_INPUTS:
        return DEFAULT_ACTION, {}
    if "action" not in params:
        raise WorkerInputError(
            f"field 'action' is missing from the job input; {_valid_actions(reg)}"
        )
    name = params.pop("action")
    if not isinstance(name, str):
        raise WorkerInputError(
            f"field 'action' must be a string, got {type(name).__name__}; {_valid_actions(reg)}"
        )
    if reg.get(name) is None:
        shown = (
            name
            if len(name) <= 64 and name.isprintable()
            else name[:64].encode("unicode_escape").decode()
        )
        raise WorkerInputError(f"unknown action {shown!r}; {_valid_actions(reg)}")
    return name, params


def describe_validation(action: str, model: type[BaseModel], exc: ValidationError) -> str:
    """One line naming each bad field of `action`'s input and the fields it accepts."""
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in err["loc"]) or "(input)"
        problems.append(f"field '{where}': {err['msg']}")
    accepted = ", ".join(model.model_fields) or "no fields"
    return (
        f"invalid input for action '{action}': {'; '.join(problems)} ({action} accepts: {accepted})"
    )


async def handle_job(job: Mapping[str, Any], reg: Registry | None = None) -> Any:
    """Run one job: the function handed to `runpod.serverless.start`."""
    reg = registry if reg is None else reg
    try:
        name, params = split_input(job.get("input"), reg)
        act = reg.get(name)
        assert act is not None  # split_input checked it
        try:
            parsed = act.input_model.model_validate(params)
        except ValidationError as exc:
            raise WorkerInputError(describe_validation(name, act.input_model, exc)) from None
        return await act.handler(parsed, ActionContext(job=job))
    except PodkitError as exc:
        return error_result(exc)
