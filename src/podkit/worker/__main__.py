"""`python -m podkit.worker [--actions mod[,mod]] [--http]`: start the runpod SDK with podkit's
handler, or with `--http` serve the same actions over HTTP on `PORT` (load-balancing
endpoints; see `podkit.worker.http_mode`).

The SDK's own flags (`--test_input`, `--rp_serve_api`, ...) pass through untouched.
`PODKIT_ACTIONS=mod,mod` names user modules too. The SDK is imported first, without its
import-time CPU probe (a ~1.1 s subprocess whose only consumer is `--rp_debugger`'s
"processor" field; see `sdk_import`), and only then the action modules, which therefore find
the real py-cpuinfo. `PODKIT_SKIP_CPUINFO=false` keeps the probe. The worker's stdout and
stderr mask secrets (`podkit.redact`), as the CLI's do.
"""

from __future__ import annotations

import importlib
import os
import sys

from podkit.redact import redacting
from podkit.worker.sdk_import import import_runpod


def pop_actions_arg(argv: list[str]) -> list[str]:
    """Remove `--actions X` / `--actions=X` from `argv` (in place) and return the module names."""
    modules: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--actions" and i + 1 < len(argv):
            modules += argv[i + 1].split(",")
            del argv[i : i + 2]
        elif arg.startswith("--actions="):
            modules += arg.split("=", 1)[1].split(",")
            del argv[i]
        else:
            i += 1
    return [m.strip() for m in modules if m.strip()]


def load_action_modules(modules: list[str]) -> None:
    """Import the built-in actions, then each user module (which registers with `@action`)."""
    importlib.import_module("podkit.worker.actions")
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            sys.stderr.write(
                f"podkit worker: cannot import action module {name!r} ({exc}); "
                "check --actions / PODKIT_ACTIONS and that the module is on PYTHONPATH\n"
            )
            raise SystemExit(2) from None
        except Exception as exc:  # a syntax error, a bad @action, a failure at import
            sys.stderr.write(
                f"podkit worker: action module {name!r} failed to load "
                f"({type(exc).__name__}: {exc}); fix the module, then start the worker again\n"
            )
            raise SystemExit(2) from None


def main() -> None:
    """Register the actions; serve them over HTTP (`--http`) or via `runpod.serverless.start`."""
    # Everything the worker logs (the SDK's job lines, uvicorn, an action's prints) passes
    # the secret filter: the environment's secrets and credentials in URLs never reach the log.
    sys.stdout, sys.stderr = redacting(sys.stdout), redacting(sys.stderr)
    modules = pop_actions_arg(sys.argv)
    modules += os.environ.get("PODKIT_ACTIONS", "").split(",")
    runpod = import_runpod()
    load_action_modules([m.strip() for m in modules if m.strip()])
    if "--http" in sys.argv:
        from podkit.worker.http_mode import serve

        serve()
        return
    from podkit.worker.dispatch import handle_job

    runpod.serverless.start({"handler": handle_job})


if __name__ == "__main__":
    main()
