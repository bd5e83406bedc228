"""The exit codes of every command, in one table, shown at the end of each `--help`.

The policy (Terraform's): 0 success, 1 any error, usage errors included; 2 only ever means
"there are changes" (`plan`, `models sync --dry-run`). Commands that report a job's fate
add their own codes. `document(app)` writes the table into each command's help epilog.
"""

from __future__ import annotations

import typer

SUCCESS = 0
ERROR = 1  # a PodkitError, and a usage error (unknown option, bad value): never 2
CHANGES = 2
INTERRUPTED = 130  # Ctrl-C, any command

_COMMON = {
    0: "success",
    1: "error (bad input, bad podkit.toml, unknown option, refused request)",
    INTERRUPTED: "interrupted (Ctrl-C)",
}
_JOB = {
    0: "the job COMPLETED",
    3: "the job FAILED",
    4: "the job TIMED_OUT",
    5: "the job was CANCELLED",
    6: "still running when --timeout passed (the job goes on)",
    130: "interrupted (Ctrl-C)",
}

# Command path -> the codes it adds to (or words differently from) the common ones.
SPECIAL: dict[str, dict[int, str]] = {
    "plan": {0: "no changes", 2: "the plan has changes"},
    "run": _JOB,
    "job wait": _JOB,
    "health": {3: "workers are crash-looping"},
    "request": {
        0: "the endpoint answered 1xx-3xx",
        3: "the endpoint answered 4xx or 5xx",
        4: "no workers available after the retries",
    },
    "test": {
        1: "a smoke test failed, or an error",
        130: "interrupted (Ctrl-C): cancels the smoke jobs it started",
    },
    "apply": {
        1: "an error (a crash loop or a failed --smoke gate included, after its rollback)",
        130: "interrupted (Ctrl-C): says what stays applied",
    },
    "rollback": {130: "interrupted (Ctrl-C): says where it stopped"},
    "history": {0: "the records shown (none is not an error)"},
    "models sync": {
        0: "everything in place",
        1: "a file failed, the sync stopped early, or an error",
        2: "with --dry-run: something is missing or stale",
    },
}


def codes_of(path: str) -> dict[int, str]:
    """Exit code -> meaning for one command (`"plan"`, `"job wait"`)."""
    return dict(sorted({**_COMMON, **SPECIAL.get(path, {})}.items()))


def epilog_of(path: str) -> str:
    """The help epilog: one line per code (rich help keeps the line breaks of an epilog
    only between paragraphs, so each code is its own paragraph)."""
    lines = [f"{code}: {meaning}" for code, meaning in codes_of(path).items()]
    return "Exit codes:\n\n" + "\n\n".join(lines)


def document(app: typer.Typer, prefix: str = "") -> None:
    """Set the exit-code epilog on every command of `app` and its sub-apps."""
    for command in app.registered_commands:
        name = command.name or (command.callback.__name__ if command.callback else "")
        if command.epilog is None:
            command.epilog = epilog_of(f"{prefix}{name}".replace("_", "-"))
    for group in app.registered_groups:
        sub = group.typer_instance
        if sub is None:
            continue
        name = group.name or sub.info.name or ""
        document(sub, f"{prefix}{name} ")
