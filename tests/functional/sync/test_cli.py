"""`podkit models sync`: --local against nginx, --dry-run, exit codes, and the remote path
(/run + /status polling) against a small data-plane stand-in on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from podkit.cli._models_remote import run_remote
from podkit.cli.main import main
from podkit.runpod.jobs import JobsClient
from tests.functional.sync.faultproxy import Fault, FaultProxy
from tests.functional.sync.testbed import Nginx, write_hf_repo


def _config(tmp_path: Path, nginx: Nginx, repo: str) -> Path:
    config = tmp_path / "podkit.toml"
    config.write_text(
        f'[[models]]\nsource = "hf://{repo}@main"\ndestination = "models/{repo}"\n'
        'exclude = ["*.md"]\n'
    )
    return config


@pytest.fixture
def hf_env(sync_nginx: Nginx, monkeypatch: pytest.MonkeyPatch) -> Nginx:
    monkeypatch.setenv("HF_ENDPOINT", f"{sync_nginx.url}/hf")
    return sync_nginx


def test_local_sync_json_then_noop(
    tmp_path: Path, hf_env: Nginx, capsys: pytest.CaptureFixture[str]
) -> None:
    write_hf_repo(hf_env.www, "cli/one", {"w.safetensors": b"1" * 5000, "README.md": b"#"})
    config = _config(tmp_path, hf_env, "cli/one")
    volume = tmp_path / "vol"
    assert main(["models", "sync", "-c", str(config), "--local", str(volume), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "ok"
    assert (volume / "models/cli/one/w.safetensors").read_bytes() == b"1" * 5000
    assert not (volume / "models/cli/one/README.md").exists()
    assert main(["models", "sync", "-c", str(config), "--local", str(volume), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["data_requests"] == 0 and again["entries"][0]["skipped"] == 1


@pytest.mark.parametrize("value", ["0", "65", "fast", "-1"])
def test_a_connection_budget_out_of_range_is_refused_before_anything_runs(
    tmp_path: Path, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["models", "sync", "-c", str(tmp_path / "none.toml"), "--local", str(tmp_path / "v")]
    assert main([*args, "--connections", value]) == 1  # a usage error: 1, never 2
    assert "neither a number from 1 to 64 nor auto" in capsys.readouterr().err
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_a_local_volume_on_a_file_is_refused_by_its_option(
    tmp_path: Path, hf_env: Nginx, capsys: pytest.CaptureFixture[str], dry_run: list[str]
) -> None:
    config = _config(tmp_path, hf_env, "cli/taken")
    taken = tmp_path / "taken"
    taken.write_text("mine\n")
    args = ["models", "sync", "-c", str(config), "--local", str(taken / "vol"), "--json"]
    assert main([*args, *dry_run]) == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert "--local" in error["message"] and str(taken) in error["message"]
    assert taken.read_text() == "mine\n"


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_local_volume_is_refused_not_read_as_here(
    tmp_path: Path,
    hf_env: Nginx,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    value: str,
) -> None:
    config = _config(tmp_path, hf_env, "cli/empty")
    monkeypatch.chdir(tmp_path)
    assert main(["models", "sync", "-c", str(config), "--local", value]) == 1
    assert "--local: an empty path; give the directory" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == [config.name]


def test_the_summary_names_the_connections_it_fetched_on(
    tmp_path: Path, hf_env: Nginx, capsys: pytest.CaptureFixture[str]
) -> None:
    write_hf_repo(hf_env.www, "cli/budget", {"w.safetensors": b"b" * 5000})
    config = _config(tmp_path, hf_env, "cli/budget")
    args = ["models", "sync", "-c", str(config), "--local", str(tmp_path / "v")]
    assert main([*args, "--connections", "3"]) == 0
    assert "1 file(s) in place, 1 fetched on 3 connections" in " ".join(
        capsys.readouterr().out.split()
    )
    assert main(args) == 0  # nothing fetched: no connections to speak of
    assert "ok: 1 file(s) in place, 0 fetched\n" in capsys.readouterr().out


def test_dry_run_lists_missing_files(
    tmp_path: Path, hf_env: Nginx, capsys: pytest.CaptureFixture[str]
) -> None:
    write_hf_repo(hf_env.www, "cli/two", {"a.bin": b"a" * 2_000_000})
    config = _config(tmp_path, hf_env, "cli/two")
    volume = tmp_path / "v"
    dry_run = ["models", "sync", "-c", str(config), "--local", str(volume), "--dry-run"]
    assert main(dry_run) == 2  # something to fetch, as `podkit plan` exits for changes
    out = capsys.readouterr().out
    assert "0 current, 1 to fetch (2.0 MB)" in out and "+ a.bin (missing)" in out
    assert main(["models", "sync", "-c", str(config), "--local", str(volume), "--json"]) == 0
    capsys.readouterr()
    assert main(dry_run) == 0
    assert "1 current, 0 to fetch (0 B)" in capsys.readouterr().out


def test_partial_exits_one_with_the_hint(
    tmp_path: Path, hf_env: Nginx, capsys: pytest.CaptureFixture[str]
) -> None:
    write_hf_repo(hf_env.www, "cli/three", {"a.bin": b"a" * 1000})
    config = _config(tmp_path, hf_env, "cli/three")
    args = ["models", "sync", "-c", str(config), "--local", str(tmp_path / "v"), "--timeout", "0"]
    assert main(args) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "partial" in err and "raise the endpoint's execution timeout" in err


def test_missing_config_and_missing_endpoint(
    tmp_path: Path, hf_env: Nginx, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "sync", "-c", str(tmp_path / "nope.toml")]) == 1
    assert "nope.toml: no such file" in " ".join(capsys.readouterr().err.split())
    config = _config(tmp_path, hf_env, "cli/four")
    assert main(["models", "sync", "-c", str(config)]) == 1
    assert "--endpoint" in " ".join(capsys.readouterr().err.split())


class _DataPlane:
    """/run answers a job id; /status walks IN_QUEUE -> IN_PROGRESS (out-of-order updates)
    -> COMPLETED. Records what it was sent."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.auth: list[str] = []
        progress = {"kind": "sync_models", "bytes_done": 10}
        self.answers = [
            {"id": "job-9", "status": "IN_QUEUE"},
            {"id": "job-9", "status": "IN_PROGRESS", "output": {**progress, "seq": 2}},
            {"id": "job-9", "status": "IN_PROGRESS", "output": {**progress, "seq": 1}},
            {"id": "job-9", "status": "COMPLETED", "output": {"status": "ok", "entries": []}},
        ]
        plane = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _send(self, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                plane.bodies.append((self.path, json.loads(self.rfile.read(length))))
                plane.auth.append(self.headers.get("Authorization", ""))
                self._send({"id": "job-9", "status": "IN_QUEUE"})

            def do_GET(self) -> None:
                plane.bodies.append((self.path, None))
                self._send(plane.answers.pop(0) if len(plane.answers) > 1 else plane.answers[0])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def plane() -> Iterator[_DataPlane]:
    stand_in = _DataPlane()
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()


def test_remote_sync_runs_and_polls_never_runsync(plane: _DataPlane) -> None:
    seen: list[dict[str, Any]] = []
    job = {"models": [{"source": "gs://b1/x", "destination": "m"}]}
    client = JobsClient(
        "ep1", api_key="rk-secret", base_url=f"{plane.url}/v2", sleep=lambda _: None
    )
    with client:
        output = run_remote(job, client=client, on_progress=seen.append)
    assert output == {"status": "ok", "entries": []}
    paths = [path for path, _ in plane.bodies]
    assert paths[0] == "/v2/ep1/run"
    assert plane.bodies[0][1] == {"input": {"action": "sync_models", **job}}
    assert all(p == "/v2/ep1/status/job-9" for p in paths[1:])
    assert not any("runsync" in p for p in paths)
    assert [s["seq"] for s in seen] == [2]  # the stale seq=1 update is dropped
    assert plane.auth == ["Bearer rk-secret"]


def test_a_project_file_goes_through_the_loader_with_environments(
    tmp_path: Path, hf_env: Nginx, capsys: pytest.CaptureFixture[str]
) -> None:
    write_hf_repo(hf_env.www, "cli/five", {"a.bin": b"5" * 100})
    head = (
        f'project = "demo"\n[image]\nref = "ghcr.io/acme/w@sha256:{"b" * 64}"\n'
        '[endpoint]\ngpu_types = ["NVIDIA H100 80GB HBM3"]\nworkers_max = 1\n'
        '[[models]]\nsource = "hf://cli/five"\ndestination = "base"\n'
    )
    config = tmp_path / "podkit.toml"
    staging = '[env.staging]\nmodels = [{ source = "hf://cli/five", destination = "%s" }]\n'
    config.write_text(head + staging % "staging")
    volume = tmp_path / "v"
    args = ["models", "sync", "-c", str(config), "--local", str(volume), "--json"]
    assert main(args) == 0
    assert main([*args, "--env", "staging"]) == 0
    assert (volume / "base/a.bin").exists() and (volume / "staging/a.bin").exists()
    capsys.readouterr()
    config.write_text(head + staging % "/etc/x")
    assert main(args) == 1  # every environment is checked, not only the one synced
    err = " ".join(capsys.readouterr().err.split())
    assert "podkit.toml:11:1: models[0].destination [env.staging]" in err
    assert "outside /runpod-volume" in err


def test_ctrl_c_stops_cleanly_and_the_next_run_finishes(
    tmp_path: Path, sync_nginx: Nginx, fault_proxy: FaultProxy
) -> None:
    data = os.urandom(40 * 1024 * 1024)
    (sync_nginx.www / "ctrlc.bin").write_bytes(data)
    fault_proxy.add(Fault("delay", count=1000, match="ctrlc.bin", seconds=0.5))
    config = tmp_path / "podkit.toml"
    config.write_text(f'[[models]]\nsource = "{fault_proxy.url}/ctrlc.bin"\ndestination = "c"\n')
    volume = tmp_path / "vol"
    args = [sys.executable, "-m", "podkit", "models", "sync", "-c", str(config)]
    proc = subprocess.Popen([*args, "--local", str(volume), "--json"], stderr=subprocess.PIPE)
    lease = volume / "c" / ".ctrlc.bin.podkit-lease"
    deadline = time.monotonic() + 60  # a loaded machine can take seconds to import and start
    while not lease.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.025)
    assert lease.exists(), "the sync never started its download"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not (volume / "c" / "ctrlc.bin").exists()
    fault_proxy.reset()
    again = subprocess.run([*args, "--local", str(volume), "--json"], capture_output=True)
    assert again.returncode == 0, again.stderr
    assert (volume / "c" / "ctrlc.bin").read_bytes() == data


def test_names_with_brackets_are_shown_as_they_are_not_read_as_markup(
    tmp_path: Path, hf_env: Nginx, capsys: pytest.CaptureFixture[str]
) -> None:
    write_hf_repo(hf_env.www, "cli/brackets", {"x[/]y.bin": b"1" * 100, "[bold]z.bin": b"2"})
    config = _config(tmp_path, hf_env, "cli/brackets")
    volume = tmp_path / "vol"
    argv = ["models", "sync", "-c", str(config), "--local", str(volume)]
    assert main([*argv, "--dry-run"]) == 2
    said = capsys.readouterr().out
    assert "+ x[/]y.bin (" in said and "+ [bold]z.bin (" in said
    assert main(argv) == 0
    assert "ok:" in capsys.readouterr().out
    assert (volume / "models/cli/brackets/x[/]y.bin").read_bytes() == b"1" * 100
