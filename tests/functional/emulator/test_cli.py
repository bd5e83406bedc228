"""`podkit emulator start` refuses what it cannot serve safely, with an actionable message,
and says how to point podkit at it; a local target with nothing listening says to start it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod


def test_non_loopback_host_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "start", "--host", "0.0.0.0", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "0.0.0.0" in err and "--allow-remote" in err


def test_bad_fault_spec_and_quirk_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "start", "--port", "0", "--faults", "GET /v2/*:boom=1"]) == 1
    assert "boom=1" in capsys.readouterr().err
    assert main(["emulator", "start", "--port", "0", "--quirk", "nope"]) == 1
    assert "v1_accept_volume_shrink" in capsys.readouterr().err


@pytest.mark.parametrize("spec", ["bogus", "minute=sixty", "minute=60,hour"])
def test_a_bad_rate_limit_names_the_item_not_a_python_error(
    spec: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["emulator", "start", "--port", "0", "--rate-limit", spec]) == 1
    err = capsys.readouterr().err
    assert "must be WINDOW=COUNT" in err and "unpack" not in err and "int()" not in err


@pytest.mark.parametrize(
    ("option", "value"), [("--port", "99999"), ("--port", "-1"), ("--quota", "-5")]
)
def test_an_out_of_range_number_is_a_usage_error(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["emulator", "start", "--port", "0", option, value, "--json"]
    assert main(args) == 1
    captured = capsys.readouterr()
    error = json.loads(captured.out)["error"]
    assert error["kind"] == "UsageError" and option in error["message"]


@pytest.mark.parametrize("under", ["", "inner"])
def test_a_state_dir_on_a_file_names_the_option(
    under: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("mine\n")
    args = ["emulator", "start", "--port", "0", "--state-dir", str(taken / under), "--json"]
    assert main(args) == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert "--state-dir" in error["message"] and str(taken) in error["message"]
    assert taken.read_text() == "mine\n"


def test_start_prints_the_line_to_export_for_its_port() -> None:
    cmd = [sys.executable, "-m", "podkit.cli.main", "emulator", "start", "--port", "0"]
    env = {**os.environ, "COLUMNS": "200"}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env) as proc:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    url = lines[0].split(" on ", 1)[1].split()[0]
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
    assert f"export PODKIT_TARGET={url}" in lines[2]


def test_a_local_target_with_nothing_listening_says_how_to_start_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("RUNPOD_API_KEY", "k")
    monkeypatch.setenv("PODKIT_LOCAL_URL", f"http://127.0.0.1:{port}")
    (tmp_path / "podkit.toml").write_text(
        'project = "p"\n[image]\nref = "a/b:1"\n'
        '[endpoint]\ngpu_types = ["NVIDIA GeForce RTX 4090"]\n'
    )
    assert main(["status", "-c", str(tmp_path / "podkit.toml"), "--target", "local"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert f"nothing listens on http://127.0.0.1:{port}" in err
    assert f"podkit emulator start --port {port}" in err


def test_a_bad_api_key_spec_is_refused_without_showing_the_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["emulator", "start", "--port", "0", "--api-key", "rpa_SECRET_1:write"]) == 1
    err = capsys.readouterr().err
    assert "--api-key" in err and "NAME=LEVEL" in err and "rpa_SECRET_1" not in err
    keys = tmp_path / "keys"
    keys.write_text("rpa_SECRET_2\nrpa_SECRET_3:endpoint/x=admin\n", encoding="utf-8")
    assert main(["emulator", "start", "--port", "0", "--api-keys-file", str(keys)]) == 1
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert f"{keys} entry 2" in err and "write, read or none" in err and "SECRET" not in err


def test_start_with_a_keys_file_serves_only_those_keys(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# local keys\nrpa_cli_owner\nrpa_cli_reader:read\n", encoding="utf-8")
    argv = [sys.executable, "-m", "podkit.cli.main", "emulator", "start", "--port", "0"]
    server = subprocess.Popen(
        [*argv, "--json", "--api-keys-file", str(keys)], stdout=subprocess.PIPE, text=True
    )
    try:
        url = _announced_url(server)

        def get(key: str) -> int:
            auth = {"Authorization": f"Bearer {key}"}
            return httpx.get(f"{url}/v2/templates", headers=auth, timeout=10).status_code

        assert get("rpa_cli_owner") == 200 and get("rpa_cli_reader") == 200
        assert get("rpa_cli_other") == 401
        refused = httpx.post(
            f"{url}/v1/templates",
            json={"name": "t", "imageName": "i"},
            headers={"Authorization": "Bearer rpa_cli_reader"},
            timeout=10,
        )
        assert refused.status_code == 403
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0


def _announced_url(server: subprocess.Popen[str]) -> str:
    """The URL from `--json`'s announcement (an indented object, read up to its last line)."""
    assert server.stdout is not None
    lines = []
    for line in server.stdout:  # bounded: the object ends with "}" or the process exits
        lines.append(line)
        if line.rstrip() == "}":
            break
    return str(json.loads("".join(lines))["url"])


def test_a_worker_command_with_an_unclosed_quote_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["emulator", "start", "--port", "0", "--worker-command", "python 'handler.py", "--json"]
    assert main(args) == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["kind"] == "UsageError" and "--worker-command" in error["message"]


def test_a_keys_file_that_is_not_utf8_is_named_without_its_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_bytes(b"rpa_key\xff_secret\n")
    args = ["emulator", "start", "--port", "0", "--api-keys-file", str(keys), "--json"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert str(keys) in json.loads(out)["error"]["message"] and "secret" not in out


def test_a_state_dir_another_emulator_serves_is_refused_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with LocalRunPod(state_dir=tmp_path) as running:
        headers = {"Authorization": "Bearer first"}
        body = {"name": "kept", "imageName": "i"}
        httpx.post(f"{running.url}/v1/templates", json=body, headers=headers).raise_for_status()
        snapshot = (tmp_path / "state.json").read_bytes()

        args = ["emulator", "start", "--port", "0", "--state-dir", str(tmp_path), "--json"]
        assert main(args) == 1
        error = json.loads(capsys.readouterr().out)["error"]
        assert error["message"].startswith(f"--state-dir {tmp_path} is in use by another")
        assert "another --state-dir" in error["hint"]
        assert (tmp_path / "state.json").read_bytes() == snapshot
        templates = httpx.get(f"{running.url}/v1/templates", headers=headers).json()
        assert [t["name"] for t in templates] == ["kept"]
