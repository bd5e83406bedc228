"""Run the local RunPod with uvicorn in a background thread on a loopback port."""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn

from podkit.emulator.app import create_app
from podkit.emulator.backend import DEFAULT_QUOTA, Backend, parse_spec
from podkit.emulator.backend.keys import parse_key_spec, read_keys_file
from podkit.emulator.dataplane.jobs import MAX_POLICY_MS
from podkit.emulator.http.context import Context
from podkit.emulator.http.middleware import DroppedConnection, Recorder
from podkit.errors import EmulatorError

if TYPE_CHECKING:
    from podkit.emulator.dataplane.settings import DataPlaneSettings
    from podkit.emulator.loadbalancer.settings import LoadBalancerSettings

START_TIMEOUT_S = 10.0
# A sync handler blocks the SDK worker's event loop for the whole job, so the worker's pooled
# connections sit idle that long. One the server closed meanwhile (uvicorn's default is 5 s) is
# reused for the result, which fails with `Server disconnected` and is never retried (the SDK's
# RetryClient retries no exception). Idle connections therefore outlive the longest job.
KEEP_ALIVE_S = MAX_POLICY_MS / 1000 + 3600


def server_config(app: Any, **options: Any) -> uvicorn.Config:
    """uvicorn settings every server of the local RunPod uses (tests and benches included)."""
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=int(KEEP_ALIVE_S),
        **options,
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _QuietDrops(logging.Filter):
    """Injected connection drops are intended; keep them out of the error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


class EmulatorServer:
    """uvicorn serving one app in a daemon thread; `start()`, `stop()`, `.url`."""

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, allow_remote: bool = False
    ) -> None:
        if not allow_remote and not is_loopback(host):
            raise EmulatorError(
                f"refusing to serve the local RunPod on {host}: it has no real auth",
                hint="use --host 127.0.0.1, or pass --allow-remote if you really mean it",
            )
        self.app, self.host, self.port = app, host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> EmulatorServer:
        sock = self._bind()
        config = server_config(self.app, timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="podkit-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise EmulatorError(
                    f"the local RunPod did not start on {self.url}",
                    hint="see the log above; is the port free?",
                )
            time.sleep(0.01)
        return self

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise EmulatorError(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror}",
                hint="pick another --port or stop what uses it",
            ) from exc
        self.port = sock.getsockname()[1]
        return sock

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None


class LocalRunPod:
    """An in-process local RunPod: `with LocalRunPod() as rp: rp.url, rp.backend`.

    `dataplane_settings` (a `podkit.emulator.dataplane.DataPlaneSettings`) shortens the data
    plane's timers and limits for tests: worker stop grace, poll hold, retention, runsync wait;
    `loadbalancer_settings` does the same for the load balancer (wait for a worker, limits).
    `api_keys` (`KEY[:SCOPE]` strings, see `podkit.emulator.backend.keys`) makes those the only
    accepted keys, sharing one account; without them any key is its own account.
    Workers run in `worker_cwd` (default: the current directory when this object is made), so
    relative paths in a worker command resolve there.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state_dir: Path | str | None = None,
        quota: int = DEFAULT_QUOTA,
        seed: int | None = None,
        record: bool = False,
        allow_remote: bool = False,
        worker_command: list[str] | None = None,
        worker_cwd: Path | str | None = None,
        dataplane_settings: DataPlaneSettings | None = None,
        api_keys: Iterable[str] = (),
        loadbalancer_settings: LoadBalancerSettings | None = None,
    ) -> None:
        self.server = EmulatorServer(None, host=host, port=port, allow_remote=allow_remote)
        self.context = Context(
            dataplane_settings=dataplane_settings,
            loadbalancer_settings=loadbalancer_settings,
            worker_cwd=_worker_cwd(worker_cwd) if worker_cwd is not None else None,
        )
        self.backend = Backend(
            seed=seed,
            state_dir=state_dir,
            quota=quota,
            worker_command=worker_command,
            api_keys=api_keys,
        )
        self.recorder = Recorder() if record else None
        try:
            self.app = create_app(self.backend, context=self.context, recorder=self.recorder)
        except BaseException:
            self.backend.close()  # the --state-dir is free again for the next try
            raise
        self.server.app = self.app

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> LocalRunPod:
        try:
            self.server.start()
            if self.context.dataplane is not None:
                self.context.dataplane.start(self.url)  # workers need the origin to call back
        except BaseException:
            self.stop()  # `with` calls no `__exit__` when `__enter__` fails
            raise
        return self

    def stop(self) -> None:
        if self.context.dataplane is not None:
            self.context.dataplane.close()  # while the server still answers their drain
        self.server.stop()
        self.backend.close()

    def __enter__(self) -> LocalRunPod:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _worker_cwd(path: Path | str) -> Path:
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_dir():
        raise EmulatorError(
            f"--worker-cwd {path}: no such directory",
            hint="give the directory your worker command runs in (e.g. the one with handler.py)",
        )
    return resolved


def _rate_limits(spec: str) -> dict[str, int]:
    """`"minute=60,hour=3000"` -> {"minute": 60, "hour": 3000}; a bad item is named."""
    quotas = {}
    for item in spec.split(","):
        window, _, count = item.partition("=")
        if not count.strip().isdigit():
            raise ValueError(f"{item.strip()!r} must be WINDOW=COUNT with a whole COUNT")
        quotas[window.strip()] = int(count)
    return quotas


def key_specs(api_keys: list[str], keys_file: Path | None) -> list[str]:
    """The CLI's `--api-key` specs, then the keys file's lines, each checked (errors name the
    option or the file line, never the key)."""
    specs = list(api_keys)
    where = ["--api-key"] * len(specs)
    if keys_file is not None:
        try:
            lines = read_keys_file(keys_file)
        except ValueError as exc:
            raise EmulatorError(str(exc), hint="check the --api-keys-file path") from exc
        specs += lines
        where += [f"{keys_file} entry {n}" for n in range(1, len(lines) + 1)]
    for spec, origin in zip(specs, where, strict=True):
        try:
            parse_key_spec(spec)
        except ValueError as exc:
            raise EmulatorError(
                f"{origin}: {exc}", hint='e.g. --api-key "$KEY" or --api-key "$KEY:read"'
            ) from exc
    return specs


def configure(
    backend: Backend,
    *,
    faults: list[str],
    faults_seed: int = 0,
    quirks: list[str],
    rate_limit: str | None = None,
) -> None:
    """Apply the CLI's `--faults` specs, `--quirk` names and `--rate-limit` to a backend."""
    if rate_limit:
        try:
            backend.rate_limits.set(**_rate_limits(rate_limit))
        except ValueError as exc:
            raise EmulatorError(
                f"--rate-limit {rate_limit!r}: {exc}", hint="e.g. --rate-limit minute=60,hour=3000"
            ) from exc
    backend.faults.clear(seed=faults_seed)
    for spec in faults:
        try:
            backend.faults.rules.append(parse_spec(spec))
        except ValueError as exc:
            raise EmulatorError(str(exc), hint="see `podkit emulator start --help`") from exc
    known = backend.quirks.as_dict()
    for name in quirks:
        if name not in known:
            raise EmulatorError(
                f"unknown quirk {name!r}", hint=f"known quirks: {', '.join(sorted(known))}"
            )
        setattr(backend.quirks, name, True)
