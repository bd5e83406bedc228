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
