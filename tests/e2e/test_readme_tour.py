"""The README's tour, line by line as written, against a local RunPod.

`podkit emulator start &` becomes an in-process local RunPod on a free port (so the test never
fights over 8765; `PODKIT_LOCAL_URL` points `--target local` at it), `export` and `cd` act on
this process, and every `podkit ...` line runs through the CLI's entry point.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod

ROOT = Path(__file__).resolve().parents[2]


def tour_lines() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## A tour", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the tour has no sh block"
    joined = block.group(1).replace("\\\n", " ")  # continued lines
    lines = [re.sub(r"\s+#.*$", "", line).strip() for line in joined.splitlines()]
    return [line for line in lines if line]


def test_every_line_of_the_tour_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    ran = []
    with LocalRunPod() as local:
        for line in tour_lines():
            words = shlex.split(line)
            if words[:3] == ["podkit", "emulator", "start"]:
                monkeypatch.setenv("PODKIT_LOCAL_URL", local.url)
            elif words[0] == "export":
                for pair in words[1:]:
                    name, value = pair.split("=", 1)
                    monkeypatch.setenv(name, value)
            elif words[0] == "cd":
                monkeypatch.chdir(Path.cwd() / words[1])
            else:
                assert words[0] == "podkit", line
                code = main(words[1:])
                err = capsys.readouterr().err
                assert code in ((0, 2) if words[1] == "plan" else (0,)), f"{line}\n{err}"
                ran.append(words[1])
    assert os.environ.get("PODKIT_TARGET") == "local"
    assert ran.count("apply") == 2 and "rollback" in ran and ran[-1] == "destroy"
