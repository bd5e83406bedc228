"""The Markdown a deploy job leaves in its summary: what is live and how to call it.

Pure: facts in, Markdown out. The `curl` commands reference `$RUNPOD_API_KEY` by name, so
the summary can be copied and shared; no key value ever reaches it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

KEY_VARIABLE = "$RUNPOD_API_KEY"


@dataclass(frozen=True)
class DeploySummary:
    """What one environment runs after a deploy or a rollback."""

    project: str
    environment: str | None
    endpoint_id: str
    endpoint_name: str
    dataplane_url: str
    image: str | None = None
    release: str | None = None
    example_input: dict[str, Any] = field(default_factory=lambda: {"action": "gpu_info"})
    # A load-balancing endpoint: its requestUrls.base and a request to show (method, path,
    # JSON body or None) instead of jobs.
    base_url: str | None = None
    example_request: tuple[str, str, Any] = ("GET", "/ping", None)
    health_path: str = "/ping"


def _shell_quote(text: str) -> str:
    """Single-quote `text` for bash (a `'` inside becomes `'\\''`)."""
    return "'" + text.replace("'", "'\\''") + "'"


def _cell(text: str) -> str:
    """`text` as code in one Markdown table cell: on one line, its `|` escaped, fenced by
    more backticks than it holds in a row (a value read from a file or the API)."""
    flat = " ".join(str(text).split()).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def lb_curl_commands(s: DeploySummary) -> str:
    """Ready-to-copy calls of a load-balancing endpoint: one request, and its health path."""
    base = (s.base_url or "").rstrip("/")
    auth = f'-H "Authorization: Bearer {KEY_VARIABLE}"'
    method, path, body = s.example_request
    call = f"curl -sS -X {method} {auth}"
    if body is not None:
        data = _shell_quote(json.dumps(body, sort_keys=True))
        call += f' -H "Content-Type: application/json" \\\n  -d {data}'
    return "\n".join(
        [
            "# a request straight to the workers (the first may meet a cold start: retry on",
            "# 'no workers available')",
            f"{call} \\\n  {_shell_quote(base + path)}",
            "",
            "# the health path (200 ready, 204 initializing)",
            f"curl -sS {auth} {_shell_quote(base + s.health_path)}",
        ]
    )


def curl_commands(s: DeploySummary) -> str:
    """Ready-to-copy calls: a synchronous job, an async job and its status, the health."""
    if s.base_url:
        return lb_curl_commands(s)
    base = f"{s.dataplane_url.rstrip('/')}/{s.endpoint_id}"
    auth = f'-H "Authorization: Bearer {KEY_VARIABLE}"'
    body = _shell_quote(json.dumps({"input": s.example_input}, sort_keys=True))
    post = f'curl -sS -X POST {auth} -H "Content-Type: application/json"'
    return "\n".join(
        [
            "# run one job and wait for its result (up to 90 s)",
            f"{post} \\\n  -d {body} \\\n  {_shell_quote(base + '/runsync')}",
            "",
            "# start a long job, then poll its status with the returned id",
            f"{post} \\\n  -d {body} \\\n  {_shell_quote(base + '/run')}",
            f"curl -sS {auth} {_shell_quote(base + '/status/JOB_ID')}",
            "",
            "# workers and queue",
            f"curl -sS {auth} {_shell_quote(base + '/health')}",
        ]
    )


def render_summary(s: DeploySummary) -> str:
    """The deploy summary as Markdown."""
    where = f"{s.project} ({s.environment})" if s.environment else s.project
    rows = [
        ("endpoint id", _cell(s.endpoint_id)),
        ("endpoint", _cell(s.endpoint_name)),
        ("release", _cell(s.release) if s.release else "(unknown)"),
        ("image", _cell(s.image) if s.image else "(unknown)"),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return (
        f"\n## Deployed {where}\n\n| | |\n|---|---|\n{table}\n\n"
        f"Call it (with `RUNPOD_API_KEY` set in your shell):\n\n"
        f"```sh\n{curl_commands(s)}\n```\n"
    )
