"""podkit's own GitHub Action (action.yml): its steps run as written, and it lints clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

from podkit import __version__, _release
from tests.functional.ci.workflow_lint import tool
from tests.gha.runner import Runner

ROOT = Path(__file__).resolve().parents[3]
ACTION = ROOT / "action.yml"
USES = f"{_release.REPOSITORY}@{'0' * 40}"


def _run(tmp_path: Path, steps: list[dict[str, object]]) -> Runner:
    ws = tmp_path / "repo"
    ws.mkdir(exist_ok=True)
    venv_bin = str(Path(sys.executable).parent)
    return Runner(
        workflow={"jobs": {"j": {"steps": steps}}},
        workspace=ws,
        github={"event_name": "push", "repository": "acme/w"},
        base_env={"PATH": f"{venv_bin}:{os.environ.get('PATH', '')}"},
        github_only=frozenset({"install"}),
        actions={_release.REPOSITORY: ROOT},
    )


def test_each_line_of_args_is_one_argument_and_the_exit_code_is_an_output(
    tmp_path: Path,
) -> None:
    steps: list[dict[str, object]] = [
        {
            "id": "init",
            "uses": USES,
            "with": {"command": "init", "args": "my worker dir\n--name\nw\n--json"},
        },
        {
            "id": "missing",
            "uses": USES,
            "with": {
                "command": "ci summary",
                "args": "--config\nnope.toml",
                "ok-exit-codes": "0 1",
            },
        },
        {"id": "strict", "uses": USES, "with": {"command": "ci summary", "args": "-c\nnope.toml"}},
    ]
    run = _run(tmp_path, steps).run_job("j")
    assert run.step("init").outputs == {"exit-code": "0"}, run.log
    assert (tmp_path / "repo" / "my worker dir" / "podkit.toml").is_file()
    assert run.step("missing").outcome == "success"  # 1 was allowed
    assert run.step("missing").outputs == {"exit-code": "1"}
    assert run.step("strict").outcome == "failure"
    assert "nope.toml" in run.step("strict").log


def test_a_command_that_is_not_podkit_words_is_refused_not_run(tmp_path: Path) -> None:
    hostile = {"command": "init; touch pwned"}
    run = _run(tmp_path, [{"id": "bad", "uses": USES, "with": hostile}]).run_job("j")
    assert run.step("bad").outcome == "failure"
    assert "command:" in run.step("bad").log
    assert not (tmp_path / "repo" / "pwned").exists()


def test_the_action_passes_zizmor_the_schema_and_shellcheck(tmp_path: Path) -> None:
    zizmor = [str(tool("zizmor")), "--offline", "--no-config", "--persona", "pedantic"]
    schema = [str(tool("check-jsonschema")), "--builtin-schema", "vendor.github-actions"]
    for cmd in ([*zizmor, "--no-progress", str(ACTION)], [*schema, str(ACTION)]):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    steps = YAML(typ="safe").load(ACTION.read_text(encoding="utf-8"))["runs"]["steps"]
    for step in steps:
        script = tmp_path / f"{step['id']}.sh"
        script.write_text(step["run"], encoding="utf-8")
        cmd = [str(tool("shellcheck")), "--shell=bash", str(script)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout


def test_the_action_installs_podkit_from_its_own_ref_into_a_venv(tmp_path: Path) -> None:
    runner = _run(tmp_path, [])
    runner.github_only = frozenset()  # the real install: a venv under $RUNNER_TEMP, pip from here
    runner.timeout_s = 600
    step = {"uses": USES, "with": {"command": "ci summary", "args": "--help"}}
    runner.workflow = {"jobs": {"j": {"steps": [{"id": "a", **step}, {"id": "b", **step}]}}}
    run = runner.run_job("j")
    assert run.ok, run.log
    podkit = tmp_path / "runner-temp-j" / "podkit-venv" / "bin" / "podkit"
    assert podkit.is_file()
    assert __version__ in run.step("a").log
    assert run.step("b").outputs == {"exit-code": "0"}


def test_every_line_of_the_set_file_is_an_override_the_last_and_crlf_ones_too(
    tmp_path: Path,
) -> None:
    project = tmp_path / "repo"
    project.mkdir()
    (project / "podkit.toml").write_text(
        'project = "w"\n[image]\nref = "ghcr.io/acme/w@sha256:' + "0" * 64 + '"\n'
        '[endpoint]\ngpu_types = ["NVIDIA GeForce RTX 4090"]\n',
        encoding="utf-8",
    )
    overrides = tmp_path / "overrides"
    # Written by hand on Windows: CRLF line ends and no newline after the last line.
    overrides.write_bytes(b"endpoint.workers_max=2\r\nendpoint.bogus_key=1")
    plan = {"id": "plan", "uses": USES, "with": {"command": "plan", "set-file": str(overrides)}}
    run = _run(tmp_path, [plan]).run_job("j")
    log = run.step("plan").log
    assert run.step("plan").outcome == "failure"
    assert "endpoint.bogus_key: unknown key" in log, log
    assert "workers_max" not in log.split("unknown key", 1)[0]  # the CRLF line was a good one
    nofile = {"id": "nofile", "uses": USES, "with": {"command": "plan", "set-file": "nope"}}
    run = _run(tmp_path, [nofile]).run_job("j")
    assert run.step("nofile").outcome == "failure"
    assert "set-file: no readable file at 'nope'" in run.step("nofile").log


def test_exit_codes_or_markdown_written_another_way_stop_the_step_before_podkit_runs(
    tmp_path: Path,
) -> None:
    for key, value, said in (
        ("ok-exit-codes", "0,2", "ok-exit-codes: exit codes separated by spaces"),
        ("markdown", "yes", 'markdown: "true" or "false"'),
    ):
        step = {"id": "s", "uses": USES, "with": {"command": "init", key: value, "args": "w"}}
        run = _run(tmp_path, [step]).run_job("j")
        assert run.step("s").outcome == "failure"
        assert said in run.step("s").log
        assert not (tmp_path / "repo" / "w").exists()
