"""The HTTPS bench bed: a CA the bench makes, nginx serving TLS with a certificate it signed
(static files uncapped and capped at 40 MiB/s per connection, and fake-gcs-server behind TLS).

The cap is the kernel's: every connection accepted on the capped port is paced
(SO_MAX_PACING_RATE, set by `pace.c`, which the bench builds with the C compiler and preloads
into nginx). nginx's own `limit_rate` counts per request and lets each request send a
second's worth at once, so a client that asks for 16 MiB ranges one after another on a
kept-alive HTTP/1.1 connection was never capped by it, while one long request was."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.functional.sync.testbed import _wrapper_binary, free_port, wait_for_port


def make_ca(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key)."""
    ca_key, ca, key, csr, cert = (
        directory / name for name in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem")
    )

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=podkit bench CA", "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", str(key), "-out", str(csr))  # fmt: skip
    ext = directory / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
            "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert))  # fmt: skip
    return ca, cert, key


CAP = 40 * 1024 * 1024  # bytes per second, per connection on the capped port
PACER = Path(__file__).with_name("pace.c")


def build_pacer(directory: Path) -> Path:
    """The pacing library (`pace.c`), built with the C compiler into `directory`."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise SystemExit("the bench paces its capped port with a C library: install gcc")
    library = directory / "pace.so"
    subprocess.run(
        [compiler, "-O2", "-shared", "-fPIC", "-o", str(library), str(PACER), "-ldl"],
        check=True,
        capture_output=True,
    )
    return library


def pacing(directory: Path, port: int, rate: int = CAP) -> dict[str, str]:
    """The environment that makes nginx pace every connection it accepts on `port`."""
    return {"LD_PRELOAD": str(build_pacer(directory)), "PACED_PORT": str(port),
            "PACING_RATE": str(rate)}  # fmt: skip


class TlsNginx:
    """nginx on three HTTPS ports: `www/` uncapped and capped at 40 MiB/s per connection, and
    fake-gcs-server (plain HTTP on loopback) behind TLS."""

    def __init__(self, root: Path) -> None:
        self.root, self.www = root, root / "www"
        self.www.mkdir(parents=True, exist_ok=True)
        self.ca, self.cert, self.key = make_ca(root)
        self.port, self.capped_port, self.gcs_port = free_port(), free_port(), free_port()
        self.gcs_upstream = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def gcs_url(self) -> str:
        return f"https://127.0.0.1:{self.gcs_port}"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def capped_url(self) -> str:
        return f"https://127.0.0.1:{self.capped_port}"

    def start(self) -> TlsNginx:
        tmp = self.root / "tmp"
        tmp.mkdir(exist_ok=True)
        keys = f"ssl_certificate {self.cert}; ssl_certificate_key {self.key};"
        tls = (
            f"{keys} root {self.www}; "
            "autoindex on; location /hf/api/ { default_type application/json; }"
        )
        gcs = (
            f"{keys} location / {{ proxy_pass http://keep; "
            'proxy_http_version 1.1; proxy_set_header Connection ""; '
            "proxy_set_header Host $http_host; proxy_buffering on; "
            "proxy_max_temp_file_size 0; client_max_body_size 0; }"
        )
        user = "user root;" if os.geteuid() == 0 else ""
        conf = self.root / "nginx.conf"
        conf.write_text(f"""
            {user} worker_processes 2; daemon off; pid {self.root}/nginx.pid;
            error_log {self.root}/error.log warn; events {{ worker_connections 4096; }}
            http {{
                client_body_temp_path {tmp}/b; proxy_temp_path {tmp}/p; fastcgi_temp_path {tmp}/f;
                uwsgi_temp_path {tmp}/u; scgi_temp_path {tmp}/s; access_log off;
                sendfile on; keepalive_requests 100000; keepalive_timeout 60;
                default_type application/octet-stream; ssl_session_cache shared:bench:10m;
                server {{ listen 127.0.0.1:{self.port} ssl http2; {tls} }}
                server {{ listen 127.0.0.1:{self.capped_port} ssl http2; {tls} }}
                server {{ listen 127.0.0.1:{self.gcs_port} ssl http2; {gcs} }}
                upstream keep {{ server 127.0.0.1:{self.gcs_upstream}; keepalive 32; }}
            }}""")  # fmt: skip
        paced = pacing(self.root, self.capped_port)
        self.proc = subprocess.Popen(
            ["nginx", "-c", str(conf), "-p", str(self.root), "-e", str(self.root / "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **paced},
        )  # fmt: skip
        for port in (self.port, self.capped_port, self.gcs_port):
            wait_for_port(port, self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def fake_gcs(nginx: TlsNginx, work: Path) -> subprocess.Popen[bytes]:
    """fake-gcs-server on loopback HTTP, announcing the TLS nginx in front of it as its URL."""
    data = work / "fgcs"
    data.mkdir(parents=True, exist_ok=True)
    front = f"127.0.0.1:{nginx.gcs_port}"
    proc = subprocess.Popen(
        [str(_wrapper_binary()), "-scheme", "http", "-host", "127.0.0.1",
         "-port", str(nginx.gcs_upstream), "-backend", "filesystem",
         "-filesystem-root", str(data), "-external-url", f"https://{front}",
         "-public-host", front, "-log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_port(nginx.gcs_upstream, proc)
    return proc
