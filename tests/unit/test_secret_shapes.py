"""What looks secret: key names, token shapes, secret-looking values, inline env secrets."""

from __future__ import annotations

import pytest

from podkit.secret_shapes import (
    has_url_credentials,
    is_inline_secret,
    is_secret_key_name,
    looks_like_secret_value,
)


@pytest.mark.parametrize(
    "name",
    [
        "HF_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "DB_PASSWORD",
        "OPENAI_API_KEY",
        "PASS",
        "PODKIT_FINGERPRINT_KEY",
        "SIGNING_KEY",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_key_name(name)


@pytest.mark.parametrize("name", ["LOG_LEVEL", "HF_HOME", "PODKIT_OWNER", "MODEL_DIR"])
def test_ordinary_names(name: str) -> None:
    assert not is_secret_key_name(name)


@pytest.mark.parametrize(
    "value",
    [
        "hf_" + "aB3" * 8,
        "ghp_" + "x1" * 18,
        "AKIA" + "ABCDEFGHIJKLMNOP",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",  # AWS's documented example secret
        "Kanary7q2xz9Ab12Cd34Ef56Gh78Ij90KlMn",
        "dGhpcyBpcyBhIHNlY3JldCB2YWx1ZSBpbiBiYXNlNjQ=",
        "Kanary7q2xz9Ab12Cd34Ef56Gh78Ij90",  # 32 characters, the shortest that counts
        "Ab3dEf6hIj9lMn2p-Qr5tUv8xYz1bC4eG",  # runs of 16 between separators
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP====",  # a base32 seed: upper case, digits, `=`
    ],
)
def test_secret_values(value: str) -> None:
    assert looks_like_secret_value(value)


@pytest.mark.parametrize(
    "value",
    [
        "/runpod-volume/models/Meta-Llama-3.1-8B-Instruct",
        "Llama-3.1-8B-Instruct-Q4_K_M-00001-of-00002.gguf",
        "/tmp/pytest-of-root/pytest-3/test_deploy_lifecycle0/home",
        "123e4567-e89b-12d3-a456-426614174000",
        "a" * 40,
        "hf_token",
        "ghcr-acme",
        "Kanary7q2xz9Ab12Cd34Ef56Gh78Ij9",  # 31 characters
        "Ab3dEf6hIj9lMn2-Qr5tUv8xYz1bC4e-G7hJ9kL2mN4pQ6r",  # runs of 15
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",  # a digest
        "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
        "Checksum mismatch for Model-7B, expected 16 GiB",  # a sentence
    ],
)
def test_names_paths_and_ids_are_not_secret_values(value: str) -> None:
    assert not looks_like_secret_value(value)


def test_inline_secrets_and_url_credentials() -> None:
    assert is_inline_secret("DB_PASSWORD", "short")
    assert is_inline_secret("DATABASE_URL", "postgres://app:pw@db:5432/app")
    assert is_inline_secret("SIGNED", "https://b.s3.amazonaws.com/o?X-Amz-Signature=abc")
    assert not is_inline_secret("HF_TOKEN", "{{ RUNPOD_SECRET_hf }}")
    assert not is_inline_secret("HF_TOKEN", "")
    assert not is_inline_secret("HF_HOME", "/runpod-volume/hf")
    assert not has_url_credentials("https://user@host/x?a=1")
