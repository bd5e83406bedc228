"""The redaction filter: what it removes, what it leaves alone, and that nothing bypasses it."""

from __future__ import annotations

import io
import json
import locale
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.table import Table
from rich.text import Text

from podkit.cli.console import RedactingConsole
from podkit.errors import ConfigError
from podkit.redact import (
    REDACTED,
    RawOut,
    RedactingStream,
    Redactor,
    append_file,
    environment_secrets,
    public_url,
    redacting,
    register,
    scrub_data,
    url_secrets,
    write_file,
)

CANARY = "CanaryValue7f3a91"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"


@pytest.mark.parametrize(
    "text",
    [
        f"POST /v2/x/run was refused (401): auth=Bearer {CANARY}",
        f"Authorization: Basic {CANARY}",
        f"GET http://user:{CANARY}@127.0.0.1:8765/v2/x failed",
        f"https://bucket.s3.amazonaws.com/a?X-Amz-Signature={CANARY}&x=1",
        f"https://storage.googleapis.com/b/o?X-Goog-Signature={CANARY}",
        f"https://acct.blob.core.windows.net/c?sv=1&sig={CANARY}",
        f"http://127.0.0.1:1/v2?api_key={CANARY}",
        f"http://127.0.0.1:1/v2?token={CANARY}",
        f"env: HF_TOKEN={CANARY} LOG_LEVEL=info",
        f"AWS_SECRET_ACCESS_KEY={CANARY}",
    ],
)
def test_shapes_are_removed(text: str) -> None:
    clean = Redactor(environ={}).scrub(text)
    assert CANARY not in clean and REDACTED in clean


@pytest.mark.parametrize(
    "token",
    [
        "hf_" + "a1B2" * 8,
        "ghp_" + "x" * 36,
        "github_pat_" + "A1_" * 10,
        "AKIA" + "ABCDEFGHIJKLMNOP",
        "rpa_" + "Z9" * 15,
        "sk-" + "proj_" + "q" * 30,
        "ya29." + "a0Af" * 8,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3b3JrZXIifQ.c2lnbmF0dXJl-_x",  # a JWT (signed)
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ3b3JrZXIifQ.",  # a JWT (unsigned)
        PEM,
    ],
)
def test_known_token_shapes_are_removed(token: str) -> None:
    clean = Redactor(environ={}).scrub(f"value: {token} (end)")
    assert token not in clean and "(end)" in clean


def test_registered_values_in_any_encoding() -> None:
    redactor = Redactor(environ={})
    secret = "p@ss word/" + CANARY
    redactor.register(secret)
    plus = secret.replace(" ", "+").replace("@", "%40").replace("/", "%2F")
    text = f"{secret} and {plus} and {plus.replace('+', '%20')}"
    assert redactor.scrub(text) == f"{REDACTED} and {REDACTED} and {REDACTED}"


def test_registered_values_short_or_plain_words_are_left_alone() -> None:
    redactor = Redactor(environ={})
    for value in ("True", "None", "abc", "w9Qz", None, ""):
        redactor.register(value)
    assert redactor.scrub("True None abc w9Qz") == f"True None abc {REDACTED}"


def test_a_longer_secret_is_replaced_whole_before_one_it_contains() -> None:
    redactor = Redactor(environ={})
    redactor.register("zz99-extra")
    redactor.register("Token-zz99-extra")
    assert redactor.scrub("Token-zz99-extra and zz99-extra") == f"{REDACTED} and {REDACTED}"


def test_register_url_takes_the_password_and_credential_query_values() -> None:
    redactor = Redactor(environ={})
    redactor.register_url(f"https://u:pw-{CANARY}@h:1/x?token=tk-{CANARY}&region=eu")
    redactor.register_url(None)
    assert redactor.scrub(f"pw-{CANARY} tk-{CANARY} eu") == f"{REDACTED} {REDACTED} eu"


def test_environment_values(tmp_path: Path) -> None:
    creds = tmp_path / "sa.json"
    creds.write_text(json.dumps({"private_key": PEM, "client_email": "a@b.iam"}))
    environ = {
        "RUNPOD_API_KEY": "rk-" + CANARY,
        "HF_TOKEN": "hf-" + CANARY,
        "MY_DB_PASSWORD": "pw-" + CANARY,
        "PODKIT_TARGET": f"http://u:tp-{CANARY}@127.0.0.1:9?token=tq-{CANARY}",
        "GOOGLE_APPLICATION_CREDENTIALS": str(creds),
        "LOG_LEVEL": "info",
        "SOME_AUTH_FLAG": "true",
    }
    found = environment_secrets(environ)
    for prefix in ("rk-", "hf-", "pw-", "tp-", "tq-"):
        assert prefix + CANARY in found
    assert PEM in found and "info" not in found and "true" not in found
    redactor = Redactor(environ=environ)
    text = f"rk-{CANARY} hf-{CANARY} MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
    assert redactor.scrub(text) == f"{REDACTED} {REDACTED} {REDACTED}"


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("Authorization: Bearer abc.def-ghi", f"Authorization: Bearer {REDACTED}"),
        ("Authorization: Basic dXNlcjpwYXNz", f"Authorization: Basic {REDACTED}"),
        ("auth=Bearer%20abc123xyz&x=1", f"auth=Bearer%20{REDACTED}&x=1"),
        ("DB_PASSWORD=hunter22 LOG_LEVEL=debug", f"DB_PASSWORD={REDACTED} LOG_LEVEL=debug"),
        (
            "HF_TOKEN=$HF_TOKEN API_KEY=<key> TOKEN=... X={{",
            "HF_TOKEN=$HF_TOKEN API_KEY=<key> TOKEN=... X={{",
        ),
    ],
)
def test_only_the_secret_part_is_replaced(text: str, clean: str) -> None:
    """The header's scheme and the variable's name stay; placeholders are not secrets."""
    assert Redactor(environ={}).scrub(text) == clean


def test_ordinary_output_is_left_alone() -> None:
    redactor = Redactor(environ={"FLAG_TOKEN": "true"})
    data = {"secret": True, "old": None, "image": "ghcr.io/acme/w:1@sha256:" + "a" * 64}
    text = json.dumps(data) + " token usage: 12 ms; Basic checks passed; http://h:1/x?a=1"
    assert redactor.scrub(text) == text
    assert json.loads(redactor.scrub(json.dumps(data))) == data


@pytest.mark.parametrize(
    ("environ", "secret"),
    [
        ({"RUNPOD_API_KEY": "k3y9X"}, "k3y9X"),  # the API key, however short
        ({"HF_TOKEN": "abcdef"}, "abcdef"),
        ({"PODKIT_LOCAL_URL": "http://u:k3y9@127.0.0.1:2/"}, "k3y9"),
        ({"AWS_SECRET_ACCESS_KEY": "/K7MDENG/bPxRfiCYEXAMPLEKEY"}, "/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ({"GITHUB_CREDENTIALS": "gh-s3cr3t-value"}, "gh-s3cr3t-value"),
        ({"HTTPS_PROXY": "http://proxy:px-s3cr3t@127.0.0.1:3128"}, "px-s3cr3t"),
        ({"all_proxy": "socks5://u:px%2Fs3cr3t@127.0.0.1:1080"}, "px/s3cr3t"),
        ({"DATABASE_URL": "postgres://app:pg-s3cr3t@127.0.0.1/app"}, "pg-s3cr3t"),
        ({"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9/?X-Amz-Signature=sig-s3cr3t"}, "sig-s3cr3t"),
    ],
)
def test_environment_secrets_taken(environ: dict[str, str], secret: str) -> None:
    assert secret in environment_secrets(environ)


@pytest.mark.parametrize(
    "environ",
    [
        {"RUNPOD_API_KEY": "abc"},
        {"HF_TOKEN": "abcde"},
        {"PODKIT_TARGET": "http://u:none@127.0.0.1:1/"},
        {"GOOGLE_APPLICATION_CREDENTIALS": "keys/service-account.json"},
        {
            "PODKIT_CREDENTIALS": "/home/me/.runpod.toml",
            "AWS_SHARED_CREDENTIALS_FILE": "~/.aws/credentials",
            "HF_TOKEN_PATH": "./secrets/hf.txt",
            "SSH_PRIVATE_KEY_FILE": "../keys/id_ed25519",
        },
    ],
)
def test_environment_values_that_are_not_secrets(environ: dict[str, str]) -> None:
    """Too short, a plain word, or a path to a credentials file (its contents are the secret)."""
    assert environment_secrets(environ) == set()


@pytest.mark.parametrize(
    "key",
    [
        {"type": "authorized_user", "client_secret": "cs-" + CANARY, "refresh_token": "rt-x1y2"},
        {"type": "service_account", "private_key": PEM, "private_key_id": "kid-" + CANARY},
    ],
)
def test_google_credentials_given_inline_rather_than_as_a_path(key: dict[str, str]) -> None:
    """GOOGLE_APPLICATION_CREDENTIALS holding the key file's text: an error that names the
    variable's value ("points at {...}") shows none of it."""
    text = json.dumps(key, indent=2)
    redactor = Redactor(environ={"GOOGLE_APPLICATION_CREDENTIALS": text})
    private = [v for k, v in key.items() if k != "type"]
    shown = redactor.scrub(f"GOOGLE_APPLICATION_CREDENTIALS points at {text}, unreadable")
    assert shown == f"GOOGLE_APPLICATION_CREDENTIALS points at {REDACTED}, unreadable"
    assert [redactor.scrub(value) for value in private] == [REDACTED] * len(private)


def test_inline_json_without_private_fields_is_left_alone() -> None:
    assert environment_secrets({"PODKIT_FAULTS": '{"rule": "POST /v2/*", "p": 0.25}'}) == set()


def test_json_in_a_variable_nested_past_the_parser_is_not_credentials() -> None:
    assert environment_secrets({"DEEP": '{"a":' * 100_000}) == set()


@pytest.fixture
def ascii_locale() -> Iterator[None]:
    """The C locale of a bare CI image: what podkit writes and reads must stay UTF-8."""
    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, before)


@pytest.mark.usefixtures("ascii_locale")
def test_google_credentials_private_fields_and_pem_lines(tmp_path: Path) -> None:
    line16, line15 = "MIIEvQIBADANBgkq", "hkiG9w0BAQEFAAS"
    pem = f"-----BEGIN PRIVATE KEY-----\n{line16}\n{line15}\n-----END PRIVATE KEY-----\n"
    creds = tmp_path / "user.json"
    creds.write_text(
        json.dumps(
            {"private_key": pem, "client_secret": "cs-" + CANARY, "project": "Café"},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    found = environment_secrets({"GOOGLE_APPLICATION_CREDENTIALS": str(creds)})
    assert found == {pem.strip(), line16, "cs-" + CANARY}


def test_public_url_and_url_secrets() -> None:
    url = f"https://user:{CANARY}@api.example.com:8443/v2?token=t{CANARY}&region=eu"
    assert public_url(url) == "https://api.example.com:8443/v2?region=eu"
    assert url_secrets(url) == {CANARY, "t" + CANARY}


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("https://me:p@ss-w0rd@api.example.com/v2", "https://api.example.com/v2"),
        ("http://h:1/x?debug=&token=abcd", "http://h:1/x?debug="),
        (
            "https://b.s3.amazonaws.com/o?X-Amz-Signature=abcd&x=1",
            "https://b.s3.amazonaws.com/o?x=1",
        ),
        (f"http://u:{CANARY}@[::1/x", f"http://{REDACTED}@[::1/x"),  # not a URL: scrubbed
    ],
)
def test_public_url_forms(url: str, public: str) -> None:
    assert public_url(url) == public


def test_url_secrets_any_case_and_from_four_characters() -> None:
    assert url_secrets("https://b.s3.amazonaws.com/o?X-Amz-Signature=sig-1234&x=1") == {"sig-1234"}
    assert url_secrets("http://u:k3y9@h/") == {"k3y9"}


def test_module_level_register_and_scrub_data() -> None:
    """History records and `--json` documents: keys, values and nested lists, scrubbed."""
    secret = f"s3cret-{uuid.uuid4().hex}"  # new to this process's REDACTOR, whatever ran before
    register(secret)
    data = {f"key {secret}": [f"Bearer {CANARY}", ("x", 1, None)], "n": 2.5}
    assert scrub_data(data) == {
        f"key {REDACTED}": [f"Bearer {REDACTED}", ["x", 1, None]],
        "n": 2.5,
    }


@pytest.mark.usefixtures("ascii_locale")
def test_files_are_written_scrubbed_and_in_utf8(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf-" + CANARY)
    target = tmp_path / "plan.md"
    write_file(target, f"€ hf-{CANARY}\n")
    append_file(target, f"€ hf-{CANARY}\n")
    assert target.read_bytes() == f"€ {REDACTED}\n€ {REDACTED}\n".encode()


def test_redacting_wraps_once_and_is_a_write_only_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf-" + CANARY)
    inner = io.StringIO()
    stream = redacting(inner)
    assert redacting(stream) is stream
    stream.writelines([f"a hf-{CANARY}\n", "b\n"])
    assert inner.getvalue() == f"a {REDACTED}\nb\n"
    assert (stream.readable(), stream.writable(), stream.seekable()) == (False, True, False)


def test_stream_and_file_sinks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf-" + CANARY)
    inner = io.StringIO()
    RedactingStream(inner).write(f"hf-{CANARY}\n")
    assert CANARY not in inner.getvalue()
    target = tmp_path / "summary.md"
    append_file(target, f"| hf-{CANARY} |\n")
    assert CANARY not in target.read_text()


def test_console_scrubs_before_wrapping(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long secret in a narrow table cell would be split by wrapping; it never is."""
    monkeypatch.setenv("HF_TOKEN", "hf-" + CANARY * 3)
    out = io.StringIO()
    console = RedactingConsole(file=out, width=20, highlight=False)
    table = Table()
    table.add_column("v", overflow="fold")
    table.add_row(Text("hf-" + CANARY * 3, style="red"))
    table.add_row("[bold]hf-" + CANARY * 3 + "[/]")
    console.print(table)
    console.print(f"error: Bearer {CANARY}" * 3)
    text = out.getvalue()
    assert "CanaryV" not in text and "7f3a91" not in text and REDACTED in text


# Modules that may write to a terminal or a file directly: the sinks themselves (history
# scrubs its records and stores inline secrets as fingerprints), the docs generator (writes
# schema text only), and code
# that never holds a user's secret (the worker and the emulator run in their own processes
# with their own logs; scaffolding writes fixed templates).
_SINKS = {
    "redact.py",
    "cli/console.py",
    "cli/main.py",
    "cli/app.py",
    "deploy/history.py",
    "config/reference.py",
}
_OWN_WORLDS = ("worker/", "emulator/", "scaffold/")
_WRITERS = re.compile(
    r"(?<![\w.])print\(|sys\.std(out|err)|\.write_text\(|\.write_bytes\(|json\.dump\(|"
    r"(?<![\w.])Console\(|typer\.echo|\.open\([^)]*[\"'][wa]|(?<![\w.])open\("
)


def test_nothing_writes_around_the_sinks() -> None:
    """A new call site that prints or writes a file must go through podkit.redact."""
    root = Path(__file__).resolve().parents[2] / "src" / "podkit"
    offenders = []
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if name in _SINKS or name.startswith(_OWN_WORLDS):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if _WRITERS.search(code):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == [], "write through podkit.redact / podkit.cli.console:\n" + "\n".join(
        offenders
    )


def test_raw_out_scrubs_an_answer_and_passes_binary_bytes_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`podkit request`'s answer: secrets scrubbed, other bytes (binary, split UTF-8) unchanged."""
    monkeypatch.setenv("HF_TOKEN", "hf-" + CANARY)
    raw = io.BytesIO()
    monkeypatch.setattr("sys.stdout", RedactingStream(io.TextIOWrapper(raw, encoding="utf-8")))
    out = RawOut()
    euro = "€".encode()
    for chunk in (b"\x89PNG\xff\x00 ", f"token hf-{CANARY} ".encode(), euro[:1], euro[1:]):
        out.write(chunk)
    out.write(euro[:2])  # cut short: the last bytes still arrive
    out.write(b"", final=True)
    assert raw.getvalue() == b"\x89PNG\xff\x00 token " + REDACTED.encode() + b" " + euro + euro[:2]


def test_raw_out_scrubs_a_secret_split_between_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cut of the answer into two chunks, lines ended or not: the secret never shows."""
    monkeypatch.setenv("HF_TOKEN", "hf-" + CANARY)
    answer = f"data: one\ndata: token hf-{CANARY} and more\r\nlast hf-{CANARY}".encode()
    for cut in range(len(answer) + 1):
        text = io.StringIO()
        monkeypatch.setattr("sys.stdout", text)
        out = RawOut()
        out.write(answer[:cut])
        shown_early = text.getvalue()
        out.write(answer[cut:])
        out.write(b"", final=True)
        assert CANARY not in text.getvalue(), cut
        assert text.getvalue() == answer.decode().replace(f"hf-{CANARY}", REDACTED), cut
        assert not shown_early or shown_early.endswith(("\n", "\r"))


def test_raw_out_shows_ended_lines_at_once_and_a_long_unbroken_run_in_part(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = io.StringIO()
    monkeypatch.setattr("sys.stdout", text)
    out = RawOut()
    out.write(b"event: a\ndata: partial")
    assert text.getvalue() == "event: a\n"  # the unfinished line waits for its end
    out.write(b"x" * (RawOut.HELD_CHARS + 10))
    assert text.getvalue() == "event: a\n" + "data: partial" + "x" * 10
    out.write(b"", final=True)
    assert text.getvalue() == "event: a\ndata: partial" + "x" * (RawOut.HELD_CHARS + 10)


@pytest.mark.parametrize("chunk", [b"one\ntwo\n", b"10%\r50%\r", b"a\rb\nc\r", b"a\nb\rc\n"])
def test_raw_out_shows_every_ended_line_of_a_chunk_at_once(
    monkeypatch: pytest.MonkeyPatch, chunk: bytes
) -> None:
    """Both `\n` and `\r` (a progress line redrawn) end a line; the last one ends the chunk."""
    text = io.StringIO()
    monkeypatch.setattr("sys.stdout", text)
    RawOut().write(chunk)
    assert text.getvalue() == chunk.decode()


def test_raw_out_to_a_text_only_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """No byte buffer behind stdout: bytes that are not UTF-8 become U+FFFD, the rest is text."""
    monkeypatch.setenv("HF_TOKEN", "hf-" + CANARY)
    text = io.StringIO()
    monkeypatch.setattr("sys.stdout", text)
    out = RawOut()
    euro = "€".encode()
    for chunk in (b"\x89PNG ", f"token hf-{CANARY} ".encode(), euro[:1], euro[1:]):
        out.write(chunk)
    out.write(b"", final=True)
    assert text.getvalue() == f"\ufffdPNG token {REDACTED} €"


@pytest.mark.parametrize("write", [write_file, append_file])
def test_a_path_that_cannot_be_written_is_the_users_error_naming_it(
    tmp_path: Path, write: Callable[[Path, str], None]
) -> None:
    """Under a plain file: `OSError` with a `strerror`, shown as a ConfigError (not a trace)."""
    (tmp_path / "plain").write_text("")
    target = tmp_path / "plain" / "summary.md"
    with pytest.raises(ConfigError) as caught:
        write(target, "text")
    assert caught.value.message == f"cannot write {target}: Not a directory"
    assert caught.value.hint == (
        "give a file path in an existing directory you can write to "
        "(--markdown, $GITHUB_STEP_SUMMARY)"
    )
    assert isinstance(caught.value.__cause__, NotADirectoryError)
