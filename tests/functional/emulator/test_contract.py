"""The local RunPod against both official OpenAPI documents, driven by schemathesis.

Every serverless-relevant operation of each document gets a bounded, seeded, deterministic
run (examples, coverage and fuzzing phases, every check, a configured API key so the auth
checks mean something). A failure is allowed only if the allow-list in
`emulator/COVERAGE.md` ("Contract test") names its document, check, operation and status,
with the reason the emulator differs from the document; an entry nothing matches any more
fails too, so the list cannot drift from what the emulator does.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

from podkit.emulator.openapi import V1, V2
from podkit.emulator.server import LocalRunPod

KEY = "rpa_contract_test_key"
EXAMPLES = 20  # per operation and phase: about 25 s for both documents on one busy core
SEED = 20261206
# Serverless-relevant operations: endpoints, templates, volumes, registries, the catalog.
SELECTION = {
    "v2": (
        V2,
        "",
        [
            "--include-tag-regex",
            "^(Serverless|Templates|Network Volumes|Registries|Catalog)$",
            "--exclude-path-regex",
            "delegations|/catalog/templates",
        ],
    ),
    "v1": (
        V1,
        "/v1",
        ["--include-tag-regex", "^(endpoints|templates|network volumes|container registry auths)$"],
    ),
}
ROW = re.compile(r"^\| (v1|v2) \| (ST\d+) \| (.+?) \| ([\d, *]+) \| (.+) \|$", re.M)


@dataclass(frozen=True)
class Failure:
    document: str
    code: str
    operation: str  # as schemathesis names it: "METHOD /path" of the document
    status: int | None  # the response's status (None: no response)
    message: str = field(default="", compare=False)  # one example, for the report


@dataclass(frozen=True)
class Allowed:
    document: str
    code: str
    operations: tuple[str, ...]  # fnmatch patterns
    statuses: tuple[int, ...] | None  # None: any
    why: str

    def matches(self, failure: Failure) -> bool:
        return (
            failure.document == self.document
            and failure.code == self.code
            and any(fnmatch.fnmatchcase(failure.operation, p) for p in self.operations)
            and (self.statuses is None or failure.status in self.statuses)
        )


def allow_list() -> list[Allowed]:
    """The "Contract test" table of COVERAGE.md."""
    text = resources.files("podkit.emulator").joinpath("COVERAGE.md").read_text()
    section = text.split("## Contract test", 1)[1].split("\n## ", 1)[0]
    entries = []
    for doc, code, ops, statuses, why in ROW.findall(section):
        operations = tuple(op.strip().strip("`") for op in ops.split(","))
        codes = None if statuses.strip() == "*" else tuple(int(s) for s in statuses.split(","))
        entries.append(Allowed(doc, code, operations, codes, why.strip()))
    assert entries, "COVERAGE.md has no Contract test allow-list rows"
    return entries


def require_schemathesis() -> None:
    if find_spec("schemathesis") is not None:
        return
    message = "schemathesis is missing: pip install -e '.[dev]' (make .venv/.installed-stamp)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def runpod() -> Iterator[LocalRunPod]:
    # Workers that never ask for work: endpoints get their processes without the SDK's cost.
    with LocalRunPod(seed=SEED, api_keys=[KEY], worker_command=["sleep", "600"]) as server:
        yield server


def run_schemathesis(url: str, api: str, workdir: Path) -> list[Failure]:
    """One bounded run over one document; every failed check, with its response status."""
    document, prefix, selection = SELECTION[api]
    path = resources.files("podkit.emulator.openapi").joinpath(document)
    reports = workdir / f"report-{api}"
    argv = [sys.executable, "-m", "schemathesis.cli", "run", str(path), "--url", url + prefix]
    argv += ["-H", f"Authorization: Bearer {KEY}", "--checks", "all", "--no-color"]
    argv += ["--phases", "examples,coverage,fuzzing", "-n", str(EXAMPLES), "--seed", str(SEED)]
    argv += ["--generation-deterministic", "-w", "1"]  # deterministic: no example database
    argv += ["--request-timeout", "20", "--report", "ndjson", "--report-dir", str(reports)]
    done = subprocess.run(
        [*argv, *selection], cwd=workdir, capture_output=True, text=True, timeout=300, check=False
    )
    events = list(reports.glob("*.ndjson"))
    assert events, f"schemathesis wrote no report:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return parse_events(api, events[0].read_text(encoding="utf-8"))


def parse_events(api: str, ndjson: str) -> list[Failure]:
    found: set[Failure] = set()
    for line in ndjson.splitlines():
        event: dict[str, Any] = json.loads(line)
        if "NonFatalError" in event:
            error = event["NonFatalError"]
            found.add(Failure(api, "error", str(error.get("label")), None, json.dumps(error)[:300]))
        recorder = event.get("ScenarioFinished", {}).get("recorder")
        if not recorder:
            continue
        for case_id, checks in recorder.get("checks", {}).items():
            for check in checks:
                if check["status"] != "failure":
                    continue
                failure = check["failure_info"]["failure"]
                response = recorder.get("interactions", {}).get(case_id, {}).get("response") or {}
                status = response.get("status_code")
                text = f"{failure['title']}; answer: {_body(response)}"
                found.add(Failure(api, failure["code"], failure["operation"], status, text))
    return sorted(found, key=lambda f: (f.code, f.operation, f.status or 0))


def _body(response: dict[str, Any]) -> str:
    content = response.get("content") or {}
    raw = base64.b64decode(content["$base64"]) if "$base64" in content else b""
    return raw.decode("utf-8", "replace")[:300]


def test_both_documents_find_only_allowed_failures(runpod: LocalRunPod, tmp_path: Path) -> None:
    require_schemathesis()
    allowed = allow_list()
    failures = [f for api in SELECTION for f in run_schemathesis(runpod.url, api, tmp_path)]
    unexplained = [f for f in failures if not any(a.matches(f) for a in allowed)]
    stale = [a for a in allowed if not any(a.matches(f) for f in failures)]
    assert unexplained == [], "failures not in COVERAGE.md's allow-list:\n" + "\n".join(
        f"{f.document} {f.code} {f.operation} -> {f.status}: {f.message}" for f in unexplained
    )
    assert stale == [], "allow-list entries nothing failed against (remove them):\n" + "\n".join(
        f"{a.document} {a.code} {a.operations}" for a in stale
    )


def test_the_allow_list_says_why() -> None:
    for entry in allow_list():
        assert len(entry.why.split()) >= 8, f"{entry}: say why the emulator differs"
        assert all(" /" in op for op in entry.operations), f"{entry}: operations are METHOD /path"
