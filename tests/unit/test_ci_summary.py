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


def _commands(text: str) -> list[list[str]]:
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [c for c in block.replace("\\\n", " ").splitlines() if c.startswith("curl")]
    return [shlex.split(c) for c in lines]


HOSTILE = 'x"; touch /tmp/owned; echo "$(id)`id`'


def test_a_hostile_value_stays_one_word_of_each_curl_command() -> None:
    """An id or URL read back from a hand-edited history or a strange API answer cannot
    turn a copied command into two."""
    from dataclasses import replace

    queue = replace(SUMMARY, endpoint_id=HOSTILE)
    lb = replace(SUMMARY, base_url=f"https://{HOSTILE}", health_path="/p'ng")
    for summary, wanted in ((queue, f"/v2/{HOSTILE}/runsync"), (lb, f"https://{HOSTILE}/")):
        commands = _commands(render_summary(summary))
        assert commands and all(c[0] == "curl" and ";" not in c for c in commands)
        assert any(c[-1].endswith(wanted) or wanted in c[-1] for c in commands)
    assert _commands(render_summary(lb))[-1][-1] == f"https://{HOSTILE}/p'ng"


def test_a_hostile_value_stays_in_its_markdown_table_cell() -> None:
    from dataclasses import replace

    text = render_summary(replace(SUMMARY, image="a`b``c | x\n## Owned", release="|"))
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(rows) == 5 and "## Owned" not in text.split("```sh")[0].splitlines()
    assert "| image | ```a`b``c \\| x ## Owned``` |" in rows
    assert "| release | `\\|` |" in rows
