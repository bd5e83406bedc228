"""`sync_models` refuses, by entry and in words, destinations the volume's links or files
make unusable, before any download starts."""

from __future__ import annotations

import json

import pytest

from tests.functional.worker.conftest import WorkerSetup

SOURCE = "https://127.0.0.1:1/m.bin"


@pytest.mark.parametrize("dry_run", [True, False])
@pytest.mark.parametrize(
    ("destination", "words"),
    [
        ("/runpod-volume/loop/x", "runs into a symbolic link loop on the volume"),
        ("/runpod-volume/link_out_dir/x", "leads outside /runpod-volume through a symbolic link"),
        ("/runpod-volume/models/deep/a/b/c/link_up", "leads outside /runpod-volume"),
        (
            "/runpod-volume/models/sd/unet.safetensors/x",
            "is blocked by a file at '/runpod-volume/models/sd/unet.safetensors'",
        ),
    ],
)
def test_a_destination_the_volume_makes_unusable_is_refused_by_entry(
    worker: WorkerSetup, destination: str, words: str, dry_run: bool
) -> None:
    models = [
        {"source": SOURCE, "destination": "/runpod-volume/fine"},
        {"source": SOURCE, "destination": destination},
    ]
    body = worker.api.runsync({"action": "sync_models", "models": models, "dry_run": dry_run})
    assert body["status"] == "FAILED", body
    assert body["error"].startswith(f"models[1].destination {destination!r} {words}")
    text = json.dumps(body)
    assert "Traceback" not in text and str(worker.volume) not in text
    assert not (worker.volume / "fine").exists()


@pytest.mark.parametrize("connections", [0, 65, "many", True, 2.5, None])
def test_connections_out_of_range_says_what_it_takes(
    worker: WorkerSetup, connections: object
) -> None:
    models = [{"source": SOURCE, "destination": "/runpod-volume/m"}]
    job = {"action": "sync_models", "models": models, "connections": connections}
    body = worker.api.runsync(job)
    assert body["status"] == "FAILED", body
    assert (
        "field 'connections': Value error, must be a whole number from 1 to 64, or 'auto'"
        in (body["error"])
    )
    assert "constrained-int" not in body["error"] and "literal" not in body["error"]
