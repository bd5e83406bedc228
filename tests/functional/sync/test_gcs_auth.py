"""GCS with a service-account key from the environment: the real google-auth JWT exchange
against a loopback token endpoint (the key's `token_uri`), bearer tokens on every request,
and neither the key nor the token in the report."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from podkit.config.models import ModelSource
from podkit.worker.transfer import SyncOptions, sync_models
from tests.functional.sync.faultproxy import FaultProxy
from tests.functional.sync.testbed import FakeGcs

TOKEN = "ya29.local-test-token"


class _TokenEndpoint:
    def __init__(self) -> None:
        self.grants: list[dict[str, list[str]]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                endpoint.grants.append(parse_qs(self.rfile.read(length).decode()))
                body = json.dumps({"access_token": TOKEN, "expires_in": 3600}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def token_endpoint() -> Iterator[_TokenEndpoint]:
    endpoint = _TokenEndpoint()
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


def test_service_account_key_from_the_environment(
    tmp_path: Path, fake_gcs: FakeGcs, token_endpoint: _TokenEndpoint
) -> None:
    pytest.importorskip("google.auth.transport.requests")
    key = subprocess.run(
        ["openssl", "genrsa", "2048"], check=True, capture_output=True, text=True
    ).stdout
    info = {
        "type": "service_account",
        "project_id": "local",
        "private_key_id": "k1",
        "private_key": key,
        "client_email": "sync@local.iam.gserviceaccount.com",
        "token_uri": token_endpoint.url,
    }
    fake_gcs.bucket("private-models")
    fake_gcs.put("private-models", "w/a.bin", b"a" * 1000)
    proxy = FaultProxy("127.0.0.1", fake_gcs.port).start()
    try:
        env = {"STORAGE_EMULATOR_HOST": proxy.url, "PODKIT_GCS_CREDENTIALS_JSON": json.dumps(info)}
        entry = ModelSource(source="gs://private-models/w/", destination="p")
        report = sync_models([entry], tmp_path, options=SyncOptions(fsync=False), env=env)
    finally:
        proxy.stop()
    assert report.status == "ok", report.message
    assert (tmp_path / "p/a.bin").read_bytes() == b"a" * 1000
    assert len(token_endpoint.grants) == 1  # one exchange, reused for every request
    grant = token_endpoint.grants[0]
    assert grant["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert proxy.stats.authorization and set(proxy.stats.authorization) == {f"Bearer {TOKEN}"}
    shown = json.dumps(report.as_dict())
    assert TOKEN not in shown and "PRIVATE KEY" not in shown
