"""The [[models]] entry schema: accepted sources, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from podkit.config.loader import load_config
from podkit.config.models import ModelSource, SourceKind, load_models
from podkit.errors import ConfigError


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("gs://my-bucket/talking-head/", SourceKind.GCS),
        ("s3://models.example/whisper", SourceKind.S3),
        ("https://example.com/w/vae.safetensors", SourceKind.HTTPS),
        ("hf://openai/whisper-tiny@main", SourceKind.HF),
        ("hf://openai/whisper-tiny", SourceKind.HF),
    ],
)
def test_valid_sources_parse(source: str, kind: SourceKind) -> None:
    entry = ModelSource.model_validate({"source": source, "destination": "models/x"})
    assert entry.parsed.kind is kind


def test_hf_revision_and_volume_destination() -> None:
    entry = ModelSource.model_validate(
        {"source": "hf://org/repo@0123abcd", "destination": "/runpod-volume/models/r"}
    )
    assert entry.parsed.repo == "org/repo"
    assert entry.parsed.revision == "0123abcd"
    assert entry.relative_destination == "models/r"


@pytest.mark.parametrize(
    ("entry", "field", "words"),
    [
        ({"source": "ftp://x/y", "destination": "m"}, "source", "unsupported scheme"),
        ({"source": "gs://B/x", "destination": "m"}, "source", "bucket name"),
        ({"source": "gs://b1/../x", "destination": "m"}, "source", ".."),
        ({"source": "hf://justname", "destination": "m"}, "source", "org/name"),
        ({"source": "http://example.com/f.bin", "destination": "m"}, "source", "loopback"),
        ({"source": "https://example.com/dir/", "destination": "m"}, "source", "name a file"),
        ({"source": "gs://bkt/x", "destination": "/etc/models"}, "destination", "outside"),
        ({"source": "gs://bkt/x", "destination": "a/../../b"}, "destination", ".."),
        ({"source": "gs://bkt/x", "destination": "m", "sha256": "abc"}, "sha256", "64"),
        ({"source": "gs://bkt/x", "destination": "m", "sha256": "a" * 64}, "entry", "single-file"),
        ({"source": "gs://bkt/x", "destination": "m", "bogus": 1}, "bogus", "Extra"),
        ({"source": "gs://bkt/x", "destination": "m", "include": "*.bin"}, "include", "list"),
    ],
)
def test_invalid_entries_name_the_field(entry: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_models([{"source": "gs://ok-bucket/a", "destination": "ok"}, entry])
    message = info.value.message
    assert message.startswith("podkit.toml: models[1]: ")
    assert f"{field}:" in message
    assert words in message


def test_strict_rejects_coercion() -> None:
    with pytest.raises(ValidationError):
        ModelSource.model_validate({"source": "gs://bkt/x", "destination": 5})


def test_models_must_be_a_list() -> None:
    with pytest.raises(ConfigError, match=r"\[\[models\]\]"):
        load_models({"source": "gs://bkt/x"})


def test_errors_never_echo_the_input() -> None:
    secret = "https://user:hunter2@example.com/f.bin"
    with pytest.raises(ConfigError) as info:
        load_models([{"source": secret, "destination": "m"}])
    assert "hunter2" not in str(info.value)


def test_the_project_loader_never_echoes_url_secrets(tmp_path: Path) -> None:
    config = tmp_path / "podkit.toml"
    config.write_text(
        f'project = "demo"\n[image]\nref = "ghcr.io/acme/w@sha256:{"b" * 64}"\n'
        '[endpoint]\ngpu_types = ["NVIDIA H100 80GB HBM3"]\nworkers_max = 1\n'
        '[[models]]\nsource = "https://user:hunter2@example.com/f.bin?X-Amz-Signature=s3cr3t"\n'
        'destination = "m"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(config)
    text = str(info.value)
    assert f"{config}:8:1: models[0].source: credentials or a query in an https source" in text
    assert "hunter2" not in text and "s3cr3t" not in text
