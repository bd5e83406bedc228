"""Every ```sh block of README.md, command by command as written, against one local RunPod.

One in-process local RunPod on a free port and one project (a copy of `examples/`) serve the
whole README, in order. How a command runs:

- `podkit emulator start &` (the tour) is that local RunPod: `PODKIT_LOCAL_URL` points
  `--target local` at it. `export`, `NAME=value` and `cd` act on this process (`cd` sets `$PWD`
  too).
- `podkit ...` runs through the CLI's entry point; a question gets "y" on a stand-in terminal.
- Commands that never end by themselves (`podkit emulator start`, `podkit logs --follow`) run
  as processes with a bound: started, their first line of output checked, then stopped.
- `curl` and `python` lines run in bash with this process's environment and `.venv/bin` first
  on PATH.
- Anything else must be in NOT_RUN with the reason; a command that is neither fails the test.

What the test fills in (the README's placeholders, all written `<like this>`):

- `<api key>`: a local key; `<digest>`: a sha256 digest; `<endpoint id>`: the staging endpoint
  podkit deployed last from the current directory's project (else the example's); `<job id>`:
  the id of the job submitted last (`podkit run --async` prints it, a curl to `/run` answers it).
- `127.0.0.1:8765`, the default address, becomes the local RunPod's (8765 may be taken), and a
  bounded `podkit emulator start` gets `--port 0`.
- Variables the README takes as set: `GITHUB_STEP_SUMMARY` (a file), `KEY` and `CI_KEY`.
- Before the Jobs block the project gets `models.json` and one `[[models]]` entry: a file
  served over http on loopback (the README's `gs://acme-models` needs a Google account).

Before the Jobs and Models blocks the project is deployed to staging (`podkit apply --env
staging --yes`), as those sections assume; the Deploy block before them destroys it.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod

Capture = pytest.CaptureFixture[str]
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEFAULT_ADDRESS = "127.0.0.1:8765"
DIGEST = "7" * 64
MODEL_BYTES = b"weights " * 1024

# Commands (by their first words) that cannot run here, and why.
NOT_RUN: dict[tuple[str, ...], str] = {
    ("make", "demo"): "the whole demo, minutes; tests/e2e/test_deploy_demo.py runs its loop",
    ("make", "test"): "the whole test suite (this test among them); in a new project it also "
    "installs a fresh .venv from PyPI first",
    ("make", "bench"): "benchmarks of minutes, figures in bench/RESULTS.md",
    ("pipx", "install"): "installs from PyPI or GitHub into the user's tools: network, and it "
    "changes the machine outside the test",
    ("uv", "tool", "install"): "the same as pipx install",
}
BOUNDED = {("podkit", "emulator", "start"), ("podkit", "logs")}
SHELL_PROGRAMS = {"curl", "python"}
# Sections that assume a deployed staging endpoint.
NEEDS_DEPLOYED = ("### Jobs", "### Models")


@dataclass
class Block:
    section: str
    commands: list[str]


@dataclass
class Run:
    local: LocalRunPod
    project: Path
    last_job: str = ""
    ran: list[str] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)


def readme_blocks() -> list[Block]:
    """Each ```sh block with its section heading, as a list of commands (comments dropped)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = []
    for match in re.finditer(r"^```sh\n(.*?)^```", text, re.S | re.M):
        headings = re.findall(r"^#+ .*$", text[: match.start()], re.M)
        joined = match.group(1).replace("\\\n", " ")  # continued lines
        commands = []
        for line in joined.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            commands += [part.strip() for part in line.split(" && ") if part.strip()]
        blocks.append(Block(headings[-1] if headings else "", commands))
    return blocks


class _Terminal(io.StringIO):
    """stdin as a terminal where the user answers yes."""

    def isatty(self) -> bool:
        return True


def fill(command: str, run: Run) -> str:
    """The README's placeholders and default address, filled in from this run."""
    address = run.local.url.removeprefix("http://")
    for placeholder, value in {
        "<api key>": "readme-key",
        "<digest>": DIGEST,
        "<endpoint id>": endpoint_id(Path.cwd()) or endpoint_id(run.project),
        "<job id>": run.last_job,
        DEFAULT_ADDRESS: address,
    }.items():
        assert value or placeholder not in command, f"{placeholder} is not known yet: {command}"
        command = command.replace(placeholder, value)
    assert "<" not in command.replace("<<", ""), f"an unknown placeholder in: {command}"
    return command


def endpoint_id(project: Path) -> str:
    histories = list((project / ".podkit" / "history").glob("*-staging.json"))
    if not histories:
        return ""
    history = max(histories, key=lambda h: h.stat().st_mtime)
    ids = re.findall(r'"endpoint_id":\s*"([^"]+)"', history.read_text(encoding="utf-8"))
    return ids[-1] if ids else ""


def run_podkit(
    words: list[str], run: Run, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    monkeypatch.setattr(sys, "stdin", _Terminal("y\n" * 4))
    code = main(words[1:])
    out, err = capsys.readouterr()
    dry_run = words[1:3] == ["models", "sync"] and "--dry-run" in words
    changes = words[1] == "plan" or dry_run
    expected = (0, 2) if changes else (0,)
    assert code in expected, f"{shlex.join(words)} exited {code}\n{out}\n{err}"
    if "--async" in words:
        run.last_job = out.strip().splitlines()[0]


def run_bounded(words: list[str]) -> None:
    """Start a command that never ends by itself, check its first output line, stop it."""
    if words[1:3] == ["emulator", "start"]:
        words = [*words, "--port", "0"]
    proc = subprocess.Popen(
        [str(BIN / "podkit"), *words[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout=60)
    proc.terminate()
    rest = proc.communicate(timeout=30)[0]
    line = first[0] if first else ""
    want = "local RunPod on" if words[1] == "emulator" else ""
    assert line.strip() and want in line, f"{shlex.join(words)}: no first line\n{line}{rest}"
    assert not line.lower().startswith("error"), f"{shlex.join(words)}\n{line}{rest}"


def run_shell(command: str, run: Run) -> None:
    proc = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, f"{command} exited {proc.returncode}\n{proc.stdout}{proc.stderr}"
    assert proc.stdout.strip(), f"{command} printed nothing\n{proc.stderr}"
    if command.startswith("curl") and "/run " in command + " ":
        run.last_job = json.loads(proc.stdout)["id"]  # a queued job, as RunPod answers /run


def run_command(command: str, run: Run, monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
    words = shlex.split(command)
    reason = next((r for key, r in NOT_RUN.items() if tuple(words[: len(key)]) == key), None)
    if reason is not None:
        run.not_run.append(command)
        return
    command = os.path.expandvars(fill(command, run))
    words = shlex.split(command)
    if command.endswith("&") and words[:3] == ["podkit", "emulator", "start"]:
        monkeypatch.setenv("PODKIT_LOCAL_URL", run.local.url)
    elif words[0] == "export" or all(re.fullmatch(r"[A-Z_]+=.*", w) for w in words):
        for pair in words[1:] if words[0] == "export" else words:
            name, value = pair.split("=", 1)
            monkeypatch.setenv(name, value)
    elif words[0] == "cd":
        chdir(monkeypatch, Path.cwd() / words[1])
    elif tuple(words[:3]) in BOUNDED or tuple(words[:2]) in BOUNDED:
        assert words[:2] != ["podkit", "logs"] or "--follow" in words, command
        run_bounded(words)
    elif words[0] == "podkit":
        run_podkit(words, run, monkeypatch, capsys)
    else:
        program = next(w for w in words if "=" not in w)
        assert program in SHELL_PROGRAMS, f"neither run nor in NOT_RUN: {command}"
        run_shell(command, run)
    run.ran.append(command)


def chdir(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """`cd` as a shell does it: the directory and `$PWD`."""
    monkeypatch.chdir(path)
    monkeypatch.setenv("PWD", str(path.resolve()))


@contextlib.contextmanager
def model_server(root: Path) -> Iterator[str]:
    """A file served over plain http on loopback, as a `[[models]]` source."""
    (root / "model.bin").write_bytes(MODEL_BYTES)
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(root))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/model.bin"
    finally:
        server.shutdown()
        server.server_close()


def add_models(project: Path, url: str) -> None:
    digest = hashlib.sha256(MODEL_BYTES).hexdigest()
    entry = {"source": url, "destination": "models/demo", "sha256": digest}
    (project / "models.json").write_text(json.dumps({"models": [entry]}), encoding="utf-8")
    with (project / "podkit.toml").open("a", encoding="utf-8") as toml:
        toml.write(f'\n[[models]]\nsource = "{url}"\ndestination = "models/demo"\n')
        toml.write(f'sha256 = "{digest}"\n')


def test_every_sh_block_of_the_readme_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    project = tmp_path / "examples" / "gpu-worker"
    (tmp_path / "served").mkdir()
    monkeypatch.delenv("PODKIT_TARGET", raising=False)
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.setenv("KEY", "readme-key")
    monkeypatch.setenv("CI_KEY", "readme-ci-key")
    blocks = readme_blocks()
    with LocalRunPod() as local, model_server(tmp_path / "served") as url:
        run = Run(local, project)
        for block in blocks:
            chdir(monkeypatch, tmp_path if block.section == "## A tour" else project)
            if block.section.startswith(NEEDS_DEPLOYED):
                if block.section.startswith("### Jobs"):
                    add_models(project, url)
                assert main(["apply", "--env", "staging", "--yes"]) == 0, capsys.readouterr()
            for command in block.commands:
                run_command(command, run, monkeypatch, capsys)
    sections = [block.section.split(":")[0].split(" (")[0] for block in blocks]
    assert {"## A tour", "### Jobs", "### Models on the network volume"} <= set(sections)
    assert (
        "podkit rollback --env staging --yes" in run.ran
        and "podkit health --env staging" in run.ran
    )
    assert len(run.ran) + len(run.not_run) == sum(len(b.commands) for b in blocks)
    assert sorted(run.not_run) == sorted(
        ["make demo", "make test", "make bench", "make test", "make demo"]
        + [c for b in blocks for c in b.commands if c.startswith(("pipx ", "uv "))]
    )
    assert (project / "volume" / "models" / "demo" / "model.bin").read_bytes() == MODEL_BYTES
    assert (project / "smoke.md").exists() and (tmp_path / "summary.md").exists()
