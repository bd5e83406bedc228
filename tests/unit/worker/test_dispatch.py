"""The dispatcher and registry: validation errors, legacy inputs, user actions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from podkit.errors import WorkerActionError
from podkit.worker import ActionContext, NoInput, Registry, handle_job


class Greet(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str


def _registry() -> Registry:
    reg = Registry()

    @reg.action("gpu_info")
    async def gpu(params: NoInput, ctx: ActionContext) -> dict[str, Any]:
        return {"gpu": True, "job": ctx.job_id}

    @reg.action("greet", input_model=Greet)
    async def greet(params: Greet, ctx: ActionContext) -> str:
        return f"hi {params.name}"

    @reg.action("fail")
    async def fail(params: NoInput, ctx: ActionContext) -> None:
        raise WorkerActionError("disk is gone", hint="attach the volume")

    return reg


def _run(job_input: Any) -> Any:
    return asyncio.run(handle_job({"id": "j1", "input": job_input}, _registry()))


@pytest.mark.parametrize("legacy", [{}, {"test": "nvidia-smi"}, None])
def test_legacy_shapes_run_gpu_info(legacy: Any) -> None:
    assert _run(legacy) == {"gpu": True, "job": "j1"}


def test_action_with_fields() -> None:
    assert _run({"action": "greet", "name": "ada"}) == "hi ada"


def test_bad_field_names_it_and_the_accepted_fields() -> None:
    error = _run({"action": "greet", "name": 5})["error"]
    assert error.startswith("invalid input for action 'greet': field 'name'")
    assert "(greet accepts: name)" in error


def test_non_object_input() -> None:
    error = _run(["gpu_info"])["error"]
    assert "job input must be a JSON object" in error
    assert "valid actions: fail, gpu_info, greet" in error


def test_action_errors_become_job_errors_with_the_hint() -> None:
    assert _run({"action": "fail"}) == {"error": "disk is gone. Hint: attach the volume"}


def test_unknown_action_is_shown_safely() -> None:
    error = _run({"action": "x\n" * 100})["error"]
    assert "\n" not in error
    assert "valid actions" in error


def test_sync_handlers_and_duplicates_are_refused() -> None:
    reg = Registry()
    with pytest.raises(TypeError, match="async def"):

        @reg.action("sync")
        def sync(params: NoInput, ctx: ActionContext) -> None:  # type: ignore[type-var]
            return None

    @reg.action("one")
    async def one(params: NoInput, ctx: ActionContext) -> None:
        return None

    with pytest.raises(ValueError, match="already registered"):

        @reg.action("one")
        async def other(params: NoInput, ctx: ActionContext) -> None:
            return None


def test_an_input_model_that_is_not_a_pydantic_model_is_refused_at_registration() -> None:
    registry = Registry()
    with pytest.raises(TypeError, match="input_model must be a pydantic BaseModel"):
        registry.action("odd", input_model=dict)  # type: ignore[arg-type]


def _with_model_registry() -> Registry:
    reg = Registry()

    @reg.action("greet", input_model=Greet)
    async def greet(params: Greet, ctx: ActionContext) -> str:
        return params.name

    return reg


def test_a_long_or_odd_field_name_is_shown_short_on_one_line() -> None:
    job = {"id": "j1", "input": {"action": "greet", "name": "x", "k" * 5000 + "\n": 1}}
    error = asyncio.run(handle_job(job, _with_model_registry()))["error"]
    assert "\n" not in error and len(error) < 400
    assert "field '" + "k" * 64 + "...': Extra inputs are not permitted" in error


def test_many_bad_fields_are_summed_up() -> None:
    extra = {f"f{i}": i for i in range(50)}
    job = {"id": "j1", "input": {"action": "greet", "name": "x", **extra}}
    error = asyncio.run(handle_job(job, _with_model_registry()))["error"]
    assert error.count("Extra inputs are not permitted") == 10
    assert "and 40 more" in error


def test_a_field_name_that_is_not_text_is_named_as_such() -> None:
    job = {"id": "j1", "input": {"action": "greet", "name": "x", "\ud800": 1}}
    error = asyncio.run(handle_job(job, _with_model_registry()))["error"]
    assert error.startswith("field '\\\\ud800' of the job input is not valid text")


def test_a_string_with_a_lone_surrogate_has_no_json_form() -> None:
    reg = Registry()

    @reg.action("odd")
    async def odd(params: NoInput, ctx: ActionContext) -> str:
        return "caf\udce9"

    error = asyncio.run(handle_job({"id": "j1", "input": {"action": "odd"}}, reg))["error"]
    assert error.startswith("action 'odd' returned a value with no JSON form")
