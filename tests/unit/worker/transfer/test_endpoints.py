from __future__ import annotations

import pytest

from podkit.errors import TransferError
from podkit.worker.transfer.endpoints import endpoint_from
from podkit.worker.transfer.gcs import gcs_endpoint

S3 = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


@pytest.mark.parametrize(
    ("env", "names", "expected"),
    [
        ({}, S3, ""),
        ({"AWS_ENDPOINT_URL_S3": "  "}, S3, ""),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:9000/"}, S3, "http://127.0.0.1:9000"),
        (
            {"AWS_ENDPOINT_URL_S3": "https://s3.local", "AWS_ENDPOINT_URL": "http://other"},
            S3,
            "https://s3.local",
        ),
        (
            {"HF_ENDPOINT": "https://hf-mirror.local/base/"},
            ("HF_ENDPOINT",),
            "https://hf-mirror.local/base",
        ),
    ],
)
def test_the_first_variable_set_names_the_store(
    env: dict[str, str], names: tuple[str, ...], expected: str
) -> None:
    assert endpoint_from(env, names) == expected


def test_a_bare_host_is_plain_http_where_the_variable_allows_it() -> None:
    assert gcs_endpoint({"STORAGE_EMULATOR_HOST": "127.0.0.1:4443"}) == "http://127.0.0.1:4443"
    assert gcs_endpoint({}) == "https://storage.googleapis.com"
    with pytest.raises(TransferError, match=r"HF_ENDPOINT=127\.0\.0\.1:8080 is not an http"):
        endpoint_from({"HF_ENDPOINT": "127.0.0.1:8080"}, ("HF_ENDPOINT",))


@pytest.mark.parametrize(
    "value",
    [
        "not-a-url",
        "ftp://store.local",
        "file:///etc/passwd",
        "http://",
        "http://store.local:abc",
        "http://store.local:0",
        "https://store.local/?x=1",
        "https://store.local/#frag",
        "http://[::1",
    ],
)
def test_a_value_that_is_not_an_http_url_of_a_host_names_the_variable(value: str) -> None:
    with pytest.raises(TransferError) as caught:
        endpoint_from({"AWS_ENDPOINT_URL_S3": value}, S3)
    assert caught.value.message.startswith("AWS_ENDPOINT_URL_S3=")
    assert "AWS_ENDPOINT_URL_S3 to https://" in (caught.value.hint or "")


def test_credentials_in_a_bad_value_are_not_shown() -> None:
    with pytest.raises(TransferError) as caught:
        endpoint_from({"HF_ENDPOINT": "ftp://me:pa55word@mirror/?token=t0ken"}, ("HF_ENDPOINT",))
    assert "pa55word" not in caught.value.message and "t0ken" not in caught.value.message


@pytest.mark.parametrize("value", ["https://me:pa55word@mirror.local", "https://me@mirror.local"])
def test_a_user_in_the_url_is_refused_without_showing_it(value: str) -> None:
    with pytest.raises(TransferError) as caught:
        endpoint_from({"HF_ENDPOINT": value}, ("HF_ENDPOINT",))
    assert "holds a user and password" in caught.value.message
    assert "pa55word" not in caught.value.message and "me@" not in caught.value.message
    assert "HF_TOKEN" in (caught.value.hint or "")


@pytest.mark.parametrize(
    "value",
    [
        "http://user:p/CANARY@127.0.0.1:9000",
        "user:p/CANARY@127.0.0.1:9000",
        "http://user:p@CANARY@127.0.0.1:9000",
        "http://user:pa CANARY@127.0.0.1:9000",
        "https://127.0.0.1:9000/?sig=CANARY",
        "https://127.0.0.1:9000/#token=CANARY",
    ],
)
def test_a_refused_endpoint_is_named_without_its_user_password_or_query(value: str) -> None:
    with pytest.raises(TransferError) as caught:
        endpoint_from({"AWS_ENDPOINT_URL_S3": value}, S3, bare_host=True)
    text = f"{caught.value.message} {caught.value.hint}"
    assert "AWS_ENDPOINT_URL_S3=" in text and "127.0.0.1:9000" in text
    assert "CANARY" not in text
