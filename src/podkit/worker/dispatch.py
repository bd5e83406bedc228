"""The job handler: `{"action": NAME, ...}` -> validated input -> the action -> result or error.

Every failure a caller can cause becomes a job error, `{"error": "<one line>"}` (the SDK wants
a string there), that names the field and the valid choices. A `PodkitError` raised by an
action becomes one too, and so does a result that has no JSON form (a set, bytes, NaN), which
the SDK could not send. Anything else is a bug: it propagates, and the SDK records the
traceback. Results and errors pass the secret filter (`podkit.redact`) first: a secret of the
worker's environment never leaves in a job's output, error or traceback.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from podkit.errors import PodkitError, WorkerActionError, WorkerInputError
from podkit.redact import scrub, scrub_data
from podkit.worker.registry import ActionContext, JsonDict, Registry, registry

# The request shapes the first workers answered: both still mean "show me the GPU".
LEGACY_GPU_INPUTS: tuple[JsonDict, ...] = ({}, {"test": "nvidia-smi"})
DEFAULT_ACTION = "gpu_info"
MAX_PROBLEMS = 10  # a job error stays one readable line however many fields are wrong


def error_result(exc: PodkitError) -> JsonDict:
    """The job error for `exc`: one string, with the hint appended when there is one."""
    text = exc.message if not exc.hint else f"{exc.message}. Hint: {exc.hint}"
    return {"error": scrub(text)}


def json_result(name: str, result: Any) -> Any:
    """`result` as plain JSON data with secrets masked; one without a JSON form is refused."""
    try:  # the SDK encodes the result itself: encoding it here only checks that it can
        json.dumps(result, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:  # a lone surrogate: no UTF-8
        raise WorkerActionError(
            f"action {name!r} returned a value with no JSON form ({_short(str(exc))})",
            hint="return dicts with string keys, lists, strings, finite numbers, booleans or None",
        ) from None
    return scrub_data(result)


def masked_crash(name: str, exc: Exception) -> Exception | None:
    """For an action's unexpected exception whose text holds a secret: a stand-in with the
    secret masked (the masked traceback goes to the log). None when there is nothing to mask."""
    text = "".join(traceback.format_exception(exc))
    masked = scrub(text)
    if masked == text:
        return None
    sys.stderr.write(masked)
    return RuntimeError(
        f"action {name!r} failed: {type(exc).__name__}: {scrub(str(exc))} "
        "(secrets masked; the worker log has the traceback)"
    )


def _short(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


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
    for key in params:
        if not isinstance(key, str) or not _is_text(key):
            raise WorkerInputError(
                f"field {shown_name(str(key))!r} of the job input is not valid text "
                "(a lone surrogate); field names are plain strings"
            )
    name = params.pop("action")
    if not isinstance(name, str):
        raise WorkerInputError(
            f"field 'action' must be a string, got {type(name).__name__}; {_valid_actions(reg)}"
        )
    if reg.get(name) is None:
        raise WorkerInputError(f"unknown action {shown_name(name)!r}; {_valid_actions(reg)}")
    return name, params


def _is_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown_name(name: str, limit: int = 64) -> str:
    """A caller's name (an action, a field) fit for a one-line message: at most `limit`
    characters, anything unprintable escaped."""
    if len(name) <= limit and name.isprintable():
        return name
    cut = name[:limit].encode("unicode_escape", "backslashreplace").decode("ascii")
    return cut + ("..." if len(name) > limit else "")


def describe_validation(action: str, model: type[BaseModel], exc: ValidationError) -> str:
    """One line naming each bad field of `action`'s input and the fields it accepts."""
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(shown_name(str(part)) for part in err["loc"]) or "(input)"
        problems.append(f"field '{where}': {_short(err['msg'])}")
    if len(problems) > MAX_PROBLEMS:
        problems[MAX_PROBLEMS:] = [f"and {len(problems) - MAX_PROBLEMS} more"]
    accepted = ", ".join(model.model_fields) or "no fields"
    return (
        f"invalid input for action '{action}': {'; '.join(problems)} ({action} accepts: {accepted})"
    )


async def handle_job(job: Mapping[str, Any], reg: Registry | None = None) -> Any:
    """Run one job: the function handed to `runpod.serverless.start`."""
    reg = registry if reg is None else reg
    name = ""
    try:
        name, params = split_input(job.get("input"), reg)
        act = reg.get(name)
        assert act is not None  # split_input checked it
        try:
            parsed = act.input_model.model_validate(params)
        except ValidationError as exc:
            raise WorkerInputError(describe_validation(name, act.input_model, exc)) from None
        return json_result(name, await act.handler(parsed, ActionContext(job=job)))
    except PodkitError as exc:
        return error_result(exc)
    except Exception as exc:
        stand_in = masked_crash(name, exc)
        if stand_in is None:
            raise
        raise stand_in from None
