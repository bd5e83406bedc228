"""The seams to the data plane: the endpoint listener and the worker view behind /workers."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import httpx

from podkit.emulator.runtime import DEFAULT_WORKER_COMMAND, EndpointSpec, LogLine, WorkerInfo
from podkit.emulator.server import LocalRunPod


@dataclass
class RecordingListener:
    upserts: list[EndpointSpec] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)

    def endpoint_upserted(self, spec: EndpointSpec) -> None:
        self.upserts.append(spec)

    def endpoint_deleted(self, endpoint_id: str) -> None:
        self.deletes.append(endpoint_id)


@dataclass
class StaticWorkers:
    """A worker view holding fixed workers and log lines (what a supervisor would report)."""

    listed: list[WorkerInfo] = field(default_factory=list)
    lines: list[LogLine] = field(default_factory=list)

    def workers(self, endpoint_id: str) -> list[WorkerInfo]:
        return self.listed

    def logs(self, endpoint_id: str, worker_id: str) -> list[LogLine] | None:
        return self.lines if any(w.id == worker_id for w in self.listed) else None


def test_listener_gets_what_a_supervisor_needs(
    local_runpod: LocalRunPod, api: httpx.Client
) -> None:
    listener = RecordingListener()
    local_runpod.backend.set_listener(listener)
    vol = api.post("/v1/networkvolumes", json={"name": "m", "size": 10, "dataCenterId": "US-KS-2"})
    tpl = api.post(
        "/v1/templates",
        json={
            "name": "t",
            "imageName": "img",
            "isServerless": True,
            "env": {"A": "1"},
            "dockerStartCmd": ["serve"],
        },
    )
    ep = api.post(
        "/v1/endpoints",
        json={
            "templateId": tpl.json()["id"],
            "workersMin": 1,
            "workersMax": 2,
            "idleTimeout": 7,
            "executionTimeoutMs": 1000,
            "networkVolumeId": vol.json()["id"],
        },
    ).json()
    spec = listener.upserts[-1]
    assert (spec.endpoint_id, spec.workers_min, spec.workers_max) == (ep["id"], 1, 2)
    assert (spec.idle_timeout_s, spec.execution_timeout_ms) == (7, 1000)
    assert spec.env == {"A": "1"} and spec.start_command == ("serve",)
    assert spec.worker_command == DEFAULT_WORKER_COMMAND
    assert spec.volume_dir == local_runpod.backend.volume_dir(vol.json()["id"])
    assert spec.volume_dir is not None and spec.volume_dir.is_dir()
    assert "test-key" not in repr(spec)  # the owner is a hash, never the key

    local_runpod.backend.set_worker_command(ep["id"], ["python", "handler.py"])
    assert listener.upserts[-1].worker_command == ("python", "handler.py")
    api.post(f"/v1/templates/{tpl.json()['id']}/update", json={"env": {"A": "2"}})
    assert listener.upserts[-1].env == {"A": "2"} and listener.upserts[-1].version == 2
    api.delete(f"/v1/endpoints/{ep['id']}")
    assert listener.deletes == [ep["id"]]


def test_workers_releases_and_log_stream(local_runpod: LocalRunPod, api: httpx.Client) -> None:
    body = {
        "name": "e",
        "type": "QUEUE",
        "image": "i",
        "gpu": {"pools": ["ADA_24"]},
        "scaling": {"type": "QUEUE_DELAY", "queueDelay": 2},
    }
    ep = api.post("/v2/serverless", json=body).json()
    api.patch(f"/v2/serverless/{ep['id']}", json={"image": "i:2"})
    now = time.time()
    view = StaticWorkers(
        listed=[WorkerInfo("w-old", "RUNNING", 1, now - 5), WorkerInfo("w-new", "IDLE", 2, now)],
        lines=[LogLine(i, now, "container" if i % 2 else "system", f"line {i}") for i in range(5)],
    )
    local_runpod.context.worker_view = view

    workers = api.get(f"/v2/serverless/{ep['id']}/workers").json()
    assert workers["summary"]["total"] == 2 and workers["summary"]["running"] == 1
    assert {w["id"]: w["isStale"] for w in workers["workers"]} == {"w-old": True, "w-new": False}
    rollout = api.get(f"/v2/serverless/{ep['id']}/releases").json()["rollout"]
    assert rollout == {
        "inProgress": True,
        "workersOnLatest": 1,
        "workersTotal": 2,
        "percentOnLatest": 50,
    }

    logs = f"/v2/serverless/{ep['id']}/workers/w-new/logs"
    events = read_events(api, logs, {"tail": "3"}, 3)
    assert [json.loads(e["data"])["line"] for e in events] == ["line 2", "line 3", "line 4"]
    resumed = read_events(api, logs, {}, 2, headers={"Last-Event-ID": events[0]["id"]})
    assert [json.loads(e["data"])["line"] for e in resumed] == ["line 3", "line 4"]
    assert api.get(f"/v2/serverless/{ep['id']}/workers/nope/logs").status_code == 404
    assert api.get(logs, params={"tail": "9999"}).status_code == 422


def read_events(
    api: httpx.Client,
    path: str,
    params: dict[str, str],
    count: int,
    headers: dict[str, str] | None = None,
) -> list[dict[str, str]]:
    """Read `count` SSE events, bounded in time, then hang up (the stream never ends)."""
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    with api.stream("GET", path, params=params, headers=headers, timeout=5) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if not line:
                if current:
                    events.append(current)
                    current = {}
                if len(events) >= count:
                    break
                continue
            if not line.startswith(":"):
                key, _, value = line.partition(": ")
                current[key] = value
    return events


def test_log_stream_ends_when_the_worker_is_gone(
    local_runpod: LocalRunPod, api: httpx.Client
) -> None:
    body = {
        "name": "e",
        "type": "QUEUE",
        "image": "i",
        "gpu": {"pools": ["ADA_24"]},
        "scaling": {"type": "QUEUE_DELAY", "queueDelay": 2},
    }
    ep = api.post("/v2/serverless", json=body).json()
    view = StaticWorkers(
        listed=[WorkerInfo("w1", "IDLE", 1, time.time())],
        lines=[LogLine(0, time.time(), "container", "ready")],
    )
    local_runpod.context.worker_view = view
    lines = []
    with api.stream("GET", f"/v2/serverless/{ep['id']}/workers/w1/logs", timeout=5) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                lines.append(json.loads(line[6:])["line"])
                view.listed.clear()  # the worker stops; the server must close the stream
    assert lines == ["ready"]
