"""S3 through botocore: a dotted bucket on moto, the credential chain (a named profile in a
shared credentials file, container credentials, a web identity exchanged at a loopback STS),
and a bucket in another region than the one configured (a small S3 fake on loopback that
answers like AWS: 301 with `x-amz-bucket-region` to a wrong signature scope; moto does not
check regions)."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from podkit.config.models import ModelSource
from podkit.errors import TransferError
from podkit.worker.transfer import SyncOptions, sync_models
from tests.functional.sync.testbed import Moto

OPTIONS = SyncOptions(connections=4, fsync=False)
_SCOPE = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/s3/aws4_request")


def test_a_dotted_bucket_syncs_path_style(moto_s3: Moto, volume: Path) -> None:
    s3 = moto_s3.client()
    s3.create_bucket(Bucket="models.example.com")  # type: ignore[attr-defined]
    data = os.urandom(200_000)
    s3.put_object(Bucket="models.example.com", Key="v1/w.bin", Body=data)  # type: ignore[attr-defined]
    env = {
        "AWS_ENDPOINT_URL_S3": moto_s3.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing-secret",
    }
    entry = ModelSource(source="s3://models.example.com/v1", destination="dotted")
    report = sync_models([entry], volume, options=OPTIONS, env=env)
    assert report.status == "ok", report.message
    assert (volume / "dotted/w.bin").read_bytes() == data


ODD_KEYS = ["a\x01b.bin", "with space.bin", "plus+sign.bin", "100%.bin", "é/ü.bin", "a&<b>.bin"]


def test_object_names_xml_cannot_carry_land_under_their_own_names(
    moto_s3: Moto, volume: Path
) -> None:
    s3 = moto_s3.client()
    s3.create_bucket(Bucket="odd-keys")  # type: ignore[attr-defined]
    for key in ODD_KEYS:
        s3.put_object(Bucket="odd-keys", Key=f"m/{key}", Body=key.encode())  # type: ignore[attr-defined]
    env = {
        "AWS_ENDPOINT_URL_S3": moto_s3.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing-secret",
    }
    entry = ModelSource(source="s3://odd-keys/m", destination="odd")
    report = sync_models([entry], volume, options=OPTIONS, env=env)
    assert report.status == "ok", report.message
    for key in ODD_KEYS:
        assert (volume / "odd" / key).read_bytes() == key.encode()


@dataclass
class FakeS3:
    """One bucket in `region` holding `objects`; records (access key, region) per request."""

    region: str
    objects: dict[str, bytes]
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # (path, key id, region)

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                found = _SCOPE.search(self.headers.get("Authorization", ""))
                key_id, region = found.groups() if found else ("", "")
                fake.seen.append((self.path, key_id, region))
                if region != fake.region:
                    body = b"<Error><Code>PermanentRedirect</Code></Error>"
                    self._send(301, body, {"x-amz-bucket-region": fake.region})
                elif "list-type=2" in self.path:
                    self._send(200, fake.listing(), {})
                else:
                    name = self.path.split("/", 2)[2]
                    self._send(200, fake.objects[name], {})

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def listing(self) -> bytes:
        items = "".join(
            f"<Contents><Key>{name}</Key><Size>{len(data)}</Size>"
            f"<ETag>&quot;{hashlib.md5(data).hexdigest()}&quot;</ETag></Contents>"
            for name, data in self.objects.items()
        )
        return (
            '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"<IsTruncated>false</IsTruncated>{items}</ListBucketResult>"
        ).encode()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_s3() -> Iterator[FakeS3]:
    fake = FakeS3("eu-central-1", {"m/a.bin": os.urandom(50_000), "m/b.json": b"{}"})
    yield fake
    fake.stop()


@pytest.fixture
def profile_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A named profile in a shared credentials file; botocore reads the file paths from the
    process environment. The instance metadata service is off: tests stay on loopback."""
    credentials, config = tmp_path / "credentials", tmp_path / "config"
    credentials.write_text(
        "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = nope\n"
        "[models]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = profile-secret\n"
    )
    config.write_text("[profile models]\nregion = us-west-2\n")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return {"AWS_PROFILE": "models"}


def test_a_profile_signs_and_a_bucket_in_another_region_is_followed(
    fake_s3: FakeS3, profile_env: dict[str, str], volume: Path
) -> None:
    env = {**profile_env, "AWS_ENDPOINT_URL_S3": fake_s3.url}
    entry = ModelSource(source="s3://bkt/m", destination="s3r")
    report = sync_models([entry], volume, options=OPTIONS, env=env)
    assert report.status == "ok", report.message
    assert (volume / "s3r/a.bin").read_bytes() == fake_s3.objects["m/a.bin"]
    # The profile's region first, then the bucket's own, for every later request.
    assert fake_s3.seen[0][1:] == ("AKIAPROFILE", "us-west-2")
    assert {seen[1:] for seen in fake_s3.seen[1:]} == {("AKIAPROFILE", "eu-central-1")}
    assert len(fake_s3.seen) == 4  # wrong-region listing, listing, two objects


def test_a_missing_profile_fails_naming_it_and_no_secret(
    fake_s3: FakeS3, profile_env: dict[str, str], volume: Path
) -> None:
    env = {"AWS_PROFILE": "absent", "AWS_ENDPOINT_URL_S3": fake_s3.url}
    entry = ModelSource(source="s3://bkt/m", destination="s3x")
    with pytest.raises(TransferError) as caught:
        sync_models([entry], volume, options=OPTIONS, env=env)
    text = f"{caught.value.message} {caught.value.hint}"
    assert "absent" in text and "AWS_PROFILE" in text
    assert "profile-secret" not in text
    assert fake_s3.seen == []


class _Issuer:
    """A loopback credentials issuer: ECS's container endpoint (GET, JSON) and STS's
    AssumeRoleWithWebIdentity (POST, XML); records what each request carried."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], str]] = []  # (method, headers, body)
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                issuer.requests.append(("GET", dict(self.headers), ""))
                self._send(
                    f'{{"AccessKeyId": "ASIACONTAINER", "SecretAccessKey": "container-secret", '
                    f'"Token": "container-session", "Expiration": "{_IN_AN_HOUR}"}}',
                    "application/json",
                )

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                issuer.requests.append(("POST", dict(self.headers), body))
                self._send(
                    "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                    "<Credentials><AccessKeyId>ASIAWEBIDENTITY</AccessKeyId>"
                    "<SecretAccessKey>web-secret</SecretAccessKey>"
                    "<SessionToken>web-session</SessionToken>"
                    f"<Expiration>{_IN_AN_HOUR}</Expiration></Credentials>"
                    "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
                    "text/xml",
                )

            def _send(self, text: str, kind: str) -> None:
                body = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


_IN_AN_HOUR = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def issuer() -> Iterator[_Issuer]:
    running = _Issuer()
    yield running
    running.stop()


@pytest.fixture
def no_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No keys, profile or metadata service: only what a test sets is in the chain."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")


def test_container_credentials_sign_every_request(
    fake_s3: FakeS3, issuer: _Issuer, no_profile: None, monkeypatch: pytest.MonkeyPatch,
    volume: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{issuer.url}/v2/credentials")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth-token")
    entry = ModelSource(source="s3://bkt/m", destination="ecs")
    report = sync_models([entry], volume, options=OPTIONS, env={"AWS_ENDPOINT_URL_S3": fake_s3.url})
    assert report.status == "ok", report.message
    assert (volume / "ecs/a.bin").read_bytes() == fake_s3.objects["m/a.bin"]
    assert [(m, h.get("Authorization")) for m, h, _ in issuer.requests] == [
        ("GET", "container-auth-token")
    ]
    assert {seen[1] for seen in fake_s3.seen} == {"ASIACONTAINER"}
    assert "container-secret" not in str(report.as_dict())


def test_a_web_identity_token_is_exchanged_at_sts_for_the_role(
    fake_s3: FakeS3, issuer: _Issuer, no_profile: None, monkeypatch: pytest.MonkeyPatch,
    volume: Path, tmp_path: Path,
) -> None:  # fmt: skip
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJub25lIn0.eyJzdWIiOiJzeW5jIn0.")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/model-sync")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", issuer.url)
    entry = ModelSource(source="s3://bkt/m", destination="irsa")
    report = sync_models([entry], volume, options=OPTIONS, env={"AWS_ENDPOINT_URL_S3": fake_s3.url})
    assert report.status == "ok", report.message
    assert (volume / "irsa/b.json").read_bytes() == b"{}"
    [(method, _, body)] = issuer.requests
    assert method == "POST" and "Action=AssumeRoleWithWebIdentity" in body
    assert "WebIdentityToken=eyJhbGciOiJub25lIn0" in body and "model-sync" in body
    assert {seen[1] for seen in fake_s3.seen} == {"ASIAWEBIDENTITY"}


def test_a_web_identity_token_file_that_is_missing_is_named_before_any_request(
    fake_s3: FakeS3, issuer: _Issuer, no_profile: None, monkeypatch: pytest.MonkeyPatch,
    volume: Path, tmp_path: Path,
) -> None:  # fmt: skip
    missing = tmp_path / "projected/token"
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(missing))
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/model-sync")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", issuer.url)
    entry = ModelSource(source="s3://bkt/m", destination="irsa")
    with pytest.raises(TransferError) as caught:
        sync_models([entry], volume, options=OPTIONS, env={"AWS_ENDPOINT_URL_S3": fake_s3.url})
    assert str(missing) in caught.value.message and "could not be loaded" in caught.value.message
    assert "AWS_WEB_IDENTITY_TOKEN_FILE" in (caught.value.hint or "")
    assert issuer.requests == [] and fake_s3.seen == []
