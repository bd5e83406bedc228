"""A canary in every secret input; every command, on normal and error paths; 0 occurrences.

The canary (one distinctive string, in several case variants) goes into the API key, the
credentials of target URLs (`user:pass@` and `?token=`), inline secrets of `worker.env`,
`--set` values, registry credentials, `worker.secrets`, HF/AWS/Google credentials in the
environment and worker log lines. The commands run against the local RunPod with its real
SDK workers, including refusals that echo the request (the `echo_status` fault), a refused
connection and credentialed URLs. stdout, stderr and every file written under the project
and HOME are searched, case-insensitively.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.emulator.runtime import LogLine, WorkerInfo
from podkit.emulator.server import LocalRunPod

CANARY = "Kanary7q2xz9"
FOUND = re.compile(CANARY, re.IGNORECASE)

API_KEY = f"rpa_{CANARY}ApiKey0123456789"
HF_TOKEN = f"hf_{CANARY}HfToken0123456789"
AWS_ID = f"AKIA{CANARY.upper()}0000"
AWS_SECRET = f"{CANARY}/AwsSecret+Key0123456789abc"
DB_PASSWORD = f"{CANARY}-db-password"
BLOB = f"{CANARY}Ab12Cd34Ef56Gh78Ij90KlMn"  # a token-like value under a neutral name
DATABASE_URL = f"postgres://app:{CANARY}pg@127.0.0.1:5432/app"
PEM_LINE = f"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC{CANARY}x"
PEM = f"-----BEGIN PRIVATE KEY-----\n{PEM_LINE}\n-----END PRIVATE KEY-----\n"

DIGEST_A, DIGEST_B = "a" * 64, "b" * 64
CONFIG = """\
project = "canary"

[image]
ref = "ghcr.io/acme/worker:1@sha256:{digest}"

[worker]
secrets = {{ HF_TOKEN = "hf_token" }}

[worker.env]
PODKIT_SKIP_CPUINFO = "true"
DB_PASSWORD = "{db_password}"
SETTINGS_BLOB = "{blob}"
DATABASE_URL = "{database_url}"

[endpoint]
gpu_types = ["NVIDIA GeForce RTX 4090"]
workers_min = 0
workers_max = 1

[[smoke]]
name = "gpu"
input = {{ action = "gpu_info" }}
expect_keys = ["gpus"]
max_execution = "60s"

[[models]]
source = "https://127.0.0.1:9/weights.bin"
destination = "models/weights.bin"
"""


def _set(name: str, value: str) -> list[str]:
    return ["--set", f"worker.env.{name}={value}"]


TOKEN_1 = _set("API_TOKEN", f"{CANARY}-set-one")
TOKEN_2 = _set("API_TOKEN", f"{CANARY}-set-two")


class Canary:
    """Runs podkit commands and checks that none of them shows the canary anywhere."""

    def __init__(self, capsys: pytest.CaptureFixture[str], roots: list[Path], inputs: set[Path]):
        self.capsys = capsys
        self.roots = roots
        self.inputs = inputs
        self.leaks: list[str] = []
        self.runs = 0

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = self.capsys.readouterr()
        self.runs += 1
        for stream, text in (("stdout", out), ("stderr", err)):
            for line in text.splitlines():
                if FOUND.search(line):
                    self.leaks.append(f"podkit {' '.join(argv)} -> {stream}: {line.strip()}")
        return code, out, err

    def check_files(self) -> int:
        """Search every file under the roots except the inputs the test wrote; return the
        number of files searched."""
        files = [p for root in self.roots for p in root.rglob("*") if p.is_file()]
        for path in files:
            if path in self.inputs:
                continue
            text = path.read_bytes().decode("utf-8", "replace")
            if FOUND.search(text):
                self.leaks.append(f"file {path}")
        return len(files) - len(self.inputs & set(files))

    def assert_clean(self) -> None:
        assert self.leaks == [], "the canary leaked:\n" + "\n".join(self.leaks)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _credentialed(origin: str) -> str:
    host = origin.split("://", 1)[1]
    return f"http://deploy:{CANARY}Pw@{host}/"


def _queried(origin: str) -> str:
    """A target that cannot take an API path (refused), with credentials in its query."""
    return f"{_credentialed(origin)}?token={CANARY}Tk&X-Amz-Signature={CANARY}Sig"


@pytest.fixture
def canary(
    local_runpod: LocalRunPod,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Canary:
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    config = project / "podkit.toml"
    config.write_text(
        CONFIG.format(
            digest=DIGEST_A, db_password=DB_PASSWORD, blob=BLOB, database_url=DATABASE_URL
        )
    )
    google = home / "service-account.json"
    google.write_text(json.dumps({"type": "service_account", "private_key": PEM}))
    environ = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "RUNPOD_API_KEY": API_KEY,
        "PODKIT_TARGET": local_runpod.url,
        "HF_TOKEN": HF_TOKEN,
        "AWS_ACCESS_KEY_ID": AWS_ID,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "GOOGLE_APPLICATION_CREDENTIALS": str(google),
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    for name in ("GITHUB_STEP_SUMMARY", "PODKIT_FINGERPRINT_KEY", "PODKIT_LOCAL_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(project)
    return Canary(capsys, [project, home], {config, google})


def test_deploy_lifecycle_never_shows_a_secret(canary: Canary, local_runpod: LocalRunPod) -> None:
    summary = Path("plan.md").resolve()
    assert canary("plan", *TOKEN_1, "--no-models")[0] == 2
    code, out, _ = canary("plan", *TOKEN_1, "--json", "--no-models")
    fields = {f["field"]: f for c in json.loads(out)["changes"] for f in c["fields"]}
    assert code == 2 and fields["env.DB_PASSWORD"]["new"] == "(sensitive)"
    assert fields["env.DATABASE_URL"]["secret"] and fields["env.SETTINGS_BLOB"]["secret"]
    assert canary("plan", *TOKEN_1, "--markdown", str(summary), "--no-models")[0] == 2
    assert "(sensitive)" in summary.read_text()

    assert canary("apply", "--yes", *TOKEN_1)[0] == 0
    assert canary("plan", *TOKEN_1, "--no-models")[0] == 0  # the values on the endpoint match
    code, out, _ = canary("plan", "--json", "--no-models", *TOKEN_2)
    changed = [f for c in json.loads(out)["changes"] for f in c["fields"]]
    assert code == 2 and [(f["field"], f["old"], f["new"]) for f in changed] == [
        ("env.API_TOKEN", "(sensitive)", "(sensitive, changed)")
    ]
    code, out, _ = canary("apply", "--yes", *TOKEN_2)  # only a secret changed: still shown
    assert code == 0 and "env.API_TOKEN" in out and "(sensitive)" in out
    assert canary("status")[0] == 0
    assert canary("status", "--json")[0] == 0
    image_b = ["--image", f"ghcr.io/acme/worker:2@sha256:{DIGEST_B}"]
    assert canary("apply", "--yes", "--json", *image_b, *TOKEN_2)[0] == 0

    history = next(Path(".podkit/history").glob("*.json")).read_text()
    assert "hmac-sha256:" in history and "API_TOKEN" in history

    code, out, _ = canary("rollback", "--yes", *TOKEN_2)  # values from podkit.toml again
    assert code == 0, out
    code, _, err = canary("rollback", "--yes", "--to", "1", *TOKEN_2)  # API_TOKEN differs
    assert code == 1 and "worker.env.API_TOKEN" in err and "worker.secrets" in err

    target = ["--target", _credentialed(local_runpod.url)]
    code, out, _ = canary("ci", "summary", *target, "--json", "--markdown", "summary.md")
    curl = json.loads(out)["markdown"]
    assert code == 0 and f"'{local_runpod.url}/v2/" in curl  # the target without credentials
    assert "deploy:" not in curl and "token=" not in curl and "***" not in curl
    assert canary("ci", "summary")[0] == 0
    assert canary("destroy", "--yes", "--volumes")[0] == 0
    assert canary.check_files() >= 3  # plan.md, summary.md, the history
    canary.assert_clean()


def test_job_commands_and_echoed_refusals_never_show_a_secret(
    canary: Canary, local_runpod: LocalRunPod
) -> None:
    assert canary("apply", "--yes", *TOKEN_1)[0] == 0
    code, out, _ = canary("run", "gpu_info", "--json")
    job_id = json.loads(out)["id"]
    assert code == 0
    assert canary("run", "gpu_info")[0] == 0
    assert canary("job", "status", job_id)[0] == 0
    assert canary("health")[0] == 0
    assert canary("health", "--json")[0] == 0
    assert canary("test", "--markdown", "smoke.md")[0] == 0
    assert canary("test", "--json")[0] == 0
    assert canary("logs", "--tail", "50")[0] == 0
    assert canary("models", "sync", "--dry-run", "--local", "volume")[0] in (0, 1, 2)
    assert canary("plan", *TOKEN_1)[0] in (0, 2)  # with the models dry run on the endpoint

    faults = local_runpod.backend.faults
    faults.add("POST /v2/*/run", echo_status=401)
    faults.add("POST /v2/*/runsync", echo_status=401)  # podkit run starts a job as runsync
    faults.add("GET /v2/*/status/*", echo_status=401)
    faults.add("GET /v2/*/health", echo_status=401)
    faults.add("PATCH /v2/serverless/*", echo_status=400)
    for argv in (
        ("run", "gpu_info"),
        ("run", "gpu_info", "--json"),
        ("job", "status", job_id),
        ("job", "status", job_id, "--json"),
        ("health",),
        ("health", "--json"),
        ("test",),
        ("models", "sync", "--dry-run"),
        ("apply", "--yes", *TOKEN_2),  # the PATCH body (inline secrets) comes back in the 400
        ("apply", "--yes", "--json", *TOKEN_2),
    ):
        code, _, err = canary(*argv)
        assert code != 0, argv
        assert "401" in err or "400" in err, (argv, err)
    faults.clear()
    faults.add("POST /v1/templates", echo_status=400)  # v1: the env goes in the template body
    code, _, err = canary("apply", "--yes", "--api", "v1", *TOKEN_2)
    assert code == 1 and "400" in err
    faults.clear()
    faults.add("GET /v2/serverless*", echo_status=401)
    for argv in (("status",), ("plan", "--json"), ("destroy", "--yes"), ("logs",)):
        assert canary(*argv)[0] == 1, argv
    canary.check_files()
    canary.assert_clean()


def test_refused_connections_credentialed_urls_and_misplaced_values(
    canary: Canary, local_runpod: LocalRunPod, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = ["--target", _credentialed(f"http://127.0.0.1:{_closed_port()}")]
    queried = ["--target", _queried(local_runpod.url)]
    live = ["--target", _credentialed(local_runpod.url)]
    for target in (closed, queried, live):
        for argv in (
            ("plan", "--no-models"),
            ("plan", "--json", "--no-models"),
            ("apply", "--yes"),
            ("status", "--json"),
            ("destroy", "--yes"),
            ("rollback", "--yes"),
            ("ci", "summary"),
            ("run", "gpu_info", "--endpoint", "ep-none"),
            ("run", "gpu_info", "--endpoint", "ep-none", "--json"),
            ("job", "status", "job-none", "--endpoint", "ep-none"),
            ("health", "--endpoint", "ep-none"),
            ("test", "--endpoint", "ep-none"),
            ("logs", "--endpoint", "ep-none"),
            ("models", "sync", "--dry-run", "--endpoint", "ep-none"),
        ):
            code = canary(*argv, *target)[0]
            assert target is live or code != 0, argv
    assert canary("destroy", "--yes", *live)[0] == 0  # the live target reached the RunPod
    for bad in (f"ftp://deploy:{CANARY}@127.0.0.1:1", f"deploy:{CANARY}@127.0.0.1:1"):
        assert canary("plan", "--target", bad)[0] == 1  # not an http(s) URL
    monkeypatch.setenv("PODKIT_LOCAL_URL", closed[1])
    assert canary("plan", "--target", "local", "--no-models")[0] == 1
    assert canary("run", "gpu_info", "--target", "local", "--endpoint", "ep-none")[0] == 1

    ghp = f"ghp_{CANARY}RegistryToken0123"
    for override in (
        f"worker.registry_auth={ghp}",
        f"worker.secrets.HF_TOKEN={HF_TOKEN}",
        f"worker.secrets.OTHER={AWS_SECRET}",
    ):
        code, _, err = canary("plan", "--set", override, "--json")
        assert code == 1 and "looks like a secret itself" in " ".join(err.split()), override
    canary.check_files()
    canary.assert_clean()


def test_relayed_worker_logs_never_show_a_secret(canary: Canary, local_runpod: LocalRunPod) -> None:
    assert canary("apply", "--yes", *TOKEN_1)[0] == 0
    now = time.time()
    lines = [
        f"HF_TOKEN={HF_TOKEN}",
        f"calling with Authorization: Bearer {API_KEY}",
        f"connect {DATABASE_URL}",
        f"aws {AWS_ID} {AWS_SECRET}",
        f"password is {DB_PASSWORD} and blob {BLOB}",
        f"fetch https://bucket.s3.amazonaws.com/w.bin?X-Amz-Signature={CANARY}Sig&x=1",
        PEM_LINE,
    ]

    class View:
        def workers(self, endpoint_id: str) -> list[WorkerInfo]:
            return [WorkerInfo("w-1", "RUNNING", 1, now)]

        def logs(self, endpoint_id: str, worker_id: str) -> list[LogLine] | None:
            return [LogLine(i, now, "container", text) for i, text in enumerate(lines)]

    local_runpod.context.worker_view = View()
    code, out, _ = canary("logs", "--tail", "100")
    assert code == 0 and "calling with Authorization: Bearer ***" in out and "connect ***" in out
    code, out, _ = canary("logs", "--json")
    assert code == 0 and len(out.splitlines()) == len(lines)
    canary.assert_clean()


MODELS = """\
project = "canary"

[image]
ref = "ghcr.io/acme/worker:1@sha256:{digest}"

[endpoint]
gpu_types = ["NVIDIA GeForce RTX 4090"]

[[models]]
source = "{source}"
destination = "models/m"
"""


def test_local_model_syncs_that_fail_never_show_a_secret(
    canary: Canary, local_runpod: LocalRunPod, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every store's error path with credentials in the environment: a key that does not load,
    a refused connection, a proxy with a password that is down; plus the commands that read
    the deploy history and the lock."""
    closed = f"127.0.0.1:{_closed_port()}"
    google = Path("google.json").resolve()  # a key that does not load (its PEM is no key)
    google.write_text(
        json.dumps(
            {
                "type": "service_account",
                "private_key": PEM,
                "private_key_id": f"{CANARY}KeyId",
                "client_email": "sync@canary.iam.gserviceaccount.com",
                "token_uri": f"http://{closed}/token",
            }
        )
    )
    canary.inputs.add(google)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(google))
    monkeypatch.setenv("PODKIT_HTTPS_TOKEN", f"{CANARY}-https-token")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    stores = {
        "gs://canary-models/m": ({"STORAGE_EMULATOR_HOST": closed}, "Unable to load PEM"),
        "s3://canary-models/m": ({"AWS_ENDPOINT_URL_S3": f"http://{closed}"}, "refused"),
        "hf://org/canary@main": ({"HF_ENDPOINT": f"http://{closed}"}, "refused"),
        f"http://{closed}/w.bin": ({}, "refused"),
        f"https://{closed}/w.bin": (
            {"HTTPS_PROXY": f"http://proxy:{CANARY}Px@{closed}"},
            "over proxy 127.0.0.1",
        ),
    }
    config = Path("models.toml").resolve()
    canary.inputs.add(config)
    for source, (env, words) in stores.items():
        config.write_text(MODELS.format(digest=DIGEST_A, source=source))
        with monkeypatch.context() as scoped:
            for name, value in env.items():
                scoped.setenv(name, value)
            # --timeout: the retries of a refused listing stop at the deadline.
            argv = ("models", "sync", "-c", str(config), "--local", "volume", "--timeout", "1s")
            for json_flag in ((), ("--json",)):
                code, out, err = canary(*argv, *json_flag)
                assert code == 1 and words in err, (source, out, err)
    assert canary("apply", "--yes", *TOKEN_1)[0] == 0
    for more in (("history",), ("history", "--json"), ("unlock",), ("unlock", "--json")):
        canary(*more)
    canary.check_files()
    canary.assert_clean()


def test_credentials_given_inline_or_in_proxy_urls_never_show(
    canary: Canary, local_runpod: LocalRunPod, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GOOGLE_APPLICATION_CREDENTIALS holding the key file's text instead of its path (a CI
    secret pasted whole), a proxy password written percent-encoded, a session token, and the
    step summary of a GitHub job: on the error paths that name them, and on a deploy."""
    closed = f"127.0.0.1:{_closed_port()}"
    pem = subprocess.run(
        ["openssl", "genrsa", "2048"], check=True, capture_output=True, text=True
    ).stdout
    key = {
        "type": "service_account",  # its token_uri is honoured (an authorized user's is not)
        "project_id": "canary",
        "private_key_id": f"{CANARY}KeyId",
        "private_key": pem,
        "client_email": "sync@canary.iam.gserviceaccount.com",
        "client_secret": f"{CANARY}ClientSecret",
        "refresh_token": f"{CANARY}RefreshToken",
        "token_uri": f"http://{closed}/token",  # the grant goes nowhere but loopback
    }
    summary = Path("step-summary.md").resolve()
    for name, value in {
        "GOOGLE_APPLICATION_CREDENTIALS": json.dumps(key, indent=2),
        "HTTPS_PROXY": f"http://proxy:{CANARY}%2FPx@{closed}",
        "AWS_SESSION_TOKEN": f"{CANARY}SessionToken",
        "GITHUB_STEP_SUMMARY": str(summary),
    }.items():
        monkeypatch.setenv(name, value)
    config = Path("models.toml").resolve()
    canary.inputs.add(config)
    stores = {
        "gs://canary-models/m": "GOOGLE_APPLICATION_CREDENTIALS",
        f"https://{closed}/w.bin": "over proxy 127.0.0.1",
    }
    for source, words in stores.items():
        config.write_text(MODELS.format(digest=DIGEST_A, source=source))
        argv = ("models", "sync", "-c", str(config), "--local", "volume", "--timeout", "1s")
        for json_flag in ((), ("--json",)):
            code, out, err = canary(*argv, *json_flag)
            assert code == 1 and words in err, (source, out, err)
    assert canary("apply", "--yes", *TOKEN_1)[0] == 0
    assert canary("test")[0] == 0
    assert canary("ci", "summary", "--markdown", str(summary))[0] == 0
    assert summary.read_text()
    canary.check_files()
    canary.assert_clean()
