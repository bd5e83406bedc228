"""A GCS token is refreshed by when it expires, whatever the machine's time zone: google-auth
gives the expiry as a naive datetime in UTC, and read as local time it would be hours off (a
new token for every request east of Greenwich, an expired one sent for hours west of it). A
service-account key is exchanged at a loopback token endpoint, with the process in a zone set
through TZ."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator

import pytest

from podkit.worker.transfer.credentials import GcsToken
from tests.functional.sync.scripted import Answer, ScriptedServer, Seen
from tests.functional.sync.test_gcs_auth import _rsa_key

Serve = Callable[[Callable[[Seen], Answer]], ScriptedServer]


@pytest.fixture
def zone() -> Iterator[Callable[[str], None]]:
    """Set the process's time zone (POSIX TZ: `XXX-9` is nine hours east of UTC)."""
    before = os.environ.get("TZ")

    def set_zone(value: str) -> None:
        os.environ["TZ"] = value
        time.tzset()

    yield set_zone
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def _token_endpoint(serve: Serve, expires_in: int) -> ScriptedServer:
    def script(seen: Seen) -> Answer:
        body = json.dumps(
            {"access_token": "ya29.zone", "expires_in": expires_in, "token_type": "Bearer"}
        ).encode()
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        return head.encode() + body, "close"

    return serve(script)


@pytest.mark.parametrize(
    ("tz", "expires_in", "grants"),
    [
        ("XXX-9", 3600, 1),  # an hour's token serves every request (not one each)
        ("XXX+8", 240, 3),  # one inside the 5-minute margin is renewed (not trusted for hours)
        ("UTC0", 3600, 1),
    ],
)
def test_a_token_is_renewed_by_its_expiry_in_any_time_zone(
    serve: Serve, zone: Callable[[str], None], tz: str, expires_in: int, grants: int
) -> None:
    pytest.importorskip("google.auth.transport.requests")
    endpoint = _token_endpoint(serve, expires_in)
    info = {
        "type": "service_account",
        "project_id": "local",
        "private_key_id": "k1",
        "private_key": _rsa_key(),
        "client_email": "sync@local.iam.gserviceaccount.com",
        "token_uri": f"{endpoint.url}/token",
    }
    zone(tz)
    token = GcsToken({"PODKIT_GCS_CREDENTIALS_JSON": json.dumps(info)})
    for _ in range(3):
        assert token.header() == {"Authorization": "Bearer ya29.zone"}
    assert [seen.method for seen in endpoint.seen] == ["POST"] * grants
