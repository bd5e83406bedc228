"""examples/openai-compatible deployed as a load-balancing endpoint on the local RunPod (its
`[local] worker_command` runs server.py), smoke-tested by `podkit apply --smoke`, then queried
with the official `openai` client, plain and streaming, at the endpoint's `requestUrls.base`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.loadbalancer.conftest import FAST

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "openai-compatible"
KEY = "openai-example-key"


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRunPod]:
    with LocalRunPod(
        state_dir=tmp_path_factory.mktemp("openai"), loadbalancer_settings=FAST
    ) as running:
        yield running


@pytest.fixture(scope="module")
def base(local: LocalRunPod, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Apply the example with its smoke tests; the endpoint's requestUrls.base."""
    project = tmp_path_factory.mktemp("project") / "openai-compatible"
    shutil.copytree(EXAMPLE, project)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PODKIT_TARGET", local.url)
        patch.setenv("RUNPOD_API_KEY", KEY)
        patch.chdir(project)
        assert main(["apply", "--yes", "--smoke"]) == 0
        assert main(["status", "--json"]) == 0
        yield f"{local.url}/lb/{_endpoint_id(project)}"
        assert main(["destroy", "--yes"]) == 0


def _endpoint_id(project: Path) -> str:
    history = json.loads(
        (project / ".podkit" / "history" / "openai-compatible-default.json").read_text()
    )
    endpoint_id: str = history["records"][-1]["endpoint_id"]
    return endpoint_id


@pytest.fixture
def client(base: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0, timeout=60) as made:
        yield made


def test_models_are_listed(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["echo-1"]


def test_chat_completion(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="echo-1", messages=[{"role": "user", "content": "hello load balancer"}]
    )
    assert answer.choices[0].message.content == "You said: hello load balancer"
    assert answer.usage is not None and answer.usage.completion_tokens == 5


def test_streamed_chat_completion(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="echo-1",
        messages=[{"role": "user", "content": "stream these words"}],
        stream=True,
    )
    pieces = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    assert len([p for p in pieces if p]) == 5  # one chunk per word: streamed, not buffered
    assert "".join(pieces) == "You said: stream these words"


def test_a_wrong_key_is_refused_like_the_platform_does(base: str) -> None:
    other = openai.OpenAI(base_url=f"{base}/v1", api_key="not-this-account", max_retries=0)
    with other, pytest.raises(openai.NotFoundError):
        other.models.list()


def test_status_shows_the_base_url_and_the_workers(
    base: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    endpoint = json.loads(capsys.readouterr().out)["endpoints"][0]
    assert endpoint["type"] == "LOAD_BALANCER" and endpoint["base_url"] == base
    assert endpoint["queue"] is None and "queue_error" not in endpoint
    assert sum(endpoint["worker_states"].values()) >= 1  # the smoke tests started one
    assert main(["status"]) == 0
    table = capsys.readouterr().out  # the table folds long cells: look for words
    assert "load" in table and "queued" not in table


def test_ci_summary_shows_curl_commands_that_work(
    base: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["ci", "summary", "--json"]) == 0
    text = json.loads(capsys.readouterr().out)["markdown"]
    assert f"'{base}/v1/models'" in text and "/runsync" not in text
    assert KEY not in text and "$RUNPOD_API_KEY" in text
    command = text.split("```sh\n")[1].split("\n\n")[0]  # the first call, comments and all
    done = subprocess.run(
        ["bash", "-c", command],
        env={"RUNPOD_API_KEY": KEY, "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data"][0]["id"] == "echo-1"
