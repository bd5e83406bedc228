"""podkit's built-in actions beside a handler of your own: `with_builtins(handler)`.

    import runpod
    from podkit.worker import with_builtins

    def handler(job): ...

    runpod.serverless.start({"handler": with_builtins(handler)})

A job whose input names a podkit action (`{"action": "gpu_info"}`, `list_files`,
`disk_usage`, `sync_models`, or one registered with `@action`) goes to podkit's
dispatcher; every other job goes to your handler unchanged, so your own inputs keep working
(an input of yours that uses the key `action` for one of these names is the one clash).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from podkit.worker.dispatch import handle_job
from podkit.worker.registry import registry

Handler = Callable[[Any], Any]


def with_builtins(handler: Handler) -> Callable[[Mapping[str, Any]], Any]:
    """Your `handler`, with podkit's built-in actions answered first (see the module doc)."""
    if inspect.isgeneratorfunction(handler) or inspect.isasyncgenfunction(handler):
        raise TypeError(
            "with_builtins wraps handlers that return their result; a streaming (generator) "
            "handler stays as it is: start it without with_builtins"
        )
    importlib.import_module("podkit.worker.actions")  # registers the built-ins

    async def podkit_handler(job: Mapping[str, Any]) -> Any:
        if _names_builtin(job.get("input")):
            return await handle_job(job)
        result = handler(job)
        if inspect.isawaitable(result):
            return await result
        return result

    podkit_handler.__wrapped__ = handler  # type: ignore[attr-defined]
    return podkit_handler


def _names_builtin(job_input: Any) -> bool:
    if not isinstance(job_input, Mapping):
        return False
    name = job_input.get("action")
    return isinstance(name, str) and registry.get(name) is not None


__all__ = ["with_builtins"]
