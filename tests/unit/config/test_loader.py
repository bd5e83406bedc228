"""podkit.toml loading: environments, overrides, warnings and durations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from podkit.config import format_duration, load_config, parse_duration
from podkit.errors import ConfigError

EXAMPLE = Path(__file__).parents[3] / "examples" / "gpu-worker" / "podkit.toml"
DIGEST = "b" * 64


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "podkit.toml"
    path.write_text(text)
    return path


BASE = f"""project = "demo"
[image]
ref = "ghcr.io/acme/worker@sha256:{DIGEST}"
[endpoint]
gpu_types = ["NVIDIA H100 80GB HBM3"]
workers_max = 2
execution_timeout = "1h30m"
"""


def test_example_loads_in_every_environment() -> None:
    staging = load_config(EXAMPLE, env="staging")
    production = load_config(EXAMPLE, env="production")
    assert staging.environments == ("staging", "production")
    assert staging.deployment.endpoint_name == "gpu-worker-staging"
    assert staging.deployment.endpoint.workers_max == 1
    assert production.deployment.endpoint.execution_timeout == 7200
    assert production.deployment.volume is not None
    assert production.deployment.volume.size_gb == 200
    assert production.deployment.volume.datacenter == "EU-RO-1"


def test_secret_references_render_without_values() -> None:
    env = load_config(EXAMPLE).deployment.worker.rendered_env()
    assert env == {"HF_TOKEN": "{{ RUNPOD_SECRET_hf_token }}", "LOG_LEVEL": "info"}


def test_overlay_merges_tables_and_replaces_lists(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + '[env.staging.endpoint]\ngpu_types = ["NVIDIA L4"]\n')
    endpoint = load_config(path, env="staging").deployment.endpoint
    assert endpoint.gpu_types == ["NVIDIA L4"]
    assert endpoint.workers_max == 2
    assert endpoint.execution_timeout == 5400


def test_set_overrides_parse_toml_values_and_plain_strings(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    loaded = load_config(
        path,
        overrides=[
            'endpoint.gpu_types=["NVIDIA A100 80GB PCIe"]',
            "endpoint.execution_timeout=2h",
            "endpoint.workers_max=4",
        ],
    )
    endpoint = loaded.deployment.endpoint
    assert endpoint.gpu_types == ["NVIDIA A100 80GB PCIe"]
    assert endpoint.execution_timeout == 7200
    assert endpoint.workers_max == 4


def test_bad_override_is_blamed_on_the_command_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    with pytest.raises(ConfigError, match=r"^--set: endpoint.workers_max: out of range \(-1\)"):
        load_config(path, overrides=["endpoint.workers_max=-1"])
    with pytest.raises(ConfigError, match=r"^--set: 'endpoint.workers_max' is not KEY=VALUE; "):
        load_config(path, overrides=["endpoint.workers_max"])


def test_unknown_environment_lists_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "[env.staging.endpoint]\nworkers_max = 1\n")
    with pytest.raises(ConfigError, match=r"env.prod: no such environment for --env \(known: "):
        load_config(path, env="prod")


def test_an_unknown_environment_does_not_hide_the_other_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, ""), env="staging")
    keys = [line.split(": ")[1] for line in caught.value.message.splitlines()]
    assert keys == ["endpoint", "env.staging", "image", "project"]


def test_a_broken_overlay_fails_even_when_another_env_is_chosen(tmp_path: Path) -> None:
    text = BASE + "[env.staging.endpoint]\nworkers_max = 1\n[env.production.endpoint]\n"
    path = write(tmp_path, text + "workers_max = -1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env="staging")
    assert f"{path}:11:1: endpoint.workers_max [env.production]: out of range (-1)" in (
        caught.value.message
    )


def test_a_base_error_is_reported_once_and_an_overlay_error_names_its_table(
    tmp_path: Path,
) -> None:
    text = BASE + "gpu_count = 0\n[env.a.endpoint]\nworkers_max = 1\n[env.b.endpoint]\n"
    path = write(tmp_path, text + "workers_max = 1\nflashboot = 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env="a")
    lines = caught.value.message.splitlines()
    assert lines == [
        f"{path}:8:1: endpoint.gpu_count: out of range (0): allowed 1..8; set gpu_count "
        "within 1..8",
        f"{path}:13:1: endpoint.flashboot [env.b]: must be true or false, not a whole number "
        "(1); write it as flashboot = true",
    ]


@pytest.mark.parametrize("env", [None, "a", "b"])
def test_a_base_error_names_no_environment_whichever_env_is_chosen(
    tmp_path: Path, env: str | None
) -> None:
    path = write(tmp_path, BASE + "gpu_count = 0\n[env.a.endpoint]\n[env.b.endpoint]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=env)
    assert caught.value.message.splitlines() == [
        f"{path}:8:1: endpoint.gpu_count: out of range (0): allowed 1..8; set gpu_count within 1..8"
    ]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "gpu_count = 0\nflashboot = 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    lines = caught.value.message.splitlines()
    assert [line.split(": ")[1] for line in lines] == ["endpoint.gpu_count", "endpoint.flashboot"]


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "podkit.toml")
    assert "no such file" in caught.value.message
    assert caught.value.hint is not None and "podkit init" in caught.value.hint


def test_warnings_for_literal_secrets_and_unpinned_images(tmp_path: Path) -> None:
    text = BASE.replace(f"@sha256:{DIGEST}", ":latest") + '[worker]\nenv = { HF_TOKEN = "hf_x" }\n'
    warnings = load_config(write(tmp_path, text)).warnings
    assert any("worker.env.HF_TOKEN holds a literal value" in w for w in warnings)
    assert any("image.ref is not pinned by digest" in w for w in warnings)
    assert all("hf_x" not in w for w in warnings)


def test_image_properties() -> None:
    image = load_config(EXAMPLE).deployment.image
    assert image.pinned
    assert image.digest is not None and image.digest.startswith("sha256:")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("1h30m", 5400), ("2d", 172800), ("500ms", 0.5), (42, 42)],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "bad",
    ["1 hour", "h", "", True, "-5s", [1], float("inf"), float("nan"), 10**400, "9" * 400 + "s"],
)
def test_bad_durations_say_what_is_expected(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_format_duration_round_trips() -> None:
    for seconds in (0.5, 5, 600, 5400, 86400 + 61):
        assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(
    "section",
    [
        '[worker]\nenv = { HF_TOKEN = "{{ hf_SECRETVALUE123 }}" }\n',
        '[worker]\nsecrets = { HF_TOKEN = "hf_SECRETVALUE123 with spaces" }\n',
        "[worker]\nenv = { HF_TOKEN = 123456789 }\n",
        '[[smoke]]\nname = "s"\ninput = { token = "hf_SECRETVALUE123" }\nexpect_status = 7\n',
    ],
)
def test_errors_never_repeat_values_that_may_be_secrets(tmp_path: Path, section: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, BASE + section))
    text = str(caught.value)
    assert "SECRETVALUE123" not in text
    assert "123456789" not in text
    assert f"{tmp_path / 'podkit.toml'}:" in text


def test_the_complete_example_in_docs_config_md_loads_as_written(tmp_path: Path) -> None:
    doc = Path(__file__).parents[3] / "docs" / "config.md"
    example = re.findall(r"```toml\n(.*?)```", doc.read_text(), re.S)[0]
    path = write(tmp_path, example)
    for env in ("staging", "production"):
        assert load_config(path, env=env).deployment.project == "gpu-worker"


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        (
            'project = "demo"\nports = [1,\nb = 2\n',
            ":2:1: ports: not valid TOML: the list is not closed",
            "close it with ]",
        ),
        (
            'project = "demo"\nx = {\n  b = 1 }\n',
            ":2:6: x: not valid TOML: an inline table",
            "on one line",
        ),
        (
            "project = \u201cdemo\u201d\n",
            ":1:11: project: not valid TOML: curly quotes",
            "straight quotes",
        ),
        (
            '[image]\nref = "a\n',
            ":2:9: image.ref: not valid TOML: the string is not closed",
            'close it with "',
        ),
    ],
)
def test_a_toml_syntax_error_names_line_column_key_and_fix(
    tmp_path: Path, text: str, where: str, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.message.startswith(f"{path}{where}")
    assert words in caught.value.message


def test_a_file_that_is_not_utf8_text_says_to_save_it_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "podkit.toml"
    for data in ('project = "d\u00e9mo"'.encode("latin-1"), BASE.encode("utf-16"), b"\x00\x01"):
        path.write_bytes(data)
        with pytest.raises(ConfigError, match="save the file as UTF-8"):
            load_config(path)


def test_many_problems_are_capped_in_file_order(tmp_path: Path) -> None:
    extra = "".join(f"unknown_{n:02} = 1\n" for n in range(25))
    path = write(tmp_path, BASE + extra)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    lines = caught.value.message.splitlines()
    assert len(lines) == 21 and lines[-1] == "... and 5 more problems after these"
    assert [line.split(":")[1] for line in lines[:20]] == [str(n) for n in range(8, 28)]
    assert caught.value.hint == f"fix 25 problems above in {path} (see docs/config.md)"
