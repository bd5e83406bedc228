"""Runs one job's `run:` steps as GitHub's runner would, on this machine."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.gha.expressions import condition, interpolate

SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]  # the runner's `shell: bash`


def load_workflow(path: Path) -> dict[str, Any]:
    """A workflow file as plain data (YAML 1.2: `on` stays a string key)."""
    doc: dict[str, Any] = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return doc


@dataclass
class StepResult:
    """What one step did: its outcome, outputs and captured log."""

    key: str
    name: str
    outcome: str  # success | failure | skipped
    ran: bool
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""


@dataclass
class JobRun:
    """The result of a job: every step's result, the job summary and the whole log."""

    steps: list[StepResult]
    summary: str

    @property
    def log(self) -> str:
        return "\n".join(f"## {s.name}\n{s.log}" for s in self.steps)

    @property
    def ok(self) -> bool:
        return all(s.outcome != "failure" for s in self.steps)

    def step(self, key: str) -> StepResult:
        return next(s for s in self.steps if s.key == key)


@dataclass
class Runner:
    """Runs the `run:` steps of a job; `uses:` steps take the outputs the test provides,
    except composite actions named in `actions` (`uses:` prefix -> the action's directory),
    whose own steps run here as GitHub would run them."""

    workflow: dict[str, Any]
    workspace: Path
    github: dict[str, Any]
    inputs: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    base_env: dict[str, str] = field(default_factory=dict)
    provided: dict[str, dict[str, str]] = field(default_factory=dict)
    github_only: frozenset[str] = frozenset()
    actions: dict[str, Path] = field(default_factory=dict)
    timeout_s: float = 180.0

    def run_job(self, job: str, *, stop_after: str | None = None) -> JobRun:
        """Run `job`'s steps in order (up to the step with id `stop_after`, if given)."""
        spec = self.workflow["jobs"][job]
        temp = self.workspace.parent / f"runner-temp-{job}"
        temp.mkdir(exist_ok=True)
        ctx: dict[str, Any] = self._context(temp)
        ctx["env"] = self._env_block(self.workflow.get("env", {}), ctx)
        ctx["env"].update(self._env_block(spec.get("env", {}), ctx))
        results: list[StepResult] = []
        summary: list[str] = []
        for index, step in enumerate(spec["steps"]):
            result = self._step(index, step, ctx, results, temp, summary)
            results.append(result)
            ctx["steps"][result.key] = {
                "outputs": result.outputs,
                "outcome": result.outcome,
                "conclusion": result.outcome,
            }
            if result.key == stop_after:
                break
        return JobRun(results, "".join(summary))

    def _context(self, temp: Path) -> dict[str, Any]:
        return {
            "github": self.github,
            "inputs": self.inputs,
            "secrets": self.secrets,
            "vars": self.variables,
            "runner": {"temp": str(temp), "os": "Linux"},
            "steps": {},
        }

    @staticmethod
    def _env_block(block: Mapping[str, Any], ctx: Mapping[str, Any]) -> dict[str, str]:
        return {k: interpolate(str(v), ctx) for k, v in block.items()}

    def _step(
        self,
        index: int,
        step: Mapping[str, Any],
        ctx: dict[str, Any],
        done: list[StepResult],
        temp: Path,
        summary: list[str],
    ) -> StepResult:
        key = str(step.get("id", f"__{index}"))
        name = str(step.get("name") or step.get("uses") or key)
        funcs = {
            "success": lambda: all(r.outcome != "failure" for r in done),
            "failure": lambda: any(r.outcome == "failure" for r in done),
            "always": lambda: True,
            "cancelled": lambda: False,
        }
        if not condition(step.get("if"), ctx, funcs):
            return StepResult(key, name, "skipped", ran=False)
        action_dir = self._local_action(str(step.get("uses", "")))
        if action_dir is not None and key not in self.github_only:
            return self._composite(key, name, step, action_dir, ctx, temp, summary)
        if "uses" in step or key in self.github_only:
            outputs = self.provided.get(key, {})
            return StepResult(key, name, "success", ran=False, outputs=dict(outputs))
        env = {**ctx["env"], **self._env_block(step.get("env", {}), ctx)}
        return self._shell(key, name, str(step["run"]), env, temp, summary, ctx)

    def _local_action(self, uses: str) -> Path | None:
        ref = uses.split("@", 1)[0]
        return self.actions.get(ref)

    def _composite(
        self,
        key: str,
        name: str,
        step: Mapping[str, Any],
        action_dir: Path,
        ctx: dict[str, Any],
        temp: Path,
        summary: list[str],
    ) -> StepResult:
        """A composite action's steps, with its inputs (defaults, then `with:`) and outputs."""
        action = load_workflow(action_dir / "action.yml")
        inputs = {k: str(v.get("default", "")) for k, v in action.get("inputs", {}).items()}
        inputs.update({k: interpolate(str(v), ctx) for k, v in step.get("with", {}).items()})
        inner: dict[str, Any] = {**ctx, "inputs": inputs, "steps": {}}
        inner["github"] = {**ctx["github"], "action_path": str(action_dir)}
        inner["env"] = {**ctx["env"], **self._env_block(step.get("env", {}), ctx)}
        done: list[StepResult] = []
        for index, inner_step in enumerate(action["runs"]["steps"]):
            inner_key = str(inner_step.get("id", f"__{index}"))
            if inner_key in self.github_only:
                done.append(StepResult(inner_key, inner_key, "success", ran=False))
                continue
            env = {**inner["env"], **self._env_block(inner_step.get("env", {}), inner)}
            script = str(inner_step["run"])
            result = self._shell(f"{key}.{inner_key}", name, script, env, temp, summary, inner)
            inner["steps"][inner_key] = {"outputs": result.outputs, "outcome": result.outcome}
            done.append(result)
            if result.outcome == "failure":
                break
        outputs = {
            k: interpolate(str(v["value"]), inner) for k, v in action.get("outputs", {}).items()
        }
        failed = any(r.outcome == "failure" for r in done)
        log = "".join(r.log for r in done)
        return StepResult(key, name, "failure" if failed else "success", True, outputs, log)

    def _shell(
        self,
        key: str,
        name: str,
        script: str,
        step_env: dict[str, str],
        temp: Path,
        summary: list[str],
        ctx: dict[str, Any],
    ) -> StepResult:
        files = {n: temp / f"{key}.{n}" for n in ("output", "env", "summary")}
        for f in files.values():
            f.write_text("", encoding="utf-8")
        script_file = temp / f"{key}.sh"
        script_file.write_text(script, encoding="utf-8")
        env = {**self._runner_env(temp), **step_env}
        env.update(GITHUB_OUTPUT=str(files["output"]), GITHUB_ENV=str(files["env"]))
        env["GITHUB_STEP_SUMMARY"] = str(files["summary"])
        done = subprocess.run(
            [*SHELL, str(script_file)],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=self.timeout_s,
            check=False,
        )
        summary.append(files["summary"].read_text(encoding="utf-8"))
        ctx["env"].update(parse_file_commands(files["env"].read_text(encoding="utf-8")))
        outputs = parse_file_commands(files["output"].read_text(encoding="utf-8"))
        outcome = "success" if done.returncode == 0 else "failure"
        log = done.stdout + done.stderr + f"[exit {done.returncode}]\n"
        return StepResult(key, name, outcome, ran=True, outputs=outputs, log=log)

    def _runner_env(self, temp: Path) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(temp),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "RUNNER_TEMP": str(temp),
            "RUNNER_OS": "Linux",
        }
        for key in ("repository", "sha", "event_name", "actor", "ref"):
            if key in self.github:
                env[f"GITHUB_{key.upper()}"] = str(self.github[key])
        env.update(self.base_env)
        return env


_HEREDOC = re.compile(r"^([^=<\s]+)<<(\S+)$")


def parse_file_commands(text: str) -> dict[str, str]:
    """`$GITHUB_OUTPUT` / `$GITHUB_ENV` syntax: `k=v` lines and `k<<EOF ... EOF` blocks."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _HEREDOC.match(line)
        if m:
            end = lines.index(m.group(2), i + 1)
            values[m.group(1)] = "\n".join(lines[i + 1 : end])
            i = end + 1
            continue
        if "=" in line:
            k, v = line.split("=", 1)
            values[k] = v
        i += 1
    return values
