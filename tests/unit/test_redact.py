"""The redaction filter: what it removes, what it leaves alone, and that nothing bypasses it."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.table import Table
from rich.text import Text

from podkit.cli.console import RedactingConsole
from podkit.redact import (
    REDACTED,
    RawOut,
    RedactingStream,
    Redactor,
    append_file,
    environment_secrets,
    public_url,
    url_secrets,
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
    text = f"{secret} and {secret.replace(' ', '+').replace('@', '%40').replace('/', '%2F')}"
    assert CANARY not in redactor.scrub(text)


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


def test_ordinary_output_is_left_alone() -> None:
    redactor = Redactor(environ={"FLAG_TOKEN": "true"})
    data = {"secret": True, "old": None, "image": "ghcr.io/acme/w:1@sha256:" + "a" * 64}
    text = json.dumps(data) + " token usage: 12 ms; Basic checks passed; http://h:1/x?a=1"
    assert redactor.scrub(text) == text
    assert json.loads(redactor.scrub(json.dumps(data))) == data


def test_public_url_and_url_secrets() -> None:
    url = f"https://user:{CANARY}@api.example.com:8443/v2?token=t{CANARY}&region=eu"
    assert public_url(url) == "https://api.example.com:8443/v2?region=eu"
    assert url_secrets(url) == {CANARY, "t" + CANARY}


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
    out.write(b"", final=True)
    assert raw.getvalue() == b"\x89PNG\xff\x00 token " + REDACTED.encode() + b" " + euro
