"""The deploy summary: what is live, and curl commands that name the key, never hold it."""

from __future__ import annotations

import shlex

from podkit.ci import DeploySummary, render_summary

SUMMARY = DeploySummary(
    project="gpu-worker",
    environment="staging",
    endpoint_id="ep-abc123",
    endpoint_name="gpu-worker-staging",
    dataplane_url="https://api.runpod.ai/v2",
    image="ghcr.io/acme/gpu-worker@sha256:" + "ab" * 32,
    release="3",
    example_input={"action": "predict", "text": "it's here"},
)


def test_the_summary_names_the_endpoint_release_and_image() -> None:
    text = render_summary(SUMMARY)
    assert "`ep-abc123`" in text
    assert "| release | `3` |" in text
    assert "sha256:" + "ab" * 32 in text


def test_curl_commands_use_the_key_variable_and_parse_as_shell() -> None:
    text = render_summary(SUMMARY)
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [c for c in block.replace("\\\n", " ").splitlines() if c.startswith("curl")]
    assert len(commands) == 4
    runsync = shlex.split(commands[0])
    assert runsync[-1] == "https://api.runpod.ai/v2/ep-abc123/runsync"
    assert "Authorization: Bearer $RUNPOD_API_KEY" in runsync
    body = runsync[runsync.index("-d") + 1]
    assert body == '{"input": {"action": "predict", "text": "it\'s here"}}'
