"""`podkit emulator start` refuses what it cannot serve safely, with an actionable message."""

from __future__ import annotations

import pytest

from podkit.cli.main import main


def test_non_loopback_host_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "start", "--host", "0.0.0.0", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "0.0.0.0" in err and "--allow-remote" in err


def test_bad_fault_spec_and_quirk_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "start", "--port", "0", "--faults", "GET /v2/*:boom=1"]) == 1
    assert "boom=1" in capsys.readouterr().err
    assert main(["emulator", "start", "--port", "0", "--quirk", "nope"]) == 1
    assert "v1_accept_volume_shrink" in capsys.readouterr().err


@pytest.mark.parametrize("spec", ["bogus", "minute=sixty", "minute=60,hour"])
def test_a_bad_rate_limit_names_the_item_not_a_python_error(
    spec: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["emulator", "start", "--port", "0", "--rate-limit", spec]) == 1
    err = capsys.readouterr().err
    assert "must be WINDOW=COUNT" in err and "unpack" not in err and "int()" not in err
