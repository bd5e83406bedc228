"""`podkit emulator start`: the local RunPod on 127.0.0.1 (control plane, data plane, workers)."""

from __future__ import annotations

import shlex
import signal
import threading
from pathlib import Path

import typer

from podkit.cli.console import console, print_json
from podkit.errors import EmulatorError

app = typer.Typer(
    name="emulator",
    help="The local RunPod: REST v2 + v1, serverless data plane and real SDK workers.",
    no_args_is_help=True,
)


@app.command("start")
def start(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (loopback only)."),
    port: int = typer.Option(8765, help="Port to listen on (0: any free port)."),
    state_dir: Path | None = typer.Option(
        None, "--state-dir", help="Keep state (and volume directories) here across restarts."
    ),
    quota: int = typer.Option(5, help="Account worker quota (sum of workersMax)."),
    faults: list[str] = typer.Option(
        [],
        "--faults",
        help="Fault rule, e.g. 'POST /v2/*:429=0.2,5xx=0.1,drop=0.05,latency=0.1'; "
        "commit-drop and commit-5xx apply the write, then lose the answer.",
    ),
    faults_seed: int = typer.Option(0, "--faults-seed", help="Seed for the fault dice."),
    quirks: list[str] = typer.Option(
        [], "--quirk", help="Turn on a live quirk, e.g. v1_ignore_flashboot_false_on_create."
    ),
    worker_command: str | None = typer.Option(
        None,
        "--worker-command",
        help="How workers start unless an endpoint says otherwise "
        "(default: python -m podkit.worker), e.g. 'python handler.py'. Workers run in "
        "--worker-cwd, so relative paths resolve there.",
    ),
    worker_cwd: Path | None = typer.Option(
        None,
        "--worker-cwd",
        help="Directory workers run in (default: the directory the emulator starts in).",
    ),
    rate_limit: str | None = typer.Option(
        None, "--rate-limit", help="v2 request quotas per account, e.g. 'minute=60,hour=3000'."
    ),
    api_keys: list[str] = typer.Option(
        [],
        "--api-key",
        help="Accept only this key (repeatable): KEY or KEY:SCOPE, SCOPE = all | read | none | "
        "api=LEVEL,endpoints=LEVEL,endpoint/ID_OR_NAME=LEVEL (LEVEL: write, read, none). "
        "Without any, every key is its own account.",
    ),
    api_keys_file: Path | None = typer.Option(
        None,
        "--api-keys-file",
        help="A file of KEY[:SCOPE] lines (# comments) accepted like --api-key.",
    ),
    allow_remote: bool = typer.Option(
        False, "--allow-remote", help="Allow a non-loopback --host (no real auth: careful)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the URLs as JSON once ready."),
) -> None:
    """Serve the local RunPod until Ctrl-C."""
    try:
        from podkit.emulator.server import LocalRunPod, configure, key_specs
    except ImportError as exc:
        raise EmulatorError(
            f"the local RunPod needs the emulator extra ({exc.name} is missing)",
            hint="pip install 'podkit[emulator]'",
        ) from exc

    _check_ranges(port, quota)
    keys = key_specs(api_keys, api_keys_file)
    runpod = LocalRunPod(
        api_keys=keys,
        host=host,
        port=port,
        state_dir=_created(state_dir),
        quota=quota,
        allow_remote=allow_remote,
        worker_command=_split(worker_command),
        worker_cwd=worker_cwd,
    )
    try:
        configure(
            runpod.backend,
            faults=faults,
            faults_seed=faults_seed,
            quirks=quirks,
            rate_limit=rate_limit,
        )
        # Ctrl-C and SIGTERM (process managers) only ask the loop below to end: an exception
        # raised wherever the main thread happens to be (inside a lock, or inside stop())
        # left tracebacks and an exit status that depended on the moment.
        stopping = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopping.set())
        runpod.start()
        _announce(runpod.url, str(runpod.backend.state_dir), json_out)
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:  # before the handlers were in place
        pass
    finally:
        runpod.stop()


def _split(worker_command: str | None) -> list[str] | None:
    if not worker_command:
        return None
    try:
        return shlex.split(worker_command)
    except ValueError as exc:  # an unclosed quote
        raise typer.BadParameter(
            f"{exc}: quote it as a shell would", param_hint="'--worker-command'"
        ) from exc


def _check_ranges(port: int, quota: int) -> None:
    # Checked here, not with typer's min/max, whose range metavar would squeeze the help.
    if not 0 <= port <= 65535:
        raise typer.BadParameter(f"{port} is not a port: use 0..65535", param_hint="'--port'")
    if quota < 0:
        raise typer.BadParameter(f"{quota} is below 0", param_hint="'--quota'")


def _created(state_dir: Path | None) -> Path | None:
    """The --state-dir, created here so that a path podkit cannot use is the user's to fix."""
    if state_dir is None:
        return None
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmulatorError(
            f"--state-dir {state_dir}: cannot create the directory ({exc.strerror or exc})",
            hint="give a directory podkit can create and write to, or leave --state-dir out",
        ) from exc
    return state_dir


def _announce(url: str, state_dir: str, json_out: bool) -> None:
    if json_out:
        print_json(
            {
                "url": url,
                "v2": f"{url}/v2",
                "v1": f"{url}/v1",
                "admin": f"{url}/_emulator",
                "stateDir": state_dir,
            }
        )
        return
    console.print(f"local RunPod on [bold]{url}[/] (v2 /v2, v1 /v1, admin /_emulator)")
    console.print(f"state: {state_dir}  (Ctrl-C to stop)")
    # The one line another shell needs to send podkit here (any port, not just the default).
    console.print(f"point podkit at it:  export PODKIT_TARGET={url}", soft_wrap=True)
