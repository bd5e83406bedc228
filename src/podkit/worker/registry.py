"""The action registry: `@action("name", input_model=...)` makes a function a worker action.

Built-in actions register themselves from `podkit.worker.actions`; users register theirs the
same way in their own module and start the worker with `--actions their.module` (or
`PODKIT_ACTIONS=their.module`), so podkit itself never needs editing.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ConfigDict

from podkit.redact import scrub_data

JsonDict = dict[str, Any]


class NoInput(BaseModel):
    """The input of an action that takes no fields (unknown fields are refused)."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class ActionContext:
    """What an action knows about the job it serves, besides its validated input."""

    job: Mapping[str, Any] = field(default_factory=dict)
    # Where progress goes when the worker serves HTTP (None: the SDK's progress_update).
    on_progress: Callable[[Any], None] | None = None

    @property
    def job_id(self) -> str:
        """The job's id (`local_test` in `--test_input` mode)."""
        return str(self.job.get("id", ""))

    def progress(self, update: Any) -> None:
        """Report progress for this job (`runpod.serverless.progress_update`), secrets masked."""
        update = scrub_data(update)
        if self.on_progress is not None:
            self.on_progress(update)
            return
        from runpod.serverless import progress_update  # the SDK is only loaded inside a worker

        progress_update(dict(self.job), update)


Handler = Callable[[Any, ActionContext], Awaitable[Any]]
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


@dataclass(frozen=True)
class Action:
    """One registered action: its name, input model, async handler and one-line summary."""

    name: str
    input_model: type[BaseModel]
    handler: Handler
    summary: str


class Registry:
    """Actions by name. `podkit.worker.registry` is the process-wide one the worker serves."""

    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}

    def add(self, act: Action) -> None:
        """Register `act`; a second action under the same name is a programming error."""
        existing = self._actions.get(act.name)
        if existing is not None and existing.handler is not act.handler:
            raise ValueError(f"worker action {act.name!r} is already registered")
        self._actions[act.name] = act

    def get(self, name: str) -> Action | None:
        """The action called `name`, or None."""
        return self._actions.get(name)

    def names(self) -> list[str]:
        """Every registered action name, sorted."""
        return sorted(self._actions)

    def action(self, name: str, *, input_model: type[BaseModel] = NoInput) -> Callable[[F], F]:
        """Decorator: register an `async def handler(params, ctx)` as action `name`."""
        if not name or not name.replace("_", "").isalnum():
            raise ValueError(f"worker action name {name!r} must be letters, digits and '_'")
        if not (isinstance(input_model, type) and issubclass(input_model, BaseModel)):
            raise TypeError(
                f"worker action {name!r}: input_model must be a pydantic BaseModel class, "
                f"not {input_model!r}"
            )

        def decorate(func: F) -> F:
            probe: Any = func  # keep F's type: narrowing would erase it
            if not inspect.iscoroutinefunction(probe):
                # A sync handler would block the SDK's event loop and every other job.
                raise TypeError(f"worker action {name!r} must be an `async def` function")
            summary = (inspect.getdoc(func) or "").split("\n", 1)[0]
            self.add(Action(name, input_model, cast(Handler, func), summary))
            return func

        return decorate


registry = Registry()
action = registry.action
