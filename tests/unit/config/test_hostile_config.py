"""podkit.toml (and `--set`) values that parse but cannot be used, or cannot be read at all:
each ends in one worded ConfigError naming the key, never a traceback later on."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest

from podkit.config import load_config
from podkit.config.problems import clip_values
from podkit.config.syntax import MAX_BYTES
from podkit.errors import ConfigError

BASE = """project = "demo"
[image]
ref = "ghcr.io/acme/worker@sha256:{digest}"
[endpoint]
gpu_types = ["NVIDIA H100 80GB HBM3"]
""".format(digest="b" * 64)


def refusal(tmp_path: Path, text: str, *, overrides: tuple[str, ...] = ()) -> str:
    path = tmp_path / "podkit.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, overrides=overrides)
    return str(caught.value)


@pytest.mark.parametrize(
    ("smoke", "key"),
    [
        ("input = { when = 1979-05-27T07:32:00Z }", "smoke[0].input"),
        ("input = { day = 1979-05-27 }", "smoke[0].input"),
        ("input = { n = nan }", "smoke[0].input"),
        ('input = { action = "gpu_info" }\nexpect = { at = 07:32:00 }', "smoke[0].expect"),
        ('input = { action = "gpu_info" }\nexpect = { big = inf }', "smoke[0].expect"),
        ('path = "/ping"\nbody = { at = 1979-05-27T07:32:00 }', "smoke[0].body"),
        ('path = "/ping"\nbody = [-inf]', "smoke[0].body"),
    ],
)
def test_smoke_values_without_a_json_form_are_refused_by_key(
    tmp_path: Path, smoke: str, key: str
) -> None:
    message = refusal(tmp_path, BASE + f'[[smoke]]\nname = "s"\n{smoke}\n')
    assert f"{key}: must be JSON values: no dates, times, nan or inf" in message
    assert "text in quotes" in message


def test_a_smoke_path_that_climbs_out_of_the_endpoint_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, BASE + '[[smoke]]\nname = "s"\npath = "/a/%2e%2e/../v2/x"\n')
    assert "smoke[0].path: has a '.' or '..' segment" in message


def test_lists_nested_too_deeply_name_the_line_and_key(tmp_path: Path) -> None:
    deep = "[" * 3000 + "]" * 3000
    message = refusal(tmp_path, BASE + f"x = {deep}\n")
    assert message.startswith(f"{tmp_path / 'podkit.toml'}:6:1: endpoint.x: not valid TOML")
    assert "nested too deeply" in message


def test_tables_nested_too_deeply_in_an_environment_are_refused(tmp_path: Path) -> None:
    deep = "{a=" * 3000 + "1" + "}" * 3000
    message = refusal(tmp_path, BASE + f"[env.s.endpoint]\nworkers_max = {deep}\n")
    assert "env.s.endpoint.workers_max: not valid TOML" in message
    assert "nested too deeply" in message


def test_a_set_value_nested_too_deeply_is_blamed_on_the_command_line(tmp_path: Path) -> None:
    deep = "[" * 3000 + "]" * 3000
    message = refusal(tmp_path, BASE, overrides=(f"endpoint.x={deep}",))
    assert message.startswith("--set: endpoint.x: the value's lists or tables are nested too")


def test_a_directory_is_refused_as_config(tmp_path: Path) -> None:
    (tmp_path / "podkit.toml").mkdir()
    with pytest.raises(ConfigError, match=r"podkit.toml: a directory, not a file; check that "
                       "--config"):  # fmt: skip
        load_config(tmp_path / "podkit.toml")


def feed(fifo: Path, text: str) -> None:
    """Write to a pipe once a reader opens it (one that reads nothing breaks the pipe)."""
    with contextlib.suppress(BrokenPipeError):
        fifo.write_text(text)


def test_a_named_pipe_is_refused_at_once_instead_of_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "podkit.toml"
    os.mkfifo(fifo)
    # A writer, so that a reader which waits on the pipe gets a (short) file and ends.
    writer = threading.Thread(target=feed, args=(fifo, BASE), daemon=True)
    writer.start()
    try:
        with pytest.raises(ConfigError, match=r"a named pipe \(FIFO\), not a file; .*--config"):
            load_config(fifo)
    finally:
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # lets the writer go
        writer.join(timeout=5)


def test_a_file_just_over_the_limit_says_so_honestly(tmp_path: Path) -> None:
    message = refusal(tmp_path, 'project = "demo"\n' + "#" * MAX_BYTES)
    assert ":1:1: the file is larger than 1 MiB, far more than a podkit.toml holds" in message
    assert "1024 KiB" not in message


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        (
            "[env.Staging]\nx = 1",
            "env.Staging: 'Staging' is not a valid environment name; use lowercase letters, "
            "digits and '-' (at most 31), e.g. [env.staging]",
        ),
        (
            '[[models]]\nsource = "s3://a/b/"\ndestination = "m"',
            "models[0].source: 's3://a/b/': 'a' is not a valid bucket name; bucket names are "
            "lowercase letters, digits, '.', '_' and '-', 3 to 222 characters",
        ),
        (
            '[worker]\nenv = { "A B" = "1" }',
            "worker.env: 'A B' is not an environment variable name; use letters, digits and "
            "'_', not starting with a digit",
        ),
    ],
)
def test_short_values_in_a_message_are_not_clipped_together_with_the_prose(
    tmp_path: Path, line: str, shown: str
) -> None:
    assert shown in refusal(tmp_path, BASE + line + "\n")


def test_a_project_name_with_a_non_ascii_letter_is_shown_whole(tmp_path: Path) -> None:
    message = refusal(tmp_path, BASE.replace('"demo"', '"prøj"'))
    assert "project: 'prøj' is not a valid project name; use lowercase letters, digits and '-'" in (
        message
    )


def test_long_values_are_still_clipped_escapes_and_all() -> None:
    long = "it's \"" + "b" * 80
    text = clip_values(f"x: {'a' * 100!r} and {long!r}; fix it")
    assert text == (
        f"x: '{'a' * 60}...' (100 characters) and '{repr(long)[1:61]}...' (87 characters); fix it"
    )


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("http://127.0.0.1:99999/x", "is not a valid URL (its host or port cannot be read)"),
        ("https://example.com:abc/x", "is not a valid URL (its host or port cannot be read)"),
        ("https://[::1/x", "is not a valid URL (its host or port cannot be read)"),
        ("https://example.com:0/x", "port 0 is no port to connect to"),
    ],
)
def test_a_model_source_with_a_port_that_is_none_is_refused(
    tmp_path: Path, source: str, words: str
) -> None:
    message = refusal(tmp_path, BASE + f'[[models]]\nsource = "{source}"\ndestination = "m"\n')
    assert f"models[0].source: '{source}' {words}" in message or f"'{source}': {words}" in message


@pytest.mark.parametrize(
    ("destination", "words"),
    [
        ("'a\\..\\b'", "holds a backslash; separate folders with /"),
        ('"a\\u0000b"', "holds a NUL character; remove it"),
    ],
)
def test_a_destination_with_a_backslash_or_nul_names_it(
    tmp_path: Path, destination: str, words: str
) -> None:
    text = BASE + f'[[models]]\nsource = "s3://bucket/p/"\ndestination = {destination}\n'
    message = refusal(tmp_path, text)
    assert words in message and "drop the leading /" not in message


@pytest.mark.parametrize(
    ("section", "key", "words"),
    [
        ('[worker.env]\nA = "x\\u0000y"', "worker.env", "the value of A holds a NUL character"),
        ('[worker]\nargs = "--x\\u0000"', "worker.args", "holds a NUL character"),
        (
            '[local]\nworker_command = "python\\u0000 app.py"',
            "local.worker_command",
            "holds a NUL character",
        ),
        (
            '[local]\nworker_command = ["python", "a\\u0000"]',
            "local.worker_command",
            "holds a NUL character",
        ),
    ],
)
def test_a_nul_that_no_process_can_be_given_is_refused_by_key(
    tmp_path: Path, section: str, key: str, words: str
) -> None:
    """The worker's env, its args and its local command reach a process: a NUL would stop
    the worker from starting, long after apply said it was done."""
    message = refusal(tmp_path, BASE + section + "\n")
    assert f"{key}: {words}" in message and "remove it" in message


def test_a_nul_given_with_set_is_blamed_on_the_command_line(tmp_path: Path) -> None:
    message = refusal(tmp_path, BASE, overrides=('worker.env.A="x\\u0000y"',))
    assert message.startswith("--set: worker.env: the value of A holds a NUL character")


@pytest.mark.parametrize(
    ("repository", "words"),
    [
        ('""', "'' is not an image repository"),
        ('"ghcr.io/acme/my worker"', "is not an image repository; write REGISTRY/REPO"),
        ('"ghcr.io/acme/worker:latest"', "names a tag or digest, not a repository"),
        (f'"ghcr.io/acme/worker@sha256:{"c" * 64}"', "names a tag or digest, not a repository"),
        (f'"ghcr.io/{"a" * 300}"', "at most 255 characters"),
    ],
)
def test_an_image_repository_that_is_no_repository_is_refused(
    tmp_path: Path, repository: str, words: str
) -> None:
    text = BASE.replace("[endpoint]", f"repository = {repository}\n[endpoint]")
    message = refusal(tmp_path, text)
    assert "image.repository: " in message and words in message


@pytest.mark.parametrize(
    "repository", ["localhost:5000/acme/w", "ghcr.io/OWNER/demo", "docker.io/USERNAME/demo"]
)
def test_a_registry_port_or_a_placeholder_of_podkit_init_is_a_repository(
    tmp_path: Path, repository: str
) -> None:
    path = tmp_path / "podkit.toml"
    path.write_text(BASE.replace("[endpoint]", f'repository = "{repository}"\n[endpoint]'))
    assert load_config(path).deployment.image.repository == repository


def test_classic_mac_line_endings_are_named_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "podkit.toml"
    path.write_bytes(BASE.replace("\n", "\r").encode())
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(
        f"{path}:1:17: not valid TOML: a carriage return (CR) without a line feed"
    )
    assert "save the file with LF (Unix) or CRLF (Windows) line endings" in str(caught.value)


def test_windows_line_endings_and_a_byte_order_mark_are_read(tmp_path: Path) -> None:
    path = tmp_path / "podkit.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.replace("\n", "\r\n").encode())
    assert load_config(path).deployment.project == "demo"


@pytest.mark.parametrize("codec", ["utf-32", "utf-32-be"])
def test_a_utf32_file_is_named_as_such(tmp_path: Path, codec: str) -> None:
    path = tmp_path / "podkit.toml"
    path.write_bytes(("\ufeff" if codec.endswith("be") else "").encode(codec) + BASE.encode(codec))
    with pytest.raises(ConfigError, match=r":1:1: the file is UTF-32 text, not UTF-8; save"):
        load_config(path)


@pytest.mark.parametrize("value", ["${HF_TOKEN}", "$HF_TOKEN", " ${HF_TOKEN} "])
def test_a_shell_variable_as_an_env_value_is_refused_with_the_ways_to_pass_one(
    tmp_path: Path, value: str
) -> None:
    """Nothing expands `${HF_TOKEN}` in podkit.toml: the worker would get the text itself."""
    message = refusal(tmp_path, BASE + f'[worker.env]\nHF_TOKEN = "{value}"\n')
    assert f"worker.env: the value of HF_TOKEN is {value.strip()}, a shell variable" in message
    assert 'worker.secrets.HF_TOKEN = "<RunPod secret name>"' in message and "--set" in message


def test_a_dollar_inside_a_longer_env_value_is_the_workers_business(tmp_path: Path) -> None:
    path = tmp_path / "podkit.toml"
    path.write_text(BASE + '[worker.env]\nA = "${HOME}/models"\nB = "$5 a month"\n')
    assert load_config(path).deployment.worker.env == {"A": "${HOME}/models", "B": "$5 a month"}


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_registry_auth_is_refused_when_read_not_at_preflight(
    tmp_path: Path, value: str
) -> None:
    message = refusal(tmp_path, BASE + f'[worker]\nregistry_auth = "{value}"\n')
    assert "worker.registry_auth: is empty" in message and "public image" in message
