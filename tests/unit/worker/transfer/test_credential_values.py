"""Credentials read from the environment lose the whitespace around them (a token pasted with
its newline would be a header that cannot be sent, a key with one a signature that never
matches)."""

from __future__ import annotations

from podkit.config.models import parse_source
from podkit.worker.transfer.credentials import GcsToken, aws_keys, hf_token
from podkit.worker.transfer.https import HttpsSource


def test_tokens_pasted_with_a_newline_are_sent_without_it() -> None:
    gcs = GcsToken({"GCS_OAUTH_TOKEN": "ya29.abc\n"})
    assert gcs.header() == {"Authorization": "Bearer ya29.abc"}
    assert hf_token({"HF_TOKEN": "  hf_abc\r\n"}) == "hf_abc"
    assert hf_token({"HF_TOKEN": "\n", "HUGGING_FACE_HUB_TOKEN": "hf_b\n"}) == "hf_b"
    https = HttpsSource(
        parse_source("https://example.com/w.bin"), {"PODKIT_HTTPS_TOKEN": "t\n"}, None
    )
    assert https.headers(https.url) == {"Authorization": "Bearer t"}


def test_aws_keys_pasted_with_a_newline_sign_with_the_keys_themselves() -> None:
    env = {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE\n",
        "AWS_SECRET_ACCESS_KEY": " secret\n",
        "AWS_SESSION_TOKEN": "session\n",
    }
    keys = aws_keys(env)
    assert keys is not None
    assert (keys.access_key, keys.secret_key, keys.session_token) == (
        "AKIDEXAMPLE",
        "secret",
        "session",
    )
