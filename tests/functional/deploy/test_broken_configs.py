"""Every broken podkit.toml of the corpus, run as `podkit plan` against one local RunPod.

For each case: exit 1, not one request made (counted by the local RunPod's recorder), the
file, line and key named (or, for a bad command-line value, the option), and a fix offered,
in words: no regex, class name or pydantic phrasing. The corpus lives in
tests/fixtures/config/broken; expected.json says where each problem is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podkit.cli.main import main
from podkit.config.syntax import MAX_BYTES
from podkit.emulator.server import LocalRunPod

CORPUS = Path(__file__).parents[2] / "fixtures" / "config" / "broken"
EXPECTED: dict[str, dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text())
LEAKS = re.compile(
    r"Input should|Value error|\^\[|\]\{|\\d|[A-Z][a-z]+Config\b|pydantic|Traceback|"
    r"\(got (.+)\) \(got \1\)"
)


@pytest.fixture(scope="module")
def runpod() -> Iterator[LocalRunPod]:
    """One local RunPod for the whole corpus: every case must leave its request count alone."""
    with LocalRunPod(seed=16, record=True) as server:
        yield server


@pytest.fixture(autouse=True)
def _target(runpod: LocalRunPod, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODKIT_TARGET", runpod.url)
    monkeypatch.setenv("RUNPOD_API_KEY", "rpa_corpus_key")


def _config(name: str, tmp_path: Path) -> Path:
    if EXPECTED[name].get("generate") == "huge":
        path = tmp_path / f"{name}.toml"
        path.write_text('project = "demo"\n' + "# padding\n" * (MAX_BYTES // 10 + 1))
        return path
    return CORPUS / f"{name}.toml"


def test_the_corpus_is_large_and_complete() -> None:
    files = {path.stem for path in CORPUS.glob("*.toml")}
    generated = {name for name, e in EXPECTED.items() if e.get("generate")}
    assert files == set(EXPECTED) - generated
    assert len(EXPECTED) >= 100


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_broken_config_is_refused_before_any_request_at_its_line_with_a_fix(
    name: str,
    tmp_path: Path,
    runpod: LocalRunPod,
    capsys: pytest.CaptureFixture[str],
) -> None:
    expected = EXPECTED[name]
    path = _config(name, tmp_path)
    assert runpod.recorder is not None
    before = len(runpod.recorder.responses)
    code = main(["plan", "--config", str(path), *expected.get("args", [])])
    err = capsys.readouterr().err
    assert code == 1, err
    assert len(runpod.recorder.responses) == before, "a request was made"
    problems = [line.removeprefix("error: ") for line in err.splitlines() if ": " in line]
    where = expected.get("option") or f"{path}:{expected['line']}:"
    named = [p for p in problems if p.startswith(where)]
    assert named, f"{where} not named in:\n{err}"
    if expected["key"]:
        assert any(f": {expected['key']}" in p for p in named), err
    assert all(re.search(r"; \S", p) for p in named), f"no fix offered:\n{err}"
    assert not LEAKS.search(err), err
    assert "pw@" not in err  # a credential in a source URL is never repeated
