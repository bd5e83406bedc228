"""Every broken podkit.toml in the corpus is refused with its file, line and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podkit.config import load_config
from podkit.errors import ConfigError

CORPUS = Path(__file__).parents[2] / "fixtures" / "config" / "broken"
EXPECTED: dict[str, dict[str, str | int | None]] = json.loads(
    (CORPUS / "expected.json").read_text()
)


def test_the_corpus_is_large_and_complete() -> None:
    files = {path.stem for path in CORPUS.glob("*.toml")}
    assert files == set(EXPECTED)
    assert len(files) >= 40


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_config_names_file_line_and_key(name: str) -> None:
    path = CORPUS / f"{name}.toml"
    expected = EXPECTED[name]
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    first = str(caught.value.message).splitlines()[0]
    assert first.startswith(f"{path}:{expected['line']}:"), first
    if expected["key"]:
        assert f": {expected['key']}" in first, first
