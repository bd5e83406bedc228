"""A store endpoint that answers 200 with something other than the store's document (a proxy's
or a login page, a truncated or foreign JSON or XML, bytes that are not text, a page without
end): one clear error naming the source and the endpoint to check, never a traceback, and
nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from podkit.config.models import ModelSource
from podkit.errors import TransferError
from podkit.worker.transfer import _fetch, sync_models
from tests.functional.answering import Answering, answering
from tests.functional.sync.test_sources import SMALL

BODIES = {
    "login page": b"<!doctype html><html><body><form>Sign in</form></body></html>",
    "not text": b"\xff\xfe\x00\x81binary",
    "empty": b"",
    "a json list": b"[1, 2, 3]",
    "json of another shape": b'{"items": [{"name": 5}], "sha": 7, "siblings": "x"}',
    "xml of another shape": b"<?xml version='1.0'?><Other><Contents>1</Contents></Other>x",
    "records without fields": b'{"items": [{}], "sha": "abc"}',
}


@pytest.fixture(scope="module")
def server() -> Iterator[Answering]:
    with answering() as running:
        yield running


def _store(kind: str, address: str) -> tuple[str, dict[str, str]]:
    return {
        "gs": ("gs://models-f/w", {"STORAGE_EMULATOR_HOST": address}),
        "s3": ("s3://models-f/w", {"AWS_ENDPOINT_URL_S3": f"http://{address}"}),
        "hf": ("hf://org/repo@main", {"HF_ENDPOINT": f"http://{address}"}),
    }[kind]


@pytest.mark.parametrize("kind", ["gs", "s3", "hf"])
@pytest.mark.parametrize("answer", sorted(BODIES))
def test_a_foreign_answer_is_one_error_naming_the_source(
    server: Answering, volume: Path, kind: str, answer: str
) -> None:
    server.body = BODIES[answer]
    source, env = _store(kind, server.address)
    entry = ModelSource(source=source, destination="foreign")
    with pytest.raises(TransferError) as caught:
        sync_models([entry], volume, options=SMALL, env=env)
    assert caught.value.message.startswith(source.rstrip("/"))
    assert caught.value.hint, caught.value.message
    assert not (volume / "foreign").exists() or not any((volume / "foreign").iterdir())


@pytest.mark.parametrize("kind", ["gs", "s3", "hf"])
def test_a_page_of_the_wrong_kind_points_at_the_endpoint(
    server: Answering, volume: Path, kind: str
) -> None:
    server.body = BODIES["login page"]
    source, env = _store(kind, server.address)
    with pytest.raises(TransferError) as caught:
        sync_models([ModelSource(source=source, destination="f")], volume, options=SMALL, env=env)
    assert "store itself" in (caught.value.hint or "")
    assert f"{next(iter(env))}" in (caught.value.hint or "")


def test_a_document_larger_than_any_listing_is_refused_while_it_arrives(
    server: Answering, volume: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_fetch, "MAX_DOCUMENT", 64 * 1024)
    server.body = b"[" + b"0, " * 100_000 + b"0]"
    source, env = _store("gs", server.address)
    with pytest.raises(TransferError, match="of more than 65,536 bytes"):
        sync_models([ModelSource(source=source, destination="f")], volume, options=SMALL, env=env)
