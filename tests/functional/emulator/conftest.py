"""Helpers for the emulator's functional tests: httpx clients per API key."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from podkit.emulator.server import LocalRunPod

ClientFor = Callable[..., httpx.Client]


@pytest.fixture
def client_for(local_runpod: LocalRunPod) -> Iterator[ClientFor]:
    """`client_for("key")` -> an httpx client sending `Authorization: Bearer key`."""
    clients: list[httpx.Client] = []

    def make(key: str | None = "test-key", *, bearer: bool = True) -> httpx.Client:
        headers = {}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}" if bearer else key
        client = httpx.Client(base_url=local_runpod.url, headers=headers, timeout=10)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def api(client_for: ClientFor) -> httpx.Client:
    """A client for the default test account."""
    return client_for()
