"""Credentials come from the environment and never show up in reprs or errors."""

from __future__ import annotations

import pytest

from podkit.errors import TransferError
from podkit.worker.transfer.credentials import GcsToken, aws_keys, hf_token


def test_service_account_json_that_is_not_json_is_named_not_echoed() -> None:
    secret = "not-json-private-key-MIIEvQIBADANBg"
    with pytest.raises(TransferError) as info:
        GcsToken({"PODKIT_GCS_CREDENTIALS_JSON": secret})
    assert "PODKIT_GCS_CREDENTIALS_JSON is not valid JSON" in info.value.message
    assert secret not in str(info.value)


def test_a_credentials_type_google_auth_does_not_know_is_refused() -> None:
    with pytest.raises(TransferError, match="authorized_user, external_account"):
        GcsToken({"PODKIT_GCS_CREDENTIALS_JSON": '{"type": "api_key"}'})


def test_static_token_is_sent_but_never_shown() -> None:
    token = GcsToken({"GCS_OAUTH_TOKEN": "ya29.SECRET"})
    assert token.header() == {"Authorization": "Bearer ya29.SECRET"}
    assert "SECRET" not in repr(token)
    assert GcsToken({"STORAGE_EMULATOR_HOST": "127.0.0.1:4443"}).anonymous
    assert not GcsToken({}).anonymous  # google-auth's default chain is asked first


def test_aws_keys_need_both_halves() -> None:
    with pytest.raises(TransferError, match="only one of"):
        aws_keys({"AWS_ACCESS_KEY_ID": "AKID"})
    keys = aws_keys({"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3cr3t"})
    assert keys is not None and "s3cr3t" not in repr(keys)
    assert aws_keys({}) is None


def test_hf_token_names() -> None:
    assert hf_token({"HUGGING_FACE_HUB_TOKEN": "hf_x"}) == "hf_x"
    assert hf_token({"HF_TOKEN": "hf_a", "HUGGING_FACE_HUB_TOKEN": "hf_b"}) == "hf_a"


def test_an_authorized_user_login_is_accepted_and_never_shown() -> None:
    # gcloud's application-default login; its token endpoint is Google's own (not reachable
    # from the tests), so only the loading is checked here.
    info = (
        '{"type": "authorized_user", "client_id": "c", "client_secret": "cs", '
        '"refresh_token": "1//SECRET"}'
    )
    token = GcsToken({"GOOGLE_APPLICATION_CREDENTIALS": "", "PODKIT_GCS_CREDENTIALS_JSON": info})
    assert not token.anonymous
    assert "SECRET" not in repr(token)
