"""`[local]`: how the local RunPod runs this project's workers, where there is no image.

On RunPod the image's `CMD` starts the worker. The local RunPod (`podkit emulator`) has no
image to run, so by default its workers are podkit's own (`python -m podkit.worker`, with
`--http` on a load-balancing endpoint). `local.worker_command` names the project's own
instead, as the Dockerfile's `CMD` would::

    [local]
    worker_command = ["python", "app.py"]     # or "python app.py"

It runs in the directory of podkit.toml (the image's WORKDIR, locally), so relative paths
resolve there. A first word `python` or `python3` is the Python podkit itself runs on (the
image's Python, locally: the environment podkit was installed in, with the runpod SDK and, in
a project from `podkit init`, the project's requirements); name another interpreter by its
path (`.venv/bin/python`). `podkit apply` and `podkit rollback` set it on the endpoint when the
target is a local RunPod; against RunPod itself the table is ignored.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import field_validator

from podkit.config.types import Section

# First words that mean "the Python podkit runs on", as in an image's `CMD ["python", ...]`.
PYTHON_NAMES = frozenset({"python", "python3"})


class LocalConfig(Section):
    """What the local RunPod runs for this endpoint (never sent to RunPod itself)."""

    worker_command: str | list[str] | None = None

    @field_validator("worker_command", mode="before")
    @classmethod
    def _check_command(cls, value: Any) -> Any:
        if value is None:
            return value
        if isinstance(value, str):
            words = _split(value)
        elif isinstance(value, list) and all(isinstance(word, str) for word in value):
            words = value
        else:
            raise ValueError(
                "must be a command line in quotes or a list of its words; write "
                'worker_command = ["python", "app.py"]'
            )
        if any("\x00" in word for word in words):
            raise ValueError(
                "holds a NUL character (\\u0000), which no command line can carry; remove it"
            )
        if not words or not all(word.strip() for word in words):
            what = "has an empty word" if words else "names no command"
            raise ValueError(
                f"{what}; write the command the Dockerfile's CMD runs, e.g. "
                'worker_command = ["python", "app.py"]'
            )
        return value

    @property
    def command(self) -> tuple[str, ...] | None:
        """The command as words (a string is split as a shell would)."""
        if self.worker_command is None:
            return None
        if isinstance(self.worker_command, str):
            return tuple(_split(self.worker_command))
        return tuple(self.worker_command)


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise ValueError(
            f"is not a command line ({exc}); close the quote, or write the words as a list: "
            'worker_command = ["python", "app.py"]'
        ) from None


@dataclass(frozen=True)
class LocalWorker:
    """The resolved `[local]` worker: its command as written, as run, and where it runs."""

    written: tuple[str, ...]
    cwd: Path
    python: str = sys.executable

    @property
    def command(self) -> tuple[str, ...]:
        """The command the local RunPod runs: `python` is podkit's own interpreter."""
        first, *rest = self.written
        return (self.python, *rest) if first in PYTHON_NAMES else self.written

    def describe(self) -> str:
        said = f"`{shlex.join(self.written)}` in {self.cwd}"
        if self.command[0] != self.written[0]:
            said += f" ({self.written[0]}: {self.command[0]})"
        return said


def local_worker(local: LocalConfig, config_file: Path) -> LocalWorker | None:
    """`local.worker_command`, to run in the directory of podkit.toml; None when unset."""
    written = local.command
    if written is None:
        return None
    return LocalWorker(written, config_file.resolve().parent)
