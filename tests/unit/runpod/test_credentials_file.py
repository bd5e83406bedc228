"""The credentials file: one that cannot be read is a worded error that never quotes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from podkit.errors import ConfigError
from podkit.runpod.credentials import load_api_key


def test_a_credentials_file_nested_too_deeply_is_a_worded_error(tmp_path: Path) -> None:
    path = tmp_path / "credentials.toml"
    path.write_text('[default]\napi_key = "rpa_DEEP_secret"\nx = ' + "[" * 3000 + "]" * 3000)
    with pytest.raises(ConfigError) as caught:
        load_api_key({"PODKIT_CREDENTIALS": str(path)}, home=tmp_path)
    assert caught.value.message == (
        f"{path}: not valid TOML (lists or tables nested too deeply to read)"
    )
    assert "RUNPOD_API_KEY" in (caught.value.hint or "")
    assert "rpa_DEEP_secret" not in str(caught.value)
