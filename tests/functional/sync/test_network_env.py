"""What the sync's environment says about the network: the proxy HTTPS goes through (a CONNECT
proxy on loopback that must see the traffic, and NO_PROXY that bypasses it) and the CA
certificates trusted (each variable, in its order, and certifi as the last resort)."""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from podkit._http import RetryPolicy
from podkit.config.models import ModelSource
from podkit.errors import TransferError
from podkit.worker.transfer import SyncOptions, sync_models
from podkit.worker.transfer._fetch import Fetcher
from podkit.worker.transfer.trust import VARIABLES, CaBundleError, find_ca_bundle
from tests.functional.sync.connectproxy import ConnectProxy
from tests.functional.sync.testbed import Nginx, make_cert

OPTIONS = SyncOptions(connections=4, fsync=False)


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    proxy = ConnectProxy()
    yield proxy
    proxy.stop()


def _model(nginx: Nginx, name: str) -> tuple[ModelSource, bytes]:
    data = os.urandom(300_000)
    (nginx.www / name).write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    return ModelSource(source=f"{nginx.https_url}/{name}", destination="m", sha256=digest), data


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
def test_https_goes_through_the_proxy_the_environment_names(
    sync_nginx: Nginx, volume: Path, proxy: ConnectProxy, variable: str
) -> None:
    entry, data = _model(sync_nginx, "proxied.bin")
    env = {"PODKIT_CA_BUNDLE": str(sync_nginx.cert), variable: proxy.url}
    report = sync_models([entry], volume, options=OPTIONS, env=env)
    assert report.status == "ok", report.message
    assert (volume / "m/proxied.bin").read_bytes() == data
    assert proxy.tunnels  # the listing and the data came through the tunnel
    assert set(proxy.tunnels) == {f"127.0.0.1:{sync_nginx.ports.https}"}
    assert proxy.refused == []


def test_a_proxy_that_refuses_its_credentials_fails_at_once_and_shows_none(
    sync_nginx: Nginx, volume: Path
) -> None:
    proxy = ConnectProxy(deny=407)
    entry, _ = _model(sync_nginx, "denied.bin")
    env = {
        "PODKIT_CA_BUNDLE": str(sync_nginx.cert),
        "HTTPS_PROXY": f"http://worker:pr0xy-s3cret@127.0.0.1:{proxy.port}",
    }
    try:
        with pytest.raises(TransferError) as caught:
            sync_models([entry], volume, options=OPTIONS, env=env)
    finally:
        proxy.stop()
    text = f"{caught.value.message} {caught.value.hint}"
    assert "proxy refused" in text and "HTTPS_PROXY" in text
    assert "pr0xy-s3cret" not in text
    expected = "Basic " + base64.b64encode(b"worker:pr0xy-s3cret").decode()
    assert proxy.credentials == [expected]  # sent to the proxy, once: not retried


@pytest.mark.parametrize(
    "password", ["pa ss-CANARY", "p/ss-CANARY", "p@ss-CANARY"], ids=["space", "slash", "at"]
)
def test_a_proxy_url_that_does_not_parse_fails_at_once_and_shows_no_password(
    sync_nginx: Nginx, volume: Path, password: str
) -> None:
    entry, _ = _model(sync_nginx, "unparsed.bin")
    env = {
        "PODKIT_CA_BUNDLE": str(sync_nginx.cert),
        "HTTPS_PROXY": f"http://worker:{password}@127.0.0.1:1",
    }
    slept: list[float] = []
    options = replace(OPTIONS, sleep=slept.append)
    with pytest.raises(TransferError, match="proxy cannot be used") as caught:
        sync_models([entry], volume, options=options, env=env)
    text = f"{caught.value.message} {caught.value.hint}"
    assert "CANARY" not in text and "worker:" not in text
    assert "HTTPS_PROXY" in text
    assert slept == []  # another try cannot mend the variable


def test_a_proxy_that_is_down_is_named_in_the_error_and_its_variable_in_the_hint(
    sync_nginx: Nginx, volume: Path
) -> None:
    proxy = ConnectProxy()
    proxy.stop()  # its port is closed now
    entry, _ = _model(sync_nginx, "down.bin")
    env = {"PODKIT_CA_BUNDLE": str(sync_nginx.cert), "HTTPS_PROXY": proxy.url}
    fast = replace(OPTIONS, retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02))
    with pytest.raises(TransferError, match=r"over proxy 127\.0\.0\.1") as caught:
        sync_models([entry], volume, options=fast, env=env)
    assert "HTTPS_PROXY" in (caught.value.hint or "") and "NO_PROXY" in (caught.value.hint or "")


def test_a_failure_past_the_proxy_keeps_the_sources_own_hint(
    sync_nginx: Nginx, volume: Path, proxy: ConnectProxy
) -> None:
    entry = ModelSource(source=f"{sync_nginx.https_url}/absent.bin", destination="m/absent.bin")
    env = {"PODKIT_CA_BUNDLE": str(sync_nginx.cert), "HTTPS_PROXY": proxy.url}
    with pytest.raises(TransferError) as caught:
        sync_models([entry], volume, options=OPTIONS, env=env)
    assert "HTTP 404" in caught.value.message
    assert "HTTPS_PROXY" not in (caught.value.hint or "")


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.0/8", "*"])
def test_no_proxy_sends_the_host_direct(
    sync_nginx: Nginx, volume: Path, proxy: ConnectProxy, no_proxy: str
) -> None:
    entry, data = _model(sync_nginx, "direct.bin")
    env = {
        "PODKIT_CA_BUNDLE": str(sync_nginx.cert),
        "HTTPS_PROXY": proxy.url,
        "NO_PROXY": no_proxy,
    }
    report = sync_models([entry], volume, options=OPTIONS, env=env)
    assert report.status == "ok", report.message
    assert (volume / "m/direct.bin").read_bytes() == data
    assert proxy.tunnels == []


def test_an_upper_case_http_proxy_is_ignored_as_curl_ignores_it(
    sync_nginx: Nginx, volume: Path, proxy: ConnectProxy
) -> None:
    data = os.urandom(1000)
    (sync_nginx.www / "plain.bin").write_bytes(data)
    entry = ModelSource(source=f"{sync_nginx.url}/plain.bin", destination="p")
    report = sync_models([entry], volume, options=OPTIONS, env={"HTTP_PROXY": proxy.url})
    assert report.status == "ok", report.message
    assert proxy.tunnels == [] and proxy.refused == []


def test_plain_http_goes_to_the_lower_case_http_proxy(
    sync_nginx: Nginx, volume: Path, proxy: ConnectProxy
) -> None:
    (sync_nginx.www / "plain.bin").write_bytes(b"x" * 1000)
    entry = ModelSource(source=f"{sync_nginx.url}/plain.bin", destination="p")
    # This proxy only tunnels: its 405 to a forwarded plain request proves the route.
    with pytest.raises(TransferError, match="HTTP 405"):
        sync_models([entry], volume, options=OPTIONS, env={"http_proxy": proxy.url})
    assert proxy.refused and proxy.refused[0].startswith("HEAD http://127.0.0.1:")


@pytest.mark.parametrize("variable", VARIABLES)
def test_a_ca_given_by_each_variable_is_trusted(
    sync_nginx: Nginx, volume: Path, variable: str
) -> None:
    entry, data = _model(sync_nginx, "trusted.bin")
    report = sync_models([entry], volume, options=OPTIONS, env={variable: str(sync_nginx.cert)})
    assert report.status == "ok", report.message
    assert (volume / "m/trusted.bin").read_bytes() == data


def test_the_first_ca_variable_set_wins(sync_nginx: Nginx, volume: Path, tmp_path: Path) -> None:
    other, _ = make_cert(tmp_path)  # a CA that did not sign nginx's certificate
    entry, _ = _model(sync_nginx, "first.bin")
    env = {"PODKIT_CA_BUNDLE": str(other), "SSL_CERT_FILE": str(sync_nginx.cert)}
    with pytest.raises(TransferError, match="not trusted"):
        sync_models([entry], volume, options=OPTIONS, env=env)
    env = {"SSL_CERT_FILE": str(sync_nginx.cert), "CURL_CA_BUNDLE": str(other)}
    assert sync_models([entry], volume, options=OPTIONS, env=env).status == "ok"


def test_a_ca_variable_naming_no_file_fails_and_names_the_variable(
    sync_nginx: Nginx, volume: Path, tmp_path: Path
) -> None:
    entry, _ = _model(sync_nginx, "missing.bin")
    missing = tmp_path / "nope.pem"
    with pytest.raises(TransferError) as caught:
        sync_models([entry], volume, options=OPTIONS, env={"REQUESTS_CA_BUNDLE": str(missing)})
    assert f"REQUESTS_CA_BUNDLE={missing}" in caught.value.message
    assert "REQUESTS_CA_BUNDLE" in (caught.value.hint or "")


def test_ca_lookup_order_system_then_certifi(tmp_path: Path) -> None:
    system = tmp_path / "system.pem"
    system.write_text("")
    directory = tmp_path / "certs"
    directory.mkdir()
    assert find_ca_bundle({}, (str(system),)).source == "system"
    assert find_ca_bundle({}, (str(tmp_path / "absent.pem"),)).source == "certifi"
    found = find_ca_bundle({"SSL_CERT_FILE": str(directory)}, (str(system),))
    assert (found.directory, found.file, found.source) == (str(directory), None, "SSL_CERT_FILE")
    with pytest.raises(CaBundleError, match="CURL_CA_BUNDLE"):
        find_ca_bundle({"CURL_CA_BUNDLE": str(tmp_path / "gone")}, (str(system),))


def _logged_requests(nginx: Nginx, path: str, count: int) -> list[tuple[str, str, str]]:
    """(protocol, session reused, connection) of the requests for `path` in nginx's TLS log,
    once `count` are there: nginx logs an HTTP/2 request when its stream closes, which may come
    after the client has the whole body (bounded wait; a missing line fails the test)."""
    mine: list[tuple[str, str, str]] = []
    for _ in range(200):
        lines = [line.split() for line in nginx.tls_log.read_text().splitlines()]
        mine = [(proto, reused, conn) for proto, reused, conn, logged in lines if logged == path]
        if len(mine) >= count:
            break
        time.sleep(0.05)
    return mine


def test_https_speaks_http2_where_offered_and_threads_resume_one_tls_session(
    sync_nginx: Nginx,
) -> None:
    (sync_nginx.www / "h2.bin").write_bytes(b"h" * 5000)
    url = f"{sync_nginx.https_url}/h2.bin"
    fetcher = Fetcher(4, environ={"PODKIT_CA_BUNDLE": str(sync_nginx.cert)})

    def get() -> None:
        with fetcher.open(url, {}) as response:
            assert (response.status, response.http_version) == (200, "2")
            assert b"".join(iter(response.read, b"")) == b"h" * 5000

    try:
        for _ in range(3):  # one thread after another: each opens a connection of its own
            thread = threading.Thread(target=get)
            thread.start()
            thread.join()
    finally:
        fetcher.close()
    mine = _logged_requests(sync_nginx, "/h2.bin", 3)
    assert [proto for proto, _, _ in mine] == ["HTTP/2.0"] * 3
    assert len({conn for _, _, conn in mine}) == 3
    assert [reused for _, reused, _ in mine] == [".", "r", "r"]


def test_byte_ranges_stream_over_http11_while_whole_gets_and_metadata_take_http2(
    sync_nginx: Nginx,
) -> None:
    # Each on a thread of its own: a thread reuses its kept-alive connection whatever it speaks.
    data = os.urandom(200_000)
    (sync_nginx.www / "ranged.bin").write_bytes(data)
    url = f"{sync_nginx.https_url}/ranged.bin"
    fetcher = Fetcher(2, environ={"PODKIT_CA_BUNDLE": str(sync_nginx.cert)})
    seen: list[tuple[int, str, bytes]] = []

    def get(headers: dict[str, str]) -> None:
        with fetcher.open(url, headers) as response:
            body = b"".join(iter(response.read, b""))
            seen.append((response.status, response.http_version, body))

    def head() -> None:
        response = fetcher.head(url, {})
        seen.append((response.status, response.http_version, b""))

    try:
        ranged, whole = {"Range": "bytes=1000-150999"}, {}
        for work in (functools.partial(get, ranged), functools.partial(get, whole), head):
            thread = threading.Thread(target=work)
            thread.start()
            thread.join()
    finally:
        fetcher.close()
    assert seen == [(206, "1.1", data[1000:151000]), (200, "2", data), (200, "2", b"")]
    logged = _logged_requests(sync_nginx, "/ranged.bin", 3)
    assert [proto for proto, _, _ in logged] == ["HTTP/1.1", "HTTP/2.0", "HTTP/2.0"]
