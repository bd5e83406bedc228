"""`podkit request` against a load-balancing endpoint on the local RunPod."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from podkit.cli import exit_codes
from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.loadbalancer.conftest import KEY, workers

CreateLb = Any


@pytest.fixture
def cli_env(runpod: LocalRunPod, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("PODKIT_TARGET", runpod.url)
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capfd: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capfd.readouterr()
    assert KEY not in out + err
    return code, out, err


def test_post_with_a_body_from_a_file_prints_the_answer(
    cli_env: Path, create_lb: CreateLb, capfd: pytest.CaptureFixture[str]
) -> None:
    made = create_lb("cli-post", workers={"min": 0, "max": 1, "idleTimeout": 60})
    (cli_env / "body.json").write_text('{"hello": "world"}')
    code, out, err = run(
        capfd, "request", "POST", "/echo/x?y=1", "-d", "@body.json", "--endpoint", made["id"]
    )
    assert code == 0, err
    seen = json.loads(out)
    assert (seen["method"], seen["query"], json.loads(seen["body"])) == (
        "POST", "y=1", {"hello": "world"},
    )  # fmt: skip
    assert seen["headers"]["content-type"] == "application/json"
    assert "HTTP 200" in err


def test_json_prints_one_document_with_the_status_headers_and_parsed_body(
    cli_env: Path, create_lb: CreateLb, capfd: pytest.CaptureFixture[str]
) -> None:
    made = create_lb("cli-json", workers={"min": 0, "max": 1, "idleTimeout": 60})
    code, out, err = run(
        capfd, "request", "PUT", "/echo/j", "-d", '{"n": 1}', "--endpoint", made["id"], "--json"
    )
    assert code == 0, err
    answer = json.loads(out)
    assert (answer["method"], answer["path"], answer["status"], answer["reason"]) == (
        "PUT", "/echo/j", 200, "OK",
    )  # fmt: skip
    assert answer["body"]["method"] == "PUT" and json.loads(answer["body"]["body"]) == {"n": 1}
    assert answer["headers"]["content-type"] == "application/json"
    assert answer["seconds"] >= 0

    code, out, _ = run(capfd, "request", "/nothing-here", "--endpoint", made["id"], "--json")
    answer = json.loads(out)
    assert code == 3 and answer["status"] == 404 and answer["reason"] == "Not Found"


def test_streamed_answers_are_printed_whole(
    cli_env: Path, create_lb: CreateLb, capfd: pytest.CaptureFixture[str]
) -> None:
    made = create_lb("cli-stream", workers={"min": 0, "max": 1, "idleTimeout": 60})
    code, out, _ = run(capfd, "request", "/events", "--endpoint", made["id"])
    assert code == 0
    assert [line for line in out.splitlines() if line] == ["data: 0", "data: 1", "data: 2"]


def test_http_errors_exit_3(
    cli_env: Path, create_lb: CreateLb, capfd: pytest.CaptureFixture[str]
) -> None:
    made = create_lb("cli-404", workers={"min": 0, "max": 1, "idleTimeout": 60})
    code, _, err = run(capfd, "request", "GET", "/nothing-here", "--endpoint", made["id"])
    assert code == 3 and "HTTP 404" in err


def test_no_workers_is_retried_with_a_cold_start_message_then_exits_4(
    cli_env: Path, create_lb: CreateLb, capfd: pytest.CaptureFixture[str], api: httpx.Client
) -> None:
    made = create_lb("cli-none", workers={"min": 0, "max": 0, "idleTimeout": 60})
    code, out, err = run(
        capfd, "request", "/echo/x", "--endpoint", made["id"], "--retries", "1",
        "--retry-wait", "0",
    )  # fmt: skip
    assert code == 4, out + err
    assert "cold start: no workers available yet" in err and "attempt 2 of 2" in err
    assert json.loads(out) == {"error": "no workers available"}
    assert workers(api, made["id"]) == []


@pytest.mark.parametrize("value", ["tok-secret-1\nX-Evil: 1", "tok-secret-1\u00fc"])
def test_a_header_http_cannot_carry_is_refused_without_its_value(
    cli_env: Path, create_lb: CreateLb, capfd: pytest.CaptureFixture[str], value: str
) -> None:
    made = create_lb("cli-header", workers={"min": 0, "max": 1, "idleTimeout": 60})
    argv = ["request", "/echo/x", "--endpoint", made["id"], "-H", f"X-Session: {value}"]
    code, out, err = run(capfd, *argv, "--json")
    assert code == 1, err
    assert "X-Session" in json.loads(out)["error"]["message"]
    assert "tok-secret-1" not in out + err and "Traceback" not in err


def test_a_queue_endpoint_is_refused_with_what_to_do(
    cli_env: Path, api: httpx.Client, capfd: pytest.CaptureFixture[str]
) -> None:
    body = {
        "name": "cli-queue", "type": "QUEUE", "image": "acme/q:1", "gpu": {"pools": ["ADA_24"]},
        "scaling": {"type": "QUEUE_DELAY", "queueDelay": 4}, "workers": {"min": 0, "max": 1},
    }  # fmt: skip
    made = api.post("/v2/serverless", json=body).json()
    code, _, err = run(capfd, "request", "/ping", "--endpoint", made["id"])
    err = " ".join(err.split())
    assert code == exit_codes.ERROR
    assert f"endpoint {made['id']} (cli-queue) is a queue endpoint: it takes jobs" in err
    assert f"`podkit run ACTION --endpoint {made['id']}`" in err


@pytest.mark.parametrize("argv", [["run", "gpu_info"], ["run", "gpu_info", "--async"]])
def test_a_job_for_a_load_balancer_names_its_type_and_podkit_request(
    cli_env: Path, create_lb: CreateLb, capfd: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    made = create_lb("cli-job", workers={"min": 0, "max": 1, "idleTimeout": 60})
    code, out, err = run(capfd, *argv, "--endpoint", made["id"])
    err = " ".join(err.split())
    assert code == exit_codes.ERROR, out + err
    assert f"endpoint {made['id']} is a load-balancing endpoint: it takes HTTP requests" in err
    assert "not allowed for LB API" in err  # what the platform said, kept for the record
    assert f"`podkit request METHOD PATH --endpoint {made['id']}`" in err
    assert "Traceback" not in err


def test_a_path_without_its_slash_is_shown_as_it_is_sent(
    cli_env: Path, create_lb: CreateLb, capfd: pytest.CaptureFixture[str]
) -> None:
    made = create_lb("cli-slash", workers={"min": 0, "max": 1, "idleTimeout": 60})
    code, out, err = run(capfd, "request", "echo/s", "--endpoint", made["id"], "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["path"] == "/echo/s" and answer["body"]["method"] == "GET"
    assert "from GET /echo/s" in err
    code, out, err = run(capfd, "request", "PUT", "echo/s", "-d", "x", "--endpoint", made["id"])
    assert code == 0 and "from PUT /echo/s" in err


@pytest.mark.parametrize("header", ["Authorization: Bearer sekrit-value", "authorization:sekrit"])
def test_an_authorization_header_is_refused_naming_where_the_key_comes_from(
    cli_env: Path, create_lb: CreateLb, capfd: pytest.CaptureFixture[str], header: str
) -> None:
    made = create_lb("cli-auth", workers={"min": 0, "max": 1, "idleTimeout": 60})
    code, out, err = run(capfd, "request", "/echo/a", "-H", header, "--endpoint", made["id"])
    said = " ".join(err.split())
    assert code == exit_codes.ERROR, out + err
    assert "--header Authorization" in said and "RUNPOD_API_KEY" in said
    assert "sekrit" not in out + err  # the value given is never repeated
    code, out, _ = run(
        capfd, "request", "/echo/a", "-H", header, "--endpoint", made["id"], "--json"
    )
    assert code == exit_codes.ERROR
    assert json.loads(out)["error"]["kind"] == "ConfigError"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["GET", "/echo/a\nb"], "holds the control character '\\n', which a URL cannot carry"),
        (["GET", "/echo/a\tb"], "holds the control character '\\t'"),
        (["/echo/\x7f"], "holds the control character '\\x7f'"),
        (["GET", "/echo/x", "-H", "Bad Name: v"], "--header 'Bad Name': not a header name"),
        (["POST", "/echo/x", "-d", "hi", "-H", "Content-Length: 99"], "podkit sets it itself"),
        (["GET", "/echo/x", "-H", "Host: elsewhere.example"], "podkit sets it itself"),
        (["GET", "/echo/x", "--timeout", "0"], "--timeout 0: give how long to wait"),
    ],
)
def test_a_request_http_cannot_send_is_one_error_before_any_request(
    cli_env: Path, capfd: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    code, out, err = run(capfd, "request", *argv, "--endpoint", "ep-none", "--json")
    assert code == exit_codes.ERROR, err
    assert said in json.loads(out)["error"]["message"]
    assert "Traceback" not in err


def test_a_zero_retry_wait_is_no_wait(
    cli_env: Path, create_lb: CreateLb, capfd: pytest.CaptureFixture[str]
) -> None:
    made = create_lb("cli-nowait", workers={"min": 0, "max": 0, "idleTimeout": 1})
    argv = ["request", "/echo/x", "--endpoint", made["id"], "--retries", "2", "--retry-wait", "0"]
    code, _, err = run(capfd, *argv)
    assert code == 4, err
    assert "trying again in 0 s" in err
