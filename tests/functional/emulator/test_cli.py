"""`podkit emulator start` refuses what it cannot serve safely, with an actionable message."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from podkit.cli.main import main


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
