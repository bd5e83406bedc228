"""`[local]`: how the local RunPod runs this project's workers, where there is no image.

On RunPod the image's `CMD` starts the worker. The local RunPod (`podkit emulator`) has no
image to run, so by default its workers are podkit's own (`python -m podkit.worker`, with
`--http` on a load-balancing endpoint). `local.worker_command` names the project's own
instead, as the Dockerfile's `CMD` would::

    [local]
    worker_command = ["python", "app.py"]     # or "python app.py"

It runs in the directory of podkit.toml (the image's WORKDIR, locally), so relative paths
resolve there. `podkit apply` and `podkit rollback` set it on the endpoint when the target is
a local RunPod; against RunPod itself the table is ignored.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import field_validator

from podkit.config.types import Section


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
    """The resolved `[local]` worker: its command and the directory it runs in."""

    command: tuple[str, ...]
    cwd: Path

    def describe(self) -> str:
        return f"`{shlex.join(self.command)}` in {self.cwd}"


def local_worker(local: LocalConfig, config_file: Path) -> LocalWorker | None:
    """`local.worker_command`, to run in the directory of podkit.toml; None when unset."""
    command = local.command
    if command is None:
        return None
    return LocalWorker(command, config_file.resolve().parent)
