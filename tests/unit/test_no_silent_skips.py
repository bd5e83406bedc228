"""A missing test dependency skips on a developer's machine and fails under CI=true."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import _deps

ROOT = Path(__file__).resolve().parents[2]


def test_under_ci_a_missing_module_fails_naming_the_install_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"missing test dependency under CI") as err:
        _deps.require("runpod.no_such_part")
    assert "pip install -e '.[worker]'" in str(err.value)


@pytest.mark.parametrize("value", ["", "false", "0"])
def test_elsewhere_a_missing_module_skips_with_the_same_words(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception, match=r"install it with: make \.venv"):
        _deps.require("no_such_module_for_podkit")


def test_a_present_module_is_returned() -> None:
    assert _deps.require("json").dumps([1]) == "[1]"


def test_every_importorskip_in_the_suite_goes_through_the_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"pip install -e '\.\[dev\]'"):
        pytest.importorskip("moto.no_such_part")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        pytest.importorskip("moto.no_such_part", reason="needs moto's missing part")


def test_the_ci_entry_point_sets_ci_itself() -> None:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "export CI=true" in lines
    assert lines.index("export CI=true") < lines.index("make test")
