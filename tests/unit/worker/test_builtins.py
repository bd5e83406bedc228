"""`with_builtins(handler)`: podkit's actions beside a handler of the user's own."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from podkit.worker import with_builtins


def mine(job: dict[str, Any]) -> dict[str, Any]:
    return {"mine": job["input"]}


def test_builtin_actions_go_to_podkit_and_everything_else_to_the_handler() -> None:
    wrapped = with_builtins(mine)
    assert asyncio.run(wrapped({"input": {"prompt": "hi"}})) == {"mine": {"prompt": "hi"}}
    assert asyncio.run(wrapped({"input": {"action": "predict"}})) == {
        "mine": {"action": "predict"}
    }  # not a podkit action: the user's own input
    listed = asyncio.run(wrapped({"input": {"action": "list_files", "path": "/nonexistent"}}))
    assert "mine" not in listed


def test_an_async_handler_is_awaited_and_a_generator_is_refused() -> None:
    async def later(job: dict[str, Any]) -> str:
        return "done"

    assert asyncio.run(with_builtins(later)({"input": {}})) == "done"

    def stream(job: dict[str, Any]) -> Any:
        yield 1

    with pytest.raises(TypeError, match="streaming"):
        with_builtins(stream)
