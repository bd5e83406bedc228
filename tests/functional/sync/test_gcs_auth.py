"""GCS credentials through google-auth: a service-account key (the real JWT exchange against a
loopback token endpoint, the key's `token_uri`), an authorized user (refresh token), an
external account (workload identity federation: a subject token file exchanged at an STS
endpoint) and the metadata server; bearer tokens on every request, and neither the key nor
the token in the report."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import pytest

from podkit.config.models import ModelSource
from podkit.errors import TransferError
from podkit.worker.transfer import SyncOptions, sync_models
from tests.functional.sync.faultproxy import FaultProxy
from tests.functional.sync.testbed import FakeGcs

TOKEN = "ya29.local-test-token"
_ECHOED = ("assertion", "subject_token", "client_secret", "refresh_token")


class _TokenEndpoint:
    def __init__(self) -> None:
        self.grants: list[dict[str, list[str]]] = []
        self.echo = False  # refuse every grant, quoting it back (as a careless server might)
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                posted = self.rfile.read(length).decode()
                endpoint.grants.append(parse_qs(posted))
                answer: dict[str, object] = {
                    "access_token": TOKEN,
                    "expires_in": 3600,
                    "token_type": "Bearer",
                    "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                }
                if endpoint.echo:  # the credentials first, before any cut of the message
                    grant = endpoint.grants[-1]
                    quoted = [grant[name][0] for name in _ECHOED if name in grant]
                    words = f"refused {' '.join(quoted)} in {posted}"
                    answer = {"error": "invalid_grant", "error_description": words}
                body = json.dumps(answer).encode()
                self.send_response(400 if endpoint.echo else 200)
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
    key = _rsa_key()
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


def _rsa_key() -> str:
    return subprocess.run(
        ["openssl", "genrsa", "2048"], check=True, capture_output=True, text=True
    ).stdout


def test_a_refused_grant_is_shown_in_google_auths_words_without_the_secrets_it_echoes(
    tmp_path: Path, fake_gcs: FakeGcs, token_endpoint: _TokenEndpoint
) -> None:
    token_endpoint.echo = True
    key = _rsa_key()
    subject = tmp_path / "subject.jwt"
    subject.write_text("eyJhbGciOiJub25lIn0.eyJzdWIiOiJzZWNyZXQtd29ya2VyIn0.")
    kinds = {
        "service_account": {
            "private_key_id": "k1",
            "private_key": key,
            "client_email": "sync@local.iam.gserviceaccount.com",
            "token_uri": token_endpoint.url,
        },
        "external_account": {
            "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/"
            "pool/providers/runpod",
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": token_endpoint.url,
            "credential_source": {"file": str(subject)},
        },
    }
    fake_gcs.bucket("refused-models")
    entry = ModelSource(source="gs://refused-models/w/", destination="p")
    for kind, fields in kinds.items():
        env = {
            "STORAGE_EMULATOR_HOST": fake_gcs.url,
            "PODKIT_GCS_CREDENTIALS_JSON": json.dumps({"type": kind, **fields}),
        }
        with pytest.raises(TransferError) as caught:
            sync_models([entry], tmp_path, options=SyncOptions(fsync=False), env=env)
        message = caught.value.message
        assert "could not get a token" in message and "invalid_grant" in message, message
        assert "refused" in message, message  # the server's own words, up to the secrets
        grant = token_endpoint.grants.pop()
        secrets = [
            grant.get("assertion", [""])[0],  # the JWT signed with the key
            grant.get("subject_token", [""])[0],
            *key.splitlines()[1:-1],
        ]
        for secret in filter(None, secrets):  # not even the start of one
            assert secret[:16] not in message and quote(secret, safe="")[:16] not in message


def test_an_incomplete_credentials_json_names_its_missing_fields(
    tmp_path: Path, fake_gcs: FakeGcs
) -> None:
    info = {"type": "authorized_user", "client_secret": "Cl1ent-s3cret-value"}
    env = {"STORAGE_EMULATOR_HOST": fake_gcs.url, "PODKIT_GCS_CREDENTIALS_JSON": json.dumps(info)}
    entry = ModelSource(source="gs://any-models/w/", destination="p")
    with pytest.raises(TransferError) as caught:
        sync_models([entry], tmp_path, options=SyncOptions(fsync=False), env=env)
    assert "missing fields" in caught.value.message and "refresh_token" in caught.value.message
    assert "Cl1ent-s3cret-value" not in caught.value.message


def test_google_application_credentials_given_as_json_text_is_read_as_the_json(
    tmp_path: Path, fake_gcs: FakeGcs, token_endpoint: _TokenEndpoint
) -> None:
    pytest.importorskip("google.auth.transport.requests")
    info = {
        "type": "service_account",
        "project_id": "local",
        "private_key_id": "k1",
        "private_key": _rsa_key(),
        "client_email": "sync@local.iam.gserviceaccount.com",
        "token_uri": token_endpoint.url,
    }
    _, proxy = _sync_with({"GOOGLE_APPLICATION_CREDENTIALS": json.dumps(info)}, fake_gcs, tmp_path)
    assert len(token_endpoint.grants) == 1
    assert set(proxy.stats.authorization) == {f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    ("value", "shown"),
    [("/no/such/key.json", "/no/such/key.json"), ("a\x00b", "a value that is no path"),
     ("k" * 5000, "a value that is no path")],
    ids=["missing", "nul", "too-long"],
)  # fmt: skip
def test_a_google_application_credentials_that_cannot_be_read_is_named_in_words(
    tmp_path: Path, fake_gcs: FakeGcs, value: str, shown: str
) -> None:
    env = {"STORAGE_EMULATOR_HOST": fake_gcs.url, "GOOGLE_APPLICATION_CREDENTIALS": value}
    entry = ModelSource(source="gs://any-models/w/", destination="p")
    with pytest.raises(TransferError) as caught:
        sync_models([entry], tmp_path, options=SyncOptions(fsync=False), env=env)
    assert caught.value.message.startswith(f"GOOGLE_APPLICATION_CREDENTIALS points at {shown},")


def _sync_with(env: dict[str, str], fake_gcs: FakeGcs, tmp_path: Path) -> tuple[Any, FaultProxy]:
    fake_gcs.bucket("private-models")
    fake_gcs.put("private-models", "w/a.bin", b"a" * 1000)
    proxy = FaultProxy("127.0.0.1", fake_gcs.port).start()
    try:
        env = {"STORAGE_EMULATOR_HOST": proxy.url, **env}
        entry = ModelSource(source="gs://private-models/w/", destination="p")
        report = sync_models([entry], tmp_path, options=SyncOptions(fsync=False), env=env)
    finally:
        proxy.stop()
    assert report.status == "ok", report.message
    assert (tmp_path / "p/a.bin").read_bytes() == b"a" * 1000
    assert TOKEN not in json.dumps(report.as_dict())
    return report, proxy


def test_an_external_account_exchanges_its_subject_token(
    tmp_path: Path, fake_gcs: FakeGcs, token_endpoint: _TokenEndpoint
) -> None:
    subject = tmp_path / "subject.jwt"
    subject.write_text("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ3b3JrZXIifQ.")
    info = {
        "type": "external_account",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/"
        "pool/providers/runpod",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": token_endpoint.url,
        "credential_source": {"file": str(subject)},
    }
    _, proxy = _sync_with({"PODKIT_GCS_CREDENTIALS_JSON": json.dumps(info)}, fake_gcs, tmp_path)
    grant = token_endpoint.grants[0]
    assert grant["grant_type"] == ["urn:ietf:params:oauth:grant-type:token-exchange"]
    assert grant["subject_token"] == [subject.read_text()]
    assert set(proxy.stats.authorization) == {f"Bearer {TOKEN}"}


class _MetadataServer:
    """The parts of the GCE metadata server google-auth asks: the ping, the service
    account, its token. Every answer carries Metadata-Flavor: Google."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                server.paths.append(self.path)
                if "/token" in self.path:
                    answer: object = {"access_token": TOKEN, "expires_in": 3600}
                elif "/service-accounts/" in self.path:
                    answer = {"email": "sa@local.iam.gserviceaccount.com", "aliases": ["default"]}
                else:
                    answer = "ok"
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Metadata-Flavor", "Google")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_the_metadata_server_when_nothing_else_is_configured(
    tmp_path: Path, fake_gcs: FakeGcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    metadata = _MetadataServer()
    # google-auth reads these from the process environment; no gcloud login is found.
    monkeypatch.setenv("GCE_METADATA_HOST", metadata.host)
    monkeypatch.setenv("GCE_METADATA_IP", metadata.host)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    try:
        _, proxy = _sync_with({"GCE_METADATA_HOST": metadata.host}, fake_gcs, tmp_path)
    finally:
        metadata.server.shutdown()
        metadata.server.server_close()
    assert any("/token" in path for path in metadata.paths)
    assert set(proxy.stats.authorization) == {f"Bearer {TOKEN}"}
