"""401 and 403 from the local RunPod, driven through the CLI as a user meets them: exit 1,
one clear line that names where the key came from, and never the key itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.deploy.helpers import write_config

OWNER = "rpa_cli_owner_SECRET_0001"
READER = "rpa_cli_reader_SECRET_0002"
UNKNOWN = "rpa_cli_unknown_SECRET_0003"


@pytest.fixture
def keyed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalRunPod]:
    with LocalRunPod(seed=11, api_keys=[OWNER, f"{READER}:read"]) as runpod:
        monkeypatch.setenv("PODKIT_TARGET", runpod.url)
        monkeypatch.setenv("PODKIT_CREDENTIALS", str(tmp_path / "no-credentials.toml"))
        monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
        monkeypatch.chdir(tmp_path)
        write_config(tmp_path)
        yield runpod


def podkit(capsys: pytest.CaptureFixture[str], key: str | None, *argv: str) -> tuple[int, str]:
    """Exit code and all output of one command run with `key` in RUNPOD_API_KEY."""
    with pytest.MonkeyPatch.context() as env:
        if key is None:
            env.delenv("RUNPOD_API_KEY", raising=False)
        else:
            env.setenv("RUNPOD_API_KEY", key)
        code = main(list(argv))
    out = capsys.readouterr()
    text = out.out + out.err
    for secret in (OWNER, READER, UNKNOWN):
        assert secret not in text, f"an API key was printed by podkit {' '.join(argv)}"
    return code, text


def says(out: str, *phrases: str) -> bool:
    """Each phrase is in the output, whitespace aside (the console wraps long lines)."""
    flat = "".join(out.split())
    return all("".join(p.split()) in flat for p in phrases)


def queue_endpoint(runpod: LocalRunPod) -> str:
    body = {
        "name": "jobs",
        "type": "QUEUE",
        "image": "acme/worker:1",
        "gpu": {"pools": ["ADA_24"]},
        "scaling": {"type": "QUEUE_DELAY", "queueDelay": 2},
        "workers": {"min": 0, "max": 0},
    }
    headers = {"Authorization": f"Bearer {OWNER}"}
    made = httpx.post(f"{runpod.url}/v2/serverless", json=body, headers=headers, timeout=10)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def test_plan_with_an_unknown_key_is_a_clear_401(keyed: LocalRunPod, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out = podkit(capsys, UNKNOWN, "plan")
    assert code == 1
    assert says(out, "401", "invalid API key")
    assert says(out, "the API key from RUNPOD_API_KEY was missing or refused")


def test_a_key_from_a_profile_file_is_named_by_its_file(
    keyed: LocalRunPod, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    profile = tmp_path / "no-credentials.toml"
    profile.write_text(f'[default]\napi_key = "{UNKNOWN}"\n', encoding="utf-8")
    code, out = podkit(capsys, None, "plan")
    assert code == 1 and says(out, "401")
    assert says(out, f"the API key from {profile} [default]")


def test_run_with_an_unknown_key_is_a_clear_401(keyed: LocalRunPod, capsys) -> None:  # type: ignore[no-untyped-def]
    endpoint_id = queue_endpoint(keyed)
    code, out = podkit(capsys, UNKNOWN, "run", "gpu_info", "--endpoint", endpoint_id)
    assert code == 1
    assert says(out, f"/v2/{endpoint_id}/runsync was refused (401)")  # a job starts as runsync
    assert says(out, "the API key from RUNPOD_API_KEY is missing or not valid")
    # Before any 404: an endpoint that does not exist answers 401 too.
    code, out = podkit(capsys, UNKNOWN, "run", "gpu_info", "--endpoint", "nosuchendpoint")
    assert code == 1 and says(out, "(401)")


def test_apply_with_a_read_only_key_is_a_clear_403(keyed: LocalRunPod, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out = podkit(capsys, READER, "plan")
    assert code == 2 and says(out, "2 to create")  # reading is allowed
    code, out = podkit(capsys, READER, "apply", "--yes")
    assert code == 1
    assert says(out, "-> 403: access denied")
    assert says(out, "the API key from RUNPOD_API_KEY is valid but not allowed to do this")
    code, out = podkit(capsys, OWNER, "plan")
    assert code == 2 and says(out, "2 to create")  # the refused apply changed nothing


def test_run_with_a_read_only_key_is_a_clear_403(keyed: LocalRunPod, capsys) -> None:  # type: ignore[no-untyped-def]
    endpoint_id = queue_endpoint(keyed)
    code, out = podkit(capsys, READER, "run", "gpu_info", "--endpoint", endpoint_id, "--async")
    assert code == 1
    assert says(out, f"/v2/{endpoint_id}/run was refused (403)")
    assert says(out, f"may not do this on endpoint {endpoint_id}")


@pytest.mark.parametrize("pasted", [f"{UNKNOWN}\nrpa_second_line", f"{UNKNOWN}ключ", "rpa a b"])
@pytest.mark.parametrize("command", [["plan"], ["run", "gpu_info", "--endpoint", "e1"]])
def test_a_key_no_header_can_carry_is_refused_without_showing_it(
    keyed: LocalRunPod, capsys, pasted: str, command: list[str]
) -> None:  # type: ignore[no-untyped-def]
    code, out = podkit(capsys, pasted, *command)
    assert code == 1
    assert says(out, "the API key in RUNPOD_API_KEY holds a space, a line break or a non-ASCII")
    assert "second_line" not in out and "ключ" not in out and "rpa a b" not in out
    assert "Traceback" not in out


def test_a_credentials_file_that_is_not_text_is_named_without_its_bytes(
    keyed: LocalRunPod, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    profile = tmp_path / "no-credentials.toml"
    profile.write_bytes(b'[default]\napi_key = "' + OWNER.encode() + b'\xff"\n')
    code, out = podkit(capsys, None, "plan")
    assert code == 1 and says(out, f"{profile}: cannot read the credentials file (not UTF-8")
    assert "Traceback" not in out
