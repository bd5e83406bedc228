"""`--set KEY=VALUE` problems are reported against `--set` and the key, never a file line."""

from __future__ import annotations

from pathlib import Path

import pytest

from podkit.config import load_config
from podkit.errors import ConfigError

DIGEST = "c" * 64
FILE = f"""project = "demo"
[image]
ref = "ghcr.io/acme/worker@sha256:{DIGEST}"
[endpoint]
gpu_types = ["NVIDIA H100 80GB HBM3"]
workers_max = 2
[[smoke]]
name = "ping"
input = {{ action = "ping" }}
[env.staging.endpoint]
workers_max = 1
"""


def _problems(tmp_path: Path, *overrides: str, env: str | None = "staging") -> list[str]:
    path = tmp_path / "podkit.toml"
    path.write_text(FILE)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=env, overrides=overrides)
    return str(caught.value.message).splitlines()


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("endpoint..workers_max=5", "--set: endpoint..workers_max: empty key part; "),
        ("endpoint.=5", "--set: endpoint.: empty key part; "),
        (".project=x", "--set: .project: empty key part; "),
        ("endpoint. .workers_max=5", "--set: endpoint. .workers_max: empty key part; "),
        ("smoke.0.name=x", "--set: smoke.0.name: smoke is a list; list entries cannot be set"),
        ("smoke.name=x", "--set: smoke.name: smoke is a list; list entries cannot be set"),
        ("project.name=x", "--set: project.name: project is text, not a table; "),
        (
            "env.staging.endpoint.workers_max=2",
            "--set: env.staging.endpoint.workers_max: environments cannot be set; ",
        ),
        ("env=1", "--set: env: environments cannot be set; "),
        ("environment=prod", "--set: environment: environments cannot be set; "),
        ("endpoint.wörkers=1", "--set: endpoint.wörkers: unknown key; "),
        ("nope.deeper.still=1", "--set: nope: unknown key; "),
        ("y" * 5000 + "=1", "--set: " + "y" * 60 + "... (5000 characters): unknown key; "),
        ("0=1", "--set: 0: unknown key; "),
        ("endpoint.0=1", "--set: endpoint.0: unknown key; "),
        ("endpoint.workers_max.x=1", "--set: endpoint.workers_max.x: endpoint.workers_max is a "),
        ("volume.datacenter=EU-RO-1", "--set: volume"),
        ("endpoint.workers_min=5", "--set: endpoint"),
    ],
)
def test_a_bad_set_key_is_blamed_on_set_and_the_key(tmp_path: Path, key: str, said: str) -> None:
    problems = _problems(tmp_path, key)
    assert any(p.startswith(said) for p in problems), problems
    assert not any(p.startswith(str(tmp_path)) for p in problems), problems
    assert all("; " in p and not p.endswith("; ") for p in problems), problems


def test_every_odd_key_is_reported_against_set(tmp_path: Path) -> None:
    odd = [
        "..", ".", "a.", ".a", "a..b", "1.2.3", "endpoint.-1", "smoke.-1.name", "smoke.99",
        "ü.ß", "endpoint.gpu_types.0", "worker.env.", "worker..env", "image.ref.x",
        "x" * 5000, "endpoint." + "y" * 5000, "env", "env.staging", "env.nope.project",
        "environment", "models.0.source", "endpoint.scaler.x.y", "\u200b", "project.",
        "endpoint.gpu_types[0]", '"endpoint.workers_max"',
    ]  # fmt: skip
    for key in odd:
        for env in ("staging", None):
            problems = _problems(tmp_path, f"{key}=1", env=env)
            assert all(p.startswith("--set: ") for p in problems), (key, problems)
            assert all(len(p) < 400 for p in problems), (key, problems)


def test_a_long_set_value_is_shortened_in_the_message(tmp_path: Path) -> None:
    value = "p" * 5000
    (problem,) = _problems(tmp_path, f"project={value}")
    assert problem.startswith("--set: project: ")
    assert "p" * 60 + "...' (5000 characters)" in problem
    assert "p" * 61 not in problem


def test_a_long_file_value_is_shortened_in_the_message(tmp_path: Path) -> None:
    path = tmp_path / "podkit.toml"
    path.write_text(FILE.replace('project = "demo"', f'project = "{"q" * 3000}"'))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = str(caught.value.message).splitlines()
    assert problem.startswith(f"{path}:1:1: project")
    assert "q" * 60 + "...' (3000 characters)" in problem
    assert "q" * 61 not in problem
