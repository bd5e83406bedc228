"""`--http` mode answers a result without a JSON form, and a secret, as the queue mode does."""

from __future__ import annotations

import asyncio
import math

import httpx
import pytest

from podkit.worker import ActionContext, NoInput, Registry
from podkit.worker.http_mode import create_app

CANARY = "canary-http-Wq38dKz1"


def _registry() -> Registry:
    reg = Registry()

    @reg.action("nan")
    async def nan(params: NoInput, ctx: ActionContext) -> dict[str, float]:
        return {"loss": math.nan}

    @reg.action("leak")
    async def leak(params: NoInput, ctx: ActionContext) -> dict[str, str]:
        ctx.progress({"note": f"using {CANARY}"})
        return {"token": CANARY}

    return reg


def _post(name: str, **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(_registry()))
        async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
            return await client.post(f"/actions/{name}", headers=headers)

    return asyncio.run(go())


def test_a_nan_result_is_an_error_naming_the_action() -> None:
    response = _post("nan")
    assert response.status_code == 500
    assert response.json()["error"].startswith("action 'nan' returned a value with no JSON form")


@pytest.mark.parametrize("accept", ["application/json", "text/event-stream"])
def test_a_secret_in_a_result_or_progress_is_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], accept: str
) -> None:
    monkeypatch.setenv("HF_TOKEN", CANARY)
    response = _post("leak", accept=accept)
    assert response.status_code == 200
    assert CANARY not in response.text
    assert "***" in response.text
    # Progress of a plain request goes nowhere: not to a queue job that does not exist.
    assert "Sending Progress Update" not in capsys.readouterr().out
